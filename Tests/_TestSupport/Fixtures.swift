import Foundation

/// Paths of the repository and of a test target's fixtures, found from source file paths
/// (`#filePath`), so tests run from any working directory.
public enum TestPaths {
    /// The repository root (this file is <repo>/Tests/_TestSupport/Fixtures.swift).
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `<repo>/<relative>`.
    public static func inRepo(_ relative: String) -> URL { repoRoot.appendingPathComponent(relative) }

    /// The `Fixtures` folder beside the calling test file.
    public static func fixtures(file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }
}
