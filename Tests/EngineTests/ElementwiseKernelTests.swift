// The element-wise, reduction, normalization and layout kernels of every instruction set this CPU
// runs, on 1 and 2 threads, against their naive reference twins (reference/eltwise_ref.c): bit for bit where
// both compute the same operations in the same order, within one ulp for tanh and sigmoid (whose
// references are libm in double). Sizes sweep 1, tile-1, tile, tile+1 and primes around the 16-float
// vectors, the 64-channel apply blocks and the 4096-element sum blocks.
import XCTest
import _CKernels

final class ElementwiseKernelTests: XCTestCase {
    let sizes = [0, 1, 15, 16, 17, 31, 4097, 100_003]
    let channels = [1, 15, 16, 17, 31, 64, 67]

    override func tearDown() {
        _ = i2i_set_kernel_isa(nil)
        i2i_set_num_threads(0)
    }

    private func values(_ n: Int, seed: UInt64, scale: Float = 3) -> [Float] {
        var rng = KernelTestRNG(seed: seed)
        return (0..<n).map { _ in rng.next() * scale }
    }

    /// Every runnable ISA, each on 1 and 2 threads.
    private func forEachVariant(_ body: (String) -> Void) {
        for isa in runnableISAs() {
            XCTAssertEqual(i2i_set_kernel_isa(isa), 0)
            for threads: Int32 in [1, 2] {
                i2i_set_num_threads(threads)
                body("\(isa), \(threads) thread(s)")
            }
        }
    }

    /// Equal bit patterns, NaN matching any NaN.
    private func assertSameBits(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        for i in got.indices where !(got[i].isNaN && want[i].isNaN) && got[i].bitPattern != want[i].bitPattern {
            XCTFail("\(what): element \(i) is \(got[i]), expected \(want[i])", file: file, line: line)
            return
        }
    }

    private func ulpDistance(_ a: Float, _ b: Float) -> Int {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : Int.max }
        let ia = Int(Int32(bitPattern: a.bitPattern)), ib = Int(Int32(bitPattern: b.bitPattern))
        let ka = ia < 0 ? Int(Int32.min) - ia : ia, kb = ib < 0 ? Int(Int32.min) - ib : ib
        return Swift.abs(ka - kb)
    }

    // MARK: - Element-wise

    func testUnaryKernelsMatchReference() {
        let exact: [(String, Int32, Float)] = [
            ("scale", Int32(I2I_UNARY_SCALE), -1.7), ("addScalar", Int32(I2I_UNARY_ADD_SCALAR), 0.3),
            ("scalarSub", Int32(I2I_UNARY_SCALAR_SUB), 2.5), ("divScalar", Int32(I2I_UNARY_DIV_SCALAR), 3),
            ("neg", Int32(I2I_UNARY_NEG), 0), ("square", Int32(I2I_UNARY_SQUARE), 0), ("sqrt", Int32(I2I_UNARY_SQRT), 0),
            ("rsqrt", Int32(I2I_UNARY_RSQRT), 0), ("abs", Int32(I2I_UNARY_ABS), 0), ("sign", Int32(I2I_UNARY_SIGN), 0),
            ("relu", Int32(I2I_UNARY_RELU), 0), ("leakyReLU", Int32(I2I_UNARY_LEAKY_RELU), 0.2),
        ]
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1e-30, -1e-30, 5, -5, 25, -25, 90, -90, 200, -200]
        for n in sizes {
            let x = values(n, seed: UInt64(n) + 1) + (n > 0 ? special : [])
            for (name, op, s) in exact {
                var want = [Float](repeating: 0, count: x.count)
                i2i_unary_ref(op, Int64(x.count), x, &want, s)
                forEachVariant { v in
                    var y = [Float](repeating: 7, count: x.count)
                    i2i_unary(op, Int64(x.count), x, &y, s)
                    assertSameBits(y, want, "\(name) n \(x.count) \(v)")
                }
            }
            for (name, op) in [("tanh", Int32(I2I_UNARY_TANH)), ("sigmoid", Int32(I2I_UNARY_SIGMOID))] {
                let xs = x + values(n, seed: 77, scale: 0.05)   // small arguments: the series branch of tanh
                var want = [Float](repeating: 0, count: xs.count)
                i2i_unary_ref(op, Int64(xs.count), xs, &want, 0)
                var first: [Float]? = nil
                forEachVariant { v in
                    var y = [Float](repeating: 7, count: xs.count)
                    i2i_unary(op, Int64(xs.count), xs, &y, 0)
                    let worst = zip(y, want).map { ulpDistance($0, $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst, 1, "\(name) n \(xs.count) \(v): \(worst) ulp from libm")
                    for i in xs.indices where want[i] == 0 && y[i].sign != want[i].sign {
                        XCTFail("\(name)(\(xs[i])) is \(y[i]), libm gives \(want[i])"); break
                    }
                    if let first { assertSameBits(y, first, "\(name) \(v) vs the first variant") } else { first = y }
                }
            }
        }
    }

    func testBinaryKernelsMatchReference() {
        let ops: [(String, Int32)] = [
            ("add", Int32(I2I_BINARY_ADD)), ("sub", Int32(I2I_BINARY_SUB)), ("mul", Int32(I2I_BINARY_MUL)),
            ("div", Int32(I2I_BINARY_DIV)), ("max", Int32(I2I_BINARY_MAX)), ("min", Int32(I2I_BINARY_MIN)),
            ("tanhGrad", Int32(I2I_BINARY_TANH_GRAD)), ("sigmoidGrad", Int32(I2I_BINARY_SIGMOID_GRAD)),
            ("leakyReLUGrad", Int32(I2I_BINARY_LEAKY_RELU_GRAD)), ("reluGrad", Int32(I2I_BINARY_RELU_GRAD)),
        ]
        for n in sizes {
            let a = values(n, seed: 3) + (n > 0 ? [0, -0.0, .infinity] : []), b = values(a.count, seed: 4)
            for (name, op) in ops {
                var want = [Float](repeating: 0, count: a.count)
                i2i_binary_ref(op, Int64(a.count), a, 1, b, 1, &want, 0.2)
                forEachVariant { v in
                    var y = [Float](repeating: 7, count: a.count)
                    i2i_binary(op, Int64(a.count), a, b, &y, 0.2)
                    assertSameBits(y, want, "\(name) n \(a.count) \(v)")
                    for (sa, sb) in [(1, 0), (0, 1), (0, 0), (1, 1)] where a.count > 0 {
                        var r = [Float](repeating: 7, count: a.count), w = r
                        i2i_binary_ref(op, Int64(a.count), a, Int64(sa), b, Int64(sb), &w, 0.2)
                        i2i_binary_row(op, Int64(a.count), a, Int64(sa), b, Int64(sb), &r, 0.2)
                        assertSameBits(r, w, "\(name) row strides \(sa),\(sb) n \(a.count) \(v)")
                    }
                }
            }
        }
    }

    func testSumsMatchReference() {
        for n in sizes + [4096, 4096 * 512 + 5] {
            let x = values(n, seed: 8)
            // The documented order: 16 lanes per 4096-block, lanes then blocks in order.
            var want = 0.0
            for b in stride(from: 0, to: n, by: 4096) {
                var lanes = [Double](repeating: 0, count: 16)
                for i in b..<min(n, b + 4096) { lanes[(i - b) % 16] += Double(x[i]) }
                want += lanes.reduce(0, +)
            }
            let plain = i2i_sum_f64_ref(Int64(n), x)
            forEachVariant { v in
                let got = i2i_sum_f64(Int64(n), x)
                XCTAssertEqual(got.bitPattern, want.bitPattern, "sum n \(n) \(v)")
                XCTAssertEqual(got, plain, accuracy: 1e-9 * max(1, Swift.abs(plain)), "sum n \(n) \(v) vs index order")
            }
        }
        for rows in [0, 1, 7, 300] {
            for cols in channels {
                let x = values(rows * cols, seed: 9)
                var want = [Double](repeating: 0, count: cols)
                i2i_sum_rows_f64_ref(Int64(rows), Int64(cols), x, &want)
                forEachVariant { v in
                    var got = [Double](repeating: -1, count: cols)
                    i2i_sum_rows_f64(Int64(rows), Int64(cols), x, &got)
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "column sums \(rows)x\(cols) \(v)")
                }
            }
        }
    }

    /// Adam (both branches of the first-moment update: beta1 0.5 and 0.9) against its reference.
    func testAdamMatchesReference() {
        for n in sizes {
            let g = values(n, seed: 20, scale: 0.1)
            let x0 = values(n, seed: 21), m0 = values(n, seed: 22, scale: 0.01), v0 = values(n, seed: 23, scale: 0.01).map { $0 * $0 }
            for w: Float in [0.5, 0.1] {   // w = 1 - beta1
                var x = x0, m = m0, v = v0
                i2i_adam_update_ref(Int64(n), &x, &m, &v, g, w, 0.999, 0.001, 0.0447, 1e-8, -2e-4)
                forEachVariant { variant in
                    var x2 = x0, m2 = m0, v2 = v0
                    i2i_adam_update(Int64(n), &x2, &m2, &v2, g, w, 0.999, 0.001, 0.0447, 1e-8, -2e-4)
                    assertSameBits(x2, x, "adam x n \(n) w \(w) \(variant)")
                    assertSameBits(m2, m, "adam m n \(n) w \(w) \(variant)")
                    assertSameBits(v2, v, "adam v n \(n) w \(w) \(variant)")
                }
            }
        }
    }

    // MARK: - Normalization

    func testNormKernelsMatchReference() {
        for (G, M) in [(1, 1), (1, 300), (3, 7), (2, 33)] {
            for C in channels {
                let n = G * M * C
                let x = values(n, seed: UInt64(n), scale: 2).map { $0 + 0.5 }, dy = values(n, seed: 11)
                let gamma = values(C, seed: 12), beta = values(C, seed: 13)
                var mean = [Float](repeating: 0, count: G * C), rstd = mean, unb = mean
                i2i_norm_stats_ref(Int64(G), Int64(M), Int64(C), x, 1e-5, &mean, &rstd, &unb)
                var yRef = [Float](repeating: 0, count: n), yRefPlain = yRef
                i2i_norm_apply_ref(Int64(G), Int64(M), Int64(C), x, mean, rstd, gamma, beta, &yRef)
                i2i_norm_apply_ref(Int64(G), Int64(M), Int64(C), x, mean, rstd, nil, nil, &yRefPlain)
                var dxRef = [Float](repeating: 0, count: n), dgRef = [Float](repeating: 0, count: C), dbRef = dgRef
                var dxRefPlain = dxRef
                i2i_norm_backward_ref(Int64(G), Int64(M), Int64(C), x, dy, mean, rstd, gamma, &dxRef, &dgRef, &dbRef)
                i2i_norm_backward_ref(Int64(G), Int64(M), Int64(C), x, dy, mean, rstd, nil, &dxRefPlain, nil, nil)
                let what = "G \(G) M \(M) C \(C)"
                forEachVariant { v in
                    var m2 = [Float](repeating: 9, count: G * C), r2 = m2, u2 = m2
                    i2i_norm_stats(Int64(G), Int64(M), Int64(C), x, 1e-5, &m2, &r2, &u2)
                    assertSameBits(m2, mean, "stats mean \(what) \(v)")
                    assertSameBits(r2, rstd, "stats rstd \(what) \(v)")
                    assertSameBits(u2, unb, "stats unbiased var \(what) \(v)")
                    var y = [Float](repeating: 9, count: n), yPlain = y
                    i2i_norm_apply(Int64(G), Int64(M), Int64(C), x, mean, rstd, gamma, beta, &y)
                    i2i_norm_apply(Int64(G), Int64(M), Int64(C), x, mean, rstd, nil, nil, &yPlain)
                    assertSameBits(y, yRef, "apply \(what) \(v)")
                    assertSameBits(yPlain, yRefPlain, "apply without affine \(what) \(v)")
                    var dx = [Float](repeating: 9, count: n), dg = [Float](repeating: 9, count: C), db = dg, dxPlain = dx
                    var scratch = [Double](repeating: 0, count: 2 * G * C)
                    i2i_norm_backward(Int64(G), Int64(M), Int64(C), x, dy, mean, rstd, gamma, &dx, &dg, &db, &scratch)
                    i2i_norm_backward(Int64(G), Int64(M), Int64(C), x, dy, mean, rstd, nil, &dxPlain, nil, nil, &scratch)
                    assertSameBits(dx, dxRef, "backward dx \(what) \(v)")
                    assertSameBits(dg, dgRef, "backward dgamma \(what) \(v)")
                    assertSameBits(db, dbRef, "backward dbeta \(what) \(v)")
                    assertSameBits(dxPlain, dxRefPlain, "backward dx without affine \(what) \(v)")
                }
            }
        }
    }

    // MARK: - Layout

    func testPadKernelsMatchReference() {
        let modes: [(String, Int32)] = [("zero", Int32(I2I_PAD_ZERO)), ("reflect", Int32(I2I_PAD_REFLECT)),
                                        ("replicate", Int32(I2I_PAD_REPLICATE))]
        for (name, mode) in modes {
            for (t, l, b, r) in [(1, 1, 1, 1), (3, 3, 3, 3), (0, 2, 1, 0), (0, 0, 0, 0)] {
                for C in channels {
                    let (N, H, W) = (2, 5, 4)
                    let (OH, OW) = (H + t + b, W + l + r)
                    let x = values(N * H * W * C, seed: 14), g = values(N * OH * OW * C, seed: 15)
                    var want = [Float](repeating: 0, count: g.count), wantAdj = [Float](repeating: 0, count: x.count)
                    i2i_pad_nhwc_ref(Int64(N), Int64(H), Int64(W), Int64(C), Int64(t), Int64(l), Int64(b), Int64(r), mode, x, &want)
                    i2i_pad_nhwc_adjoint_ref(Int64(N), Int64(H), Int64(W), Int64(C), Int64(t), Int64(l), Int64(b), Int64(r),
                                             mode, g, &wantAdj)
                    forEachVariant { v in
                        var y = [Float](repeating: 9, count: g.count), dx = [Float](repeating: 9, count: x.count)
                        i2i_pad_nhwc(Int64(N), Int64(H), Int64(W), Int64(C), Int64(t), Int64(l), Int64(b), Int64(r), mode, x, &y)
                        i2i_pad_nhwc_adjoint(Int64(N), Int64(H), Int64(W), Int64(C), Int64(t), Int64(l), Int64(b), Int64(r),
                                             mode, g, &dx)
                        assertSameBits(y, want, "pad \(name) \(t),\(l),\(b),\(r) C \(C) \(v)")
                        assertSameBits(dx, wantAdj, "pad adjoint \(name) \(t),\(l),\(b),\(r) C \(C) \(v)")
                    }
                }
            }
        }
    }

    func testCopyRows() {
        for (outer, length) in [(1, 1), (3, 17), (100, 31), (7, 40_000)] {
            let src = values(outer * (length + 3), seed: 16)
            var dst = [Float](repeating: -5, count: outer * (length + 5))
            forEachVariant { v in
                i2i_copy_rows(Int64(outer), Int64(length), Array(src.dropFirst(2)), Int64(length + 3), &dst, Int64(length + 5))
                for o in 0..<outer {
                    XCTAssertEqual(Array(dst[(o * (length + 5))..<(o * (length + 5) + length)]),
                                   Array(src[(o * (length + 3) + 2)..<(o * (length + 3) + 2 + length)]), "row \(o) \(v)")
                    XCTAssertEqual(Array(dst[(o * (length + 5) + length)..<((o + 1) * (length + 5))]),
                                   [Float](repeating: -5, count: 5), "row \(o) tail untouched \(v)")
                }
            }
        }
    }
}
