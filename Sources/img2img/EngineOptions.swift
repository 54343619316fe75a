import ArgumentParser
import TensorCore

/// `--threads`, shared by every command that computes.
struct EngineOptions: ParsableArguments {
    @Option(help: "Compute threads (default: all cores, or I2I_NUM_THREADS).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Applies the settings to the engine.
    func apply() {
        if let threads { Engine.threads = threads }
    }
}
