// Adam, exactly as torch.optim.Adam (single-tensor CPU path, no weight decay, no amsgrad).
//   per parameter p with gradient g, at step t (t counted per parameter, from 1):
//     m = lerp(m, g, 1 - beta1)                  (ATen: fma(w, g - m, m) if w < 0.5 else fma(w - 1, g - m, g))
//     v = v * beta2 + (1 - beta2) * g * g
//     bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t      (in Double, as Python floats)
//     denom = sqrt(v) / sqrt(bc2) + eps          (eps after the corrected second moment's sqrt)
//     p = p + (-lr / bc1) * m / denom
// A parameter whose `.grad` is nil is skipped (its step does not advance), as torch does with
// `zero_grad(set_to_none=True)`. Float constants are rounded to Float as ATen does with Python
// scalars in float32 kernels.
import _CKernels
import Autograd
import Foundation
import TensorCore

public final class Adam {
    /// Optimizer state of one parameter (torch: state[p] = {step, exp_avg, exp_avg_sq}).
    public struct ParameterState: Sendable, Equatable {
        public var step: Int
        public var expAvg: Tensor
        public var expAvgSq: Tensor
        public init(step: Int, expAvg: Tensor, expAvgSq: Tensor) {
            self.step = step; self.expAvg = expAvg; self.expAvgSq = expAvgSq
        }
        public static func == (a: ParameterState, b: ParameterState) -> Bool {
            a.step == b.step && a.expAvg.shape == b.expAvg.shape && a.expAvg.scalars == b.expAvg.scalars
                && a.expAvgSq.scalars == b.expAvgSq.scalars
        }
    }

    /// Learning rate of the (single) parameter group; schedules write it.
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    /// The parameters in order, with the names used in checkpoints (e.g. "G_A.model.1.weight").
    public let parameters: [(name: String, variable: Variable)]
    /// State per parameter, nil before its first step.
    public var state: [ParameterState?]
    /// Called with the parameters before every update: data-parallel training averages the
    /// gradients over the ranks here (`GradientAverager.average`, module Distributed).
    public var beforeStep: (([Variable]) -> Void)?

    public init(_ parameters: [(name: String, variable: Variable)], lr: Double = 2e-4,
                beta1: Double = 0.5, beta2: Double = 0.999, eps: Double = 1e-8) {
        precondition(Set(parameters.map(\.name)).count == parameters.count, "Adam: duplicate parameter names")
        self.parameters = parameters
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.state = Array(repeating: nil, count: parameters.count)
    }

    /// Clears the gradients (set to nil, as torch's zero_grad(set_to_none=True)).
    public func zeroGrad() { for p in parameters { p.variable.grad = nil } }

    /// One update of every parameter that has a gradient.
    public func step() {
        beforeStep?(parameters.map(\.variable))
        let w = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), epsF = Float(eps)
        for (i, (name, p)) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            precondition(g.shape == p.value.shape, "Adam: gradient of \(name) has shape \(g.shape), parameter \(p.value.shape)")
            // Move the state out of the array (nil left behind) so its moment tensors are uniquely
            // referenced: updating a copy that the array still shares would copy both moments every step.
            var st = state[i].take() ?? ParameterState(step: 0, expAvg: Tensor(zeros: p.value.shape),
                                                        expAvgSq: Tensor(zeros: p.value.shape))
            st.step += 1
            let t = Double(st.step)
            let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
            let negStep = Float(-(lr / bc1))
            let bc2Sqrt = Float(bc2.squareRoot())
            let n = g.count
            let pg = g.pointer
            st.expAvg.withUnsafeMutableBufferPointer { mb in
                st.expAvgSq.withUnsafeMutableBufferPointer { vb in
                    p.update { value in
                        value.withUnsafeMutableBufferPointer { xb in
                            let m = mb.baseAddress!, v = vb.baseAddress!, x = xb.baseAddress!
                            // The SIMD kernel in _CKernels: the same IEEE operations in the same order
                            // as the scalar formula above (and torch), whatever the ISA or thread count.
                            i2i_adam_update(Int64(n), x, m, v, pg, w, b2, oneMinusB2, bc2Sqrt, epsF, negStep)
                        }
                    }
                }
            }
            state[i] = st
        }
    }
}

extension Float {
    /// fma(weight, self, base): weight * self + base with one rounding.
    @inline(__always) func addingProductFMA(_ weight: Float, _ base: Float) -> Float {
        base.addingProduct(weight, self)
    }
}

