import Logging
import VigilModels
import VigilTopology

/// Loads a topology's model into a kernel, for `run` and the demo: the file must load and
/// take exactly the inputs the topology declares for it.
enum ModelKernels {
    /// The topology's model; paired with its explainer when alerts carry reasons
    /// (`outputs.alerts.explain`) or `explain` asks for one (`vigil replay --explain`).
    static func kernel(for topology: Topology, explain: Bool = false) throws -> (any ScoringKernel)? {
        guard let spec = topology.model, let path = topology.resolvedModelPath else { return nil }
        let kernel = try ModelLoader.load(path: path)
        try InputNameCheck(model: kernel.inputNames, available: spec.inputs).requireComplete(file: path)
        let undeclared = Set(kernel.inputNames).symmetricDifference(spec.inputs)
        guard undeclared.isEmpty else {
            throw ModelLoadError(file: path, reason: "the topology '\(topology.name)' declares model inputs that the model does not take: \(undeclared.sorted().joined(separator: ", "))")
        }
        return try explaining(kernel, path: path, when: explain || topology.outputs.alertExplain > 0)
    }

    /// Another model for the topology's rows (`vigil replay --model`, `--challenger`): every
    /// input it takes must be a feature or field of the topology.
    static func kernel(path: String, for topology: Topology, explain: Bool = false) throws -> any ScoringKernel {
        let kernel = try ModelLoader.load(path: path)
        let available = topology.source.fields.filter(\.type.isNumeric).map(\.name) + topology.featureNames
        try InputNameCheck(model: kernel.inputNames, available: available).requireComplete(file: path)
        return try explaining(kernel, path: path, when: explain)
    }

    private static func explaining(_ kernel: any ScoringKernel, path: String, when wanted: Bool) throws -> any ScoringKernel {
        guard wanted else { return kernel }
        return ExplainingKernel(scorer: kernel, explainer: try ModelLoader.loadExplainer(path: path))
    }
}
