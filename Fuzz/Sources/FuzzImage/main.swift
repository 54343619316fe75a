// Image decoding by content (PNG, JPEG, anything else), as every CLI command reads a file:
// the default (strict) options, then the lenient ones when the strict decode calls the data
// truncated. Invariants: a decoded image is non-empty, within the pixel limit, and its
// sample count matches its dimensions (Image.init checks the last).
import FuzzDriver
import Glibc
import ImageIO

func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        check(try ImageDecoder.decode(bytes, options: .default))
    } catch {
        _ = error.description
        if error.kind == .truncated {
            if let d = try? ImageDecoder.decode(bytes, options: .lenient) { check(d) }
        }
    }
    return 0
}

func check(_ d: DecodedImage) {
    let im = d.image
    precondition(im.width > 0 && im.height > 0 && (1...4).contains(im.channels))
    precondition(im.pixelCount <= DecodingOptions.defaultMaxPixels)
    // the conversion every command applies before translating
    let rgb = im.toRGB8()
    precondition(rgb.channels == 3 && rgb.pixelCount == im.pixelCount)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzImage(data, size) })
