/// The checkpoint formats we read, told apart by content (never by file extension).
public enum CheckpointFormat: String, Sendable {
    case safetensors
    /// torch.save since PyTorch 1.6: a zip archive.
    case torchZip
    /// torch.save with `_use_new_zipfile_serialization=False`, or PyTorch < 1.6: a pickle stream.
    case torchLegacy
}

public enum CheckpointFile {
    /// Reads a safetensors, zip `.pth` or legacy `.pth` file into named Float arrays.
    public static func read(path: String) throws -> TensorFile {
        try decode(try readWholeFile(path), file: path)
    }

    /// Reads a checkpoint held in memory; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> TensorFile {
        switch detectFormat(bytes) {
        case .safetensors: return try SafeTensors.decode(bytes, file: file)
        case .torchZip: return try TorchCheckpoint.readZip(bytes, file: file)
        case .torchLegacy: return try TorchCheckpoint.readLegacy(bytes, file: file)
        case nil:
            throw CheckpointError(.unknownFormat, file: file, "not a safetensors, zip .pth or legacy .pth file")
        }
    }

    /// The format by the first bytes: zip local-header or empty-archive signature; a pickle
    /// PROTO opcode; otherwise a u64 header length followed by '{'.
    public static func detectFormat(_ bytes: [UInt8]) -> CheckpointFormat? {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4b,
           (bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6) {
            return .torchZip
        }
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) { return .torchLegacy }
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") { return .safetensors }
        return nil
    }
}
