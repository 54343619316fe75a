// Issue 16: no option of any subcommand traps. A seeded generator gives every option of every
// subcommand hostile values (zero, negative, huge, non-numeric, empty, paths that do not exist,
// contradictory combinations) and runs the built binary on each case: it must end with 0 or a
// documented status (64 usage, 1 error, 3 some input files failed) and say why on stderr, never
// die on a signal (a `precondition` is SIGILL, exit 132 from a shell). The data given is tiny or
// absent, so a case that passes validation ends in well under a second.
import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore
import _TestSupport

final class OptionPropertyTests: CLITestCase {
    /// xorshift64*: the cases depend on the seed only (the seed is in every failure message).
    struct CaseGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func pick<T>(_ xs: [T]) -> T { xs[Int(next() % UInt64(xs.count))] }
    }

    enum Kind { case int, float, text, path, netG, netD, flag }

    struct Spec {
        var name: String
        var kind: Kind
        var specific: [String] = []
    }

    static let ints = ["0", "-1", "1", "2", "3", "7", "30", "33", "-9223372036854775808", "9223372036854775807",
                       "2147483648", "99999999999999999999", "1e3", "abc", "", " 5", "0x10"]
    static let floats = ["0", "-1", "0.5", "1", "2", "1e308", "1e309", "-1e309", "nan", "inf", "-0", "abc", ""]
    static let texts = ["", "abc", "-", "--", "💥", "a/b/../c", String(repeating: "x", count: 300)]

    func values(_ s: Spec, _ g: inout CaseGenerator) -> [String] {
        if s.kind == .flag { return [] }
        let common: [String]
        switch s.kind {
        case .int: common = Self.ints
        case .float: common = Self.floats
        case .text: common = Self.texts
        case .path: common = ["", path("does/not/exist"), "/dev/null", path("g.safetensors"), path("none/README.txt")]
        case .netG: common = ["unet_128", "unet_32", "unet_16", "unet_0", "unet_-8", "resnet_0blocks", "resnet_-1blocks",
                              "resnet_99999999999999999999blocks", "unet_4611686018427387904", "resnet_1blocks", "bogus", ""]
        case .netD: common = ["basic", "n_layers", "pixel", "bogus", ""]
        case .flag: common = []
        }
        return [g.pick(s.specific.isEmpty || g.next() % 2 == 0 ? common : s.specific)]
    }

    func run(_ args: [String]) throws -> ProcessRun { try runProcess(Self.binary, args) }

    /// The fixtures: a tiny generator, a folder with one small image, a training folder with no
    /// image (so a run that passes validation stops at the scan), a folder with no image at all.
    func fixtures() throws -> (model: String, oneImage: String, noImages: String) {
        var rng = SplitMix64(seed: 7)
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 2)
        let g = try makeGenerator(cfg, using: &rng)
        let model = path("g.safetensors")
        try save(g, config: cfg, to: model)
        let one = path("one")
        try FileManager.default.createDirectory(atPath: one, withIntermediateDirectories: true)
        try writeImage(Image(width: 8, height: 8, channels: 3, fill: 90), to: one + "/a.png")
        let none = path("none")
        for sub in ["", "/train", "/trainA", "/trainB", "/test", "/testA", "/testB", "/class"] {
            try FileManager.default.createDirectory(atPath: none + sub, withIntermediateDirectories: true)
            try Data("text".utf8).write(to: URL(fileURLWithPath: none + sub + "/README.txt"))
        }
        return (model, one, none)
    }

    func testEveryOptionOfEverySubcommandEndsWithADocumentedStatus() throws {
        let f = try fixtures()
        let out = path("out")
        let trainSpecs: [Spec] = [
            Spec(name: "--netG", kind: .netG), Spec(name: "--netD", kind: .netD), Spec(name: "--n-layers-D", kind: .int),
            Spec(name: "--ngf", kind: .int), Spec(name: "--ndf", kind: .int),
            Spec(name: "--norm", kind: .text, specific: ["instance", "batch", "none", "instance_affine"]),
            Spec(name: "--init-type", kind: .text, specific: ["normal", "xavier", "kaiming", "orthogonal"]),
            Spec(name: "--init-gain", kind: .float), Spec(name: "--dropout", kind: .flag), Spec(name: "--no-dropout", kind: .flag),
            Spec(name: "--input-nc", kind: .int), Spec(name: "--output-nc", kind: .int),
            Spec(name: "--gan-mode", kind: .text, specific: ["lsgan", "vanilla", "wgan", "wgangp"]),
            Spec(name: "--d-steps", kind: .int), Spec(name: "--lambda-GP", kind: .float), Spec(name: "--clip-value", kind: .float),
            Spec(name: "--direction", kind: .text, specific: ["AtoB", "BtoA"]),
            Spec(name: "--preprocess", kind: .text, specific: ["resize_and_crop", "resize", "crop", "scale_width",
                                                               "scale_width_and_crop", "none"]),
            Spec(name: "--load-size", kind: .int), Spec(name: "--crop-size", kind: .int), Spec(name: "--no-flip", kind: .flag),
            Spec(name: "--filter", kind: .text, specific: ["nearest", "bilinear", "bicubic"]),
            Spec(name: "--serial-batches", kind: .flag), Spec(name: "--max-dataset-size", kind: .int),
            Spec(name: "--batch-size", kind: .int), Spec(name: "--n-epochs", kind: .int), Spec(name: "--n-epochs-decay", kind: .int),
            Spec(name: "--lr", kind: .float), Spec(name: "--beta1", kind: .float),
            Spec(name: "--lr-policy", kind: .text, specific: ["linear", "step", "plateau", "cosine"]),
            Spec(name: "--lr-decay-iters", kind: .int), Spec(name: "--seed", kind: .int), Spec(name: "--continue", kind: .flag),
            Spec(name: "--save-epoch-freq", kind: .int), Spec(name: "--save-latest-freq", kind: .int),
            Spec(name: "--save-latest-epochs", kind: .int), Spec(name: "--print-freq", kind: .int),
            Spec(name: "--threads", kind: .int), Spec(name: "--checkpoints-dir", kind: .path),
            // the models' own options (unknown to some models: a usage error there)
            Spec(name: "--lambda-A", kind: .float), Spec(name: "--lambda-identity", kind: .float),
            Spec(name: "--pool-size", kind: .int), Spec(name: "--lambda-L1", kind: .float), Spec(name: "--image-size", kind: .int),
            Spec(name: "--nz", kind: .int), Spec(name: "--lambda-GAN", kind: .float),
        ]
        let commands: [(base: (inout CaseGenerator) -> [String], specs: [Spec])] = [
            ({ g in ["train", g.pick(["cyclegan", "pix2pix", "cgan", "dcgan", "template", "bogus"]),
                     "--dataroot", g.next() % 4 == 0 ? self.path("missing") : (g.next() % 2 == 0 ? f.noImages : f.noImages + "/class"),
                     "--name", "p", "--checkpoints-dir", self.path("runs"), "--quiet"] }, trainSpecs),
            ({ _ in ["translate", "--model", f.model, "--input", f.oneImage, "--output", out, "--quiet", "--overwrite"] }, [
                Spec(name: "--model", kind: .path), Spec(name: "--input", kind: .path),
                Spec(name: "--direction", kind: .text, specific: ["AtoB", "BtoA"]),
                Spec(name: "--format", kind: .text, specific: ["same", "png", "jpeg"]),
                Spec(name: "--jpeg-quality", kind: .int),
                Spec(name: "--preprocess", kind: .text, specific: ["pad", "resize_and_crop", "resize", "crop", "scale_width",
                                                                   "scale_width_and_crop", "none"]),
                Spec(name: "--load-size", kind: .int), Spec(name: "--crop-size", kind: .int), Spec(name: "--batch-size", kind: .int),
                Spec(name: "--shard", kind: .text, specific: ["0/1", "1/1", "0/0", "-1/2", "3/2", "1/9223372036854775807", "a/b", "1"]),
                Spec(name: "--eval", kind: .flag), Spec(name: "--dropout", kind: .flag), Spec(name: "--tile-pixels", kind: .int),
                Spec(name: "--tile-size", kind: .int), Spec(name: "--tile-overlap", kind: .int),
                Spec(name: "--quantization", kind: .text, specific: ["truncate", "round"]),
                Spec(name: "--max-image-pixels", kind: .int), Spec(name: "--max-image-mb", kind: .int),
                Spec(name: "--threads", kind: .int), Spec(name: "--html", kind: .flag), Spec(name: "--netG", kind: .netG),
                Spec(name: "--ngf", kind: .int), Spec(name: "--norm", kind: .text, specific: ["instance", "batch", "none"]),
                Spec(name: "--input-nc", kind: .int), Spec(name: "--output-nc", kind: .int),
            ]),
            ({ g in ["test", g.pick(["cyclegan", "pix2pix", "bogus"]), "--dataroot", f.noImages, "--name", "p",
                     "--checkpoints-dir", self.path("runs"), "--results-dir", self.path("results")] }, [
                Spec(name: "--epoch", kind: .text, specific: ["latest", "epoch_1", "../../x"]), Spec(name: "--phase", kind: .text),
                Spec(name: "--direction", kind: .text, specific: ["AtoB", "BtoA"]), Spec(name: "--num-test", kind: .int),
                Spec(name: "--eval", kind: .flag), Spec(name: "--threads", kind: .int), Spec(name: "--dataroot", kind: .path),
            ]),
            ({ _ in ["generate", "--model", f.model, "--output", out] }, [
                Spec(name: "--model", kind: .path), Spec(name: "--label", kind: .text, specific: ["0", "sneaker", "-1", "99"]),
                Spec(name: "--all-labels", kind: .flag), Spec(name: "--count", kind: .int), Spec(name: "--grid", kind: .flag),
                Spec(name: "--seed", kind: .int), Spec(name: "--threads", kind: .int),
            ]),
            ({ _ in ["convert", "--model", f.model, "--output", self.path("c.safetensors")] }, [
                Spec(name: "--model", kind: .path), Spec(name: "--output", kind: .path), Spec(name: "--fp16", kind: .flag),
            ]),
            ({ _ in ["augment", "--input", f.noImages, "--output", out] }, [
                Spec(name: "--input", kind: .path),
                Spec(name: "--preprocess", kind: .text, specific: ["resize_and_crop", "resize", "crop", "none"]),
                Spec(name: "--load-size", kind: .int), Spec(name: "--crop-size", kind: .int), Spec(name: "--count", kind: .int),
                Spec(name: "--seed", kind: .int), Spec(name: "--filter", kind: .text, specific: ["nearest", "bicubic"]),
            ]),
            ({ _ in ["combine", "--fold-A", f.noImages, "--fold-B", f.noImages, "--fold-AB", out] }, [
                Spec(name: "--fold-A", kind: .path), Spec(name: "--fold-B", kind: .path),
            ]),
        ]
        let seed: UInt64 = 0x16_16_16
        var g = CaseGenerator(state: seed)
        var statuses: [Int32: Int] = [:]
        let casesPerCommand = 24
        for (ci, c) in commands.enumerated() {
            for k in 0..<casesPerCommand {
                var args = c.base(&g)
                // one to three options, each with a generated value; options repeat at times
                for _ in 0..<(1 + Int(g.next() % 3)) {
                    let s = g.pick(c.specs)
                    args += [s.name] + values(s, &g)
                }
                let r = try run(args)
                let label = "seed \(seed), command \(ci), case \(k): img2img \(args.joined(separator: " "))"
                XCTAssertFalse(r.signaled, "killed by signal \(r.status): \(label)\n\(r.stderr.suffix(800))")
                XCTAssertTrue([0, 1, 3, 64].contains(r.status), "status \(r.status): \(label)\n\(r.stderr.suffix(800))")
                if r.status != 0 {
                    XCTAssertFalse(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no message: \(label)")
                }
                XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"), "\(label)\n\(r.stderr)")
                statuses[r.status, default: 0] += 1
            }
        }
        // the generated cases reach both validation and the run
        XCTAssertGreaterThan(statuses[64] ?? 0, 20, "\(statuses)")
        XCTAssertGreaterThan(statuses[1] ?? 0, 10, "\(statuses)")
        // `/dev/null` is one of the paths: no command may replace it (an atomic rename over it,
        // as root, used to leave a regular file there for the rest of the machine).
        var st = stat()
        XCTAssertEqual(lstat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null is no longer a character device")
    }

    /// The cases issue 16 found, each with its exact status, beside one that passes.
    func testOptionsThatUsedToTrapAreUsageErrors() throws {
        let earth = TrainCommandTests.earth
        func train(_ model: String, _ extra: [String]) throws -> Run {
            try img2img(["train", model, "--dataroot", earth, "--name", "x", "--checkpoints-dir", path("runs"), "--quiet"] + extra)
        }
        let cases: [(String, [String], String)] = [
            ("cgan", ["--image-size", "30"], "image-size must be 4 * 2^k"),
            ("dcgan", ["--image-size", "0"], "image-size"),
            ("pix2pix", ["--netG", "resnet_1blocks", "--crop-size", "30", "--load-size", "32"], "multiples of 4; got 30x30"),
            ("pix2pix", ["--netG", "unet_128", "--crop-size", "64", "--load-size", "64"],
             "unet_128 needs sides that are multiples of 128; got 64x64: use --crop-size 128 or --netG resnet_6blocks"),
            ("pix2pix", ["--n-layers-D", "0", "--netD", "n_layers"], "--n-layers-D must be"),
            ("pix2pix", ["--n-epochs", "9223372036854775807", "--n-epochs-decay", "1"], "--n-epochs must be 0...1000000"),
            ("pix2pix", ["--lr-policy", "step", "--lr-decay-iters", "0"], "--lr-decay-iters must be at least 1"),
            ("pix2pix", ["--preprocess", "crop", "--load-size", "10", "--crop-size", "20"], "must be at least --crop-size"),
            ("pix2pix", ["--ngf", "0"], "--ngf must be 1...4096"),
            ("cyclegan", ["--batch-size", "9223372036854775807"], "--batch-size must be"),
            ("dcgan", ["--nz", "9223372036854775807"], "parameters: lower --nz"),
            ("cyclegan", ["--pool-size", "-1"], "--pool-size must be at least 0"),
        ]
        for (model, extra, message) in cases {
            let r = try train(model, extra)
            XCTAssertEqual(r.status, 64, "\(model) \(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(model) \(extra): \(r.stderr)")
        }
        let g = try img2img(["generate", "--model", path("none.safetensors"), "--count", "0"])
        XCTAssertEqual(g.status, 64, g.stderr)
        XCTAssertTrue(g.stderr.contains("--count must be at least 1"), g.stderr)
        let many = try img2img(["generate", "--model", path("none.safetensors"), "--count", "9223372036854775807"])
        XCTAssertEqual(many.status, 64, many.stderr)
        let missing = try img2img(["generate", "--model", path("none.safetensors"), "--count", "1"])
        XCTAssertEqual(missing.status, 1, "the same command with a valid count fails at run time: \(missing.stderr)")
    }
}
