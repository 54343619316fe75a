import ArgumentParser
import Foundation

/// `img2img serve`: runs the sibling binary `img2img-serve` (built by
/// `swift build --product img2img-serve`) with the same arguments. The server lives in its own
/// executable so that this one never links SwiftNIO and README command 1 never builds it.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a page and an HTTP API that translate images (runs img2img-serve; --help lists its options).",
        discussion: """
        Options: --models DIR [--host 127.0.0.1] [--port 8080] [--token T] [--max-upload-mb 50] \
        [--max-queue 16] [--max-image-mb 400] [--threads N]. The server is the executable \
        img2img-serve next to this one: build it with `swift build -c release --product img2img-serve`.
        """)

    @Argument(parsing: .captureForPassthrough, help: "Options for img2img-serve.")
    var arguments: [String] = []

    func run() throws {
        let path = siblingExecutable("img2img-serve")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw RuntimeError("img2img serve needs \(path): build it with "
                               + "`swift build -c release --product img2img-serve` (or without -c release for a debug img2img)")
        }
        let argv = [path] + arguments
        var cargs = argv.map { strdup($0) }
        cargs.append(nil)
        execv(path, cargs)
        throw RuntimeError("cannot run \(path): \(String(cString: strerror(errno)))")
    }
}

/// The file `name` in the folder of this executable (symbolic links resolved).
func siblingExecutable(_ name: String) -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return ((me as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
}
