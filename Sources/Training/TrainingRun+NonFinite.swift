// When a loss becomes NaN or infinite: find where, say why, keep the evidence.
//
// The failed iteration is run again with every op checked (Autograd's AnomalyMode, as
// torch.autograd.detect_anomaly): a second TrainingRun that writes nothing resumes from the
// last checkpoint (or from the seed when none was saved yet), replays up to the failed
// iteration bit for bit (exact resume) and checks that one. The first non-finite value is named
// with its op, its layer path (G_A.model.12.conv_block.5) and the pass, with the batch's files,
// in the error and in RUN/anomaly.json. `--detect-anomaly` checks every iteration as it runs.
import Foundation
import Autograd
import Checkpoint
import Distributed
import NN

/// A run stopped on a non-finite loss or op output.
public struct NonFiniteError: Error, CustomStringConvertible, Sendable, Codable {
    public var loss: String?
    public var value: String?
    public var epoch: Int
    public var iteration: Int
    /// The first non-finite op (nil: not traced).
    public var op: String?
    public var layer: String?
    public var pass: String?
    public var cause: String?
    /// The batch's input files.
    public var files: [String]
    public var advice: String
    public var kept: String
    /// RUN/anomaly.json, when written.
    public var record: String?

    public var description: String {
        var s = loss.map { "loss \($0) became \(value ?? "nan") at epoch \(epoch), iteration \(iteration): stopping" }
            ?? "a non-finite value at epoch \(epoch), iteration \(iteration) (--detect-anomaly): stopping"
        s += "; the last good checkpoint (\(kept)) is kept."
        if let cause { s += "\nFirst non-finite value: \(cause)." }
        if !files.isEmpty { s += "\nThe batch: " + files.joined(separator: ", ") }
        s += "\n" + advice
        if let record { s += "\nDetails: \(record)" }
        return s
    }
}

extension TrainingRun {
    /// The networks' layers and parameters by path under their names ("G_A.model.1",
    /// "G_A.model.1.weight"), for AnomalyMode's reports.
    func anomalyNames() -> [(path: String, object: AnyObject)] {
        trainer.networks.flatMap { name, net -> [(path: String, object: AnyObject)] in
            net.namedModules(prefix: name).map { ($0.path, $0.module as AnyObject) }
                + net.namedParameters().map { (name + "." + $0.name, $0.variable as AnyObject) }
        }
    }

    /// Runs iteration `iteration` (1-based, as `progress.iteration` after it) again with every
    /// op checked; nil when it cannot (data-parallel) or finds nothing.
    func traceByReplay(iteration: Int) -> Anomaly? {
        guard !group.isActive else { return nil }  // a replay would need every rank
        events.message("img2img: a loss became non-finite at iteration \(iteration): running it again with every op checked")
        var o = options
        o.continueTrain = FileManager.default.fileExists(atPath: latestPath)
        do {
            let replay = try TrainingRun(options: o, model: model, group: SingleProcess(), events: TrainingEvents())
            replay.replayTo = iteration
            _ = try replay.run()
            return replay.replayAnomaly
        } catch {
            events.message("img2img: the re-run to trace it failed: \(error)")
            return nil
        }
    }

    /// The error for a non-finite loss (`loss`) or op output, with advice that fits the cause,
    /// written to RUN/anomaly.json.
    func nonFinite(loss: (name: String, value: Float)?, anomaly: Anomaly?, traced: Bool, files: [String]) -> NonFiniteError {
        let lr = options.lr
        // At the first iteration the weights are the initial ones: the rate cannot be the cause.
        let rateCanBeCause = lr > 0 && trainer.progress.iteration > 1
        let lower = "lower --lr (now \(lr))"
        let advice: String
        switch anomaly?.source {
        case .data?:
            advice = "The input data is not finite: check the files of the batch. The learning rate is not the cause."
        case .parameter(let p)?:
            advice = "A previous step made \(p) non-finite: " + (rateCanBeCause ? "\(lower), or look at loss_log.jsonl for losses that grew."
                                                                                  : "the weights were loaded that way; check the checkpoint.")
        case .op?:
            let why = lr == 0 ? "the learning rate is 0" : "the weights had not been trained yet"
            advice = rateCanBeCause
                ? "If the losses grew before this (loss_log.jsonl), \(lower); if not, the op is undefined for these values "
                  + "(a division or square root at 0, a log of 0): please report it with anomaly.json."
                : "The learning rate is not the cause (\(why)): the op is undefined for these values (a division or square "
                  + "root at 0, a log of 0); please report it with anomaly.json."
        case nil:
            advice = (traced ? "The re-run with every op checked found no non-finite op (it may depend on the thread count). "
                             : "Run again with --continue --detect-anomaly to find the op (every op checked; slow). ")
                + (rateCanBeCause ? "If the losses grew before this (loss_log.jsonl), \(lower)." : "")
        }
        var e = NonFiniteError(loss: loss?.name, value: loss.map { "\($0.value)" }, epoch: trainer.currentEpochNumber,
                               iteration: trainer.progress.iteration, op: anomaly?.op, layer: anomaly?.layer,
                               pass: anomaly?.pass.rawValue, cause: anomaly?.description, files: files, advice: advice,
                               kept: latestPath)
        if group.isWriter {
            let path = directory + "/anomaly.json"
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let bytes = try? enc.encode(e), (try? AtomicFile.write(Array(bytes), to: path)) != nil { e.record = path }
        }
        return e
    }
}
