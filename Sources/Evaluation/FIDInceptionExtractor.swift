// The FID Inception (Models.FIDInceptionV3, pytorch-fid's network) as `FeatureExtractor`, and
// where its weights live.
import Foundation
import Models
import TensorCore

public final class FIDInceptionExtractor: FeatureExtractor, @unchecked Sendable {
    public let network: FIDInceptionV3
    public var dimension: Int { FIDInceptionV3.featureCount }
    /// The input side: 299 as every reference; smaller only for quick looks and tests (the
    /// numbers are then not comparable with published ones).
    public let side: Int

    /// Loads the weights (`FIDWeights.defaultPath` unless given).
    public init(weights path: String? = nil, side: Int = FIDInceptionV3.inputSide) throws {
        precondition(side >= FIDInceptionV3.minimumSide, "FID input side \(side) is below \(FIDInceptionV3.minimumSide)")
        network = try FIDInceptionV3.load(path: path ?? FIDWeights.defaultPath)
        self.side = side
    }

    public func features(_ batch: [Float], count: Int) throws -> [Float] {
        network.fidFeatures(Tensor(shape: [count, side, side, 3], scalars: batch)).scalars
    }
}

public enum FIDWeights {
    /// IMG2IMG_FID_WEIGHTS, else the file models/download_fid_weights.sh writes.
    public static var defaultPath: String {
        ProcessInfo.processInfo.environment["IMG2IMG_FID_WEIGHTS"] ?? FIDInceptionV3.defaultWeightsPath
    }

    public static func extractor(path: String?, side: Int = FIDInceptionV3.inputSide) throws -> any FeatureExtractor {
        try FIDInceptionExtractor(weights: path, side: side)
    }
}
