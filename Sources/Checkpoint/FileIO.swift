import _Files

/// Reads a whole regular file (`_Files.readFile`: the buffer is sized from `fstat`, never from
/// file content; anything but a regular file is refused).
func readWholeFile(_ path: String) throws -> [UInt8] {
    do { return try readFile(path) } catch { throw CheckpointError(error) }
}

extension CheckpointError {
    init(_ e: FileError) {
        self.init(e.kind == .tooLarge ? .limitExceeded : .io, file: e.path, e.reason)
    }
}

/// Atomic file replacement (`_Files.AtomicWriter`): write a temporary file in the destination
/// folder, fsync it, rename it over the destination, then fsync the folder. A reader (or a
/// crash) sees the old file or the new one, never a half-written one. On failure the temporary
/// file is removed. Errors are `CheckpointError(.io)` naming the file.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicWriter.write(bytes, to: path) } catch { throw CheckpointError(error) }
    }

    /// The same, with the contents produced by `body`, which hands each piece to the sink in
    /// order: a large file is written without first being assembled in memory.
    public static func write(to path: String,
                             _ body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        do { try AtomicWriter.write(to: path, body) } catch let e as FileError { throw CheckpointError(e) }
    }
}
