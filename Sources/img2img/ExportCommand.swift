import ArgumentParser
import Datasets
import Models
import ONNX

extension ExportOptions.BatchNorm: ExpressibleByArgument {}

/// `img2img export`: a generator (img2img's file, a training checkpoint, the paper code's .pth)
/// to an ONNX file for onnxruntime and other runtimes.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a generator (ResNet, U-Net) to ONNX.",
        discussion: """
        The graph uses standard ONNX operators only (opset \(ExportOptions.defaultOpset) unless --opset): \
        input "input" float32 [batch, input_nc, height, width] with pixels normalized to [-1, 1], \
        output "output" of the same layout in [-1, 1]; batch, height and width are dynamic (height \
        and width multiples of the network's size multiple, 4 for ResNets, 2^downs for U-Nets). \
        Initializers carry the paper code's state_dict names; the architecture, channels and pixel \
        normalization are in metadata_props.

        Batch norm: --batch-norm batch (default) normalizes each image with its own statistics, as \
        translate and the paper code's test.py do; --batch-norm running uses the running \
        statistics, as translate --eval. Each instance normalization's input is centered first \
        (ReduceMean, Sub): the same in exact arithmetic, and it keeps onnxruntime's CPU kernel, \
        which loses digits on channels with a large mean, within 1 level of translate; \
        --no-centered-norms writes the plain graph.

        The file is written under a temporary name and renamed; an existing file is kept unless \
        --overwrite.
        """)

    @Option(help: "Generator or checkpoint file (.safetensors or .pth), or a run folder (its latest generator).")
    var model: String

    @Option(help: "Output .onnx file.")
    var output: String

    @Option(help: "ONNX opset (\(ExportOptions.supportedOpsets.lowerBound)...\(ExportOptions.supportedOpsets.upperBound)).")
    var opset: Int = ExportOptions.defaultOpset

    @Option(help: "For a CycleGAN checkpoint or run folder: AtoB exports G_A, BtoA exports G_B (BtoA on a file with one generator is an error).")
    var direction: Direction = .aToB

    @Option(help: "Batch norm statistics: batch (each image's own, as translate) | running (as translate --eval).")
    var batchNorm: ExportOptions.BatchNorm = .batch

    @Flag(inversion: .prefixedNo,
          help: ArgumentHelp("Subtract each channel's mean (ReduceMean, Sub) before every instance normalization.",
                             discussion: "Same result in exact arithmetic; keeps onnxruntime's CPU InstanceNormalization within 1 level of translate (without it, up to 10 levels on a trained ResNet). --no-centered-norms writes the plain graph."))
    var centeredNorms = true

    @Flag(help: "Replace the output file if it exists.")
    var overwrite = false

    func validate() throws {
        guard ExportOptions.supportedOpsets.contains(opset) else {
            throw ValidationError("--opset must be \(ExportOptions.supportedOpsets.lowerBound)...\(ExportOptions.supportedOpsets.upperBound), got \(opset)")
        }
    }

    func run() throws {
        let resolved = try resolveModel(model, select: .translator(reverse: direction == .bToA))
        if resolved.pickedFromFolder { printError("img2img: using \(resolved.path), the run folder's latest generator") }
        let s = try exportONNX(modelPath: resolved.path, reverse: resolved.reverse, to: output,
                               options: ExportOptions(opset: opset, batchNorm: batchNorm, centeredNorms: centeredNorms,
                                                      overwrite: overwrite))
        print("wrote \(s.output): \(s.config.netG)\(s.prefix.map { " (\($0))" } ?? ""), \(s.config.inputNC)->\(s.config.outputNC) channels, "
              + "\(s.config.norm.rawValue) norm, opset \(opset), \(s.nodes) nodes, \(s.parameters) parameters, \(s.bytes) bytes")
    }
}
