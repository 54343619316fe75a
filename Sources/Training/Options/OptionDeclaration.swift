// How a training option is declared: once, as a typed `Opt<Value>` (its command-line name, its
// key in options.json and opt.txt, its default, its help and its check). Everything else is
// derived from the declarations: `train`'s parsing and --help, options.json, opt.txt, and the
// typed accessors (`o.loadSize`, `o.lambdaA`) through `TrainOptions`' dynamic members.
//
//   // a common option: a stored property of CommonOptions (OptionTable.swift)
//   public let loadSize = Opt<Int>("load-size", 286, "Scale images to this size.", check: .atLeast(1))
//   // a model's own option: a computed property in the model's file, listed by its registration
//   extension ModelOptions { public var lambdaL1: Opt<Double> { Opt("lambda-L1", 100, "Weight of L1.") } }
//
// Why a table of typed keys and not swift-argument-parser's property wrappers: the options are
// also the run's stored record (options.json with the paper code's snake_case keys, opt.txt),
// per-model defaults and per-model option sets are data of the model registry, and a model's own
// options must be parsed after the model is known; ArgumentParser declarations are static and
// their Codable form is its own. A declaration that is a value can be enumerated (the help, the
// record and the agreement test walk the same list), and a misspelt key does not compile.
import Foundation

/// An option's value as options.json holds it: a bare number, boolean or string.
public enum OptionJSON: Codable, Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .uint(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }

    /// Numbers compare by value: JSON does not keep 50.0 apart from 50.
    public static func == (a: OptionJSON, b: OptionJSON) -> Bool {
        switch (a, b) {
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.uint(let x), .uint(let y)): return x == y
        default:
            guard let x = a.double, let y = b.double else { return false }
            return x == y
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        }
    }

    /// As the paper code's opt.txt prints it (Python's True/False).
    public var optText: String {
        if case .bool(let b) = self { return b ? "True" : "False" }
        // No limit (--max-dataset-size's default): the paper code's float("inf") prints as inf.
        if case .int(Int.max) = self { return "inf" }
        return description
    }

    public var int: Int? {
        switch self {
        case .int(let v): return v
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .double(let v): return v == v.rounded() && abs(v) < 1e15 ? Int(v) : nil
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// A type an option can hold: how it reads from the command line and from options.json.
public protocol OptionValue: Sendable, Equatable {
    /// The command-line text, or nil with the reason in `OptionValueError`.
    static func parse(_ text: String) -> Self?
    init?(json: OptionJSON)
    var json: OptionJSON { get }
    /// How the help names the value ("int", "number", "a|b|c").
    static var valueName: String { get }
    /// Flags take no value: `--name` sets, `--no-name` clears.
    static var isFlag: Bool { get }
}

extension OptionValue {
    public static var isFlag: Bool { false }
}

extension Int: OptionValue {
    public static func parse(_ text: String) -> Int? { Int(text) }
    public init?(json: OptionJSON) { guard let v = json.int else { return nil }; self = v }
    public var json: OptionJSON { .int(self) }
    public static var valueName: String { "int" }
}

extension UInt64: OptionValue {
    public static func parse(_ text: String) -> UInt64? { UInt64(text) }
    public init?(json: OptionJSON) {
        switch json {
        case .uint(let v): self = v
        case .int(let v) where v >= 0: self = UInt64(v)
        default: return nil
        }
    }
    public var json: OptionJSON { .uint(self) }
    public static var valueName: String { "int" }
}

extension Double: OptionValue {
    public static func parse(_ text: String) -> Double? { Double(text).flatMap { $0.isFinite ? $0 : nil } }
    public init?(json: OptionJSON) { guard let v = json.double else { return nil }; self = v }
    public var json: OptionJSON { .double(self) }
    public static var valueName: String { "number" }
}

extension Float: OptionValue {
    public static func parse(_ text: String) -> Float? { Float(text).flatMap { $0.isFinite ? $0 : nil } }
    public init?(json: OptionJSON) { guard let v = json.double else { return nil }; self = Float(v) }
    /// Through the shortest text, so 0.02 is written as 0.02 (not 0.019999999552965164).
    public var json: OptionJSON { .double(Double(description) ?? Double(self)) }
    public static var valueName: String { "number" }
}

extension Bool: OptionValue {
    public static func parse(_ text: String) -> Bool? { Bool(text) }
    public init?(json: OptionJSON) { guard case .bool(let b) = json else { return nil }; self = b }
    public var json: OptionJSON { .bool(self) }
    public static var valueName: String { "flag" }
    public static var isFlag: Bool { true }
}

extension String: OptionValue {
    public static func parse(_ text: String) -> String? { text }
    public init?(json: OptionJSON) { guard case .string(let s) = json else { return nil }; self = s }
    public var json: OptionJSON { .string(self) }
    public static var valueName: String { "text" }
}

/// Enumerations stored by their raw text (`--gan-mode lsgan`).
public protocol OptionEnum: OptionValue, RawRepresentable<String>, CaseIterable {}

extension OptionEnum {
    public static func parse(_ text: String) -> Self? { Self(rawValue: text) }
    public init?(json: OptionJSON) { guard case .string(let s) = json, let v = Self(rawValue: s) else { return nil }; self = v }
    public var json: OptionJSON { .string(rawValue) }
    public static var valueName: String { allCases.map(\.rawValue).joined(separator: "|") }
}

/// Comma-separated integers (`--nce-layers 0,4,8,12,16`), stored as the text.
public struct IntList: OptionValue, CustomStringConvertible {
    public var values: [Int]
    public init(_ values: [Int]) { self.values = values }
    public static func parse(_ text: String) -> IntList? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count else { return nil }
        return IntList(values)
    }
    public init?(json: OptionJSON) { guard case .string(let s) = json, let v = Self.parse(s) else { return nil }; self = v }
    public var json: OptionJSON { .string(description) }
    public var description: String { values.map(String.init).joined(separator: ",") }
    public static var valueName: String { "i,j,..." }
}

/// A check of one option's value alone: nil if fine, else what the value must be
/// ("at least 1"); the message names the option and the value given.
public struct OptionCheck<Value: OptionValue>: Sendable {
    public let rule: @Sendable (Value) -> String?
    public init(_ rule: @escaping @Sendable (Value) -> String?) { self.rule = rule }
    public static var none: OptionCheck { OptionCheck { _ in nil } }
}

extension OptionCheck where Value: Comparable & Sendable {
    public static func atLeast(_ min: Value) -> OptionCheck { OptionCheck { $0 >= min ? nil : "at least \(min)" } }
    public static func within(_ r: ClosedRange<Value>) -> OptionCheck {
        OptionCheck { r.contains($0) ? nil : "\(r.lowerBound)...\(r.upperBound)" }
    }
}

extension OptionCheck where Value == IntList {
    public static func each(atLeast min: Int) -> OptionCheck {
        OptionCheck { $0.values.allSatisfy { $0 >= min } ? nil : "comma-separated integers >= \(min) (e.g. 0,4,8)" }
    }
}

/// One option, declared once.
public struct Opt<Value: OptionValue>: Sendable {
    /// The command-line name without dashes ("load-size").
    public let name: String
    /// The name in options.json and opt.txt: the paper code's spelling ("load_size").
    public let key: String
    public let defaultValue: Value
    public let help: String
    public let check: OptionCheck<Value>
    /// Written to options.json but not taken from the command line (set by the run: threads, ranks).
    public let recordedOnly: Bool
    /// Fixes the shapes of the networks' weights (--ngf, --netG, ...): a run's checkpoints hold
    /// networks of its value, so `--continue` cannot change it.
    public let shapesNetworks: Bool

    public init(_ name: String, key: String? = nil, _ defaultValue: Value, _ help: String,
                check: OptionCheck<Value> = .none, recordedOnly: Bool = false, shapesNetworks: Bool = false) {
        self.name = name; self.key = key ?? name.replacingOccurrences(of: "-", with: "_")
        self.defaultValue = defaultValue; self.help = help; self.check = check; self.recordedOnly = recordedOnly
        self.shapesNetworks = shapesNetworks
    }

    /// The reason `value` is refused, naming the option; nil if it is fine.
    public func problem(_ value: Value) -> String? {
        check.rule(value).map { "--\(name) must be \($0), got \(value.json)" }
    }

    /// This declaration with another default (a model's `set_defaults`).
    public func withDefault(_ v: Value) -> Opt {
        Opt(name, key: key, v, help, check: check, recordedOnly: recordedOnly, shapesNetworks: shapesNetworks)
    }

    public var erased: AnyOpt { AnyOpt(self) }
}

/// An option of any type, for the code that walks all of them (parsing, help, records, tests).
public struct AnyOpt: Sendable {
    public let name: String
    public let key: String
    public let help: String
    public let isFlag: Bool
    public let valueName: String
    public let defaultJSON: OptionJSON
    public let recordedOnly: Bool
    public let shapesNetworks: Bool
    /// Command-line text -> stored value, or the reason it is refused (naming the option).
    public let parse: @Sendable (String) -> Result<OptionJSON, OptionParseError>
    /// A stored value (from options.json) checked as the command line would: nil if fine.
    public let problem: @Sendable (OptionJSON) -> String?

    public init<V: OptionValue>(_ o: Opt<V>) {
        name = o.name; key = o.key; help = o.help; isFlag = V.isFlag; valueName = V.valueName
        defaultJSON = o.defaultValue.json; recordedOnly = o.recordedOnly; shapesNetworks = o.shapesNetworks
        parse = { text in
            guard let v = V.parse(text) else {
                return .failure(OptionParseError("--\(o.name) takes " + (V.isFlag ? "no value or true/false" : "a \(V.valueName)")
                                                 + ", got '\(text)'"))
            }
            if let why = o.problem(v) { return .failure(OptionParseError(why)) }
            return .success(v.json)
        }
        problem = { json in
            guard let v = V(json: json) else { return "\(o.key) in options.json is not a \(V.valueName): \(json)" }
            return o.problem(v)
        }
    }
}

public struct OptionParseError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The models' own options: each model's file extends this with computed `Opt` properties
/// (`extension ModelOptions { public var lambdaA: Opt<Double> { ... } }`), and its registration
/// lists the ones it takes. Being one namespace, two models share an option by sharing its
/// declaration (CUT and FastCUT), and a name declared twice does not compile.
public struct ModelOptions: Sendable {
    public init() {}
}

/// A model's use of one of its options, with the model's default (the paper code's
/// `parser.set_defaults` in `modify_commandline_options`).
public struct ModelOptionUse: Sendable {
    public let option: AnyOpt
    public static func use<V: OptionValue>(_ kp: KeyPath<ModelOptions, Opt<V>> & Sendable, default value: V? = nil) -> ModelOptionUse {
        let o = ModelOptions()[keyPath: kp]
        return ModelOptionUse(option: (value.map { o.withDefault($0) } ?? o).erased)
    }
}
