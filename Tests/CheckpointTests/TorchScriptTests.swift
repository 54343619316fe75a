// TorchScript archives (torch.jit.save) through the restricted unpickler: scripted modules read as
// attribute dicts, their code never looked at. Fixtures from `python3 tools/make_torchscript_fixture.py`
// (torch 2.15.0): a scripted module with nested submodules, a Sequential, a buffer, an int list
// (torch.jit._pickle.build_intlist) and a float attribute; its state_dict as safetensors; and the
// same data.pkl in a zip without code/ and constants.pkl.
import Foundation
import XCTest
@testable import Checkpoint
import _TestSupport

final class TorchScriptTests: XCTestCase {
    static let fixtures: Set<String> = ["torchscript_small.pt", "torchscript_small_nocode.pt", "torchscript_small_expected.safetensors"]

    func testScriptedModuleReadsAsItsStateDict() throws {
        let got = try CheckpointFile.read(path: fixture("torchscript_small.pt"))
        let want = try CheckpointFile.read(path: fixture("torchscript_small_expected.safetensors"))
        XCTAssertEqual(Set(got.names), Set(want.names))
        XCTAssertEqual(want.names.count, 5)
        for w in want.tensors {
            let t = try XCTUnwrap(got[w.name], w.name)
            XCTAssertEqual(t.shape, w.shape, w.name)
            XCTAssertEqual(t.values, w.values, w.name)
        }
        // Plain attributes come through as metadata, typed lists element by element.
        XCTAssertEqual(got.metadata["inner.eps"], "0.001")
        XCTAssertEqual(["0", "1", "2"].map { got.metadata["inner.sizes.\($0)"] }, ["3", "1", "4"])
        XCTAssertEqual(got.metadata["training"], "False")
    }

    func testScriptClassesOutsideATorchScriptArchiveAreRefused() throws {
        // The same pickle, but the zip has no code/: an ordinary checkpoint may not name __torch__ classes.
        XCTAssertThrowsError(try CheckpointFile.read(path: fixture("torchscript_small_nocode.pt"))) { e in
            guard let e = e as? CheckpointError else { return XCTFail("\(e)") }
            XCTAssertEqual(e.kind, .forbiddenGlobal, "\(e)")
            XCTAssertTrue("\(e)".contains("__torch__"), "\(e)")
        }
    }
}
