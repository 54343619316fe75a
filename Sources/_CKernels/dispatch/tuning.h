// Internal to _CKernels: the tuning constants, in one place, each with the measurement that set it:
// the conv kernels' blocking, the conv algorithm choice (i2i_conv_choose in operators/conv_plan.c),
// and the bf16 inference defaults. Constants that decide which algorithm runs change the rounding
// of a result (a different algorithm, the same contract in _CKernels.h); the blocking constants
// change only the speed (every output element keeps its reduction order).
#ifndef IMG2IMG_TUNING_H
#define IMG2IMG_TUNING_H

// MARK: - Conv blocking (microkernels/conv_*.h; bytes; measured on Zen 4/5 with 1 MB of L2 per core,
// also right for 256 KB-2 MB L2 parts within a few percent)

/// Most output channels a dot kernel handles; more go to the tile kernels. Its accumulator arrays are
/// sized by it, and at 8 channels a tile kernel wastes half of an AVX2 vector block.
#define I2I_DOT_MAX_OUT 8
/// Tile kernels' task order (band_tiles in conv_common.h): packed weights up to this size stay in L2
/// while bands of input stream past them ...
#define I2I_BAND_WEIGHT_BYTES (512 * 1024)
/// ... a band holds this much input ...
#define I2I_BAND_INPUT_BYTES (192 * 1024)
/// ... and an input up to this size stays in L2 while the weight blocks stream past it.
#define I2I_L2_RESIDENT_BYTES (512 * 1024)
/// Tile kernels: with all weight blocks together at most this size, a band runs tile by tile, each
/// tile through every block (its taps built once, its input rows kept in L1 while the blocks' weights,
/// resident in L2, pass by); larger weights run block by block over the band. Measured with AVX2, 2
/// threads: the stem 7x7 3->64 (38 KB) 1.5x faster, 3x3 stride-2 64->128 (295 KB) 1.15x faster; 4x4
/// stride-2 128->256 (2 MB) 1.2x and 4x4 128->512 (4 MB) 1.9x slower.
#define I2I_TILE_OUTER_WEIGHT_BYTES (384 * 1024)
/// Blocks-outer forward: kernel rows per pass so that a block's weights of one pass stay in L2
/// (the partial sums of later passes add to y).
#define I2I_TILE_WEIGHT_L2_BYTES (384 * 1024)
/// Winograd forward: transformed tiles per block, in units of the tile kernel's MR (1..8 measured
/// alike, 16 clearly slower: the block's [P*P][TB][C] transforms leave L2).
#define I2I_WINOGRAD_TILE_BLOCK_MR 4
/// In-place backward-filter: chosen when the kernel has at most this many (kh, kw, c) taps (the stem
/// has 147; packing dy then costs as much as a sixth of the GEMM, since each panel serves few tiles)
/// and OC is a multiple of two vectors up to this many channels (a dy pixel row at most 256 bytes,
/// so that the strided loads stay prefetcher-friendly; at 512 bytes and more reading dy in place was
/// 1.2x slower with AVX2).
#define I2I_BWDW_INPLACE_MAX_TAPS 256
#define I2I_BWDW_INPLACE_MAX_OC 64
/// Direct backward-filter: output rows per chunk so that a chunk's x and dy (~640 KB) stay in L2.
#define I2I_BWDW_CHUNK_BYTES (640 * 1024)

// MARK: - Conv algorithm choice (i2i_conv_choose, operators/conv_plan.c)

/// Winograd pays when the GEMMs dominate its transforms: the transforms cost ~C + OC work per tile
/// point against C * OC for the GEMM, so with fewer than 16 channels on either side the direct
/// kernels win (measured: 3x3 3->64 and 64->3 are faster direct on every ISA).
#define I2I_WINOGRAD_MIN_CHANNELS 16
/// F(4x4,3x3) needs 6x6 input tiles; on outputs smaller than 8x8 most of a tile is padding, and
/// F(2x2,3x3) wastes less.
#define I2I_WINOGRAD_F4_MIN_OUTPUT 8
/// F(3x3,4x4) for 4x4 stride-1 layers (PatchGAN's last two): 4x fewer multiplies on 6x6 tiles of 3x3
/// outputs; below 6x6 outputs the padded tiles eat the gain.
#define I2I_WINOGRAD_F3K4_MIN_OUTPUT 6
/// 4x4 stride-2 layers (U-Net's and PatchGAN's encoders) run as a 2x2 stride-1 conv over 2x2 pixel
/// blocks (4C channels) with F(5x5,2x2): 2.8x fewer multiplies for the cost of regrouping the input;
/// 5x5-output tiles need outputs of at least 5x5. The regrouped input has 4C channels, so C >= 4.
#define I2I_WINOGRAD_S2K4_MIN_OUTPUT 5
/// ... and enough 5x5 tiles per thread: with few tiles the transformed weights (36 x 4C x OC floats)
/// are streamed for too little work. Measured on the U-Net and PatchGAN layers, 2 threads: 128->256 at
/// 64x64 (49 tiles) is 1.3x slower than direct with AVX2 (6x16 register tile) but 1.3x faster with
/// AVX-512 (12x32); 64->128 at 128x128 (169 tiles) is faster with both.
#define I2I_WINOGRAD_S2K4_MIN_TILES_PER_THREAD_AVX512 16
#define I2I_WINOGRAD_S2K4_MIN_TILES_PER_THREAD_OTHER 48
/// Stride-1 backward-input as the forward of the flipped kernel (C and OC swapped) costs a transpose
/// of the weights (once per weight change in a plan) and gains the forward's algorithms: Winograd for
/// 3x3, and merged kernel rows (KW*OC contiguous floats per tap), which matter when OC or C is small.
/// With both at least this large and no Winograd, the stride-phase kernels are as fast without the
/// second copy of the weights (4x4 256->512 at 32x32).
#define I2I_FLIP_MAX_CHANNELS 64

// MARK: - bf16 inference (dispatch/bf16_settings.c, operators/conv_bf16.c,
// microkernels/x86_avx512/conv_bf16_avx512.c)

/// The bf16 Winograd variant by default (i2i_set_bf16_winograd, env I2I_BF16_WINOGRAD): 2 =
/// F(2x2,3x3). This default and the scope below, from measurements on this machine (AMD EPYC,
/// AVX-512 + AVX512_BF16, 2 threads, release img2img-bench, median of 5-7; the machine is shared, so
/// +-10%). 3x3 256->256 conv at 64x64, forward: fp32 (its F(4x4)) 12.0 ms; bf16 F(4x4) 4.5 ms; bf16
/// F(2x2) 6.2 ms; bf16 direct 11.4 ms. Error against the oracle (rms / rms of the output, uniform random data): direct 1e-7,
/// F(2x2) ~2e-3, F(4x4) ~1.5e-2 (the transforms amplify the bf16 rounding of V and U). End to end:
/// share of 8-bit output values within 3 levels of fp32 on the bundled earth-night2day model with its
/// 8 samples / on a random kaiming ResNet-9 (ngf 16, 2 images 64x64), and the speedup of the
/// ResNet-9 forward (ngf 64, 256x256, resnet9_fwd 0.25-0.27 s in fp32):
///   every conv bf16, F(4x4):                    99.67% / 62.1%   1.37-1.45x (0.181 s)
///   every conv bf16, F(2x2):                    99.81% / 96.7%   ~1.2x      (0.214 s)
///   every conv bf16, direct:                    99.94% / 98.1%   < 1x
///   3x3 stride-1 convs only, F(4x4):            99.69% / 62.7%   1.39-1.47x (0.178-0.187 s)
///   3x3 stride-1 convs only, F(2x2):            99.99% / 99.17%  1.26-1.27x (0.194-0.218 s)  <- default
///   3x3 stride-1 convs only, direct:           100.00% / 99.94%  < 1x
/// The first conv, the downsampling convs and the last conv carry most of the error (their errors
/// pass through every later layer) and ~10% of the work: they stay fp32 unless I2I_BF16_SCOPE=all.
/// F(4x4) misses the bar of 99.9% within 3 levels on the bundled samples: F(2x2) by default. No
/// configuration reaches the 1.6x: norms, pads and the fp32 transposed convs remain.
#define I2I_BF16_WINOGRAD_DEFAULT 2
/// The default bf16 scope (i2i_conv_bf16_applies; I2I_BF16_SCOPE=all takes every conv) and the
/// shapes that run bf16 Winograd: 3x3 stride-1 convs with C and OC at least this many channels (a
/// ResNet generator's blocks, ~90% of its work). The measurements above compare this scope ("3x3
/// stride-1 convs only") with every conv.
#define I2I_BF16_MIN_CHANNELS 16
/// bf16 Winograd: tiles per block ~this, the block count rounded up to a multiple of the threads so
/// that they get equal shares (256 tiles of a 64x64 F(4x4) conv on 2 threads: 6 blocks of 43, not 5
/// of 48 and one of 16). Results do not depend on it (each tile is computed alone).
#define I2I_BF16_WINOGRAD_TILES_PER_BLOCK 48

#endif
