// --eval-freq: quality measured as papers measure it, during training. Every N epochs the
// held-out split is translated with the epoch's networks and FID/KID computed (the `evaluate`
// hook, which the CLI fills with Evaluation's runTest and the FID network); the values go to
// loss_log.jsonl (so the report plots them beside the losses) and RUN/metrics.json, and the
// networks of the lowest FID are kept as best_net_*.safetensors (RUN/best.json says which epoch).
// Under MPI only rank 0 evaluates; the other ranks wait for it at the next step.
import Foundation
import Checkpoint
import _Files

/// RUN/best.json: the epoch whose networks best_net_* holds and its FID.
struct BestRecord: Codable {
    var epoch: Int
    var name: String
    var value: Double

    static func read(_ directory: String) -> BestRecord? {
        (try? Data(contentsOf: URL(fileURLWithPath: directory + "/best.json"))).flatMap { try? JSONDecoder().decode(BestRecord.self, from: $0) }
    }
}

/// One line of RUN/metrics.json's list.
struct EvaluationRecord: Codable {
    var epoch: Int
    var iteration: Int
    var seconds: Double
    var values: [String: Double]
}

extension TrainingRun {
    func runEvaluation(_ evaluate: (Int) throws -> [(name: String, value: Double)], epoch: Int) throws {
        let started = Date()
        let values = try evaluate(epoch)
        let seconds = Date().timeIntervalSince(started)
        guard let first = values.first else { return }
        try report.log(epoch: epoch, iteration: trainer.progress.iteration, losses: values.map { ($0.name, Float($0.value)) })
        // metrics.json: every evaluation so far, rewritten whole (atomically).
        let path = directory + "/metrics.json"
        var all = (try? JSONDecoder().decode([EvaluationRecord].self, from: Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
        all.append(EvaluationRecord(epoch: epoch, iteration: trainer.progress.iteration, seconds: seconds,
                                    values: Dictionary(values.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try enc.encode(all)), to: path)
        var line = "epoch \(epoch) evaluation in " + String(format: "%.1f s: ", seconds)
            + values.map { "\($0.name) " + String(format: "%.4g", $0.value) }.joined(separator: ", ")
        if first.value < best {
            best = first.value
            for (name, _) in trainer.networks {
                let bytes = try readFile(directory + "/latest_net_\(name).safetensors")
                try AtomicFile.write(bytes, to: directory + "/best_net_\(name).safetensors")
            }
            try AtomicFile.write(Array(try enc.encode(BestRecord(epoch: epoch, name: first.name, value: first.value))),
                                 to: directory + "/best.json")
            line += "; the best so far: best_net_*.safetensors"
        }
        events.message(line)
    }
}
