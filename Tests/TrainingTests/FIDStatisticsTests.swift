// FID and KID from features against pytorch-fid 0.3.0 and torch-fidelity 0.4.0 on the same
// features (fixture: tools/make_fid_stats_fixtures.py), and pytorch-fid's .npz statistics read
// and written.
import XCTest
import Foundation
import Checkpoint
@testable import Evaluation

final class FIDStatisticsTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fid").path

    func features(_ name: String) throws -> (values: [Float], rows: Int, dimension: Int) {
        let path = Self.fixtures + "/" + name + ".npy"
        let a = try NumPy.parseNPY(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
        return (a.values.map(Float.init), a.shape[0], a.shape[1])
    }

    func statistics(_ name: String, batch: Int = 7) throws -> FeatureStatistics {
        let f = try features(name)
        let acc = FeatureAccumulator(dimension: f.dimension)
        var r = 0
        while r < f.rows {  // in batches, as images stream through the network
            let n = min(batch, f.rows - r)
            acc.add(Array(f.values[r * f.dimension..<(r + n) * f.dimension]), rows: n)
            r += n
        }
        return try acc.statistics()
    }

    var expected: [String: Any] {
        get throws {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/expected.json"))) as! [String: Any]
        }
    }

    func testStreamedStatisticsEqualPytorchFIDsSavedOnes() throws {
        let mine = try statistics("features1")
        let theirs = try FeatureStatistics.read(npz: Self.fixtures + "/stats1.npz")  // np.savez_compressed, deflated
        XCTAssertEqual(theirs.dimension, 64)
        let dm = zip(mine.mean, theirs.mean).map { abs($0 - $1) }.max()!
        let ds = zip(mine.covariance, theirs.covariance).map { abs($0 - $1) }.max()!
        // pytorch-fid's mean is numpy's float32 mean of float32 features; ours is float64.
        XCTAssertLessThan(dm, 1e-6)
        XCTAssertLessThan(ds, 1e-9)
        // Batches of any size give the same statistics.
        let other = try statistics("features1", batch: 250)
        XCTAssertLessThan(zip(other.covariance, mine.covariance).map { abs($0 - $1) }.max()!, 1e-12)
    }

    func testFIDEqualsPytorchFID() throws {
        let e = try expected
        let s1 = try statistics("features1"), s2 = try statistics("features2")
        let fid = try frechetDistance(s1, s2)
        let want = e["fid_1_2"] as! Double
        XCTAssertEqual(fid, want, accuracy: want * 1e-6, "ours \(fid), pytorch-fid \(want)")
        XCTAssertEqual(try frechetDistance(s1, s1), 0, accuracy: 1e-9)
        // From pytorch-fid's own saved statistics, the same value.
        let saved = try FeatureStatistics.read(npz: Self.fixtures + "/stats1.npz")
        XCTAssertEqual(try frechetDistance(saved, s2), want, accuracy: want * 1e-6)
    }

    func testFIDGrowsWithNoise() throws {
        let f = try features("features1")
        let base = try statistics("features1")
        var rng = SplitMix64Sampler(seed: 9)
        var last = 0.0
        for level in [0.05, 0.2, 0.5, 1.0] {
            let acc = FeatureAccumulator(dimension: f.dimension)
            let noisy = f.values.map { v -> Float in
                let u = Double(rng.next() >> 11) / Double(1 << 53)
                return v + Float(level * (u - 0.5))
            }
            acc.add(noisy, rows: f.rows)
            let fid = try frechetDistance(base, try acc.statistics())
            XCTAssertGreaterThan(fid, last, "noise \(level)")
            last = fid
        }
    }

    func testKIDEqualsTorchFidelitysEstimator() throws {
        let e = try expected
        let a = try features("features1"), b = try features("features3")
        // Subsets of every feature: any draw is a permutation, so the value is torch-fidelity's.
        let kid = kernelInceptionDistance(a.values, count: a.rows, b.values, count: b.rows, dimension: a.dimension,
                                          subsets: 100, subsetSize: 250)
        let want = e["kid_1_3"] as! Double
        // torch-fidelity computes the kernels in float32; ours in float64.
        XCTAssertEqual(kid.mean, want, accuracy: abs(want) * 1e-4, "ours \(kid.mean), torch-fidelity \(want)")
        XCTAssertEqual(kid.std, 0)
        // Smaller subsets: a spread (torch-fidelity gives 0.168 +- 0.171 on these with its own
        // subsets), and a mean within 4 standard errors of the full value (unbiased).
        let sub = kernelInceptionDistance(a.values, count: a.rows, b.values, count: b.rows, dimension: a.dimension,
                                          subsets: 50, subsetSize: 100)
        XCTAssertGreaterThan(sub.std, 0)
        XCTAssertEqual(sub.mean, want, accuracy: 4 * sub.std / Double(50).squareRoot())
    }

    /// Beyond FeatureRows' memory share the features go to a temporary file: KID reads the same
    /// rows back (the spilled and in-memory sets give the same value bit for bit), and statistics
    /// merged from parts equal the statistics of all rows.
    func testSpilledFeaturesGiveTheSameKIDAndMergedStatisticsAgree() throws {
        let a = try features("features1"), b = try features("features3")
        let memA = FeatureRows(dimension: a.dimension), memB = FeatureRows(dimension: b.dimension)
        try memA.append(a.values, rows: a.rows); try memB.append(b.values, rows: b.rows)
        let fileA = FeatureRows(dimension: a.dimension, memoryRows: 7), fileB = FeatureRows(dimension: b.dimension, memoryRows: 7)
        // In two parts, so rows written before and after the spill are both read back.
        let half = a.rows / 2
        try fileA.append(Array(Array(a.values)[0..<(half * a.dimension)]), rows: half)
        try fileA.append(Array(Array(a.values)[(half * a.dimension)...]), rows: a.rows - half)
        try fileB.append(b.values, rows: b.rows)
        XCTAssertFalse(memA.spilled); XCTAssertTrue(fileA.spilled); XCTAssertTrue(fileB.spilled)
        XCTAssertEqual(fileA.count, a.rows)
        let inMemory = kernelInceptionDistance(memA, memB, subsets: 20, subsetSize: 50)
        let spilled = kernelInceptionDistance(fileA, fileB, subsets: 20, subsetSize: 50)
        XCTAssertEqual(inMemory.mean, spilled.mean)
        XCTAssertEqual(inMemory.std, spilled.std)
        XCTAssertGreaterThan(inMemory.std, 0, "subsets differ: the rows read back matter")
        let copy = FeatureRows(dimension: a.dimension, memoryRows: 3)
        try copy.append(contentsOf: fileA)
        XCTAssertEqual(copy.gather(Array(0..<a.rows)), memA.gather(Array(0..<a.rows)))

        let whole = FeatureAccumulator(dimension: a.dimension)
        whole.add(a.values, rows: a.rows)
        let p1 = FeatureAccumulator(dimension: a.dimension), p2 = FeatureAccumulator(dimension: a.dimension)
        p1.add(Array(Array(a.values)[0..<(half * a.dimension)]), rows: half)
        p2.add(Array(Array(a.values)[(half * a.dimension)...]), rows: a.rows - half)
        let merged = FeatureAccumulator(dimension: a.dimension)
        merged.merge(try p1.statistics()); merged.merge(try p2.statistics())
        let sw = try whole.statistics(), sm = try merged.statistics()
        XCTAssertEqual(sm.count, sw.count)
        let dm = zip(sw.mean, sm.mean).map { abs($0 - $1) }.max()!, dc = zip(sw.covariance, sm.covariance).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(dm, 1e-12); XCTAssertLessThan(dc, 1e-9)
    }

    /// Degenerate folders (every image the same flat colour give identical features): the
    /// covariance is 0 and singular, and FID stays finite (no NaN from a square root of a
    /// negative rounding error), equal to the squared distance of the means when both are flat.
    func testDegenerateFeaturesGiveAFiniteFID() throws {
        let d = 8
        let flatA = FeatureAccumulator(dimension: d), flatB = FeatureAccumulator(dimension: d)
        flatA.add([Float](repeating: 0.5, count: 5 * d), rows: 5)
        flatB.add([Float](repeating: 0.25, count: 4 * d), rows: 4)
        let a = try flatA.statistics(), b = try flatB.statistics()
        XCTAssertEqual(try frechetDistance(a, b), Double(d) * 0.0625, accuracy: 1e-9)
        let f = try features("features1")
        let real = try statistics("features1")
        let wide = FeatureAccumulator(dimension: f.dimension)
        wide.add([Float](repeating: 1, count: 3 * f.dimension), rows: 3)
        let flatWide = try frechetDistance(try wide.statistics(), real)
        XCTAssertTrue(flatWide.isFinite && flatWide > 0, "\(flatWide)")
        let k = kernelInceptionDistance([Float](repeating: 1, count: 3 * d), count: 3, [Float](repeating: 0, count: 3 * d), count: 3,
                                        dimension: d, subsets: 5, subsetSize: 3)
        XCTAssertTrue(k.mean.isFinite)
    }

    func testNPZRoundTripAndRefusals() throws {
        let s = try statistics("features2")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stats-\(UUID().uuidString).npz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try s.write(npz: path)
        let back = try FeatureStatistics.read(npz: path)
        XCTAssertEqual(back.mean, s.mean)
        XCTAssertEqual(back.covariance, s.covariance)
        try NumPy.writeNPZ(["mu": NumPyArray(shape: [2], values: [1, 2])], to: path)
        XCTAssertThrowsError(try FeatureStatistics.read(npz: path)) { XCTAssertTrue("\($0)".contains("no mu and sigma"), "\($0)") }
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FeatureStatistics.read(npz: path))
    }
}
