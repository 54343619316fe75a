import ArgumentParser

@main
struct Img2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2img",
        abstract: "Image-to-image translation and style transfer (CycleGAN, pix2pix) on the CPU.",
        version: "0.1.0",
        subcommands: []
    )
}
