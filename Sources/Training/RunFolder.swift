// What a run folder (CHECKPOINTS_DIR/NAME) holds, read without building a trainer: its options
// (options.json) and where training stands (the header of latest.safetensors). `train` uses it
// to refuse a new run over an existing one, naming that run's state, and to resume one with
// `--continue` from its own options; `--overwrite` moves the old run aside.
import Foundation
import Checkpoint
import Models

public struct RunFolder: Sendable {
    public let directory: String
    /// The run's options.json, if it holds one that reads.
    public let options: TrainOptions?
    /// Why options.json did not read (nil when it read or is absent).
    public let optionsProblem: String?
    /// Completed epochs, the optimize calls so far and the batches of the epoch in progress, from
    /// latest.safetensors (nil without one).
    public let epochsDone: Int?
    public let iteration: Int?
    public let batchInEpoch: Int?
    /// The model latest.safetensors was written by.
    public let checkpointModel: String?
    /// When latest.safetensors was last written.
    public let lastSaved: Date?
    /// The folder's entries (names), sorted; empty if it does not exist.
    public let entries: [String]

    /// Files that make a folder a run: any of them means a train has written here.
    static func isRunFile(_ name: String) -> Bool {
        name == "options.json" || name == "opt.txt" || name == "loss_log.jsonl" || name.hasSuffix(".safetensors")
    }

    public init(directory: String) {
        self.directory = directory
        let fm = FileManager.default
        entries = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var options: TrainOptions? = nil, problem: String? = nil
        let optionsPath = directory + "/options.json"
        if fm.fileExists(atPath: optionsPath) {
            do { options = try TrainOptions.fromJSON(Data(contentsOf: URL(fileURLWithPath: optionsPath))) } catch {
                problem = "\(optionsPath) does not read: \(error)"
            }
        }
        self.options = options
        optionsProblem = problem
        let latest = directory + "/latest.safetensors"
        var done: Int? = nil, iteration: Int? = nil, batch: Int? = nil, model: String? = nil, saved: Date? = nil
        if let meta = try? SafeTensors.readMetadata(path: latest) {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            if let json = meta[TrainingCheckpoint.metadataKey],
               let m = try? decoder.decode(TrainingMetadata.self, from: Data(json.utf8)) {
                done = m.progress.epoch
                iteration = m.progress.iteration
                model = m.model
            }
            batch = RunState.decode(meta)?.batchInEpoch
            saved = (try? fm.attributesOfItem(atPath: latest))?[.modificationDate] as? Date
        }
        epochsDone = done; self.iteration = iteration; batchInEpoch = batch; checkpointModel = model; lastSaved = saved
    }

    /// Whether a train has written here (a checkpoint, options, a loss log).
    public var holdsRun: Bool { entries.contains(where: Self.isRunFile) }

    /// Epochs the run's options ask for (nil without options.json).
    public var totalEpochs: Int? {
        options.map { $0.nEpochs + $0.nEpochsDecay - $0.epochCount + 1 }
    }

    /// Whether every epoch the options ask for is done.
    public var finished: Bool {
        guard let d = epochsDone, let t = totalEpochs else { return false }
        return d >= t && (batchInEpoch ?? 0) == 0
    }

    /// One line: "a cyclegan run, 3 of 5 epochs done (epoch 4 stopped after batch 2, iteration
    /// 32), last saved 2026-12-07 17:20:31 UTC".
    public var summary: String {
        var s = "a " + (options?.model ?? checkpointModel ?? "training") + " run"
        if let d = epochsDone {
            s += ", " + (totalEpochs.map { "\(d) of \($0) epochs done" } ?? "\(d) epochs done")
            if let b = batchInEpoch, b > 0, let o = options {
                s += " (epoch \(o.epochCount + d) stopped after batch \(b)"
                    + (iteration.map { ", iteration \($0)" } ?? "") + ")"
            } else if let i = iteration {
                s += " (iteration \(i))"
            }
            if let t = lastSaved { s += ", last saved " + Self.format(t) }
        } else {
            s += " without a checkpoint (latest.safetensors)"
        }
        return s
    }

    static func format(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: d)
    }

    /// Where `moveAside` puts the run: DIR.replaced-<UTC time>, with a counter if that exists.
    public func asidePath(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        let base = directory + ".replaced-" + f.string(from: now)
        var candidate = base, k = 2
        while FileManager.default.fileExists(atPath: candidate) { candidate = base + "-\(k)"; k += 1 }
        return candidate
    }

    /// Throws `TrainingRunError.runInUse` (naming the pid) while a train holds the folder's lock.
    public func checkNotInUse() throws {
        let lockPath = directory + "/.lock"
        guard FileManager.default.fileExists(atPath: lockPath) else { return }
        // Taking the lock proves no train is writing here; it is released at once.
        let lock = try RunFolderLock(path: lockPath, directory: directory)
        lock.release()
    }

    /// `train --overwrite`: renames the run folder aside (nothing is deleted) after checking that
    /// no train holds it, and returns the new path.
    public func moveAside() throws -> String {
        try checkNotInUse()
        let to = asidePath()
        guard rename(directory, to) == 0 else {
            throw TrainingRunError.cannotMoveAside(directory: directory, to: to, reason: String(cString: strerror(errno)))
        }
        return to
    }
}
