// Convolution family: conv2d, its backward-input and backward-filter as differentiable ops,
// and transposed conv2d (= conv backward-input).
//   x: [N,H,W,C]  w: [KH,KW,C,OC]  b: [OC]  y: [N,OH,OW,OC]
//   OH = (H + padT + padB - KH) / strideH + 1   (zero padding, floor)
//
//   y  = conv(x, w) + b
//   dx = convBackwardInput(dy, w)          dw = convBackwardFilter(x, dy)     db = sum_{N,OH,OW} dy
// The family closes (every map is bilinear, so each adjoint is another member):
//   convBackwardInput(dy, w):   d(dy) = conv(g, w)                 d(w) = convBackwardFilter(g, dy)
//   convBackwardFilter(x, dy):  d(x)  = convBackwardInput(dy, g)   d(dy) = conv(x, g)
// so second derivatives (WGAN-GP) come for free. Kernels: i2i_conv2d_* in _CKernels.
import TensorCore
import _CKernels

/// Zero padding of a conv: rows on top / bottom, columns on the left / right.
public struct ConvPadding: Sendable, Equatable {
    public var top, left, bottom, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public static func symmetric(_ p: Int) -> ConvPadding { ConvPadding(top: p, left: p, bottom: p, right: p) }
    public static let none = ConvPadding.symmetric(0)
}

/// The geometry of one conv, shared by the three kernels, and the plan that runs them (a layer's,
/// see ConvPlans; nil: each call runs a temporary plan and packs the weights again).
public struct ConvGeometry: Sendable {
    public var raw: i2i_conv_shape
    public var plan: ConvPlan?

    /// This geometry run by `plans`' plan for it.
    public func planned(by plans: ConvPlans?) -> ConvGeometry {
        var g = self
        g.plan = plans?.plan(for: raw)
        return g
    }
    public var inputShape: [Int] { [Int(raw.N), Int(raw.H), Int(raw.W), Int(raw.C)] }
    public var filterShape: [Int] { [Int(raw.KH), Int(raw.KW), Int(raw.C), Int(raw.OC)] }
    public var outputShape: [Int] { [Int(raw.N), Int(raw.OH), Int(raw.OW), Int(raw.OC)] }

    public init(input x: [Int], filter w: [Int], strides: (Int, Int), padding p: ConvPadding) {
        precondition(x.count == 4 && w.count == 4 && x[3] == w[2],
                     "conv2d: x \(x) must be [N,H,W,C] and w \(w) [KH,KW,C,OC]")
        var s = i2i_conv_shape()
        s.N = Int32(x[0]); s.H = Int32(x[1]); s.W = Int32(x[2]); s.C = Int32(x[3])
        s.KH = Int32(w[0]); s.KW = Int32(w[1]); s.OC = Int32(w[3])
        s.strideH = Int32(strides.0); s.strideW = Int32(strides.1)
        s.padT = Int32(p.top); s.padL = Int32(p.left); s.padB = Int32(p.bottom); s.padR = Int32(p.right)
        precondition(i2i_conv_shape_finalize(&s) == 0, "conv2d: invalid geometry x \(x) w \(w) strides \(strides) padding \(p)")
        raw = s
    }

    /// The conv whose backward-input is PyTorch ConvTranspose2d on u: [N,Hi,Wi,Cin] -> [N,Ho,Wo,Cout].
    public init(transposedInput u: [Int], filter w: [Int], strides: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int)) {
        precondition(u.count == 4 && w.count == 4 && u[3] == w[3],
                     "convTranspose2d: u \(u) must be [N,H,W,Cin] and w \(w) [KH,KW,Cout,Cin]")
        var s = i2i_conv_shape()
        precondition(i2i_conv_transpose_shape(&s, Int32(u[0]), Int32(u[1]), Int32(u[2]), Int32(u[3]), Int32(w[2]),
                                              Int32(w[0]), Int32(w[1]), Int32(strides.0), Int32(strides.1),
                                              Int32(padding.0), Int32(padding.1),
                                              Int32(outputPadding.0), Int32(outputPadding.1)) == 0,
                     "convTranspose2d: invalid geometry u \(u) w \(w)")
        raw = s
    }
}

// MARK: - Kernels on tensors

/// Work issued to the conv kernels, for benchmarks: nominal multiply-adds
/// (N*OH*OW*OC*KH*KW*C per call, whichever of the three kernels) since the process started.
/// Updated without synchronization: read it from the thread that runs the network.
public enum ConvCounters {
    nonisolated(unsafe) public static var multiplyAdds: Int = 0

    @inline(__always) static func count(_ s: i2i_conv_shape) {
        multiplyAdds &+= Int(s.N) * Int(s.OH) * Int(s.OW) * Int(s.OC) * Int(s.KH) * Int(s.KW) * Int(s.C)
    }
}

/// y = conv(x, w) + b. precision: the engine's setting by default (Engine.setConvPrecision); bf16
/// rounds x and w to bf16 and sums in fp32, with w packed by the plan once per weight change,
/// for the convs in the bf16 scope (i2i_conv_bf16_applies: by default the 3x3 stride-1 convs of the
/// residual blocks; the others stay fp32, see _CKernels/dispatch/tuning.h for the measurements).
public func convForward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry,
                        precision: ConvPrecision = Engine.convPrecision) -> Tensor {
    let y = Tensor(uninitializedShape: geo.outputShape)
    var s = geo.raw
    ConvCounters.count(s)
    let plan = geo.plan ?? ConvPlan(s)
    let gen = geo.plan == nil ? 0 : w.storage.generation
    if precision == .bf16 && i2i_conv_bf16_applies(&s) != 0 {
        i2i_conv_plan_forward_bf16(plan.raw, x.pointer, w.pointer, gen, b?.pointer, y.uncheckedMutablePointer)
    } else {
        i2i_conv_plan_forward(plan.raw, x.pointer, w.pointer, gen, b?.pointer, y.uncheckedMutablePointer)
    }
    withExtendedLifetime((x, w, b)) {}
    return y
}

public func convBackwardInput(_ dy: Tensor, _ w: Tensor, _ geo: ConvGeometry) -> Tensor {
    let dx = Tensor(uninitializedShape: geo.inputShape)
    ConvCounters.count(geo.raw)
    let plan = geo.plan ?? ConvPlan(geo.raw)
    i2i_conv_plan_backward_input(plan.raw, dy.pointer, w.pointer, geo.plan == nil ? 0 : w.storage.generation,
                                 dx.uncheckedMutablePointer)
    withExtendedLifetime((dy, w)) {}
    return dx
}

public func convBackwardFilter(_ x: Tensor, _ dy: Tensor, _ geo: ConvGeometry) -> Tensor {
    let dw = Tensor(uninitializedShape: geo.filterShape)
    ConvCounters.count(geo.raw)
    let plan = geo.plan ?? ConvPlan(geo.raw)
    i2i_conv_plan_backward_filter(plan.raw, x.pointer, dy.pointer, dw.uncheckedMutablePointer, nil, 0)
    withExtendedLifetime((x, dy)) {}
    return dw
}

// MARK: - Differentiable ops

/// y = conv(x, w) + bias. x: [N,H,W,C], w: [KH,KW,C,OC], bias: [OC].
/// plans: the layer's (see ConvPlans), so the weights are packed once per change, not per call.
public func conv2d(_ x: Variable, _ w: Variable, bias: Variable? = nil,
                   strides: (Int, Int) = (1, 1), padding: ConvPadding = .none, plans: ConvPlans? = nil) -> Variable {
    let geo = ConvGeometry(input: x.shape, filter: w.shape, strides: strides, padding: padding).planned(by: plans)
    return conv2d(x, w, bias: bias, geometry: geo)
}

/// precision: nil = the engine's setting for a conv whose result is not recorded for gradients
/// (inference), fp32 for one that is: bf16 never enters training. The backward rules ask for fp32.
public func conv2d(_ x: Variable, _ w: Variable, bias: Variable?, geometry geo: ConvGeometry,
                   precision: ConvPrecision? = nil) -> Variable {
    if let bias { precondition(bias.shape == [geo.filterShape[3]], "conv2d: bias \(bias.shape) must be [OC]") }
    let inputs = bias.map { [x, w, $0] } ?? [x, w]
    let recorded = GradMode.isEnabled && inputs.contains(where: { $0.needsGrad })
    let y = convForward(x.value, w.value, bias?.value, geo,
                        precision: precision ?? (recorded ? .fp32 : Engine.convPrecision))
    return record("conv2d", y, inputs) { g, need in
        var r: [Variable?] = [need[0] ? convBackwardInput(g, w, geometry: geo) : nil,
                              need[1] ? convBackwardFilter(x, g, geometry: geo) : nil]
        if inputs.count == 3 { r.append(need[2] ? sum(g, toShape: [geo.filterShape[3]]) : nil) }
        return r
    }
}

/// dx = convBackwardInput(dy, w): the adjoint of conv in x. dy: [N,OH,OW,OC] -> [N,H,W,C].
public func convBackwardInput(_ dy: Variable, _ w: Variable, geometry geo: ConvGeometry) -> Variable {
    record("convBackwardInput", convBackwardInput(dy.value, w.value, geo), [dy, w]) { g, need in
        [need[0] ? conv2d(g, w, bias: nil, geometry: geo, precision: .fp32) : nil,
         need[1] ? convBackwardFilter(g, dy, geometry: geo) : nil]
    }
}

/// dw = convBackwardFilter(x, dy): the adjoint of conv in w. -> [KH,KW,C,OC].
public func convBackwardFilter(_ x: Variable, _ dy: Variable, geometry geo: ConvGeometry) -> Variable {
    record("convBackwardFilter", convBackwardFilter(x.value, dy.value, geo), [x, dy]) { g, need in
        [need[0] ? convBackwardInput(dy, g, geometry: geo) : nil,
         need[1] ? conv2d(x, g, bias: nil, geometry: geo, precision: .fp32) : nil]
    }
}

/// PyTorch ConvTranspose2d. u: [N,Hi,Wi,Cin], w: [KH,KW,Cout,Cin] (see
/// Tensor.transposedConvWeightFromPyTorch), bias: [Cout] -> [N,Ho,Wo,Cout],
/// Ho = (Hi-1)*stride - 2*padding + KH + outputPadding.
public func convTranspose2d(_ u: Variable, _ w: Variable, bias: Variable? = nil, strides: (Int, Int) = (2, 2),
                            padding: (Int, Int) = (1, 1), outputPadding: (Int, Int) = (0, 0),
                            plans: ConvPlans? = nil) -> Variable {
    let geo = ConvGeometry(transposedInput: u.shape, filter: w.shape, strides: strides,
                           padding: padding, outputPadding: outputPadding).planned(by: plans)
    let v = convBackwardInput(u, w, geometry: geo)
    return bias.map { add(v, $0) } ?? v
}
