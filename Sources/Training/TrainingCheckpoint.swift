// Training checkpoint: everything a run needs to continue exactly, in ONE safetensors file.
//   <net>.<state_dict name>                      every network, PyTorch names and layouts
//                                                (G_A.model.1.weight, D.model.1.running_mean, ...)
//   <optimizer>.state.<param>.exp_avg / exp_avg_sq   Adam moments, in the parameter's PyTorch layout
//   <optimizer>.state.<param>.step               I64 scalar
//   <pool>.images                                stored pool images [count,H,W,C] (NHWC, values in [-1,1])
//   <pool>.image.<i>                             or, when they differ in size, each image [1,H,W,C]
//   __metadata__ "img2img.training": JSON        model name, progress (epoch, iteration), schedule,
//                                                optimizer hyper-parameters and lr, every generator's
//                                                state (trainer, pools, each Dropout layer), losses
//   plus any extra metadata the caller passes (e.g. the architecture config).
// Written atomically (temporary file, fsync, rename: Checkpoint.SafeTensors.write). Saving is
// refused while a loss or a weight is NaN or infinite, so the last good file stays in place.
import Autograd
import Checkpoint
import Foundation
import NN
import TensorCore

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A loss is NaN or infinite; nothing was written.
    case nonFiniteLoss(name: String, value: Float)
    /// A network tensor or optimizer state is NaN or infinite; nothing was written.
    case nonFiniteTensor(name: String)
    /// The file is not a training checkpoint of this model, or does not match it.
    case incompatible(file: String, reason: String)
    /// Options that cannot work together.
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let n, let v): return "loss \(n) is \(v): checkpoint not written (the last good one is kept)"
        case .nonFiniteTensor(let n): return "tensor \(n) has NaN or infinite values: checkpoint not written (the last good one is kept)"
        case .incompatible(let f, let r): return "\(f): not a matching training checkpoint: \(r)"
        case .invalidOptions(let r): return "invalid options: \(r)"
        }
    }
}

/// The JSON metadata of a training checkpoint.
struct TrainingMetadata: Codable {
    struct OptimizerMeta: Codable { var lr: Double; var beta1: Double; var beta2: Double; var eps: Double }
    var format = 1
    var model: String
    var progress: TrainingProgress
    var schedule: LRSchedule
    var optimizers: [String: OptimizerMeta]
    /// Generator states as decimal strings (UInt64 does not survive JSON doubles).
    var rng: [String: String]
    var losses: [String: Float]
}

public enum TrainingCheckpoint {
    public static let metadataKey = "img2img.training"
    /// The largest epoch, iteration or schedule count a checkpoint may hold (2^40).
    public static let maxCounter = 1 << 40

    /// Throws if a loss or a tensor of the trainer is not finite.
    public static func validate(_ trainer: some GANTrainer) throws {
        for (n, v) in trainer.lossValues where !v.isFinite { throw TrainingError.nonFiniteLoss(name: n, value: v) }
        for (net, m) in trainer.networks {
            for (n, t) in m.namedTensors() where !isFinite(t.value) { throw TrainingError.nonFiniteTensor(name: net + "." + n) }
        }
        for (on, o) in trainer.optimizers {
            for (i, s) in o.state.enumerated() {
                if let s, !isFinite(s.expAvg) || !isFinite(s.expAvgSq) {
                    throw TrainingError.nonFiniteTensor(name: "\(on).state.\(o.parameters[i].name)")
                }
            }
        }
    }

    static func isFinite(_ t: Tensor) -> Bool {
        t.withUnsafeBufferPointer { b in b.allSatisfy { $0.isFinite } }
    }

    /// The whole training state as a TensorFile.
    public static func encode(_ trainer: some GANTrainer, extraMetadata: [String: String] = [:]) throws -> TensorFile {
        try validate(trainer)
        var tensors: [NamedTensor] = []
        var layouts: [String: TensorLayout] = [:]
        var rng: [String: String] = ["trainer": String(trainer.rng.state)]
        for (net, m) in trainer.networks {
            for (n, t) in m.namedTensors() {
                let name = net + "." + n
                layouts[name] = t.layout
                let v = t.pyTorchValue
                if t.kind == .integerBuffer {
                    tensors.append(NamedTensor(name: name, shape: v.shape, integers: v.scalars.map { Int64($0) }))
                } else {
                    tensors.append(NamedTensor(name: name, shape: v.shape, values: v.scalars))
                }
            }
            for (path, sub) in m.namedModules() {
                if let d = sub as? Dropout { rng["\(net).\(path)"] = String(d.rng.state) }
            }
        }
        var optimizers: [String: TrainingMetadata.OptimizerMeta] = [:]
        for (on, o) in trainer.optimizers {
            optimizers[on] = .init(lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps)
            for (i, p) in o.parameters.enumerated() {
                guard let s = o.state[i] else { continue }
                let layout = layouts[p.name] ?? .plain
                let prefix = "\(on).state.\(p.name)."
                let m = layout.toPyTorch(s.expAvg), v = layout.toPyTorch(s.expAvgSq)
                tensors.append(NamedTensor(name: prefix + "exp_avg", shape: m.shape, values: m.scalars))
                tensors.append(NamedTensor(name: prefix + "exp_avg_sq", shape: v.shape, values: v.scalars))
                tensors.append(NamedTensor(name: prefix + "step", shape: [], integers: [Int64(s.step)]))
            }
        }
        for (pn, pool) in trainer.pools {
            rng[pn] = String(pool.rng.state)
            if let s = pool.stacked {
                tensors.append(NamedTensor(name: pn + ".images", shape: s.shape, values: s.scalars))
            } else {
                for (i, im) in pool.images.enumerated() {
                    tensors.append(NamedTensor(name: pn + ".image.\(i)", shape: im.shape, values: im.scalars))
                }
            }
        }
        let meta = TrainingMetadata(model: trainer.modelName, progress: trainer.progress,
                                    schedule: trainer.schedule, optimizers: optimizers, rng: rng,
                                    losses: Dictionary(trainer.lossValues.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var metadata = extraMetadata
        metadata[metadataKey] = String(decoding: try enc.encode(meta), as: UTF8.self)
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    /// Writes the checkpoint atomically. Throws TrainingError (nothing written) on NaN/Inf.
    public static func save(_ trainer: some GANTrainer, to path: String, extraMetadata: [String: String] = [:]) throws {
        try SafeTensors.write(try encode(trainer, extraMetadata: extraMetadata), to: path)
    }

    /// Restores `trainer` (built with the same architecture and options) from a checkpoint.
    public static func load(_ path: String, into trainer: some GANTrainer) throws {
        try restore(try SafeTensors.read(path: path), into: trainer, file: path)
    }

    public static func restore(_ file: TensorFile, into trainer: some GANTrainer, file name: String = "<memory>") throws {
        func fail(_ r: String) -> TrainingError { .incompatible(file: name, reason: r) }
        guard let json = file.metadata[metadataKey] else { throw fail("no \(metadataKey) metadata") }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let meta = try dec.decode(TrainingMetadata.self, from: Data(json.utf8))
        // Counters come from a file: keep them where the arithmetic on them cannot overflow
        // (epoch numbers, lr schedules) before anything is applied.
        let counters = [("progress.epoch", meta.progress.epoch), ("progress.iteration", meta.progress.iteration),
                        ("schedule.epochCount", meta.schedule.epochCount), ("schedule.nEpochs", meta.schedule.nEpochs),
                        ("schedule.nEpochsDecay", meta.schedule.nEpochsDecay), ("schedule.lrDecayIters", meta.schedule.lrDecayIters),
                        ("schedule.lastEpoch", meta.schedule.lastEpoch), ("schedule.numBadEpochs", meta.schedule.numBadEpochs),
                        ("schedule.plateauPatience", meta.schedule.plateauPatience)]
        for (n, v) in counters where !(0...maxCounter).contains(v) {
            throw fail("\(n) is \(v), outside 0...\(maxCounter)")
        }
        guard meta.schedule.lr.isFinite, meta.schedule.baseLR.isFinite else { throw fail("the learning rate is not finite") }
        let modelName = trainer.modelName
        guard meta.model == modelName else { throw fail("checkpoint of model \(meta.model), trainer is \(modelName)") }
        try trainer.prepareToRestore(file)
        var byName: [String: NamedTensor] = [:]
        for t in file.tensors { byName[t.name] = t }
        func tensor(_ t: NamedTensor) -> Tensor { Tensor(shape: t.shape, scalars: t.values) }

        // networks (all-or-nothing per network: loadStateDict checks names and shapes first)
        var layouts: [String: TensorLayout] = [:]
        for (net, m) in trainer.networks {
            let prefix = net + "."
            let entries = file.tensors.filter { $0.name.hasPrefix(prefix) }
            try m.loadStateDict(StateDict(entries.map {
                StateDict.Entry(name: String($0.name.dropFirst(prefix.count)), tensor: tensor($0), isInteger: $0.integers != nil)
            }), source: name)
            for (n, t) in m.namedTensors() { layouts[prefix + n] = t.layout }
            for (path, sub) in m.namedModules() {
                if let d = sub as? Dropout, let s = meta.rng["\(net).\(path)"].flatMap(UInt64.init) { d.rng.state = s }
            }
        }
        // optimizers
        for (on, o) in trainer.optimizers {
            guard let om = meta.optimizers[on] else { throw fail("no state for \(on)") }
            o.lr = om.lr; o.beta1 = om.beta1; o.beta2 = om.beta2; o.eps = om.eps
            for (i, p) in o.parameters.enumerated() {
                let prefix = "\(on).state.\(p.name)."
                guard let m = byName[prefix + "exp_avg"], let v = byName[prefix + "exp_avg_sq"],
                      let st = byName[prefix + "step"] else { o.state[i] = nil; continue }
                let layout = layouts[p.name] ?? .plain
                let mt = layout.fromPyTorch(tensor(m)), vt = layout.fromPyTorch(tensor(v))
                guard mt.shape == p.variable.shape, vt.shape == p.variable.shape else {
                    throw fail("\(prefix)exp_avg has shape \(m.shape), parameter \(p.name) is \(p.variable.shape)")
                }
                o.state[i] = Adam.ParameterState(step: Int(st.integers?.first ?? Int64(st.values.first ?? 0)), expAvg: mt, expAvgSq: vt)
            }
        }
        // pools, generators, schedule, progress
        for (pn, pool) in trainer.pools {
            guard let s = meta.rng[pn].flatMap(UInt64.init) else { throw fail("no generator state for \(pn)") }
            let stored = byName[pn + ".images"]
            var single: [Tensor] = []
            while let im = byName[pn + ".image.\(single.count)"] {
                guard im.shape.count == 4, im.shape[0] == 1 else {
                    throw fail("\(pn).image.\(single.count) has shape \(im.shape), expected [1,H,W,C]")
                }
                single.append(tensor(im))
            }
            let n = stored?.shape.first ?? single.count
            if n > pool.poolSize {
                throw fail("the \(pn) image pool holds \(n) images, more than --pool-size \(pool.poolSize): "
                           + "continue with --pool-size \(n) or more")
            }
            if stored != nil { pool.restore(stacked: stored.map(tensor), rngState: s) } else { pool.restore(images: single, rngState: s) }
        }
        guard let r = meta.rng["trainer"].flatMap(UInt64.init) else { throw fail("no trainer generator state") }
        trainer.rng.state = r
        trainer.schedule = meta.schedule
        trainer.progress = meta.progress
    }
}
