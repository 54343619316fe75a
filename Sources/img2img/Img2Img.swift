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
        a checkpoint) or a translate stopped with Ctrl-C or SIGTERM (after finishing the images \
        in flight).
        """,
        version: "0.1.0",
        subcommands: [TranslateCommand.self, TrainCommand.self, TestCommand.self, GenerateCommand.self,
                      ConvertCommand.self, ExportCommand.self, AugmentCommand.self, Combine.self, ServeCommand.self,
                      FIDCommand.self]
    )

    /// ArgumentParser's main, except that an option of the paper code's (`--load_size`,
    /// `--niter`, `--gpu_ids`) gets img2img's spelling or a note that it does not apply.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Checked before parsing: ArgumentParser may report another problem first (a value
        // taken as a positional argument) and the user would never learn the spelling.
        if let hint = paperSpellingHint(arguments: arguments) {
            FileHandle.standardError.write(Data("Error: \(hint)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        main(arguments)
    }

    /// The hint for the first option among `arguments` that the subcommand does not take and
    /// that is a paper-code spelling; nil if there is none.
    static func paperSpellingHint(arguments: [String]) -> String? {
        let sub = configuration.subcommands.first { c in arguments.first == c.configuration.commandName }
        let help = sub?.helpMessage(columns: 1000) ?? helpMessage(columns: 1000)
        // The subcommand's own option names, as its help spells them (train's table included).
        var accepted = Set<String>()
        var rest = Substring(help)
        while let r = rest.range(of: "--") {
            let word = rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !word.isEmpty { accepted.insert(String(word)) }
            rest = rest[r.upperBound...]
        }
        for a in arguments.dropFirst() {
            if a == "--" { break }
            guard a.hasPrefix("--") else { continue }
            let name = String(a.dropFirst(2).prefix { $0 != "=" })
            if accepted.contains(name) || (name.hasPrefix("no-") && accepted.contains(String(name.dropFirst(3)))) { continue }
            if let hint = PaperSpellings.hint(for: name, subcommand: sub?.configuration.commandName, accepted: Array(accepted)) {
                return hint
            }
        }
        return nil
    }
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
