// Max and average pooling (Ops/MaxPool2D.swift, Ops/AvgPool2D.swift): the kernels of every ISA this CPU
// runs, on 1 and 2 threads, against their naive twins (reference/pool_ref.c) bit for bit; the ops through
// OpTestCase (forward vs a Double reference, gradients vs finite differences); PyTorch's conventions at
// the edges (padding never wins a max, NaN does, count_include_pad).
// Shapes sweep channels around the vector widths (1, 15, 16, 17, 31, 67) and the geometries of the FID
// Inception (3x3 stride 2 valid, 3x3 stride 1 pad 1, the whole image) plus odd ones.
import XCTest
import TensorCore
import _CKernels
@testable import Autograd

final class PoolTests: XCTestCase {
    override func tearDown() {
        _ = i2i_set_kernel_isa(nil)
        i2i_set_num_threads(0)
    }

    struct Geometry {
        var n, h, w, c, kh, kw, sh, sw: Int
        var pad: (t: Int, l: Int, b: Int, r: Int)
    }

    static let geometries: [Geometry] = [
        Geometry(n: 2, h: 9, w: 11, c: 17, kh: 3, kw: 3, sh: 2, sw: 2, pad: (0, 0, 0, 0)),   // the stem's max pools
        Geometry(n: 1, h: 7, w: 5, c: 16, kh: 3, kw: 3, sh: 1, sw: 1, pad: (1, 1, 1, 1)),    // the blocks' pool branch
        Geometry(n: 2, h: 1, w: 1, c: 67, kh: 3, kw: 3, sh: 1, sw: 1, pad: (1, 1, 1, 1)),    // 1x1 image: one tap
        Geometry(n: 1, h: 4, w: 6, c: 31, kh: 4, kw: 6, sh: 1, sw: 1, pad: (0, 0, 0, 0)),    // global: whole image
        Geometry(n: 1, h: 8, w: 7, c: 15, kh: 2, kw: 3, sh: 3, sw: 2, pad: (1, 0, 0, 2)),    // odd everything
        Geometry(n: 3, h: 5, w: 5, c: 1, kh: 3, kw: 3, sh: 2, sw: 1, pad: (2, 2, 1, 0)),     // pads up to kernel-1
    ]

    func shape(_ g: Geometry) -> i2i_pool_shape {
        var s = i2i_pool_shape()
        s.N = Int32(g.n); s.H = Int32(g.h); s.W = Int32(g.w); s.C = Int32(g.c); s.KH = Int32(g.kh); s.KW = Int32(g.kw)
        s.strideH = Int32(g.sh); s.strideW = Int32(g.sw)
        s.padT = Int32(g.pad.t); s.padL = Int32(g.pad.l); s.padB = Int32(g.pad.b); s.padR = Int32(g.pad.r)
        XCTAssertEqual(i2i_pool_shape_finalize(&s), 0, "\(g)")
        return s
    }

    func testKernelsMatchReferenceBitForBitOnEveryISAAndThreadCount() {
        for (i, g) in Self.geometries.enumerated() {
            var s = shape(g)
            var rng = KernelTestRNG(seed: UInt64(i) + 1)
            var x = (0..<(g.n * g.h * g.w * g.c)).map { _ in rng.next() * 3 }
            if x.count > 10 { x[3] = .nan; x[7] = -.infinity; x[9] = .infinity }   // PyTorch's NaN rule
            let count = Int(s.N * s.OH * s.OW * s.C)
            var wantMax = [Float](repeating: 7, count: count)
            i2i_max_pool_ref(&s, x, &wantMax)
            var wantAvg = [[Float]](repeating: [Float](repeating: 7, count: count), count: 2)
            for countPad in 0..<2 { i2i_avg_pool_ref(&s, Int32(countPad), x, &wantAvg[countPad]) }
            for isa in runnableISAs() {
                XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
                for threads: Int32 in [1, 2] {
                    i2i_set_num_threads(threads)
                    var y = [Float](repeating: .nan, count: count)
                    i2i_max_pool(&s, x, &y)
                    assertSameBits(y, wantMax, "max \(g) \(isa) \(threads)")
                    for countPad in 0..<2 {
                        y = [Float](repeating: .nan, count: count)
                        i2i_avg_pool(&s, Int32(countPad), x, &y)
                        assertSameBits(y, wantAvg[countPad], "avg countPad \(countPad) \(g) \(isa) \(threads)")
                    }
                }
            }
        }
    }

    func assertSameBits(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        for i in got.indices where !(got[i].isNaN && want[i].isNaN) && got[i].bitPattern != want[i].bitPattern {
            XCTFail("\(what): element \(i) is \(got[i]), expected \(want[i])", file: file, line: line)
            return
        }
    }

    func testGeometryRefusesPaddingThatLeavesAWindowEmpty() {
        var s = i2i_pool_shape()
        s.N = 1; s.H = 4; s.W = 4; s.C = 1; s.KH = 3; s.KW = 3; s.strideH = 1; s.strideW = 1
        s.padT = 3
        XCTAssertEqual(i2i_pool_shape_finalize(&s), -1)
        s.padT = 2
        XCTAssertEqual(i2i_pool_shape_finalize(&s), 0)
        XCTAssertEqual(s.OH, 4)
        XCTAssertEqual(s.OW, 2)
    }

    // MARK: - The ops

    /// The ops' checks run the Double reference per input element: few channels keep them quick (the
    /// kernel test above sweeps the channel counts).
    static var opGeometries: [Geometry] { geometries.map { g in var g = g; g.c = min(g.c, 5); return g } }

    func testMaxPoolOp() {
        for g in Self.opGeometries {
            let p = ConvPadding(top: g.pad.t, left: g.pad.l, bottom: g.pad.b, right: g.pad.r)
            var t = OpTestCase("maxPool2d \(g)", shapes: [[g.n, g.h, g.w, g.c]], op: { v in
                maxPool2d(v[0], kernel: (g.kh, g.kw), strides: (g.sh, g.sw), padding: p)
            }, reference: { x in Reference.pool(x[0], g, max: true, countPad: false) })
            t.forwardTolerance = 0
            t.run()
        }
    }

    func testAvgPoolOp() {
        for g in Self.opGeometries {
            for countPad in [false, true] {
                let p = ConvPadding(top: g.pad.t, left: g.pad.l, bottom: g.pad.b, right: g.pad.r)
                // Linear in x: its second derivative is zero and nothing is left on the tape to check.
                OpTestCase("avgPool2d countIncludePad \(countPad) \(g)", shapes: [[g.n, g.h, g.w, g.c]], op: { v in
                    avgPool2d(v[0], kernel: (g.kh, g.kw), strides: (g.sh, g.sw), padding: p, countIncludePad: countPad)
                }, reference: { x in Reference.pool(x[0], g, max: false, countPad: countPad) }).run()
            }
        }
    }

    func testGlobalAvgPoolIsTheMeanOfEachImage() {
        let (n, h, w, c) = (2, 5, 3, 4)
        OpTestCase("globalAvgPool2d", shapes: [[n, h, w, c]], op: { v in globalAvgPool2d(v[0]) }, reference: { x in
            (0..<n).flatMap { ni in (0..<c).map { ci in
                (0..<(h * w)).reduce(0.0) { $0 + x[0][(ni * h * w + $1) * c + ci] } / Double(h * w)
            } }
        }).run()
        XCTAssertEqual(globalAvgPool2d(Variable(Tensor(zeros: [n, h, w, c]))).shape, [n, 1, 1, c])
    }

    /// F.max_pool2d(x, 3, 1, 1) and F.avg_pool2d(x, 3, 1, 1, count_include_pad=False / True) on a 2x2
    /// image [[1, -2], [3, -4]] (one channel): the corner windows hold all four pixels.
    ///   max: [[3, 3], [3, 3]];  avg without the padding: -0.5 everywhere;  with it: -2/9.
    /// A max over negative pixels stays negative (the padding is -inf, not 0).
    func testPyTorchConventionsOnATinyImage() {
        let x = Variable(Tensor(shape: [1, 2, 2, 1], scalars: [1, -2, 3, -4]))
        XCTAssertEqual(maxPool2d(x, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1)).value.scalars, [3, 3, 3, 3])
        XCTAssertEqual(avgPool2d(x, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1), countIncludePad: false).value.scalars,
                       [-0.5, -0.5, -0.5, -0.5])
        XCTAssertEqual(avgPool2d(x, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1)).value.scalars,
                       [Float](repeating: -2.0 / 9.0, count: 4))
        let neg = Variable(Tensor(shape: [1, 1, 2, 1], scalars: [-5, -7]))
        XCTAssertEqual(maxPool2d(neg, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1)).value.scalars, [-5, -5])
    }

    /// The gradient goes to the first maximum of a window in (kh, kw) order, as PyTorch's argmax.
    func testMaxPoolGradientGoesToTheFirstMaximum() {
        let x = Variable(Tensor(shape: [1, 2, 2, 1], scalars: [2, 2, 2, 2]), requiresGrad: true)
        maxPool2d(x, kernel: (2, 2), strides: (1, 1)).backward(seed: Tensor(ones: [1, 1, 1, 1]))
        XCTAssertEqual(x.grad?.scalars, [1, 0, 0, 0])
    }
}

extension Reference {
    /// Max or average pooling in Double, PyTorch's definitions (see PoolTests' header).
    static func pool(_ x: [Double], _ g: PoolTests.Geometry, max: Bool, countPad: Bool) -> [Double] {
        let oh = (g.h + g.pad.t + g.pad.b - g.kh) / g.sh + 1, ow = (g.w + g.pad.l + g.pad.r - g.kw) / g.sw + 1
        var y: [Double] = []
        for ni in 0..<g.n { for i in 0..<oh { for j in 0..<ow { for ci in 0..<g.c {
            var vals: [Double] = []
            for a in 0..<g.kh { for b in 0..<g.kw {
                let ih = i * g.sh - g.pad.t + a, iw = j * g.sw - g.pad.l + b
                if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w { vals.append(x[((ni * g.h + ih) * g.w + iw) * g.c + ci]) }
            } }
            if max { y.append(vals.max()!) } else {
                y.append(vals.reduce(0, +) / Double(countPad ? g.kh * g.kw : vals.count))
            }
        } } } }
        return y
    }
}
