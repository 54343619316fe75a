import Foundation

/// One line of loss_log.jsonl: {"epoch":3,"iter":120,"lr":0.0002,"images_per_s":4.1,"G_A":0.31,...}
///
/// A flat JSON object, keys sorted when encoded. `epoch` and `iter` are
/// integers; `lr` and `images_per_s` are optional; every other numeric key is
/// a loss. Non-finite numbers, which JSON cannot hold, are written as the
/// strings "nan", "inf" and "-inf" and read back as such; other non-numeric
/// keys are ignored when reading.
public struct LossLogEntry: Codable, Equatable, Sendable {
    public var epoch: Int
    public var iteration: Int           // JSON key "iter"
    public var learningRate: Double?    // JSON key "lr"
    public var imagesPerSecond: Double? // JSON key "images_per_s"
    public var losses: [String: Double] // every other numeric key
    /// Input files skipped so far in the run (unreadable, not images); JSON key "skipped_files",
    /// written when above 0.
    public var skippedFiles: Int? = nil

    public init(epoch: Int, iteration: Int, learningRate: Double? = nil, imagesPerSecond: Double? = nil,
                losses: [String: Double]) {
        self.epoch = epoch
        self.iteration = iteration
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
        self.losses = losses
    }

    /// The JSON keys that are not losses.
    public static let reservedKeys: Set<String> = ["epoch", "iter", "lr", "images_per_s", "skipped_files"]

    /// One JSON line (no trailing newline), sorted keys; non-finite loss values
    /// encoded as strings "nan"/"inf"/"-inf".
    /// Throws `EncodingError.invalidValue` if a loss is named like a reserved key.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Parses one line; nil for a line that is not such an object (a torn last line after a kill).
    public static func parse(_ line: Substring) -> LossLogEntry? {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else { return nil }
        return try? JSONDecoder().decode(LossLogEntry.self, from: Data(trimmed.utf8))
    }

    /// Every well-formed line of a whole loss_log.jsonl, in order; torn or
    /// foreign lines are skipped.
    public static func parseLog(_ text: String) -> [LossLogEntry] {
        text.split(whereSeparator: \.isNewline).compactMap { parse($0) }
    }

    // MARK: - Codable with dynamic keys

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        epoch = try c.decode(Int.self, forKey: Key("epoch"))
        iteration = try c.decode(Int.self, forKey: Key("iter"))
        learningRate = try Self.number(in: c, forKey: Key("lr"))
        imagesPerSecond = try Self.number(in: c, forKey: Key("images_per_s"))
        skippedFiles = try c.decodeIfPresent(Int.self, forKey: Key("skipped_files"))
        var losses: [String: Double] = [:]
        for key in c.allKeys where !Self.reservedKeys.contains(key.stringValue) {
            if let v = try? Self.number(in: c, forKey: key) { losses[key.stringValue] = v }
        }
        self.losses = losses
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(epoch, forKey: Key("epoch"))
        try c.encode(iteration, forKey: Key("iter"))
        if let lr = learningRate { try Self.encode(lr, in: &c, forKey: Key("lr")) }
        if let ips = imagesPerSecond { try Self.encode(ips, in: &c, forKey: Key("images_per_s")) }
        if let n = skippedFiles, n > 0 { try c.encode(n, forKey: Key("skipped_files")) }
        for (name, value) in losses {
            guard !Self.reservedKeys.contains(name) else {
                throw EncodingError.invalidValue(value, .init(
                    codingPath: [Key(name)], debugDescription: "loss name '\(name)' is a reserved key of loss_log.jsonl"))
            }
            try Self.encode(value, in: &c, forKey: Key(name))
        }
    }

    private static func encode(_ v: Double, in c: inout KeyedEncodingContainer<Key>, forKey key: Key) throws {
        if v.isNaN {
            try c.encode("nan", forKey: key)
        } else if v.isInfinite {
            try c.encode(v > 0 ? "inf" : "-inf", forKey: key)
        } else {
            try c.encode(v, forKey: key)
        }
    }

    /// A number, or one of the strings "nan", "inf", "-inf"; nil when the key
    /// is absent or null; throws for anything else.
    private static func number(in c: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Double? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let v = try? c.decode(Double.self, forKey: key) { return v }
        switch try c.decode(String.self, forKey: key).lowercased() {
        case "nan": return .nan
        case "inf", "+inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default:
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a number")
        }
    }
}

extension LossLogEntry {
    /// Equality that treats NaN as equal to NaN, so that a round trip of a
    /// line holding "nan" compares equal.
    public static func == (a: LossLogEntry, b: LossLogEntry) -> Bool {
        func same(_ x: Double?, _ y: Double?) -> Bool {
            switch (x, y) {
            case (nil, nil): return true
            case let (x?, y?): return x == y || (x.isNaN && y.isNaN)
            default: return false
            }
        }
        return a.epoch == b.epoch && a.iteration == b.iteration
            && same(a.learningRate, b.learningRate) && same(a.imagesPerSecond, b.imagesPerSecond)
            && a.losses.count == b.losses.count
            && a.losses.allSatisfy { same($0.value, b.losses[$0.key]) }
    }
}
