// AnomalyMode (torch.autograd.detect_anomaly): the first non-finite value of a checked pass is
// named with its op, its layer path and the pass; unchecked passes record nothing.
import XCTest
import Autograd
import NN
import TensorCore

/// A layer that applies `f` (an op of Autograd) to its input: the place to inject a NaN.
final class Apply: Layer {
    let f: (Variable) -> Variable
    init(_ f: @escaping (Variable) -> Variable) { self.f = f }
    func callAsFunction(_ x: Variable) -> Variable { f(x) }
}

final class AnomalyTests: XCTestCase {
    func net(_ f: @escaping (Variable) -> Variable) -> Sequential {
        let l = Linear(inFeatures: 2, outFeatures: 2)
        l.weight.update { $0 = Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]) }
        return Sequential(l, Apply(f))
    }

    func names(_ n: Sequential) -> [(path: String, object: AnyObject)] {
        n.namedModules(prefix: "G").map { ($0.path, $0.module as AnyObject) }
            + n.namedParameters().map { ("G." + $0.name, $0.variable as AnyObject) }
    }

    func testAForwardNaNIsNamedWithItsOpAndLayer() {
        let n = net { log($0) }
        let x = Variable(Tensor(shape: [1, 2], scalars: [-1, 2]))
        let (y, anomaly) = AnomalyMode.checking(naming: names(n)) { n(x) }
        XCTAssertTrue(y.value.scalars[0].isNaN, "the injected NaN")
        XCTAssertEqual(anomaly?.op, "log")
        XCTAssertEqual(anomaly?.layer, "G.1")
        XCTAssertEqual(anomaly?.pass, .forward)
        XCTAssertEqual(anomaly?.source, .op)
        XCTAssertEqual(anomaly?.value, "nan")
        // Unchecked, the same NaN is not looked for.
        let (_, none) = AnomalyMode.checking(naming: names(n)) { Variable(Tensor(shape: [1], scalars: [1])) }
        XCTAssertNil(none)
        XCTAssertFalse(AnomalyMode.isChecking)
    }

    func testABackwardInfinityIsNamedAsTheBackwardPass() {
        // sqrt is finite at 0 and its gradient is not.
        let n = net { sqrt($0) }
        let x = Variable(Tensor(shape: [1, 2], scalars: [0, 4]))
        let (_, anomaly) = AnomalyMode.checking(naming: names(n)) {
            let y = sum(n(x))
            y.backward()
        }
        XCTAssertEqual(anomaly?.pass, .backward, "\(String(describing: anomaly))")
        XCTAssertEqual(anomaly?.layer, "G.1")
        XCTAssertEqual(anomaly?.source, .op)
        XCTAssertTrue(anomaly?.description.contains("backward pass from finite gradients") == true, "\(String(describing: anomaly))")
    }

    func testANonFiniteParameterIsNamed() {
        let n = net { $0 }
        (n[0] as! Linear).weight.update { $0 = Tensor(shape: [2, 2], scalars: [.nan, 0, 0, 1]) }
        let x = Variable(Tensor(shape: [1, 2], scalars: [1, 2]))
        let (_, anomaly) = AnomalyMode.checking(naming: names(n)) { n(x) }
        XCTAssertEqual(anomaly?.source, .parameter("G.0.weight"), "\(String(describing: anomaly))")
        XCTAssertEqual(anomaly?.layer, "G.0")
        // An input that is no parameter is the data.
        let clean = net { $0 }
        let bad = Variable(Tensor(shape: [1, 2], scalars: [.infinity, 2]))
        let (_, fromData) = AnomalyMode.checking(naming: names(clean)) { clean(bad) }
        XCTAssertEqual(fromData?.source, .data)
    }
}
