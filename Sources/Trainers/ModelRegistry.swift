// The one list of models: `train`, `test`, the option checks and --help read it, and a model's
// name appears nowhere else but in its own file (TrainableModel.swift in Training says what a
// registration holds; TemplateTrainer.swift shows how to add one).
import Foundation
import Distributed
import Training

public enum ModelRegistry {
    /// The models img2img ships, in the order the help lists them.
    public static let builtIn: [TrainableModel] = [.cyclegan, .cut, .fastcut, .pix2pix, .colorization, .cgan, .dcgan, .template]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered = builtIn

    /// Every model `img2img train` offers: the built-in ones, then any registered.
    public static var models: [TrainableModel] { lock.withLock { registered } }

    /// Adds a model (or replaces the one of the same name): it is in `train`, `test` and --help
    /// from then on. Registration is the whole of what a model needs.
    public static func register(_ m: TrainableModel) {
        lock.withLock {
            if let i = registered.firstIndex(where: { $0.name == m.name }) { registered[i] = m } else { registered.append(m) }
        }
    }

    /// Removes a registered model (a plug-in unloaded, a test's toy model); built-in ones stay.
    public static func unregister(_ name: String) {
        lock.withLock { registered.removeAll { m in m.name == name && !builtIn.contains { $0.name == name } } }
    }

    public static func model(named name: String) -> TrainableModel? {
        models.first { $0.name == name }
    }

    /// `model.check(o)`, and a --netD that another model takes is named as that model's
    /// ("--netD projection is cgan's; pix2pix takes basic, n_layers, pixel").
    public static func check(_ o: TrainOptions, for model: TrainableModel) throws {
        if !model.discriminators.contains(o.netD) {
            let takers = models.filter { $0.discriminators.contains(o.netD) }.map(\.name)
            if !takers.isEmpty {
                throw TrainingError.invalidOptions("--netD \(o.netD) is \(takers.joined(separator: ", "))'s; \(model.name) takes "
                                                   + model.discriminators.joined(separator: ", "))
            }
        }
        try model.check(o)
    }

    /// The error with the models that read the layouts its folder fits ("img2img train cyclegan | cut").
    public static func explain(_ e: DatasetLayoutError) -> DatasetLayoutError {
        var e = e
        e.fittingModels = models.filter { e.fitting.contains($0.datasetMode) }.map(\.name)
        return e
    }

    /// The models `img2img test` runs.
    public static var testable: [TrainableModel] { models.filter { $0.test != nil } }
}


extension TrainingRun {
    /// A run of the registered model that `options.model` names.
    public convenience init(options: TrainOptions, group: any ProcessGroup = SingleProcess(),
                            events: TrainingEvents = TrainingEvents()) throws {
        guard let m = ModelRegistry.model(named: options.model) else {
            throw TrainingRunError.unknownModel(options.model, known: ModelRegistry.models.map(\.name))
        }
        try self.init(options: options, model: m, group: group, events: events)
    }
}
