// bf16 inference convs (_CKernels/microkernels/x86_avx512/conv_bf16_avx512.c) against their oracle
// i2i_conv2d_forward_bf16_ref (x and w rounded to bf16, products summed in double), on every path:
// Winograd F(4x4) and F(2x2), the direct tile kernel (the C = 3 stem, strides 2, odd sizes and
// channel counts, padding), the dot kernel (OC <= 8). Also: the tolerances fail a wrong kernel,
// thread-count independence, the packed-weight cache, the precision switch, and the Variable op
// (bf16 only when not recorded).
// Skipped on CPUs without AVX512_BF16. Small shapes: debug builds compile the C kernels at -O0.
//
// Tolerances, as error / rms(oracle) over the outputs (rms: root mean square):
//   direct (tile, dot): max 1e-5 (the kernel's products are exact in fp32: only the order and
//     precision of the fp32 sums differ from the oracle's double), and per element
//     |y - oracle| <= 2^-14 * sum |x_bf16 * w_bf16| + 1e-6, which the fp32 conv of the unrounded
//     inputs fails on the crafted input of testBoundCatchesMissingRounding.
//   Winograd: the transformed input V and weights U are rounded to bf16 instead of x and w, so the
//     error is that of bf16 itself, amplified by the transforms: F(2x2) rms 5e-3, max 2.5e-2;
//     F(4x4) rms 4e-2, max 0.2 (measured on uniform random data: F(2x2) rms ~2e-3, F(4x4)
//     ~1.5e-2; a kernel with mispacked weights is at ~1.4).
import XCTest
import Autograd
import TensorCore
import _CKernels

final class ConvBF16Tests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(i2i_cpu_has_avx512_bf16() != 0, "this CPU lacks AVX512_BF16")
    }

    override func tearDown() {
        i2i_set_bf16_winograd(-1)
        i2i_set_bf16_scope(-1)
        _ = i2i_set_conv_precision(Int32(I2I_PRECISION_FP32))
        i2i_set_num_threads(0)
    }

    struct Case {
        var s: i2i_conv_shape
        var x, w, b: [Float]
    }

    func makeCase(_ s: i2i_conv_shape, seed: UInt64) -> Case {
        var rng = KernelTestRNG(seed: seed)
        let scale = 1 / Float(Int(s.KH * s.KW * s.C)).squareRoot()
        return Case(s: s, x: rng.array(s.xCount), w: rng.array(s.wCount).map { $0 * scale }, b: rng.array(Int(s.OC)))
    }

    func pack(_ c: Case) -> [UInt16] {
        var s = c.s
        var p = [UInt16](repeating: 0xFFFF, count: Int(i2i_conv_bf16_packed_count(&s)))
        i2i_conv_bf16_pack(&s, c.w, &p)
        return p
    }

    func forward(_ c: Case, packed: [UInt16]) -> [Float] {
        var s = c.s
        var y = [Float](repeating: .nan, count: s.yCount)
        i2i_conv_bf16_forward(&s, c.x, packed, c.b, &y)
        return y
    }

    func oracle(_ c: Case) -> [Float] {
        var s = c.s
        var y = [Float](repeating: .nan, count: s.yCount)
        i2i_conv2d_forward_bf16_ref(&s, c.x, c.w, c.b, &y)
        return y
    }

    /// (rms(y - ref), max|y - ref|) / rms(ref).
    func errors(_ y: [Float], _ ref: [Float]) -> (rms: Double, max: Double) {
        var se = 0.0, sr = 0.0, mx = 0.0
        for i in y.indices {
            let e = Double(y[i]) - Double(ref[i])
            se += e * e; sr += Double(ref[i]) * Double(ref[i]); mx = max(mx, abs(e))
            if y[i].isNaN { return (.infinity, .infinity) }
        }
        let r = (sr / Double(y.count)).squareRoot()
        return ((se / Double(y.count)).squareRoot() / r, mx / r)
    }

    /// Every shape with its expected layout (1 tile, 2 dot, 16 F(2x2), 36 F(4x4)).
    func shapes(winograd: Int) -> [(i2i_conv_shape, Int32)] {
        let wl: Int32 = winograd == 4 ? 36 : (winograd == 2 ? 16 : 1)
        let list: [(Int, Int, Int, Int, Int, Int, Int, (Int, Int, Int, Int), Int32)] = [
            // n, h, w, c, oc, k, stride, pads, layout
            (1, 10, 10, 16, 16, 3, 1, (1, 1, 1, 1), wl),
            (2, 9, 11, 20, 37, 3, 1, (1, 1, 1, 1), wl),     // odd sizes, OC not a multiple of 16
            (1, 14, 13, 33, 64, 3, 1, (0, 0, 0, 0), wl),    // C odd (not a multiple of 16), no padding
            (1, 7, 7, 64, 17, 3, 1, (1, 2, 0, 1), wl),      // output smaller than a tile, uneven pads
            (1, 13, 13, 3, 64, 7, 1, (3, 3, 3, 3), 1),      // the C = 3 stem
            (2, 15, 9, 3, 20, 7, 1, (3, 3, 3, 3), 1),
            (1, 16, 16, 16, 32, 3, 2, (1, 1, 1, 1), 1),     // stride 2 (downsampling)
            (1, 17, 17, 5, 33, 3, 2, (1, 1, 1, 1), 1),
            (1, 9, 9, 9, 17, 4, 2, (1, 1, 1, 1), 1),        // 4x4 stride 2 (PatchGAN)
            (1, 9, 9, 40, 70, 1, 1, (0, 0, 0, 0), 1),       // 1x1
            (1, 8, 8, 8, 16, 3, 1, (1, 1, 1, 1), 1),        // 3x3 with C < 16: direct
            (1, 12, 12, 16, 3, 7, 1, (0, 0, 0, 0), 2),      // the 64->3 last layer, small
            (1, 12, 12, 17, 5, 7, 1, (2, 2, 2, 2), 2),
            (1, 9, 9, 8, 1, 4, 2, (1, 1, 1, 1), 2),
            (1, 9, 9, 40, 8, 1, 1, (0, 0, 0, 0), 2),
        ]
        return list.map { n, h, w, c, oc, k, st, p, layout in
            (convShape(n: n, h: h, w: w, c: c, oc: oc, kh: k, kw: k, sh: st, sw: st, pads: p)!, layout)
        }
    }

    func bounds(layout: Int32) -> (rms: Double, max: Double) {
        switch layout {
        case 36: return (4e-2, 0.2)
        case 16: return (5e-3, 2.5e-2)
        default: return (1e-5, 1e-5)
        }
    }

    func testEveryPathMatchesOracle() {
        for mode in [4, 2, 0] {
            i2i_set_bf16_winograd(Int32(mode))
            for (i, (s, layout)) in shapes(winograd: mode).enumerated() {
                var ss = s
                XCTAssertEqual(i2i_conv_bf16_layout(&ss), layout, s.label)
                let c = makeCase(s, seed: UInt64(i + 1))
                let y = forward(c, packed: pack(c))
                let e = errors(y, oracle(c))
                let bound = bounds(layout: layout)
                XCTAssertLessThanOrEqual(e.rms, bound.rms, "\(s.label) layout \(layout): rms \(e.rms)")
                XCTAssertLessThanOrEqual(e.max, bound.max, "\(s.label) layout \(layout): max \(e.max)")
            }
        }
    }

    /// A kernel that reads its weights wrong (each reduction pair swapped) is far outside every bound.
    func testBoundsCatchMispackedWeights() {
        for mode in [4, 2, 0] {
            i2i_set_bf16_winograd(Int32(mode))
            for (i, (s, layout)) in shapes(winograd: mode).enumerated() where s.C > 1 {
                let c = makeCase(s, seed: UInt64(i + 100))
                var p = pack(c)
                for k in stride(from: 0, to: p.count - 1, by: 2) { p.swapAt(k, k + 1) }
                let e = errors(forward(c, packed: p), oracle(c))
                XCTAssertGreaterThan(e.rms, 10 * bounds(layout: layout).rms, "\(s.label) layout \(layout)")
            }
        }
    }

    /// The direct kernels' per-element bound against the oracle, on inputs whose bf16 rounding
    /// all goes one way (x = w = 1 + 2^-8 - 2^-12 round down to 1): the kernel meets it, the fp32
    /// conv of the unrounded inputs misses it by ~100x, so a kernel that forgot to round (or
    /// rounded the wrong way) fails.
    func testBoundCatchesMissingRounding() {
        i2i_set_bf16_winograd(0)
        let v: Float = 1 + 1.0 / 256 - 1.0 / 4096
        for (s, _) in shapes(winograd: 0) {
            var c = makeCase(s, seed: 5)
            c.x = c.x.map { _ in v }
            c.w = c.w.map { _ in v }
            let ref = oracle(c)
            var ss = s
            var magnitude = [Float](repeating: 0, count: s.yCount)   // sum |x_bf16 w_bf16| + |b|
            let one = [Float](repeating: 1, count: s.xCount), oneW = [Float](repeating: 1, count: s.wCount)
            i2i_conv2d_forward_ref(&ss, one, oneW, c.b.map { abs($0) }, &magnitude)
            let fp32 = { () -> [Float] in
                var y = [Float](repeating: 0, count: s.yCount)
                i2i_conv2d_forward_ref(&ss, c.x, c.w, c.b, &y)
                return y
            }()
            func within(_ y: [Float]) -> Bool {
                y.indices.allSatisfy { abs(y[$0] - ref[$0]) <= magnitude[$0] / 16384 + 1e-6 }
            }
            XCTAssertTrue(within(forward(c, packed: pack(c))), s.label)
            XCTAssertFalse(within(fp32), "the fp32 conv of unrounded inputs must fail the bound: \(s.label)")
        }
    }

    func testSameBitsForAnyThreadCount() {
        for mode in [4, 2, 0] {
            i2i_set_bf16_winograd(Int32(mode))
            for (i, (s, _)) in shapes(winograd: mode).enumerated() {
                let c = makeCase(s, seed: UInt64(i + 7))
                let p = pack(c)
                i2i_set_num_threads(1)
                let y1 = forward(c, packed: p)
                i2i_set_num_threads(2)
                let y2 = forward(c, packed: p)
                i2i_set_num_threads(3)
                let y3 = forward(c, packed: p)
                XCTAssertEqual(y1.map(\.bitPattern), y2.map(\.bitPattern), s.label)
                XCTAssertEqual(y1.map(\.bitPattern), y3.map(\.bitPattern), s.label)
            }
        }
    }

    /// The rounding of the pack and the oracle: nearest, ties to even; denormals to zero (as
    /// vcvtneps2bf16), so the pack's software rounding and the kernels' hardware rounding agree.
    func testRounding() {
        let s = convShape(n: 1, h: 1, w: 1, c: 1, oc: 1, kh: 1, kw: 1, sh: 1, sw: 1, pads: (0, 0, 0, 0))!
        func rounded(_ v: Float) -> Float {
            var ss = s
            var y: Float = 0
            i2i_conv2d_forward_bf16_ref(&ss, [v], [1], nil, &y)
            return y
        }
        XCTAssertEqual(rounded(1 + 1.0 / 256), 1)                      // tie: to even (1)
        XCTAssertEqual(rounded(1 + 3.0 / 256), 1 + 4.0 / 256)          // tie: to even (1 + 2^-6)
        XCTAssertEqual(rounded(1 + 1.0 / 256 + 1.0 / 65536), 1 + 1.0 / 128)
        XCTAssertEqual(rounded(-1.2345), -1.234375)
        XCTAssertEqual(rounded(Float(bitPattern: 0x0001_0000)), 0)  // a denormal
        XCTAssertEqual(rounded(3.4e38), .infinity)                    // above the largest bf16 (3.39e38)
    }

    func testPrecisionSwitchAndCache() throws {
        XCTAssertEqual(Engine.convPrecision, .fp32)
        try Engine.setConvPrecision(.bf16)
        XCTAssertEqual(Engine.convPrecision, .bf16)
        XCTAssertEqual(i2i_set_conv_precision(7), -1)
        XCTAssertEqual(Engine.convPrecision, .bf16, "an unknown precision changes nothing")

        var rng = KernelTestRNG(seed: 3)
        let x = Tensor(shape: [1, 10, 10, 16], scalars: rng.array(1600))
        var w = Tensor(shape: [3, 3, 16, 32], scalars: rng.array(4608).map { $0 / 12 })
        let geo = ConvGeometry(input: x.shape, filter: w.shape, strides: (1, 1), padding: .symmetric(1))
        let fp32 = convForward(x, w, nil, geo, precision: .fp32)
        let y1 = convForward(x, w, nil, geo)                   // the engine's setting: bf16
        XCTAssertNotEqual(y1.scalars, fp32.scalars, "bf16 must differ from fp32")
        XCTAssertLessThan(relativeError(y1.scalars, fp32.scalars), 0.1)  // F(4x4) on random data: ~0.07
        var ss = geo.raw
        XCTAssertEqual(i2i_conv_bf16_applies(&ss), 1)
        // Out of the default scope (stride 2): fp32, unless the scope is every conv.
        let geo2 = ConvGeometry(input: x.shape, filter: w.shape, strides: (2, 2), padding: .symmetric(1))
        XCTAssertEqual(convForward(x, w, nil, geo2).scalars, convForward(x, w, nil, geo2, precision: .fp32).scalars)
        i2i_set_bf16_scope(1)
        XCTAssertNotEqual(convForward(x, w, nil, geo2).scalars, convForward(x, w, nil, geo2, precision: .fp32).scalars)
        i2i_set_bf16_scope(-1)
        XCTAssertEqual(convForward(x, w, nil, geo).scalars, y1.scalars)

        // The Variable op: bf16 for inference, fp32 when the result is recorded for gradients.
        let xv = Variable(x), wv = Variable(w, requiresGrad: true)
        XCTAssertEqual(conv2d(xv, wv, bias: nil, geometry: geo).value.scalars, fp32.scalars)
        XCTAssertEqual(withNoGrad { conv2d(xv, wv, bias: nil, geometry: geo) }.value.scalars, y1.scalars)

        // A changed weight (copy on write: a new storage) is packed again.
        w.withUnsafeMutableBufferPointer { $0[0] += 1 }
        let y2 = convForward(x, w, nil, geo)
        XCTAssertEqual(y2.scalars, convForward(x, w.copy(), nil, geo).scalars)
        XCTAssertNotEqual(y2.scalars, y1.scalars)

        try Engine.setConvPrecision(.fp32)
        XCTAssertEqual(convForward(x, w, nil, geo).scalars, convForward(x, w, nil, geo, precision: .fp32).scalars)
    }
}
