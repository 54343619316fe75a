// Checkpoint.SafeTensors.decode on any bytes: an error or a file whose tensors hold exactly
// shape-product values, never a crash, and never more memory than the input justifies
// (ReadLimits: declared sizes are checked against the file size before allocating).
import FuzzDriver
import Glibc
import Checkpoint

func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let file = try SafeTensors.decode(bytes, file: "fuzz.safetensors")
        for t in file.tensors {
            precondition(t.shape.allSatisfy { $0 >= 0 })
            precondition(t.values.count == t.elementCount)
            if let ints = t.integers { precondition(ints.count == t.elementCount) }
        }
        // what we read, we can write back and read again
        let again = try SafeTensors.decode(try SafeTensors.encode(file, encoding: .f32), file: "again")
        precondition(again.names.sorted() == file.names.sorted())
    } catch let e as CheckpointError {
        _ = e.description
    } catch {
        _ = "\(error)"
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzSafeTensors(data, size) })
