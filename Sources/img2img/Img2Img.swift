import ArgumentParser
import Foundation

@main
struct Img2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2img",
        abstract: "Image-to-image translation and style transfer (CycleGAN, pix2pix) on the CPU.",
        discussion: """
        Exit status: 0 when every file was processed, \(ExitStatus.someFilesFailed.rawValue) when \
        the run finished but some input files failed (each is named on stderr), 64 for a usage \
        error, 1 on any other error, 130 for a training run stopped with Ctrl-C (after saving \
        a checkpoint) or a translate stopped with Ctrl-C or SIGTERM (after finishing the images \
        in flight).
        """,
        version: "0.1.0",
        subcommands: [TranslateCommand.self, TrainCommand.self, TestCommand.self, GenerateCommand.self,
                      ConvertCommand.self, ExportCommand.self, AugmentCommand.self, Combine.self, ServeCommand.self]
    )
}

/// The documented exit statuses.
enum ExitStatus: Int32 {
    case someFilesFailed = 3
    /// Ctrl-C or SIGTERM stopped the command after finishing what it had started (128 + SIGINT).
    case interrupted = 130
}

/// An error found while running (not a usage mistake): printed as one line, exit status 1.
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One line on stderr (which file a command used, what it skipped): stdout keeps the results.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
