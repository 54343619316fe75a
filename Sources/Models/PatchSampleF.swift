// CUT's projection head netF (models/networks.py PatchSampleF, netF 'mlp_sample'): for each
// feature map of the generator's encoder, the same random locations are picked and each picked
// feature vector goes through its layer's two-layer MLP, then is L2-normalized.
//   feats[l]: [B,H,W,C_l]  ->  [B * P, nc], P = min(numPatches, H*W), rows item-major
//   mlp_l = Linear(C_l, nc), ReLU, Linear(nc, nc)   (state dict: mlp_<l>.0.*, mlp_<l>.2.*)
//   y = x / (||x||_2 + 1e-7)
// The MLPs depend on the channel counts of the features, so, as in CUT, they are created from
// the first features seen (`createMLP`), and initialized then.
import Autograd
import NN
import TensorCore

public final class PatchSampleF: Module {
    /// Width of the MLPs (CUT's --netF_nc).
    public let nc: Int
    public private(set) var mlps: [Sequential] = []

    public init(nc: Int = 256) { self.nc = nc }

    /// Whether the MLPs exist (CUT's mlp_init).
    public var isCreated: Bool { !mlps.isEmpty }

    public var children: [(name: String, module: any Module)] {
        mlps.enumerated().map { ("mlp_\($0.offset)", $0.element) }
    }

    /// CUT's create_mlp: one MLP per feature map of `channels` channels, initialized as
    /// init_net(self) does (init_type, init_gain).
    public func createMLP<G: RandomNumberGenerator>(channels: [Int], initType: InitType, gain: Float, using rng: inout G) {
        precondition(!isCreated, "PatchSampleF: the MLPs exist already")
        mlps = channels.map { c in
            Sequential([Linear(inFeatures: c, outFeatures: nc), ReLU(), Linear(inFeatures: nc, outFeatures: nc)])
        }
        initialize(self, initType, gain: gain, using: &rng)
    }

    /// CUT's forward(feats, num_patches, patch_ids): the sampled, projected, normalized features
    /// and the locations used (row indices into H*W), `patchIDs` if given, else drawn by `sample`.
    public func callAsFunction(_ feats: [Variable], numPatches: Int, patchIDs: [[Int]]?,
                               sample: (_ count: Int, _ total: Int) -> [Int]) -> (feats: [Variable], ids: [[Int]]) {
        precondition(isCreated && mlps.count >= feats.count, "PatchSampleF: \(feats.count) features, \(mlps.count) MLPs")
        precondition(patchIDs == nil || patchIDs!.count == feats.count, "PatchSampleF: one id list per feature map")
        var out: [Variable] = [], ids: [[Int]] = []
        for (l, feat) in feats.enumerated() {
            let (B, H, W, C) = (feat.shape[0], feat.shape[1], feat.shape[2], feat.shape[3])
            let id = patchIDs?[l] ?? sample(min(numPatches, H * W), H * W)
            var x = gatherRows(reshape(feat, [B, H * W, C]), id)
            x = mlps[l](x)
            // The normalization is reported as mlp_<l>'s under anomaly checks.
            out.append(AnomalyMode.entering(mlps[l]) { l2Normalize(x) })
            ids.append(id)
        }
        return (out, ids)
    }
}

/// CUT's Normalize(2) over the rows of x [N,D]: x / (sqrt(sum x^2) + 1e-7).
///
/// The forward is CUT's, bit for bit. Its gradient is not where a row is all zeros (a flat
/// crop after instance norm, through an MLP with zero biases): d sqrt(s)/ds at s = 0 is
/// infinite and 0 * inf is NaN, in CUT's PyTorch code too. Here such a row's norm is computed
/// as sqrt(s + 1) - 1 (still 0), whose derivative is finite, so the row's gradient is 0 (the
/// minimum-norm subgradient of ||x|| at 0); rows with s > 0 add and subtract an exact 0 and keep
/// every derivative, second ones included (WGAN-GP style penalties stay exact).
public func l2Normalize(_ x: Variable) -> Variable {
    let sumSquares = sum(square(x), alongAxes: [1], keepingDims: true)
    let zeroRows = Variable(sumSquares.value.map { $0 == 0 ? 1 : 0 })
    let norm = sqrt(sumSquares + zeroRows) - zeroRows
    return x / (norm + 1e-7)
}
