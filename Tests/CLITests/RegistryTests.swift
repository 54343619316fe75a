// The model registry is the one source of models: a model registered here, with no other edit,
// is offered by `train`, run by `test` and described in --help.
import XCTest
import Foundation
@testable import img2img
import Training
import Trainers

final class RegistryTests: CLITestCase {
    func testARegisteredModelIsInTrainTestAndHelp() throws {
        let toy = TrainableModel(
            name: "toy-regression", abstract: "a toy model registered by a test.", datasetMode: .aligned,
            options: [.use(\.lambdaRegression, default: 3)],
            test: TestSpec(datasetMode: .aligned),
            build: { o, d in try TrainableModel.template.build(o, d) })
        let words = ["train", "toy-regression", "--dataroot", TrainCommandTests.earth, "--name", "toy",
                     "--checkpoints-dir", path("runs"), "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4",
                     "--load-size", "32", "--crop-size", "32", "--n-epochs", "1", "--n-epochs-decay", "1",
                     "--max-dataset-size", "2", "--lambda-regression", "2", "--quiet", "--threads", "1"]
        XCTAssertNil(ModelRegistry.model(named: "toy-regression"))
        XCTAssertThrowsError(try Img2Img.parseAsRoot(words), "not registered yet")
        XCTAssertFalse(TrainCommand.helpMessage().contains("toy-regression"))

        ModelRegistry.register(toy)
        defer { ModelRegistry.unregister(toy.name) }  // the registry is the test process's too
        let help = TrainCommand.helpMessage(columns: 1000)
        XCTAssertTrue(help.contains("toy-regression: a toy model registered by a test."), help)
        XCTAssertTrue(help.contains("--lambda-regression <number>: Weight of the L1 regression loss. (default 3.0)"), help)
        XCTAssertTrue(TestCommand.helpMessage(columns: 1000).contains("toy-regression"))

        var train = try Img2Img.parseAsRoot(words)
        try train.run()
        let options = try TrainOptions.fromJSON(try Data(contentsOf: URL(fileURLWithPath: path("runs/toy/options.json"))))
        XCTAssertEqual(options.model, "toy-regression")
        XCTAssertEqual(options.lambdaRegression, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/toy/latest_net_G.safetensors")))

        var test = try Img2Img.parseAsRoot(["test", "toy-regression", "--dataroot", TrainCommandTests.earth, "--name", "toy",
                                            "--checkpoints-dir", path("runs"), "--results-dir", path("results"),
                                            "--num-test", "2", "--threads", "1"])
        try test.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("results/toy/test_latest/index.html")))
    }

    /// `train --help` is derived from the same declarations: every common option and every
    /// model's own option is listed, with its default.
    func testTrainHelpListsEveryDeclaredOption() {
        let help = TrainCommand.helpMessage(columns: 10_000)
        for o in CommonOptions.all where !o.recordedOnly {
            XCTAssertTrue(help.contains("  --\(o.name)" + (o.isFlag ? ":" : " <\(o.valueName)>:")), o.name)
        }
        for m in ModelRegistry.models {
            guard let section = help.range(of: "\n\(m.name): ") else { return XCTFail("no section for \(m.name)") }
            let rest = help[section.upperBound...]
            let end = rest.range(of: "\n\n")?.lowerBound ?? rest.endIndex
            for use in m.options {
                XCTAssertTrue(rest[..<end].contains("  --\(use.option.name)"), "\(m.name): --\(use.option.name)")
            }
        }
    }
}
