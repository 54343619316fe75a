// Dropout (inverted, as PyTorch): training keeps each element with probability 1-p and
// scales it by 1/(1-p); eval is the identity. The RNG is injected (seedable runs).
//   x: [any]  mask: same (0 or 1/(1-p))  y = x * mask   dx = g * mask
import TensorCore

public func dropout<G: RandomNumberGenerator>(_ x: Variable, probability p: Float, training: Bool,
                                              using rng: inout G) -> Variable {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    guard training, p > 0 else { return x }
    let mask = Tensor(uninitializedShape: x.shape)
    let pm = mask.uncheckedMutablePointer, keep = 1 / (1 - p)
    for i in 0..<mask.count { pm[i] = Float.random(in: 0..<1, using: &rng) < p ? 0 : keep }
    return multiplyByConstant(x, mask)
}
