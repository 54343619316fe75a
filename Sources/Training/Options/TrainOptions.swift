// The effective options of a training run: what the paper code's BaseOptions + TrainOptions
// hold, with every default resolved for the chosen model (`netG` is "unet_256" for pix2pix,
// never nil), plus the model's own options (its `modify_commandline_options`), by name.
//
// One Codable type, so the run folder's options.json is written by JSONEncoder and read back
// into the same type; `optText` renders the paper code's opt.txt from the same encoding.
//
//   var o = TrainableModel.pix2pix.defaultOptions(dataroot: "facades", name: "f")
//   o.nEpochs = 5
//   try o.setModelOptions(["--lambda-L1", "50"], for: .pix2pix)
import Foundation
import Augment
import Datasets
import Models
import NN

/// A value of a model's own option (JSON: a bare number, boolean or string).
public enum ModelOptionValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }

    /// Numbers compare by value: JSON does not keep 50.0 apart from 50.
    public static func == (a: ModelOptionValue, b: ModelOptionValue) -> Bool {
        switch (a, b) {
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        default:
            guard let x = a.double, let y = b.double else { return false }
            return x == y
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        }
    }

    public var int: Int? {
        switch self {
        case .int(let v): return v
        case .double(let v): return v == v.rounded() && abs(v) < 1e15 ? Int(v) : nil
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// One option a model adds to the common ones, as the paper code's `modify_commandline_options`:
/// `--lambda-A 10` on the command line, `lambda_A` in options.json and opt.txt.
public struct ModelOption: Sendable {
    public enum Kind: Sendable, Equatable {
        case int(min: Int)
        case float(min: Double)
        /// A flag: `--name` sets it, `--no-name` clears it.
        case flag
        /// Comma-separated integers >= min (`--nce-layers 0,4,8,12,16`), kept as the text.
        case intList(min: Int)
    }
    /// The command-line name without dashes ("lambda-A").
    public var name: String
    public var kind: Kind
    public var defaultValue: ModelOptionValue
    public var help: String

    public init(_ name: String, _ kind: Kind, default value: ModelOptionValue, help: String) {
        self.name = name; self.kind = kind; self.defaultValue = value; self.help = help
    }

    /// The name in options.json and opt.txt (the paper code's spelling: `lambda_A`).
    public var key: String { name.replacingOccurrences(of: "-", with: "_") }

    /// "0,4,8" -> [0, 4, 8]; nil if empty, not integers, or below `min`.
    public static func parseIntList(_ text: String, min: Int) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 >= min }) else { return nil }
        return values
    }
}

/// The effective options of one training run.
public struct TrainOptions: Codable, Equatable, Sendable {
    // what and where
    public var model: String
    public var dataroot: String
    public var name: String
    public var checkpointsDir = "runs"
    // networks
    public var netG = "resnet_9blocks"
    public var netD = "basic"
    public var nLayersD = 3
    public var ngf = 64
    public var ndf = 64
    public var norm = ModelConfig.Norm.instance
    public var initType = InitType.normal
    public var initGain: Float = 0.02
    public var useDropout = false
    public var inputNc = 3
    public var outputNc = 3
    // losses
    public var ganMode = GANMode.lsgan
    public var dSteps = 1
    public var lambdaGP: Float = 10
    public var clipValue: Float = 0.01
    // data
    public var direction = Direction.aToB
    public var preprocess = Preprocess.resizeAndCrop
    public var loadSize = 286
    public var cropSize = 256
    public var noFlip = false
    public var filter = ResizeFilter.bicubic
    public var serialBatches = false
    public var maxDatasetSize = Int.max
    public var batchSize = 1
    // schedule
    /// The number of the first epoch (the paper code's epoch_count): epochs run from it to
    /// n_epochs + n_epochs_decay, the schedule counts from it and saves are named by it.
    public var epochCount = 1
    public var nEpochs = 100
    public var nEpochsDecay = 100
    public var lr = 0.0002
    public var beta1 = 0.5
    public var lrPolicy = LRPolicy.linear
    public var lrDecayIters = 50
    public var seed: UInt64 = 0
    // run
    public var continueTrain = false
    public var saveEpochFreq = 5
    public var saveLatestFreq = 5000
    public var saveLatestEpochs = 1
    public var printFreq = 100
    /// Compute threads (per process); part of the options because results are identical only for
    /// equal counts.
    public var numThreads = 1
    /// Data-parallel processes (MPI ranks); each takes batch_size images per step, so a step
    /// trains on world_size * batch_size images (`effectiveBatchSize`).
    public var worldSize = 1
    /// Batch norm statistics over all ranks' batches (else each rank's own, as PyTorch DDP).
    public var syncBN = false
    /// The model's own options by `ModelOption.key`.
    public var modelOptions: [String: ModelOptionValue] = [:]

    public init(model: String, dataroot: String, name: String) {
        self.model = model; self.dataroot = dataroot; self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case model, dataroot, name, netG, netD, ngf, ndf, norm, direction, preprocess, filter, lr, beta1, seed
        case checkpointsDir = "checkpoints_dir", nLayersD = "n_layers_D", initType = "init_type", initGain = "init_gain"
        case useDropout = "use_dropout", inputNc = "input_nc", outputNc = "output_nc", ganMode = "gan_mode"
        case dSteps = "d_steps", lambdaGP = "lambda_gp", clipValue = "clip_value", loadSize = "load_size"
        case cropSize = "crop_size", noFlip = "no_flip", serialBatches = "serial_batches"
        case maxDatasetSize = "max_dataset_size", batchSize = "batch_size", nEpochs = "n_epochs"
        case epochCount = "epoch_count", nEpochsDecay = "n_epochs_decay", lrPolicy = "lr_policy", lrDecayIters = "lr_decay_iters"
        case continueTrain = "continue_train", saveEpochFreq = "save_epoch_freq", saveLatestFreq = "save_latest_freq"
        case saveLatestEpochs = "save_latest_epochs", printFreq = "print_freq", numThreads = "num_threads"
        case worldSize = "world_size", syncBN = "sync_bn", effectiveBatchSize = "effective_batch_size"
        case modelOptions = "model_options"
    }

    /// Images per optimizer step over all ranks.
    public var effectiveBatchSize: Int { batchSize * worldSize }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(String.self, forKey: .model), dataroot: try c.decode(String.self, forKey: .dataroot),
                  name: try c.decode(String.self, forKey: .name))
        func get<T: Decodable>(_ k: CodingKeys, _ v: inout T) throws { if let x = try c.decodeIfPresent(T.self, forKey: k) { v = x } }
        try get(.checkpointsDir, &checkpointsDir); try get(.netG, &netG); try get(.netD, &netD); try get(.nLayersD, &nLayersD)
        try get(.ngf, &ngf); try get(.ndf, &ndf); try get(.norm, &norm); try get(.initType, &initType)
        try get(.initGain, &initGain); try get(.useDropout, &useDropout); try get(.inputNc, &inputNc)
        try get(.outputNc, &outputNc); try get(.ganMode, &ganMode); try get(.dSteps, &dSteps); try get(.lambdaGP, &lambdaGP)
        try get(.clipValue, &clipValue); try get(.direction, &direction); try get(.preprocess, &preprocess)
        try get(.loadSize, &loadSize); try get(.cropSize, &cropSize); try get(.noFlip, &noFlip); try get(.filter, &filter)
        try get(.serialBatches, &serialBatches); try get(.maxDatasetSize, &maxDatasetSize); try get(.batchSize, &batchSize)
        try get(.epochCount, &epochCount); try get(.nEpochs, &nEpochs); try get(.nEpochsDecay, &nEpochsDecay); try get(.lr, &lr); try get(.beta1, &beta1)
        try get(.lrPolicy, &lrPolicy); try get(.lrDecayIters, &lrDecayIters); try get(.seed, &seed)
        try get(.continueTrain, &continueTrain); try get(.saveEpochFreq, &saveEpochFreq)
        try get(.saveLatestFreq, &saveLatestFreq); try get(.saveLatestEpochs, &saveLatestEpochs)
        try get(.printFreq, &printFreq); try get(.numThreads, &numThreads); try get(.worldSize, &worldSize)
        try get(.syncBN, &syncBN); try get(.modelOptions, &modelOptions)
    }

    /// Every option, and the effective batch size for whoever reads the file.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model); try c.encode(dataroot, forKey: .dataroot); try c.encode(name, forKey: .name)
        try c.encode(checkpointsDir, forKey: .checkpointsDir); try c.encode(netG, forKey: .netG); try c.encode(netD, forKey: .netD)
        try c.encode(nLayersD, forKey: .nLayersD); try c.encode(ngf, forKey: .ngf); try c.encode(ndf, forKey: .ndf)
        try c.encode(norm, forKey: .norm); try c.encode(initType, forKey: .initType); try c.encode(initGain, forKey: .initGain)
        try c.encode(useDropout, forKey: .useDropout); try c.encode(inputNc, forKey: .inputNc); try c.encode(outputNc, forKey: .outputNc)
        try c.encode(ganMode, forKey: .ganMode); try c.encode(dSteps, forKey: .dSteps); try c.encode(lambdaGP, forKey: .lambdaGP)
        try c.encode(clipValue, forKey: .clipValue); try c.encode(direction, forKey: .direction)
        try c.encode(preprocess, forKey: .preprocess); try c.encode(loadSize, forKey: .loadSize)
        try c.encode(cropSize, forKey: .cropSize); try c.encode(noFlip, forKey: .noFlip); try c.encode(filter, forKey: .filter)
        try c.encode(serialBatches, forKey: .serialBatches); try c.encode(maxDatasetSize, forKey: .maxDatasetSize)
        try c.encode(batchSize, forKey: .batchSize); try c.encode(epochCount, forKey: .epochCount)
        try c.encode(nEpochs, forKey: .nEpochs)
        try c.encode(nEpochsDecay, forKey: .nEpochsDecay); try c.encode(lr, forKey: .lr); try c.encode(beta1, forKey: .beta1)
        try c.encode(lrPolicy, forKey: .lrPolicy); try c.encode(lrDecayIters, forKey: .lrDecayIters); try c.encode(seed, forKey: .seed)
        try c.encode(continueTrain, forKey: .continueTrain); try c.encode(saveEpochFreq, forKey: .saveEpochFreq)
        try c.encode(saveLatestFreq, forKey: .saveLatestFreq); try c.encode(saveLatestEpochs, forKey: .saveLatestEpochs)
        try c.encode(printFreq, forKey: .printFreq); try c.encode(numThreads, forKey: .numThreads)
        try c.encode(worldSize, forKey: .worldSize); try c.encode(syncBN, forKey: .syncBN)
        try c.encode(effectiveBatchSize, forKey: .effectiveBatchSize); try c.encode(modelOptions, forKey: .modelOptions)
    }

    /// The run's folder.
    public var directory: String { checkpointsDir + "/" + name }

    /// The preprocessing the dataset applies.
    public var augmentOptions: AugmentOptions {
        AugmentOptions(preprocess: preprocess, loadSize: loadSize, cropSize: cropSize, flip: !noFlip, filter: filter,
                       scaledHeightMultiple: 4)
    }

    /// The options every trainer reads.
    public var trainingOptions: TrainingOptions {
        var t = TrainingOptions()
        t.ganMode = ganMode; t.lr = lr; t.beta1 = beta1; t.lrPolicy = lrPolicy; t.epochCount = epochCount; t.nEpochs = nEpochs
        t.nEpochsDecay = nEpochsDecay; t.lrDecayIters = lrDecayIters; t.dSteps = dSteps
        t.clipValue = clipValue; t.lambdaGP = lambdaGP; t.seed = seed
        return t
    }

    public var initialization: InitOptions { InitOptions(type: initType, gain: initGain) }

    // MARK: - The model's own options

    /// A model option's value: as set, else the registered model's default.
    public func value(_ name: String) -> ModelOptionValue {
        let key = name.replacingOccurrences(of: "-", with: "_")
        if let v = modelOptions[key] { return v }
        guard let o = ModelRegistry.model(named: model)?.options.first(where: { $0.key == key }) else {
            preconditionFailure("model \(model) declares no option \(name)")
        }
        return o.defaultValue
    }

    public func float(_ name: String) -> Float { Float(value(name).double ?? 0) }

    public func int(_ name: String) -> Int { value(name).int ?? 0 }

    public func flag(_ name: String) -> Bool {
        if case .bool(let b) = value(name) { return b }
        return false
    }

    /// An `.intList` option's integers (an option set from options.json may be malformed: nil).
    public func intList(_ name: String) -> [Int]? { ModelOption.parseIntList(value(name).description, min: Int.min) }

    /// Parses the model's own options from command-line words (`--lambda-A 5`, `--lambda-A=5`,
    /// `--nce-idt`, `--no-nce-idt`). Unknown names and bad values throw `invalidOptions`
    /// naming the model's options.
    public mutating func setModelOptions(_ words: [String], for model: TrainableModel) throws {
        var i = 0
        func fail(_ why: String) -> TrainingError {
            let known = model.options.map { "--" + $0.name }.joined(separator: ", ")
            return .invalidOptions(why + (known.isEmpty ? " (\(model.name) has no options of its own)"
                                                         : " (\(model.name)'s own options: \(known))"))
        }
        while i < words.count {
            let word = words[i]
            guard word.hasPrefix("--"), word.count > 2 else { throw fail("unexpected argument '\(word)'") }
            var name = String(word.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            i += 1
            if let o = model.options.first(where: { $0.name == name }) {
                switch o.kind {
                case .flag:
                    if let inline {
                        guard let b = Bool(inline) else { throw fail("--\(name) takes no value or true/false, got '\(inline)'") }
                        modelOptions[o.key] = .bool(b)
                    } else {
                        modelOptions[o.key] = .bool(true)
                    }
                case .int(let min):
                    let text = try inline ?? next(&i, words, name, fail)
                    guard let v = Int(text), v >= min else { throw fail("--\(name) takes an integer >= \(min), got '\(text)'") }
                    modelOptions[o.key] = .int(v)
                case .float(let min):
                    let text = try inline ?? next(&i, words, name, fail)
                    guard let v = Double(text), v.isFinite, v >= min else {
                        throw fail("--\(name) takes a number >= \(min), got '\(text)'")
                    }
                    modelOptions[o.key] = .double(v)
                case .intList(let min):
                    let text = try inline ?? next(&i, words, name, fail)
                    guard let v = ModelOption.parseIntList(text, min: min) else {
                        throw fail("--\(name) takes comma-separated integers >= \(min) (e.g. 0,4,8), got '\(text)'")
                    }
                    modelOptions[o.key] = .string(v.map(String.init).joined(separator: ","))
                }
            } else if name.hasPrefix("no-"), let o = model.options.first(where: { $0.name == name.dropFirst(3) && $0.kind == .flag }) {
                guard inline == nil else { throw fail("--\(name) takes no value") }
                modelOptions[o.key] = .bool(false)
            } else {
                throw fail("unknown option --\(name) for \(model.name)")
            }
        }
    }

    private func next(_ i: inout Int, _ words: [String], _ name: String, _ fail: (String) -> TrainingError) throws -> String {
        guard i < words.count else { throw fail("--\(name) needs a value") }
        defer { i += 1 }
        return words[i]
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

    /// The paper code's opt.txt: one option a line, its value, and `[default: ...]` where it
    /// differs from the model's default.
    public func optText(defaults: TrainOptions) throws -> String {
        let mine = try Self.flatten(self), theirs = try Self.flatten(defaults)
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

    /// Options and model options as one flat name -> text map, from the JSON encoding.
    static func flatten(_ o: TrainOptions) throws -> [String: String] {
        enum Field: Decodable {
            case scalar(ModelOptionValue)
            case object([String: ModelOptionValue])
            init(from decoder: Decoder) throws {
                if let v = try? ModelOptionValue(from: decoder) { self = .scalar(v) }
                else { self = .object(try [String: ModelOptionValue](from: decoder)) }
            }
        }
        func text(_ v: ModelOptionValue) -> String {
            if case .bool(let b) = v { return b ? "True" : "False" }  // as Python prints them
            return v.description
        }
        var out: [String: String] = [:]
        for (k, f) in try JSONDecoder().decode([String: Field].self, from: try JSONEncoder().encode(o)) {
            switch f {
            case .scalar(let v): out[k] = text(v)
            // The model's options are printed among the others, as the paper code does.
            case .object(let m): for (mk, mv) in m { out[mk] = text(mv) }
            }
        }
        return out
    }
}
