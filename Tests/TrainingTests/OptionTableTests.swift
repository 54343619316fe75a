// Every training option is one declaration (CommonOptions, ModelOptions); these tests walk all
// of them and check that the command line, options.json and opt.txt agree on each one's name,
// default and value, so an option added to the table is covered without editing this file.
import XCTest
import Foundation
import Training
@testable import Trainers
import Evaluation

final class OptionTableTests: XCTestCase {
    /// A value of `o`'s type other than `current` (the model's default), as command-line text.
    func otherValue(_ o: AnyOpt, _ current: OptionJSON) -> String? {
        switch current {
        case .bool(let b): return b ? nil : "true"  // flags are set by name; a true default is cleared by --no-
        case .int(let i): return String(i == .max ? 7 : i + 1)
        case .uint(let u): return String(u + 1)
        case .double(let d): return String(d == 0 ? 0.25 : d / 2)
        case .string(let s):
            if o.valueName.contains("|") {
                return o.valueName.split(separator: "|").map(String.init).first { $0 != s }
            }
            if o.valueName == "i,j,..." { return "0,1" }
            return s.isEmpty ? "x" : s + "_x"
        }
    }

    func testEveryOptionAgreesOnCommandLineJSONAndOptText() throws {
        for model in ModelRegistry.models {
            let declared = CommonOptions.all.filter { !$0.recordedOnly } + model.options.map(\.option)
            XCTAssertEqual(Set(declared.map(\.name)).count, declared.count, "\(model.name): a name declared twice")
            let defaults = model.defaultOptions(dataroot: "d", name: "n")
            // options.json of the defaults holds every key at the model's default
            let json = try JSONSerialization.jsonObject(with: try defaults.json()) as! [String: Any]
            let own = json["model_options"] as? [String: Any] ?? [:]
            for o in CommonOptions.all {
                XCTAssertNotNil(json[o.key], "\(model.name): options.json lacks \(o.key)")
            }
            XCTAssertEqual(Set(own.keys), Set(model.options.map(\.option.key)), model.name)
            let text = defaults.optText(defaults: defaults)
            for o in declared {
                XCTAssertTrue(text.contains(" \(o.key): "), "\(model.name): opt.txt lacks \(o.key)")
            }

            for o in declared {
                var set = defaults
                let words: [String]
                if o.isFlag {
                    words = defaults.value(of: o) == .bool(true) ? ["--no-\(o.name)"] : ["--\(o.name)"]
                } else {
                    guard let v = otherValue(o, defaults.value(of: o)) else { continue }
                    words = ["--\(o.name)", v]
                }
                let given = try set.parseCommandLine(words, for: model)
                XCTAssertEqual(given, [o.key], "\(model.name) \(words)")
                XCTAssertNotEqual(set.value(of: o), defaults.value(of: o), "\(model.name) \(words) changes \(o.key)")
                // the same value through --name=value
                if !o.isFlag {
                    var inline = defaults
                    try inline.parseCommandLine(["--\(o.name)=\(words[1])"], for: model)
                    XCTAssertEqual(inline, set, "\(model.name) --\(o.name)=")
                }
                // options.json round trip keeps it, under its key
                let back = try TrainOptions.fromJSON(try set.json())
                XCTAssertEqual(back, set, "\(model.name) \(o.key) round trip")
                XCTAssertEqual(back.value(of: o), set.value(of: o))
                let object = try JSONSerialization.jsonObject(with: try set.json()) as! [String: Any]
                let stored = (object[o.key] ?? (object["model_options"] as? [String: Any])?[o.key]).map { "\($0)" }
                XCTAssertNotNil(stored, "\(model.name): \(o.key) in options.json")
                // opt.txt prints the value and the default beside it
                let line = set.optText(defaults: defaults).split(separator: "\n").first { $0.contains(" \(o.key): ") } ?? ""
                XCTAssertTrue(line.contains("[default: \(defaults.value(of: o).optText)]"),
                              "\(model.name): opt.txt line of \(o.key): \(line)")
            }
        }
    }

    /// A value out of its declared range is refused by the command line and, when it comes from
    /// an edited options.json, by the run's checks; the message names the option.
    func testDeclaredChecksApplyToCommandLineAndJSON() throws {
        var o = TrainableModel.cyclegan.defaultOptions(dataroot: "d", name: "n")
        XCTAssertThrowsError(try o.parseCommandLine(["--ngf", "0"], for: .cyclegan)) { e in
            XCTAssertTrue("\(e)".contains("--ngf must be 1...4096, got 0"), "\(e)")
        }
        XCTAssertThrowsError(try o.parseCommandLine(["--lambda-A", "-1"], for: .cyclegan)) { e in
            XCTAssertTrue("\(e)".contains("--lambda-A"), "\(e)")
        }
        XCTAssertThrowsError(try o.parseCommandLine(["--lambda-L1", "3"], for: .cyclegan)) { e in
            XCTAssertTrue("\(e)".contains("unknown option --lambda-L1 for cyclegan"), "\(e)")
        }
        var json = try JSONSerialization.jsonObject(with: try o.json()) as! [String: Any]
        json["batch_size"] = 0
        let edited = try TrainOptions.fromJSON(try JSONSerialization.data(withJSONObject: json))
        XCTAssertThrowsError(try TrainableModel.cyclegan.check(edited)) { e in
            XCTAssertTrue("\(e)".contains("--batch-size must be 1...65536, got 0"), "\(e)")
        }
        // a model's own option too, checked by its declaration
        json["batch_size"] = 1
        json["model_options"] = ["lambda_A": -1]
        let own = try TrainOptions.fromJSON(try JSONSerialization.data(withJSONObject: json))
        XCTAssertThrowsError(try TrainableModel.cyclegan.check(own)) { e in
            XCTAssertTrue("\(e)".contains("--lambda-A must be at least 0.0, got -1"), "\(e)")
        }
        XCTAssertNoThrow(try TrainableModel.cyclegan.check(o), "the same options unedited pass")
    }

    /// options.json as the previous version wrote it (before the declaration table: no beta2, a
    /// hand-written encoder) still loads, with what it lacks at the defaults.
    func testOptionsJSONOfAnOlderRunLoads() throws {
        let old = """
        {"batch_size":1,"beta1":0.5,"checkpoints_dir":"runs","clip_value":0.01,"continue_train":false,"crop_size":128,
         "d_steps":1,"dataroot":"cg","direction":"AtoB","effective_batch_size":1,"epoch_count":1,"filter":"bicubic",
         "gan_mode":"lsgan","init_gain":0.02,"init_type":"normal","input_nc":3,"lambda_gp":10,"load_size":143,"lr":0.0002,
         "lr_decay_iters":50,"lr_policy":"linear","max_dataset_size":9223372036854775807,"model":"cyclegan",
         "model_options":{"lambda_A":10,"lambda_B":10,"lambda_identity":0.5,"pool_size":50},"n_epochs":3,
         "n_epochs_decay":2,"n_layers_D":3,"name":"ci","ndf":16,"netD":"basic","netG":"resnet_6blocks","ngf":16,
         "no_flip":false,"norm":"instance","num_threads":2,"output_nc":3,"preprocess":"resize_and_crop","print_freq":100,
         "save_epoch_freq":5,"save_latest_epochs":1,"save_latest_freq":5000,"seed":18446744073709551615,
         "serial_batches":false,"sync_bn":false,"use_dropout":false,"world_size":1}
        """
        let o = try TrainOptions.fromJSON(Data(old.utf8))
        XCTAssertEqual(o.model, "cyclegan"); XCTAssertEqual(o.ngf, 16); XCTAssertEqual(o.cropSize, 128)
        XCTAssertEqual(o.netG, "resnet_6blocks"); XCTAssertEqual(o.nEpochs, 3); XCTAssertEqual(o.numThreads, 2)
        XCTAssertEqual(o.seed, .max, "a seed above Int.max survives")
        XCTAssertEqual(o.maxDatasetSize, .max)
        XCTAssertEqual(o.initGain, 0.02)
        XCTAssertEqual(o.lambdaA, 10); XCTAssertEqual(o.poolSize, 50)
        XCTAssertEqual(o.beta2, 0.999, "absent: the default")
        XCTAssertNoThrow(try TrainableModel.cyclegan.check(o))
        XCTAssertEqual(try TrainOptions.fromJSON(try o.json()), o)
        // and what it lacks entirely is named
        XCTAssertThrowsError(try TrainOptions.fromJSON(Data(#"{"dataroot":"x","name":"y"}"#.utf8)))
    }

    /// The typed accessors read the model's default for its own options, the declaration's
    /// default otherwise, and are the same storage the command line writes.
    func testTypedAccessorsAndCommandLineShareStorage() throws {
        var o = TrainableModel.fastcut.defaultOptions(dataroot: "d", name: "n")
        XCTAssertEqual(o.lambdaNCE, 10, "FastCUT's default")
        try o.parseCommandLine(["--lambda-NCE", "2.5", "--load-size=64", "--crop-size", "32", "--no-flip"], for: .fastcut)
        XCTAssertEqual(o.lambdaNCE, 2.5); XCTAssertEqual(o.loadSize, 64); XCTAssertEqual(o.cropSize, 32)
        XCTAssertTrue(o.noFlip)
        o.ngf = 8
        var p = o
        try p.parseCommandLine(["--ngf", "8"], for: .fastcut)
        XCTAssertEqual(p, o)
        try p.parseCommandLine(["--ngf", "9"], for: .fastcut)
        XCTAssertNotEqual(p, o, "the comparison sees a changed option")
    }
}
