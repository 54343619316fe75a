import Foundation
import ImageIO
import _Files

/// One line per problem file on stderr, and the counts for the closing summary.
final class FileReport {
    private(set) var done = 0
    private(set) var failed = 0
    private(set) var skipped = 0

    func succeeded() { done += 1 }

    func failed(_ path: String, _ reason: String) {
        failed += 1
        FileHandle.standardError.write(Data("img2img: \(skippedFileMessage(path: path, reason: reason))\n".utf8))
    }

    func skippedExisting() { skipped += 1 }

    /// Prints the summary; throws the documented exit status when some files failed.
    func finish(_ what: String) throws {
        var line = "\(done) \(what)"
        if skipped > 0 { line += ", \(skipped) already done" }
        if failed > 0 { line += ", \(failed) failed" }
        print(line)
        if failed > 0 { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}

/// Output paths derived from input names stay inside the output folder.
func outputPath(root: String, relative: String, replacingExtensionWith ext: String?) throws -> String {
    var rel = relative
    if let ext {
        let base = (rel as NSString).deletingPathExtension
        rel = base + "." + ext
    }
    guard let safe = safeRelativeOutputPath(rel) else {
        throw RuntimeError("refusing output name '\(relative)': it would leave the output folder")
    }
    return root + "/" + safe
}

func ensureParentDirectory(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
}

import ArgumentParser
