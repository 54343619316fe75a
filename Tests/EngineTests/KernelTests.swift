// Conv kernels (every instruction set this CPU runs) against the naive reference kernels, the
// transposed-conv mapping against a direct loop, determinism, and the thread pool's parallel_for.
// Shapes stay small: debug builds compile the C kernels at -O0.
import XCTest
import _CKernels

// MARK: - Helpers

/// Deterministic uniform floats in [-1, 1).
struct KernelTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int32(truncatingIfNeeded: state >> 32)) / 2_147_483_648
    }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}

func convShape(n: Int, h: Int, w: Int, c: Int, oc: Int, kh: Int, kw: Int, sh: Int, sw: Int,
               pads: (t: Int, l: Int, b: Int, r: Int)) -> i2i_conv_shape? {
    var s = i2i_conv_shape()
    s.N = Int32(n); s.H = Int32(h); s.W = Int32(w); s.C = Int32(c); s.OC = Int32(oc)
    s.KH = Int32(kh); s.KW = Int32(kw); s.strideH = Int32(sh); s.strideW = Int32(sw)
    s.padT = Int32(pads.t); s.padL = Int32(pads.l); s.padB = Int32(pads.b); s.padR = Int32(pads.r)
    return i2i_conv_shape_finalize(&s) == 0 ? s : nil
}

/// max |a - b| / max |b| (normwise relative error; 0 when both are 0); infinite where only one side
/// is NaN (outputs start as NaN, so an element a kernel leaves unwritten fails: max() would skip it).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var num: Float = 0, den: Float = 0
    for i in a.indices {
        if a[i].isNaN != b[i].isNaN { return .infinity }
        num = max(num, abs(a[i] - b[i]))
        den = max(den, abs(b[i]))
    }
    return den == 0 ? num : num / den
}

extension i2i_conv_shape {
    var xCount: Int { Int(N * H * W * C) }
    var wCount: Int { Int(KH * KW * C * OC) }
    var yCount: Int { Int(N * OH * OW * OC) }
    var label: String {
        "N\(N) \(H)x\(W)x\(C)->\(OC) k\(KH)x\(KW) s\(strideH),\(strideW) pad\(padT),\(padL),\(padB),\(padR)"
    }
}

/// Instruction sets this machine and build can run (always includes "portable").
func runnableISAs() -> [String] {
    let saved = String(cString: i2i_kernel_isa())
    var isas: [String] = []
    for isa in ["avx512", "avx2", "portable"] where i2i_set_kernel_isa(isa) == 0 { isas.append(isa) }
    _ = i2i_set_kernel_isa(saved)
    return isas
}

final class KernelTests: XCTestCase {
    let tolerance: Float = 1e-4

    override func tearDown() {
        _ = i2i_set_kernel_isa(nil)
        i2i_set_num_threads(0)
        i2i_set_winograd(-1)
    }

    /// Forward, backward-input and backward-filter (overwrite and accumulate) of every runnable ISA
    /// against the reference.
    func checkAgainstReference(_ s: i2i_conv_shape, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var shape = s
        var rng = KernelTestRNG(seed: seed)
        let x = rng.array(s.xCount), w = rng.array(s.wCount), b = rng.array(Int(s.OC))
        let dy = rng.array(s.yCount), dw0 = rng.array(s.wCount), db0 = rng.array(Int(s.OC))

        var yRef = [Float](repeating: 0, count: s.yCount)
        var dxRef = [Float](repeating: 0, count: s.xCount)
        var dwRef = [Float](repeating: 0, count: s.wCount), dbRef = [Float](repeating: 0, count: Int(s.OC))
        var dwAccRef = dw0, dbAccRef = db0
        i2i_conv2d_forward_ref(&shape, x, w, b, &yRef)
        i2i_conv2d_backward_input_ref(&shape, dy, w, &dxRef)
        i2i_conv2d_backward_filter_ref(&shape, x, dy, &dwRef, &dbRef, 0)
        i2i_conv2d_backward_filter_ref(&shape, x, dy, &dwAccRef, &dbAccRef, 1)

        for isa in runnableISAs() {
            XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
            var y = [Float](repeating: .nan, count: s.yCount)
            var yNoBias = [Float](repeating: .nan, count: s.yCount)
            var dx = [Float](repeating: .nan, count: s.xCount)
            var dw = [Float](repeating: .nan, count: s.wCount), db = [Float](repeating: .nan, count: Int(s.OC))
            var dwAcc = dw0, dbAcc = db0
            i2i_conv2d_forward(&shape, x, w, b, &y)
            i2i_conv2d_forward(&shape, x, w, nil, &yNoBias)
            i2i_conv2d_backward_input(&shape, dy, w, &dx)
            i2i_conv2d_backward_filter(&shape, x, dy, &dw, &db, 0)
            i2i_conv2d_backward_filter(&shape, x, dy, &dwAcc, &dbAcc, 1)
            let yRefNoBias = yRef.indices.map { yRef[$0] - b[$0 % Int(s.OC)] }
            let what = "\(isa) \(s.label)"
            XCTAssertLessThanOrEqual(relativeError(y, yRef), tolerance, "forward \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(yNoBias, yRefNoBias), tolerance, "forward no bias \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(dx, dxRef), tolerance, "backward-input \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(dw, dwRef), tolerance, "backward-filter dw \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(db, dbRef), tolerance, "backward-filter db \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(dwAcc, dwAccRef), tolerance, "backward-filter dw += \(what)", file: file, line: line)
            XCTAssertLessThanOrEqual(relativeError(dbAcc, dbAccRef), tolerance, "backward-filter db += \(what)", file: file, line: line)
        }
    }

    // MARK: - Fast kernels against the reference

    /// Kernel 1..7, stride 1 and 2, asymmetric pads, channel counts around the register tiles
    /// (16 and 32 floats wide) and a prime, batch 1 and 2.
    func testConvSweepAgainstReference() {
        let channels = [1, 3, 15, 16, 17, 31, 32, 33, 37]
        var pick = KernelTestRNG(seed: 7)
        func choose(_ n: Int) -> Int { Int((pick.next() + 1) / 2 * Float(n)) % n }
        var seed: UInt64 = 1
        for k in 1...7 {
            for stride in 1...2 {
                for variant in 0..<3 {
                    let c = channels[(k * 3 + stride + variant * 4) % channels.count]
                    let oc = channels[(k * 5 + stride * 2 + variant * 7 + 3) % channels.count]
                    let pads = (t: choose(k), l: choose(k), b: choose(k), r: choose(k))
                    let h = k + choose(7), w = k + 2 + choose(9)
                    guard let s = convShape(n: 1 + variant % 2, h: h, w: w, c: c, oc: oc, kh: k, kw: k,
                                            sh: stride, sw: stride, pads: pads) else { continue }
                    checkAgainstReference(s, seed: seed)
                    seed += 1
                }
            }
        }
    }

    /// Non-square kernels, mixed strides, outputs of a single pixel, and pads larger than needed.
    func testConvOddShapesAgainstReference() {
        let cases: [(n: Int, h: Int, w: Int, c: Int, oc: Int, kh: Int, kw: Int, sh: Int, sw: Int, pads: (t: Int, l: Int, b: Int, r: Int))] = [
            (1, 5, 9, 5, 7, 1, 3, 1, 2, (0, 1, 0, 2)),
            (2, 7, 4, 6, 33, 5, 2, 2, 1, (2, 0, 1, 1)),
            (1, 1, 1, 37, 37, 3, 3, 1, 1, (1, 1, 1, 1)),   // 1x1 image, 3x3 kernel: all taps but one in padding
            (1, 4, 4, 37, 1, 4, 4, 2, 2, (1, 1, 1, 1)),    // PatchGAN-style last layer (OC 1)
            (1, 9, 9, 16, 3, 7, 7, 1, 1, (0, 0, 0, 0)),    // last generator layer, reflect pad outside
            (1, 13, 13, 3, 32, 7, 7, 1, 1, (3, 3, 3, 3)),  // first generator layer
            (2, 8, 8, 3, 16, 4, 4, 2, 2, (1, 1, 1, 1)),    // PatchGAN first layer
            (1, 6, 7, 64, 8, 3, 3, 1, 1, (1, 1, 1, 1)),
            (1, 3, 40, 4, 48, 3, 3, 1, 1, (1, 0, 1, 2)),   // long rows: tiles cross row ends
            (1, 4, 5, 17, 20, 2, 2, 1, 1, (2, 0, 3, 1)),   // pads >= kernel size
            (2, 7, 9, 20, 18, 3, 3, 1, 1, (1, 1, 1, 1)),   // 3x3 stride 1 (Winograd when it applies)
            (1, 10, 6, 33, 17, 3, 3, 1, 1, (0, 2, 1, 0)),
            (1, 14, 15, 24, 40, 3, 3, 1, 1, (1, 1, 1, 1)), // more than one block of Winograd tiles
            (1, 3, 4, 512, 33, 4, 4, 1, 1, (1, 1, 1, 1)),   // weights past L2: passes over kernel rows
            (1, 8, 6, 64, 96, 4, 4, 2, 2, (1, 1, 1, 1)),    // U-Net down conv: whole blocks (in-place /
            (1, 4, 4, 96, 64, 4, 4, 2, 2, (1, 1, 1, 1)),    // transposed-in-registers weights)
            (1, 2, 2, 512, 512, 4, 4, 2, 2, (1, 1, 1, 1)),  // innermost U-Net layer: 1x1 output
        ]
        for (i, t) in cases.enumerated() {
            guard let s = convShape(n: t.n, h: t.h, w: t.w, c: t.c, oc: t.oc, kh: t.kh, kw: t.kw,
                                    sh: t.sh, sw: t.sw, pads: t.pads) else {
                XCTFail("invalid case \(i)"); continue
            }
            checkAgainstReference(s, seed: 100 + UInt64(i))
        }
    }

    /// The FID Inception's conv shapes (Models/FIDInception.swift) at small sizes: factorized 1x7 / 7x1
    /// and 1x3 / 3x1 kernels with their one-sided pads, stride-2 valid 3x3, 5x5 pad 2, 1x1 over many
    /// channels, and the 8x8 and 1x1 maps of Mixed_7b/7c with 3x3 pad 1.
    func testInceptionConvShapesAgainstReference() {
        let cases: [(n: Int, h: Int, w: Int, c: Int, oc: Int, kh: Int, kw: Int, sh: Int, sw: Int, pads: (t: Int, l: Int, b: Int, r: Int))] = [
            (1, 5, 9, 20, 24, 1, 7, 1, 1, (0, 3, 0, 3)),     // Mixed_6x branch7x7_2
            (2, 9, 5, 20, 33, 7, 1, 1, 1, (3, 0, 3, 0)),     // branch7x7_3
            (1, 3, 3, 40, 36, 1, 3, 1, 1, (0, 1, 0, 1)),     // Mixed_7x branch3x3_2a on a 3x3 map
            (1, 8, 8, 40, 36, 3, 1, 1, 1, (1, 0, 1, 0)),     // branch3x3_2b
            (2, 11, 11, 3, 32, 3, 3, 2, 2, (0, 0, 0, 0)),    // Conv2d_1a_3x3
            (1, 9, 9, 24, 40, 3, 3, 2, 2, (0, 0, 0, 0)),     // Mixed_6a / 7a stride-2 branches
            (1, 7, 7, 48, 64, 5, 5, 1, 1, (2, 2, 2, 2)),     // Mixed_5x branch5x5_2
            (1, 4, 5, 300, 70, 1, 1, 1, 1, (0, 0, 0, 0)),    // 1x1 over many channels
            (1, 1, 1, 64, 48, 3, 3, 1, 1, (1, 1, 1, 1)),     // Mixed_7c at a 75x75 input: 1x1 maps
            (1, 1, 1, 64, 48, 1, 3, 1, 1, (0, 1, 0, 1)),
        ]
        for (i, t) in cases.enumerated() {
            guard let s = convShape(n: t.n, h: t.h, w: t.w, c: t.c, oc: t.oc, kh: t.kh, kw: t.kw,
                                    sh: t.sh, sw: t.sw, pads: t.pads) else {
                XCTFail("invalid case \(i)"); continue
            }
            checkAgainstReference(s, seed: 300 + UInt64(i))
        }
    }

    /// The in-place backward-filter (one GEMM over all (kh, kw, c) taps, x and dy read where they are):
    /// chosen for small kernels with OC a multiple of two vectors up to 64, on every ISA (AVX-512 runs
    /// 64 channels per block when OC allows, else 32), tiles that cross kernel rows, the last tile
    /// partial, several row chunks; and not chosen for more channels or taps.
    func testInPlaceBackwardFilter() {
        let cases: [(n: Int, h: Int, w: Int, c: Int, oc: Int, k: Int, s: Int, pads: (t: Int, l: Int, b: Int, r: Int), inPlace: Bool)] = [
            (1, 21, 19, 3, 64, 7, 1, (3, 3, 3, 3), true),      // the stem: 147 taps, 24.5 tiles of 6
            (2, 40, 33, 6, 64, 4, 2, (1, 1, 1, 1), true),      // PatchGAN's first layer (C 6: pair of images)
            (1, 9, 11, 5, 32, 5, 1, (2, 1, 2, 0), true),       // AVX-512: 32 channels per block
            (1, 20, 300, 3, 64, 3, 1, (1, 1, 1, 1), true),     // three row chunks (8 rows of 300 x 64 dy each)
            (1, 10, 9, 2, 16, 3, 1, (1, 1, 1, 1), true),       // AVX-512: not chosen (16 < 2 vectors)
            (1, 12, 12, 3, 96, 7, 1, (3, 3, 3, 3), false),     // more than 64 channels
            (1, 12, 12, 8, 64, 7, 1, (3, 3, 3, 3), false),     // 392 taps
        ]
        for (i, t) in cases.enumerated() {
            guard var s = convShape(n: t.n, h: t.h, w: t.w, c: t.c, oc: t.oc, kh: t.k, kw: t.k, sh: t.s, sw: t.s,
                                    pads: t.pads) else {
                XCTFail("invalid case \(i)"); continue
            }
            let saved = String(cString: i2i_kernel_isa())
            for isa in runnableISAs() {
                XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
                let vw = isa == "avx512" ? 16 : (isa == "avx2" ? 8 : 4)
                let plan = i2i_conv_plan_create(&s)!
                XCTAssertEqual(String(cString: i2i_conv_plan_algorithm(plan, 2)),
                               t.inPlace && t.oc % (2 * vw) == 0 ? "gemm_inplace" : "gemm_tile", "case \(i) \(isa)")
                i2i_conv_plan_destroy(plan)
            }
            _ = i2i_set_kernel_isa(saved)
            checkAgainstReference(s, seed: 400 + UInt64(i))
        }
    }

    /// 3x3 stride-1 convs (forward, backward-input, backward-filter) with Winograd F(4x4,3x3),
    /// F(2x2,3x3) and direct, on partial tiles at the bottom/right edges and channel counts off the
    /// register tile.
    func testWinogradModesAgainstReference() {
        let cases: [(n: Int, h: Int, w: Int, c: Int, oc: Int, k: Int, pads: (t: Int, l: Int, b: Int, r: Int))] = [
            (1, 9, 10, 17, 20, 3, (1, 1, 1, 1)),
            (2, 12, 8, 32, 33, 3, (0, 1, 2, 1)),
            (1, 16, 13, 24, 16, 3, (1, 0, 1, 2)),
            (2, 28, 28, 16, 16, 3, (1, 1, 1, 1)),  // backward-filter: several chunks of tiles
            // F(3x3,4x4): PatchGAN's padding 1 on both sides, uneven pads, outputs not a multiple of 3
            (1, 11, 10, 17, 20, 4, (1, 1, 1, 1)),
            (2, 12, 9, 32, 33, 4, (2, 1, 1, 2)),
            (1, 15, 17, 16, 24, 4, (0, 2, 1, 0)),
        ]
        for mode: Int32 in [4, 2, 0] {
            i2i_set_winograd(mode)
            for (i, t) in cases.enumerated() {
                guard var s = convShape(n: t.n, h: t.h, w: t.w, c: t.c, oc: t.oc, kh: t.k, kw: t.k, sh: 1, sw: 1,
                                        pads: t.pads) else {
                    XCTFail("invalid case \(i)"); continue
                }
                // The case runs the algorithm it is meant to test.
                let plan = i2i_conv_plan_create(&s)!
                let expected = mode == 0 ? "direct_tile" : (t.k == 4 ? (mode == 4 ? "winograd_f3k4" : "direct_tile")
                                                            : (mode == 4 ? "winograd_f4k3" : "winograd_f2k3"))
                XCTAssertEqual(String(cString: i2i_conv_plan_algorithm(plan, 0)), expected, "case \(i) mode \(mode)")
                i2i_conv_plan_destroy(plan)
                checkAgainstReference(s, seed: 200 + UInt64(i) + UInt64(mode) * 10)
            }
            // 4x4 stride 2 (encoders): space-to-depth, then F(5x5,2x2); odd sizes, uneven pads, C = 5
            // (4C = 20 channels after regrouping). Winograd needs enough 5x5 tiles per thread (200
            // here, on 2 threads); the small cases check that it is not chosen with few tiles.
            let saved = i2i_get_num_threads()
            i2i_set_num_threads(2)
            defer { i2i_set_num_threads(saved) }
            let s2: [(n: Int, h: Int, w: Int, c: Int, oc: Int, pads: (t: Int, l: Int, b: Int, r: Int), wino: Bool)] = [
                (2, 100, 98, 5, 17, (1, 1, 1, 1), true),
                (2, 13, 12, 16, 32, (1, 1, 1, 1), false),
                (1, 18, 15, 8, 24, (2, 0, 1, 1), false),
            ]
            for (i, t) in s2.enumerated() {
                guard var s = convShape(n: t.n, h: t.h, w: t.w, c: t.c, oc: t.oc, kh: 4, kw: 4, sh: 2, sw: 2,
                                        pads: t.pads) else {
                    XCTFail("invalid stride-2 case \(i)"); continue
                }
                let plan = i2i_conv_plan_create(&s)!
                XCTAssertEqual(String(cString: i2i_conv_plan_algorithm(plan, 0)),
                               mode == 4 && t.wino ? "winograd_s2k4" : "direct_tile",
                               "stride-2 case \(i) mode \(mode)")
                i2i_conv_plan_destroy(plan)
                checkAgainstReference(s, seed: 300 + UInt64(i) + UInt64(mode) * 10)
            }
        }
    }

    // MARK: - Transposed convolution as backward-input

    /// v = ConvTranspose2d(u) by the definition: v[n, i*s - p + kh, j*s - p + kw, co] +=
    /// u[n, i, j, ci] * W[kh, kw, co, ci] for every tap that lands inside v.
    func directTransposedConv(u: [Float], w: [Float], n: Int, hi: Int, wi: Int, cin: Int, cout: Int,
                              k: Int, s: Int, p: Int, op: Int) -> (v: [Float], ho: Int, wo: Int) {
        let ho = (hi - 1) * s - 2 * p + k + op, wo = (wi - 1) * s - 2 * p + k + op
        var v = [Double](repeating: 0, count: n * ho * wo * cout)
        for b in 0..<n { for i in 0..<hi { for j in 0..<wi { for kh in 0..<k { for kw in 0..<k {
            let oy = i * s - p + kh, ox = j * s - p + kw
            guard oy >= 0, oy < ho, ox >= 0, ox < wo else { continue }
            for co in 0..<cout { for ci in 0..<cin {
                v[((b * ho + oy) * wo + ox) * cout + co] +=
                    Double(u[((b * hi + i) * wi + j) * cin + ci]) * Double(w[((kh * k + kw) * cout + co) * cin + ci])
            } }
        } } } } }
        return (v.map { Float($0) }, ho, wo)
    }

    /// ConvTranspose2d(k=3, s=2, p=1, output_padding=1) and (k=4, s=2, p=1), the generators'
    /// upsampling layers, plus their backward through forward conv and backward-filter (checked by
    /// the adjoint identities <dv, T u> = <T* dv, u> and = <dW, W>).
    func testTransposedConvViaBackwardInput() {
        for (k, p, op) in [(3, 1, 1), (4, 1, 0), (3, 1, 0), (4, 2, 1), (3, 0, 1)] {
            let n = 2, hi = 3, wi = 5, cin = 5, cout = 4, stride = 2
            var s = i2i_conv_shape()
            XCTAssertEqual(i2i_conv_transpose_shape(&s, Int32(n), Int32(hi), Int32(wi), Int32(cin), Int32(cout),
                                                    Int32(k), Int32(k), 2, 2, Int32(p), Int32(p), Int32(op), Int32(op)), 0)
            var rng = KernelTestRNG(seed: UInt64(k * 10 + p + op * 100))
            let u = rng.array(n * hi * wi * cin), w = rng.array(k * k * cout * cin)
            let direct = directTransposedConv(u: u, w: w, n: n, hi: hi, wi: wi, cin: cin, cout: cout,
                                              k: k, s: stride, p: p, op: op)
            XCTAssertEqual(Int(s.H), direct.ho); XCTAssertEqual(Int(s.W), direct.wo)
            XCTAssertEqual(Int(s.OH), hi); XCTAssertEqual(Int(s.OW), wi)
            let dv = rng.array(direct.v.count)
            for isa in runnableISAs() + ["reference"] {
                XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
                var v = [Float](repeating: .nan, count: direct.v.count)
                i2i_conv2d_backward_input(&s, u, w, &v)
                XCTAssertLessThanOrEqual(relativeError(v, direct.v), tolerance, "k\(k) p\(p) op\(op) \(isa)")

                var du = [Float](repeating: .nan, count: u.count)
                var dW = [Float](repeating: .nan, count: w.count)
                i2i_conv2d_forward(&s, dv, w, nil, &du)
                i2i_conv2d_backward_filter(&s, dv, u, &dW, nil, 0)
                let dvDotV = zip(dv, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let duDotU = zip(du, u).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let dWDotW = zip(dW, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                XCTAssertEqual(duDotU, dvDotV, accuracy: 1e-4 * max(1, abs(dvDotV)), "du k\(k) p\(p) op\(op) \(isa)")
                XCTAssertEqual(dWDotW, dvDotV, accuracy: 1e-4 * max(1, abs(dvDotV)), "dW k\(k) p\(p) op\(op) \(isa)")
            }
        }
    }

    func testTransposeShapeRejectsOutputPaddingNotBelowStride() {
        var s = i2i_conv_shape()
        XCTAssertEqual(i2i_conv_transpose_shape(&s, 1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2), -1)
        XCTAssertEqual(i2i_conv_transpose_shape(&s, 1, 4, 4, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1), -1)
    }

    // MARK: - Determinism

    /// Same bits twice with 2 threads, and the same bits with 1 thread: every output element is
    /// reduced by one thread in a fixed order.
    func testConvIsDeterministicAcrossRunsAndThreadCounts() {
        guard let s = convShape(n: 2, h: 9, w: 11, c: 40, oc: 36, kh: 3, kw: 3, sh: 1, sw: 1,
                                pads: (1, 1, 1, 1)) else { return XCTFail() }
        var shape = s
        var rng = KernelTestRNG(seed: 99)
        let x = rng.array(s.xCount), w = rng.array(s.wCount), b = rng.array(Int(s.OC)), dy = rng.array(s.yCount)
        func run(threads: Int32) -> [[Float]] {
            i2i_set_num_threads(threads)
            var y = [Float](repeating: 0, count: s.yCount), dx = [Float](repeating: 0, count: s.xCount)
            var dw = [Float](repeating: 0, count: s.wCount), db = [Float](repeating: 0, count: Int(s.OC))
            i2i_conv2d_forward(&shape, x, w, b, &y)
            i2i_conv2d_backward_input(&shape, dy, w, &dx)
            i2i_conv2d_backward_filter(&shape, x, dy, &dw, &db, 0)
            return [y, dx, dw, db]
        }
        for isa in runnableISAs() {
            XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
            let first = run(threads: 2), second = run(threads: 2), single = run(threads: 1)
            for i in 0..<4 {
                XCTAssertEqual(first[i].map(\.bitPattern), second[i].map(\.bitPattern), "\(isa) output \(i), 2 threads twice")
                XCTAssertEqual(first[i].map(\.bitPattern), single[i].map(\.bitPattern), "\(isa) output \(i), 2 threads vs 1")
            }
        }
    }

    // MARK: - Thread pool

    func testKernelISAIsKnown() {
        XCTAssertTrue(["avx512", "avx2", "portable"].contains(String(cString: i2i_kernel_isa())))
        XCTAssertEqual(i2i_set_kernel_isa("no-such-isa"), -1)
        XCTAssertTrue(runnableISAs().contains("portable"))
    }

    func testNumThreadsSetAndRestore() {
        i2i_set_num_threads(3)
        XCTAssertEqual(i2i_get_num_threads(), 3)
        i2i_set_num_threads(0)
        XCTAssertGreaterThanOrEqual(i2i_get_num_threads(), 1)
    }

    /// Every index of [0, n) is visited exactly once, for sizes around the grain and thread count,
    /// and chunk boundaries are multiples of the grain.
    func testParallelForCoversEveryIndexOnce() {
        let task: i2i_task_fn = { ctx, begin, end in
            let marks = ctx!.assumingMemoryBound(to: Int32.self)
            for i in begin..<end { marks[Int(i)] += 1 }
        }
        for threads: Int32 in [1, 2, 3, 5] {
            i2i_set_num_threads(threads)
            for n in [0, 1, 2, 3, 7, 64, 1000, 4097] {
                for grain in [1, 3, 64] {
                    let marks = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
                    marks.initialize(repeating: 0, count: max(n, 1))
                    defer { marks.deallocate() }
                    i2i_parallel_for(Int64(n), Int64(grain), task, marks)
                    for i in 0..<n where marks[i] != 1 {
                        XCTFail("threads \(threads) n \(n) grain \(grain): index \(i) visited \(marks[i]) times")
                        break
                    }
                    var bounds = [Int64](repeating: -1, count: Int(threads) + 1)
                    let k = Int(i2i_parallel_chunks(Int64(n), Int64(grain), &bounds, threads))
                    XCTAssertLessThanOrEqual(k, Int(threads))
                    if n > 0 {
                        XCTAssertEqual(bounds[0], 0); XCTAssertEqual(bounds[k], Int64(n))
                        for j in 1..<k { XCTAssertEqual(bounds[j] % Int64(grain), 0); XCTAssertLessThan(bounds[j - 1], bounds[j]) }
                    }
                }
            }
        }
    }

    /// A parallel_for called from inside a task runs serially on the calling thread and still
    /// covers its range.
    func testNestedParallelForRunsSerially() {
        i2i_set_num_threads(2)
        let outer: i2i_task_fn = { ctx, begin, end in
            let rows = ctx!.assumingMemoryBound(to: Int32.self)
            for r in begin..<end {
                i2i_parallel_for(16, 1, { ctx, b, e in
                    let m = ctx!.assumingMemoryBound(to: Int32.self)
                    for i in b..<e { m[Int(i)] += 1 }
                }, rows + Int(r) * 16)
            }
        }
        let marks = UnsafeMutablePointer<Int32>.allocate(capacity: 8 * 16)
        marks.initialize(repeating: 0, count: 8 * 16)
        defer { marks.deallocate() }
        i2i_parallel_for(8, 1, outer, marks)
        XCTAssertTrue((0..<128).allSatisfy { marks[$0] == 1 })
    }
}
