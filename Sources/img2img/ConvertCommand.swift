import ArgumentParser
import Foundation
import Checkpoint
import Models

/// `img2img convert`: one network file (ours, a training checkpoint's network, or the paper
/// code's .pth) to a standalone safetensors file with its architecture in the header.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a network file (.pth or .safetensors) to img2img's safetensors, optionally in fp16.",
        discussion: """
        Tensor names stay the paper code's state_dict names, so the result also loads in PyTorch \
        with safetensors' load_file + load_state_dict. The architecture (given, stored or inferred) \
        is written into the header, so later commands need no flags. The file is written under a \
        temporary name and renamed; an existing file is kept unless --overwrite.
        """)

    @Option(help: "Network file (.pth or .safetensors), a training checkpoint, or a run folder (see --net).")
    var model: String

    @Option(help: "Output .safetensors file.")
    var output: String

    @Option(help: "For a training checkpoint or a run folder: which network (G_A, G_B, D_A, D_B, G, D); default for a run folder: its generator if it has exactly one.")
    var net: String?

    @Flag(help: "Store weights as 16-bit floats (half the size).")
    var fp16 = false

    @Flag(help: "Replace the output file if it exists.")
    var overwrite = false

    func run() throws {
        // As export: a converted file is often the only copy of an old run's weights.
        if !overwrite && FileManager.default.fileExists(atPath: output) {
            throw RuntimeError("\(output) exists: not replaced (--overwrite replaces it)")
        }
        let resolved = try resolveModel(model, select: .network(net))
        if resolved.pickedFromFolder { printError("img2img: using \(resolved.path) from the run folder") }
        let m = try loadNetwork(path: resolved.path, select: resolved.selection)
        // Writing from the loaded network gives the canonical names and order.
        var out = tensorFile(m.module, config: m.config)
        for (k, v) in m.file.metadata where k != ModelConfig.metadataKey { out.metadata[k] = v }
        try SafeTensors.write(out, to: output, encoding: fp16 ? .f16 : .f32)
        print("wrote \(output): \(m.config.kind.rawValue) \(m.config.kind == .generator ? m.config.netG : m.config.netD), "
              + "\(m.module.parameters.reduce(0) { $0 + $1.value.count }) parameters\(fp16 ? " (fp16)" : "")")
    }
}
