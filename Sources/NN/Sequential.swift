// Sequential (PyTorch nn.Sequential): children named "0", "1", ... by position, every
// child counted, so `model.10.conv_block.1.weight` comes out as in PyTorch.
import Autograd

public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public subscript(i: Int) -> any Layer { layers[i] }
    public var count: Int { layers.count }

    public func callAsFunction(_ x: Variable) -> Variable { forward(x, from: 0) }

    /// Runs layers[start...] on x.
    public func forward(_ x: Variable, from start: Int) -> Variable {
        // Under anomaly checks each child is the layer its ops are reported in.
        layers[start...].reduce(x) { h, layer in AnomalyMode.entering(layer) { layer(h) } }
    }
}
