import XCTest
import Foundation
import _TestSupport

/// Runs the built `img2img` binary, as a user would.
class CLITestCase: XCTestCase {
    typealias Run = ProcessRun

    static var binary: URL { BuiltProducts.url("img2img") }

    static let repoRoot = TestPaths.repoRoot

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for m in mounts.reversed() { system("/bin/umount", ["-l", m]) }
        mounts = []
        _ = chmod(tmp.path + "/ro", 0o755)
        try? FileManager.default.removeItem(at: tmp)
    }

    @discardableResult
    func img2img(_ args: [String], environment: [String: String] = [:]) throws -> Run {
        try runProcess(Self.binary, args, environment: environment)
    }

    func path(_ rel: String) -> String { tmp.appendingPathComponent(rel).path }

    // MARK: Unwritable and full folders

    private var mounts: [String] = []

    /// Runs a system tool (mount, umount); true when it exits 0.
    @discardableResult
    func system(_ tool: String, _ args: [String]) -> Bool {
        (try? runProcess(URL(fileURLWithPath: tool), args))?.status == 0
    }

    /// A tmpfs of `size` at `rel` (created), unmounted at tear-down. Root only: as root,
    /// permissions do not stop writes, so a small or read-only file system is the only way to
    /// make writes fail. Skips the test when it cannot mount (not root, no mount permission).
    func mountTmpfs(_ rel: String, size: String, readOnly: Bool = false) throws -> String {
        let dir = path(rel)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard geteuid() == 0, system("/bin/mount", ["-t", "tmpfs", "-o", (readOnly ? "ro," : "") + "size=\(size)", "tmpfs", dir]) else {
            throw XCTSkip("cannot mount a tmpfs here (needs root): no full or read-only folder to test with")
        }
        mounts.append(dir)
        return dir
    }

    /// Makes the tmpfs at `dir` read-only (or, not as root, takes the write permission away).
    func makeReadOnly(_ dir: String) throws {
        if mounts.contains(dir) {
            XCTAssertTrue(system("/bin/mount", ["-o", "remount,ro", dir]), "remount read-only")
        } else if geteuid() != 0 {
            XCTAssertEqual(chmod(dir, 0o555), 0)
        } else {
            throw XCTSkip("running as root without a tmpfs: permissions do not stop writes")
        }
    }

    /// A folder no file can be written into: a read-only tmpfs as root, a 0555 folder otherwise.
    func unwritableDirectory(_ rel: String) throws -> String {
        if geteuid() != 0 {
            let dir = path(rel)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            XCTAssertEqual(chmod(dir, 0o555), 0)
            return dir
        }
        return try mountTmpfs(rel, size: "64k", readOnly: true)
    }

    /// Fills the file system of `dir` (a tmpfs) up to `leaving` bytes of free space.
    func fill(_ dir: String, leaving: Int) {
        var st = statvfs()
        guard statvfs(dir, &st) == 0 else { return XCTFail("statvfs \(dir)") }
        let free = Int(st.f_bavail) * Int(st.f_frsize)
        let n = max(0, free - leaving)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/filler", contents: Data(count: n)))
    }

    /// The files under `dir`, sorted; translate's record of its settings
    /// (`.img2img-translate.json`) is left out: the tests that check it read it by name.
    func files(under dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0 != ".img2img-translate.json" }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }
}
