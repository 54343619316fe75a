// The effective options of a training run: every common option (CommonOptions) and the model's
// own (ModelOptions), by their keys, each read and written through its typed declaration:
//
//   var o = TrainableModel.pix2pix.defaultOptions(dataroot: "facades", name: "f")
//   o.nEpochs = 5                  // CommonOptions.nEpochs: Opt<Int>
//   o.lambdaL1 = 50                // ModelOptions.lambdaL1 (Pix2PixTrainer.swift)
//   try o.parseCommandLine(["--lambda-L1", "50", "--crop-size=128"], for: .pix2pix)
//
// options.json is this value's JSON (the paper code's keys, the model's own options under
// "model_options"); opt.txt is rendered from the same declarations. Both come from the
// declarations alone, so an option added there is in both.
import Foundation
import Augment

@dynamicMemberLookup
public struct TrainOptions: Codable, Equatable, Sendable {
    /// Common options that were set, by key (the others are at their declaration's default).
    private var common: [String: OptionJSON] = [:]
    /// The model's own options by key ("model_options" in options.json).
    public var modelValues: [String: OptionJSON] = [:]

    public init(model: String, dataroot: String, name: String) {
        self.model = model; self.dataroot = dataroot; self.name = name
    }

    /// Every option at its declaration's default (the trainers' programmatic form).
    public init() {}

    public subscript<V: OptionValue>(dynamicMember kp: KeyPath<CommonOptions, Opt<V>>) -> V {
        get {
            let o = CommonOptions.table[keyPath: kp]
            return common[o.key].flatMap(V.init(json:)) ?? o.defaultValue
        }
        set { common[CommonOptions.table[keyPath: kp].key] = newValue.json }
    }

    public subscript<V: OptionValue>(dynamicMember kp: KeyPath<ModelOptions, Opt<V>>) -> V {
        get {
            let o = ModelOptions()[keyPath: kp]
            return modelValues[o.key].flatMap(V.init(json:)) ?? o.defaultValue
        }
        set { modelValues[ModelOptions()[keyPath: kp].key] = newValue.json }
    }

    /// A common option's stored value by key (the default if unset).
    public func value(of o: AnyOpt) -> OptionJSON { common[o.key] ?? modelValues[o.key] ?? o.defaultJSON }

    /// Images per optimizer step over all ranks.
    public var effectiveBatchSize: Int { self.batchSize * self.worldSize }

    /// The run's folder.
    public var directory: String { self.checkpointsDir + "/" + self.name }

    /// The preprocessing the dataset applies.
    public var augmentOptions: AugmentOptions {
        AugmentOptions(preprocess: self.preprocess, loadSize: self.loadSize, cropSize: self.cropSize, flip: !self.noFlip,
                       filter: self.filter,
                       scaledHeightMultiple: 4)
    }

    public var initialization: InitOptions { InitOptions(type: self.initType, gain: self.initGain) }

    /// Values whose check fails (from options.json or set in code), each naming its option:
    /// the common options and `modelOptions` (a model's own, from its registration).
    public func declarationProblems(modelOptions: [AnyOpt] = []) -> [String] {
        CommonOptions.all.compactMap { o in common[o.key].flatMap { o.problem($0) } }
            + modelOptions.compactMap { o in modelValues[o.key].flatMap { o.problem($0) } }
    }

    public static func == (a: TrainOptions, b: TrainOptions) -> Bool {
        CommonOptions.all.allSatisfy { a.value(of: $0) == b.value(of: $0) } && a.modelValues == b.modelValues
    }

    // MARK: - The command line

    /// Sets options from command-line words (`--load-size 128`, `--load-size=128`, `--nce-idt`,
    /// `--no-nce-idt`), the common ones and `model`'s own. Returns the keys given. Unknown names
    /// and bad values throw, naming the option and the model's options.
    @discardableResult
    public mutating func parseCommandLine(_ words: [String], for model: TrainableModel,
                                          otherNames: [String] = []) throws(OptionParseError) -> Set<String> {
        let own = model.options.map { "--" + $0.option.name }.joined(separator: ", ")
        return try parseCommandLine(words, accepting: CommonOptions.all.filter { !$0.recordedOnly },
                                    modelOptions: model.options.map(\.option), modelName: model.name,
                                    context: own.isEmpty ? " (\(model.name) has no options of its own)"
                                                         : " (\(model.name)'s own options: \(own))",
                                    otherNames: otherNames)
    }

    /// Sets the declared options among `accepting` (and a model's, stored as its own) from
    /// command-line words: what `train` does for a model, and what another subcommand that takes
    /// some of the training options does (`augment` takes `CommonOptions.preprocessing`).
    @discardableResult
    /// `subcommand` and `otherNames` (the subcommand's options outside the table: --threads)
    /// make the paper code's spellings get img2img's (`PaperSpellings`).
    public mutating func parseCommandLine(_ words: [String], accepting commonOptions: [AnyOpt], modelOptions: [AnyOpt] = [],
                                          modelName: String? = nil, context: String = "", subcommand: String = "train",
                                          otherNames: [String] = []) throws(OptionParseError) -> Set<String> {
        let options = commonOptions + modelOptions
        var given = Set<String>()
        func fail(_ why: String) -> OptionParseError { OptionParseError(why + context) }
        var i = 0
        while i < words.count {
            let word = words[i]
            i += 1
            guard word.hasPrefix("--"), word.count > 2 else { throw fail("unexpected argument '\(word)'") }
            var name = String(word.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            let text: String
            let option: AnyOpt
            if let o = options.first(where: { $0.name == name }) {
                option = o
                if o.isFlag {
                    text = inline ?? "true"
                } else if let inline {
                    text = inline
                } else {
                    guard i < words.count else { throw fail("--\(name) needs a value") }
                    text = words[i]
                    i += 1
                }
            } else if name.hasPrefix("no-"), let o = options.first(where: { $0.isFlag && $0.name == name.dropFirst(3) }) {
                guard inline == nil else { throw fail("--\(name) takes no value") }
                option = o
                text = "false"
            } else {
                let accepted = options.map(\.name) + options.filter(\.isFlag).map { "no-" + $0.name } + otherNames
                if let hint = PaperSpellings.hint(for: name, subcommand: subcommand, accepted: accepted) {
                    throw OptionParseError(hint)
                }
                throw fail("unknown option --\(name)" + (modelName.map { " for \($0)" } ?? ""))
            }
            switch option.parse(text) {
            case .success(let v):
                if modelOptions.contains(where: { $0.key == option.key }) { modelValues[option.key] = v }
                else { common[option.key] = v }
                given.insert(option.key)
            case .failure(let e):
                throw e
            }
        }
        return given
    }

    // MARK: - The run folder's files

    /// options.json: the effective options, sorted keys, readable by any JSON parser.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    public static func fromJSON(_ data: Data) throws -> TrainOptions {
        try JSONDecoder().decode(TrainOptions.self, from: data)
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        static let modelOptions = Key("model_options")
        static let effectiveBatchSize = Key("effective_batch_size")
    }

    /// Every declared option, the model's under "model_options", and the effective batch size
    /// for whoever reads the file.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for o in CommonOptions.all { try c.encode(value(of: o), forKey: Key(o.key)) }
        try c.encode(effectiveBatchSize, forKey: .effectiveBatchSize)
        try c.encode(modelValues, forKey: .modelOptions)
    }

    /// Reads what the declarations know; keys of older or newer versions are ignored, missing
    /// ones take their defaults (an options.json of an older run loads).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for required in ["model", "dataroot", "name"] where !c.contains(Key(required)) {
            throw DecodingError.keyNotFound(Key(required), .init(codingPath: [], debugDescription: "options.json has no \(required)"))
        }
        for o in CommonOptions.all {
            if let v = try c.decodeIfPresent(OptionJSON.self, forKey: Key(o.key)) { common[o.key] = v }
        }
        modelValues = try c.decodeIfPresent([String: OptionJSON].self, forKey: .modelOptions) ?? [:]
    }

    /// The paper code's opt.txt: one option a line, its value, and `[default: ...]` where it
    /// differs from the model's default.
    public func optText(defaults: TrainOptions) -> String {
        let mine = flattened(), theirs = defaults.flattened()
        let width = max(25, (mine.keys.map(\.count).max() ?? 0) + 1)
        var s = "----------------- Options ---------------\n"
        for k in mine.keys.sorted() {
            let v = mine[k]!
            var line = String(repeating: " ", count: max(0, width - k.count)) + k + ": " + v
            if let d = theirs[k], d != v { line += String(repeating: " ", count: max(1, 30 - v.count)) + "\t[default: \(d)]" }
            s += line + "\n"
        }
        s += "----------------- End -------------------\n"
        return s
    }

    /// Every option as key -> text; the model's among the others, as the paper code prints them.
    func flattened() -> [String: String] {
        var out: [String: String] = [:]
        for o in CommonOptions.all { out[o.key] = value(of: o).optText }
        out["effective_batch_size"] = String(effectiveBatchSize)
        for (k, v) in modelValues { out[k] = v.optText }
        return out
    }

    // MARK: - Help

    /// `--name <value>: help (default: X)` for each option `train` takes, common then `model`'s.
    public static func helpLines(for model: TrainableModel?) -> [String] {
        let defaults = model?.defaultOptions(dataroot: "", name: "") ?? TrainOptions()
        func line(_ o: AnyOpt) -> String {
            let d = defaults.value(of: o)
            let shown = o.key == "max_dataset_size" && d == .int(.max) ? "all" : d.description
            if d == .string("") { return "  --\(o.name) <\(o.valueName)>: \(o.help) (required)" }
            return "  --\(o.name)" + (o.isFlag ? "" : " <\(o.valueName)>") + ": \(o.help)"
                + (o.isFlag ? (o.name.hasPrefix("no-") || d == .bool(false) ? "" : " (on; --no-\(o.name) turns it off)")
                            : " (default \(shown))")
        }
        if let model { return model.options.map { line($0.option) } }
        return CommonOptions.all.filter { !$0.recordedOnly }.map(line)
    }
}
