import Logging
import VigilModels
import VigilTopology

/// Loads a topology's model into a kernel, for `run` and the demo: the file must load and
/// take exactly the inputs the topology declares for it.
enum ModelKernels {
    static func kernel(for topology: Topology) throws -> (any ScoringKernel)? {
        guard let spec = topology.model, let path = topology.resolvedModelPath else { return nil }
        let kernel = try ModelLoader.load(path: path)
        try InputNameCheck(model: kernel.inputNames, available: spec.inputs).requireComplete(file: path)
        let undeclared = Set(kernel.inputNames).symmetricDifference(spec.inputs)
        guard undeclared.isEmpty else {
            throw ModelLoadError(file: path, reason: "the topology '\(topology.name)' declares model inputs that the model does not take: \(undeclared.sorted().joined(separator: ", "))")
        }
        return kernel
    }
}
