import ArgumentParser
import Foundation
import ImageIO
import Augment
import Training
import Translation
import Models
import Datasets
import TensorCore
import _Files

extension OutputFormat: ExpressibleByArgument {}
extension Direction: ExpressibleByArgument {}
extension Quantization: ExpressibleByArgument {}
extension ModelConfig.Norm: ExpressibleByArgument {}
extension ConvPrecision: ExpressibleByArgument {}

struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate a folder of images with a trained generator.",
        discussion: """
        --model takes a generator saved by img2img (.safetensors, architecture in the file), a \
        training checkpoint of img2img (pick the generator with --direction), or a paper-code \
        .pth such as latest_net_G_A.pth (architecture inferred from its tensors; --netG, --ngf, \
        --norm, --input-nc, --output-nc override it).

        Every image under --input (recursively, recognized by content) is translated to the same \
        relative path under --output, at its own size: it is reflected out to the network's size \
        multiple and cropped back (--preprocess pad), or sized by one of the paper code's modes. \
        Images above --tile-pixels are translated in overlapping tiles blended at the seams. Alpha \
        is kept and re-attached; 16-bit PNGs give 16-bit PNGs.

        Outputs that exist are skipped unless --overwrite, and each is written under a temporary \
        name and renamed, so an interrupted run can simply be started again. --shard K/N takes a \
        fixed 1/N of the files (K from 0) for splitting a folder over machines.

        Test-time behaviour: batch norm uses each image's own statistics, as the paper code's \
        test.py does (--eval uses the running statistics); dropout is off (--dropout leaves it on \
        as the paper code does, which makes its output random). With batch norm and without \
        --eval, images are translated one at a time so that the result does not depend on the \
        batch.

        The output folder records how its images were made (OUTPUT/.img2img-translate.json: the \
        model file's sha256, the direction and every option that changes pixels). A rerun with \
        the same settings skips what is done; with another model or other settings it is refused, \
        naming what differs, unless --overwrite, which redoes every file. An output folder inside \
        the input is skipped when the input is searched; --output equal to --input is refused. \
        --input may also be one image file (written to OUTPUT/<its name>), and --model a run \
        folder (its latest_net_G, or latest_net_G_A / G_B by --direction).

        Exit status: 0 when every image was translated or was already done; \
        \(ExitStatus.someFilesFailed.rawValue) when some files failed (each is named on stderr); \
        64 for a usage error (an unknown option, --output equal to --input, ...); \
        \(ExitStatus.interrupted.rawValue) when stopped by Ctrl-C or SIGTERM (the images in flight \
        are finished first, so the same command resumes); 1 on any other error (an input with no \
        images, an output folder made with other settings, a model that does not load).
        """)

    @Option(help: "Generator or checkpoint file (.safetensors or .pth), or a run folder (its latest generator).")
    var model: String

    @Option(help: "Folder of images to translate, or one image.")
    var input: String

    @Option(help: "Output folder (created if missing).")
    var output: String

    @Option(help: "For a CycleGAN checkpoint or run folder: AtoB uses G_A, BtoA uses G_B (BtoA on a file with one generator is an error).")
    var direction: Direction = .aToB

    @Option(help: "Output format: same (as each input) | png | jpeg.")
    var format: OutputFormat = .same

    @Option(help: "JPEG quality (1-100).")
    var jpegQuality: Int = 95

    @Option(help: "pad (keep each image's size) | resize_and_crop | resize | crop | scale_width | scale_width_and_crop | none")
    var preprocess: String = "pad"

    @Option(help: "Load size for the paper code's preprocess modes.")
    var loadSize: Int = 256

    @Option(help: "Crop size for the paper code's preprocess modes.")
    var cropSize: Int = 256

    @Option(help: "Images of one size per inference batch (1 measured fastest at 256x256 on 2 cores).")
    var batchSize: Int = 1

    @Option(help: "Translate only shard K of N (K = 0..N-1), e.g. --shard 2/8.")
    var shard: String?

    @Flag(help: "Translate images whose output already exists; into a folder made with other settings, redo every file.")
    var overwrite = false

    @Flag(help: "Batch norm: use the running statistics instead of each image's own.")
    var eval = false

    @Flag(help: "Leave dropout on at test time, as the paper code does (random output).")
    var dropout = false

    @Option(help: "Images with more pixels than this are translated in tiles.")
    var tilePixels: Int = 1024 * 1024

    @Option(help: "Tile side for large images.")
    var tileSize: Int = 512

    @Option(help: "Overlap between tiles, blended.")
    var tileOverlap: Int = 64

    @Option(help: "truncate (the paper code's tensor2im) | round")
    var quantization: Quantization = .truncate

    @Option(help: "Refuse images with more pixels than this (decompression-bomb guard).")
    var maxImagePixels: Int = DecodingOptions.defaultMaxPixels

    @Option(help: "Refuse images whose decoded pixels would take more than this many MB (default: no limit).")
    var maxImageMb: Int?

    @Option(help: "Conv arithmetic: fp32 | bf16 (the 3x3 convs of the blocks with weights and activations rounded to bf16, sums in fp32; needs a CPU with AVX512_BF16).")
    var precision: ConvPrecision = .fp32

    @OptionGroup var engine: EngineOptions

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Also write OUTPUT/index.html showing each input beside its translation.")
    var html = false

    @Option(name: .customLong("netG"), help: "Override the generator architecture (resnet_9blocks, unet_256, ...).")
    var netG: String?
    @Option(help: "Override the generator's base width.")
    var ngf: Int?
    @Option(help: "Override the norm: instance | batch | none | instance_affine.")
    var norm: ModelConfig.Norm?
    @Option(help: "Override the input channel count.")
    var inputNc: Int?
    @Option(help: "Override the output channel count.")
    var outputNc: Int?

    func validate() throws {
        if outputIsInput(input: input, output: output) {
            throw ValidationError("--output \(output) is the --input folder itself (or the input file's folder): the outputs "
                                  + "would replace or be read back as inputs; choose another folder (one inside the input "
                                  + "is fine: it is skipped when the input is searched)")
        }
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("--shard must be K/N with 0 <= K < N, got '\(shard)'")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard (1...100).contains(jpegQuality) else { throw ValidationError("--jpeg-quality must be 1...100") }
        guard preprocess == "pad" || Preprocess(rawValue: preprocess) != nil else {
            throw ValidationError("unknown --preprocess '\(preprocess)'")
        }
        guard tileSize >= 16, tileSize <= maxTrainingImageSide, tileOverlap >= 0, tileOverlap < tileSize else {
            throw ValidationError("--tile-size must be 16...\(maxTrainingImageSide) and --tile-overlap 0 or more and smaller than it")
        }
        guard batchSize <= maxBatchSize else { throw ValidationError("--batch-size must be at most \(maxBatchSize)") }
        if preprocess != "pad" {
            guard (1...maxTrainingImageSide).contains(loadSize), (1...maxTrainingImageSide).contains(cropSize) else {
                throw ValidationError("--load-size and --crop-size must be 1...\(maxTrainingImageSide), got \(loadSize) and \(cropSize)")
            }
        }
        guard tilePixels >= 1 else { throw ValidationError("--tile-pixels must be at least 1") }
        guard maxImagePixels >= 1 else { throw ValidationError("--max-image-pixels must be at least 1") }
        if let maxImageMb, maxImageMb < 1 { throw ValidationError("--max-image-mb must be at least 1") }
        if let ngf, !(1...maxBaseWidth).contains(ngf) { throw ValidationError("--ngf must be 1...\(maxBaseWidth)") }
        for (name, nc) in [("--input-nc", inputNc), ("--output-nc", outputNc)] {
            if let nc, !(1...4).contains(nc) { throw ValidationError("\(name) must be 1...4") }
        }
        if let netG, ModelConfig.parseNetG(netG) == nil { throw ValidationError("unknown --netG '\(netG)'") }
        if precision == .bf16 && !Engine.supportsBF16 {
            throw ValidationError(Engine.UnsupportedPrecision(precision: precision).description)
        }
    }

    func run() throws {
        engine.apply()
        try Engine.setConvPrecision(precision)
        TranslationPipeline.stopOnInterrupt()
        let progress = ProgressDisplay(label: "img", quiet: quiet)
        let resolved = try resolveModel(model, select: .translator(reverse: direction == .bToA))
        if resolved.pickedFromFolder { progress.message("img2img: using \(resolved.path), the run folder's latest generator") }
        let m = try loadTranslatorNetwork(path: resolved.path, reverse: resolved.reverse) { c in
            if let netG { c.netG = netG }
            if let ngf { c.ngf = ngf }
            if let norm { c.norm = norm }
            if let inputNc { c.inputNC = inputNc }
            if let outputNc { c.outputNC = outputNc }
        }
        let (g, cfg) = (m.layer!, m.config)
        g.testMode(runningStatistics: eval, dropout: dropout)

        var o = TranslationOptions(input: input, output: output)
        o.format = format
        o.jpegQuality = jpegQuality
        if preprocess != "pad", let p = Preprocess(rawValue: preprocess) {
            o.sizing = .preprocess(AugmentOptions(preprocess: p, loadSize: loadSize, cropSize: cropSize, flip: false))
        }
        o.tiling = TilingOptions(maxPiecePixels: tilePixels, tileSize: tileSize, overlap: tileOverlap)
        o.batchSize = (cfg.norm == .batch && !eval) ? 1 : batchSize
        o.shard = shard.flatMap(Shard.init(parsing:)) ?? .all
        o.overwrite = overwrite
        o.decoding = DecodingOptions(maxPixels: maxImagePixels,
                                     maxDecodedBytes: maxImageMb.map { $0 > Int.max / 1_000_000 ? .max : max($0, 1) * 1_000_000 } ?? .max)
        o.quantization = quantization

        // A killed run may have left temporary files (outputs are written under a temporary name
        // and renamed when complete): remove those whose writer is gone before planning.
        let stale = removeStaleTemporaryFiles(under: output)
        let plan = try TranslationPlan.make(o)
        if let skipped = plan.skippedOutputFolder {
            progress.message("img2img: skipping \(skipped) (the output folder) in the input walk")
        }
        let record = TranslationManifest(
            tool: "img2img \(Img2Img.configuration.version)", model: resolved.path,
            modelSHA256: try sha256Hex(ofFile: resolved.path), network: m.prefix, direction: direction.rawValue,
            settings: TranslationManifest.pixelSettings(of: o, other: [
                "--netG": cfg.netG, "--ngf": String(cfg.ngf), "--norm": cfg.norm.rawValue,
                "--input-nc": String(cfg.inputNC), "--output-nc": String(cfg.outputNC),
                "--eval": String(eval), "--dropout": String(dropout), "--precision": precision.rawValue,
            ]))
        let claim = try record.claim(output: output, plan: plan, overwrite: overwrite)
        // Not "img2img: ...": that prefix marks a file that failed, one line each.
        if case .notRecorded(let reason) = claim { progress.message("warning: \(reason)") }
        if !stale.isEmpty && !quiet {
            progress.message("removed \(stale.count) unfinished temporary file\(stale.count == 1 ? "" : "s") of an interrupted run")
        }
        if !quiet {
            progress.message("\(cfg.netG) (\(cfg.inputNC)->\(cfg.outputNC) channels, ngf \(cfg.ngf), \(cfg.norm.rawValue) norm): "
                             + "\(plan.todo.count) to translate, \(plan.alreadyDone) already done"
                             + (o.shard.count > 1 ? ", shard \(o.shard)" : ""))
        }
        let pipeline = TranslationPipeline(options: o, translator: GeneratorTranslator(g, config: cfg))
        let summary = pipeline.run(plan: plan, onFailure: { p in
            progress.message("img2img: \(p.path): \(p.reason)")
        }, onProgress: { p in
            progress.update(done: p.finished + p.failed, total: p.total, rate: p.rate,
                            extra: p.failed > 0 ? "\(p.failed) failed" : "")
        })
        progress.finish()
        if claim == .recordAfterRun && !summary.interrupted {
            do { try record.record(in: output) } catch { progress.message("warning: \(error)") }
        }
        var line = "translated \(summary.translated) images into \(output) in \(String(format: "%.1f", summary.elapsed)) s"
        if summary.translated > 0 { line += String(format: " (%.2f images/s)", Double(summary.translated) / max(summary.elapsed, 1e-9)) }
        if summary.alreadyDone > 0 { line += ", \(summary.alreadyDone) already done" }
        if !summary.failures.isEmpty { line += ", \(summary.failures.count) failed" }
        if summary.interrupted { line += "; interrupted: the same command finishes the rest" }
        print(line)
        if html {
            let page = try writeComparisonPage(plan: plan, summary: summary, output: output,
                                               header: ComparisonPageHeader(model: resolved.path, architecture: cfg.summary, input: input))
            print("page: \(page)")
        }
        if summary.interrupted { throw ExitCode(ExitStatus.interrupted.rawValue) }
        if !summary.failures.isEmpty { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}
