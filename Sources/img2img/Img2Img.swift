import ArgumentParser
import Foundation
import Training

@main
struct Img2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2img",
        abstract: "Image-to-image translation and style transfer (CycleGAN, pix2pix) on the CPU.",
        discussion: """
        Exit status: 0 when every file was processed, \(ExitStatus.someFilesFailed.rawValue) when \
        the run finished but some input files failed (each is named on stderr), 64 for a usage \
        error, 1 on any other error, 130 for a training run stopped with Ctrl-C (after saving \
        a checkpoint).
        """,
        version: "0.1.0",
        subcommands: [TranslateCommand.self, TrainCommand.self, TestCommand.self, GenerateCommand.self,
                      ConvertCommand.self, ExportCommand.self, AugmentCommand.self, Combine.self, ServeCommand.self]
    )

    /// ArgumentParser's main, except that an option of the paper code's (`--load_size`,
    /// `--niter`, `--gpu_ids`) gets img2img's spelling or a note that it does not apply.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if let hint = paperSpellingHint(for: error, arguments: arguments) {
                FileHandle.standardError.write(Data("Error: \(hint)\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
    }

    /// The hint for an "Unknown option" error about a paper-code spelling; nil for any other error.
    static func paperSpellingHint(for error: Error, arguments: [String]) -> String? {
        let text = message(for: error)
        guard let start = text.range(of: "Unknown option '--") else { return nil }
        let name = text[start.upperBound...].prefix { $0 != "'" }
        let sub = configuration.subcommands.first { c in arguments.contains(c.configuration.commandName ?? "") }
        let help = sub?.helpMessage(columns: 1000) ?? helpMessage(columns: 1000)
        // The subcommand's own option names, as its help spells them.
        var accepted: [String] = []
        var rest = Substring(help)
        while let r = rest.range(of: "--") {
            let word = rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !word.isEmpty { accepted.append(String(word)) }
            rest = rest[r.upperBound...]
        }
        return PaperSpellings.hint(for: String(name), subcommand: sub?.configuration.commandName, accepted: accepted)
    }
}

/// The documented exit statuses.
enum ExitStatus: Int32 {
    case someFilesFailed = 3
}

/// An error found while running (not a usage mistake): printed as one line, exit status 1.
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
