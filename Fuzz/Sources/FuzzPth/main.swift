// CheckpointFile.decode on any bytes: the zip .pth reader (local headers, central directory,
// zip64, stored entries), the restricted unpickler (only the tensor / storage / OrderedDict
// globals; anything else is refused, never imported or called) and the legacy pickle format.
import FuzzDriver
import Glibc
import Checkpoint

func fuzzPth(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let file = try CheckpointFile.decode(bytes, file: "fuzz.pth")
        for t in file.tensors {
            precondition(t.shape.allSatisfy { $0 >= 0 })
            precondition(t.values.count == t.elementCount)
        }
    } catch let e as CheckpointError {
        _ = e.description
    } catch {
        _ = "\(error)"
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzPth(data, size) })
