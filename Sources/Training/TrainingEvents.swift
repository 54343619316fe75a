// What a training run reports while it goes and how it ends: the events the CLI prints, the
// per-iteration and per-epoch status, the outcome, and the run's own errors (TrainingRun.swift).
import Foundation

/// What a run tells its caller while it goes (the CLI prints it).
public struct TrainingEvents: Sendable {
    /// A line for the user: skipped files, the resume position (also from the loader's threads).
    public var message: @Sendable (String) -> Void
    /// After every iteration.
    public var iteration: @Sendable (IterationStatus) -> Void
    /// After every epoch, once its checkpoints and report are written.
    public var epoch: @Sendable (EpochStatus) -> Void

    public init(message: @escaping @Sendable (String) -> Void = { _ in },
                iteration: @escaping @Sendable (IterationStatus) -> Void = { _ in },
                epoch: @escaping @Sendable (EpochStatus) -> Void = { _ in }) {
        self.message = message; self.iteration = iteration; self.epoch = epoch
    }
}

public struct IterationStatus {
    /// The epoch number (the paper code's, from epoch_count).
    public var epoch: Int
    public var totalEpochs: Int
    /// Batches of this epoch done, of `batchesPerEpoch`.
    public var batchInEpoch: Int
    public var batchesPerEpoch: Int
    public var iteration: Int
    /// Batches per second in this epoch so far.
    public var rate: Double
    public var losses: [(name: String, value: Float)]
}

public struct EpochStatus {
    public var epoch: Int
    public var totalEpochs: Int
    /// Training time of the epoch (its steps, without the saves and the report).
    public var seconds: Double
    public var steps: Int
    /// Of `seconds`, the time spent averaging gradients over the ranks (0 for one process).
    public var allreduceSeconds: Double
    /// The latest checkpoint was written at the end of this epoch.
    public var savedLatest: Bool
    public var latestPath: String
    public var reportPath: String
}

public enum TrainingOutcome: Equatable {
    /// Every epoch trained; the last latest checkpoint is written.
    case finished
    /// Stopped by Ctrl-C or `requestStop()` after saving the latest checkpoint.
    case interrupted
}

/// Errors of a run that are not the trainers' own.
public enum TrainingRunError: Error, CustomStringConvertible {
    case unknownModel(String, known: [String])
    case noCheckpointToContinue(String)
    /// Another process holds the run folder's lock (`pid` read from the lock file, nil if unknown).
    case runInUse(directory: String, pid: Int32?)
    /// The lock file could not be created or locked.
    case cannotLock(path: String, reason: String)
    /// The training images reach the networks at a size they cannot take (from the data, e.g.
    /// `--preprocess none`); found on the first batch of that size, before its step.
    case imageSize(String)
    /// A new run (no `--continue`) over a folder that holds one: `summary` is `RunFolder.summary`.
    case runExists(directory: String, summary: String)
    /// `--overwrite` could not rename the old run aside.
    case cannotMoveAside(directory: String, to: String, reason: String)
    /// An input file failed and --strict-data asks to stop.
    case badInput(path: String, strict: Bool)

    public var description: String {
        switch self {
        case .unknownModel(let m, let known):
            return "unknown model '\(m)' (known: \(known.joined(separator: ", ")))"
        case .noCheckpointToContinue(let p): return "--continue: no checkpoint at \(p)"
        case .runInUse(let dir, let pid):
            return "the run folder \(dir) is in use by another img2img train" + (pid.map { " (pid \($0))" } ?? "")
                + ": wait for it to end (then --continue resumes it) or choose another --name"
        case .cannotLock(let path, let why): return "cannot lock \(path): \(why)"
        case .runExists(let dir, let summary):
            return "\(dir) already holds \(summary). Nothing was changed. To resume it: the same command "
                + "with --continue (its options come from its options.json; `img2img train --continue --name NAME` "
                + "is enough). To start again under this name: --overwrite (moves the old run to "
                + "\(dir).replaced-<time>; nothing is deleted). Or choose another --name."
        case .cannotMoveAside(let dir, let to, let why): return "--overwrite: cannot move \(dir) to \(to): \(why)"
        case .imageSize(let why): return why
        case .badInput(let path, _):
            return "\(path) failed (unreadable or not an image): stopping (--strict-data); without --strict-data such "
                + "files are named, counted and skipped"
        }
    }
}
