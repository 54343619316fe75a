// The convolution kernels of one instruction set: x86_avx512/conv_avx512.c, x86_avx2/conv_avx2.c and
// portable/conv_portable.c define the ISA's names and target (isa_<isa>.h) and its vector macros (see
// conv_common.h) and include this file, which includes the algorithms, one file each, and exports
// their table. Which algorithm runs for a shape is chosen in one place, i2i_conv_choose in
// operators/conv_plan.c.
#include "conv_common.h"     // helpers, tap lists, the tile and dot microkernels
#include "conv_winograd.h"   // Winograd F(2x2,3x3), F(4x4,3x3) forward; F(2x2,3x3) backward-filter
#include "conv_direct.h"     // direct forward and backward-input (tile, dot, stride phases)
#include "conv_backward_filter.h" // direct backward-filter (tile over OC, dot over KW*C)

const i2i_conv_kernels SFX(i2i_conv_kernels) = {
    ISA_NAME, VW, MR, NR,
    SFX(forward_packed_floats), SFX(forward_pack), SFX(forward),
    SFX(backward_input_packed_floats), SFX(backward_input_pack), SFX(backward_input),
    SFX(backward_filter),
};
