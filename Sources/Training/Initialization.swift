// Initialization shared by every trainer: the paper code's --init_type / --init_gain, and a
// generator per Dropout layer derived from the run's seed (Trainers/TrainerFactories.swift
// builds each model's networks with them).
import Models
import NN
import TensorCore

/// Initialization options of the paper code (--init_type, --init_gain).
public struct InitOptions: Sendable {
    public var type: InitType
    public var gain: Float
    public init(type: InitType = .normal, gain: Float = 0.02) { self.type = type; self.gain = gain }
}

/// Gives each Dropout layer of `modules` its own generator derived from `seed`.
public func reseedDropout(_ modules: [any Module], seed: UInt64) {
    var k: UInt64 = 0
    for m in modules {
        for (_, sub) in m.namedModules() {
            if let d = sub as? Dropout { d.rng = SplitMix64(seed: deriveSeed(seed, 1000 + k)); k += 1 }
        }
    }
}

