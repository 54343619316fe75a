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
        is written into the header, so later commands need no flags.
        """)

    @Option(help: "Network file (.pth or .safetensors), or a training checkpoint (see --net).")
    var model: String

    @Option(help: "Output .safetensors file.")
    var output: String

    @Option(help: "For a training checkpoint: which network (G_A, G_B, D_A, D_B, G, D).")
    var net: String?

    @Flag(help: "Store weights as 16-bit floats (half the size).")
    var fp16 = false

    func run() throws {
        let m = try loadNetwork(path: model, select: .network(net))
        // Writing from the loaded network gives the canonical names and order.
        var out = tensorFile(m.module, config: m.config)
        for (k, v) in m.file.metadata where k != ModelConfig.metadataKey { out.metadata[k] = v }
        try SafeTensors.write(out, to: output, encoding: fp16 ? .f16 : .f32)
        print("wrote \(output): \(m.config.kind.rawValue) \(m.config.kind == .generator ? m.config.netG : m.config.netD), "
              + "\(m.module.parameters.reduce(0) { $0 + $1.value.count }) parameters\(fp16 ? " (fp16)" : "")")
    }
}
