// FID through the network, in image space: FID(X, X) is 0, and FID grows monotonically as blur or
// noise grows. A random-weight FID Inception (seeded; the real weights' parity is FIDParityTests')
// at 80 pixels a side, so a debug build runs it in seconds; the path is the one `img2img fid` runs
// (fidInput's legacy resize, FIDInceptionExtractor, the streamed statistics, LAPACK).
import XCTest
import Foundation
import Checkpoint
import Evaluation
import ImageIO
import Models
import NN
import TensorCore

final class FIDSensitivityTests: XCTestCase {
    func testFIDIsZeroForTheSameImagesAndGrowsWithBlurAndNoise() throws {
        let weights = FileManager.default.temporaryDirectory.appendingPathComponent("fid-sens-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: weights) }
        let net = FIDInceptionV3()
        var rng = SplitMix64(seed: 31)
        var tensors: [NamedTensor] = []
        for (name, t) in net.namedTensors() {
            let shape = t.pyTorchShape, n = shape.reduce(1, *)
            let values: [Float]
            if name.hasSuffix("bn.weight") || name.hasSuffix("running_var") {
                values = [Float](repeating: 1, count: n)
            } else if name.hasSuffix("bn.bias") || name.hasSuffix("running_mean") {
                values = [Float](repeating: 0, count: n)
            } else {
                let fanIn = Float(shape.dropFirst().reduce(1, *))
                values = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) * (3 / fanIn).squareRoot() }
            }
            tensors.append(NamedTensor(name: name, shape: shape, values: values))
        }
        try SafeTensors.write(TensorFile(tensors: tensors), to: weights)
        let extractor = try FIDInceptionExtractor(weights: weights, side: 80)

        // 10 images: discs and stripes on gradients, 64x64 RGB.
        let side = 64
        var images: [Image] = []
        for i in 0..<10 {
            var px = [UInt8](repeating: 0, count: side * side * 3)
            let (cx, cy, r) = (16 + (i * 7) % 32, 20 + (i * 11) % 24, 8 + i % 4 * 3)
            for y in 0..<side { for x in 0..<side { for c in 0..<3 {
                var v = (x * 200 / side + y * 55 / side + c * 70 + i * 23) % 256
                if (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r { v = (i * 97 + c * 50) % 256 }
                if (x / (3 + i % 3)) % 2 == 0 && y > 48 { v = 255 - v }
                px[(y * side + x) * 3 + c] = UInt8(v)
            } } }
            images.append(Image(width: side, height: side, channels: 3, pixels8: px))
        }
        func blurred(_ img: Image, radius: Int) -> Image {
            guard radius > 0 else { return img }
            let p = img.pixels8
            var out = [UInt8](repeating: 0, count: p.count)
            for y in 0..<side { for x in 0..<side { for c in 0..<3 {
                var s = 0, n = 0
                for dy in -radius...radius { for dx in -radius...radius {
                    let (yy, xx) = (min(max(y + dy, 0), side - 1), min(max(x + dx, 0), side - 1))
                    s += Int(p[(yy * side + xx) * 3 + c]); n += 1
                } }
                out[(y * side + x) * 3 + c] = UInt8((s + n / 2) / n)
            } } }
            return Image(width: side, height: side, channels: 3, pixels8: out)
        }
        func noisy(_ img: Image, amplitude: Int, seed: UInt64) -> Image {
            guard amplitude > 0 else { return img }
            var g = SplitMix64(seed: seed)
            return Image(width: side, height: side, channels: 3,
                         pixels8: img.pixels8.map { UInt8(clamping: Int($0) + Int.random(in: -amplitude...amplitude, using: &g)) })
        }
        func stats(_ set: [Image]) throws -> FeatureStatistics {
            try imageFeatures(count: set.count, label: "set", extractor: extractor, options: FIDOptions()) { set[$0] }.statistics
        }
        let base = try stats(images)
        let same = try frechetDistance(base, try stats(images))
        var blur: [Double] = [], noise: [Double] = []
        for radius in [1, 2, 4] { blur.append(try frechetDistance(base, try stats(images.map { blurred($0, radius: radius) }))) }
        for (k, a) in [8, 32, 96].enumerated() {
            noise.append(try frechetDistance(base, try stats(images.enumerated().map { noisy($1, amplitude: a, seed: UInt64(k * 100 + $0)) })))
        }
        print("FID, random-weight network at 80 px: same images \(same); blur radius 1, 2, 4: \(blur); noise 8, 32, 96: \(noise)")
        XCTAssertEqual(same, 0, accuracy: 1e-6 * max(1, blur[0]))
        XCTAssertGreaterThan(blur[0], 100 * abs(same))
        XCTAssertEqual(blur, blur.sorted(), "FID grows with the blur radius")
        XCTAssertEqual(noise, noise.sorted(), "FID grows with the noise amplitude")
        XCTAssertEqual(Set(blur).count, 3); XCTAssertEqual(Set(noise).count, 3)
    }
}
