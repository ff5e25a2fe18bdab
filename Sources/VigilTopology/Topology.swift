/// A validated topology: what Vigil reads, computes, scores and writes for one stream.
///
/// Load one with ``TopologyLoader``; every invariant listed there holds for a loaded value.
public struct Topology: Sendable, Equatable {
    /// The topology's name; output topics default to `<name>.<kind>`.
    public var name: String
    /// The source events.
    public var source: SourceSpec
    /// Per-event features, computed before the stages.
    public var derived: [DerivedFeature]
    /// The keyed stages, in the order events pass through them.
    public var stages: [StageSpec]
    /// The scoring model, if any.
    public var model: ModelSpec?
    /// Output topics and alert rule.
    public var outputs: OutputSpec
    /// Batching, commits, lateness and state bounds.
    public var processing: ProcessingSpec
    /// Drift monitoring against a reference profile, if any.
    public var drift: DriftSpec?
    /// How replays are judged against labels (`vigil replay --report`), if at all.
    public var evaluation: EvaluationSpec?
    /// The folder of the file it was loaded from, for resolving the model path.
    public var directory: String?

    public init(name: String, source: SourceSpec, derived: [DerivedFeature], stages: [StageSpec], model: ModelSpec?,
                outputs: OutputSpec, processing: ProcessingSpec, directory: String? = nil, drift: DriftSpec? = nil) {
        self.name = name
        self.source = source
        self.derived = derived
        self.stages = stages
        self.model = model
        self.outputs = outputs
        self.processing = processing
        self.directory = directory
        self.drift = drift
    }

    /// Every feature in output order: derived features, then each stage's features.
    public var featureNames: [String] { derived.map(\.name) + stages.flatMap(\.outputNames) }

    /// The model file's path resolved against the topology's folder.
    public var resolvedModelPath: String? {
        guard let model, model.scoreFeature == nil else { return nil }
        if model.path.hasPrefix("/") { return model.path }
        guard let directory, !directory.isEmpty else { return model.path }
        return directory + "/" + model.path
    }

    /// Whether a stage has anomaly detectors.
    public var hasDetectors: Bool { stages.contains { !$0.detectors.isEmpty } }

    /// The drift profile's path resolved against the topology's folder.
    public var resolvedDriftProfilePath: String? {
        guard let drift else { return nil }
        return resolve(drift.profilePath)
    }

    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let directory, !directory.isEmpty else { return path }
        return directory + "/" + path
    }
}

extension Topology {
    /// The same topology under another name, reading `sourceTopics`, with every output topic at
    /// its default for the new name (so that a run of it shares no topic with another); the
    /// alert rule and whether score records carry the features are kept.
    public func renamed(_ name: String, sourceTopics: [String]) -> Topology {
        var topology = self
        topology.name = name
        topology.source.topics = sourceTopics
        topology.outputs = OutputSpec(defaultsFor: name)
        topology.outputs.alertRule = outputs.alertRule
        topology.outputs.includeFeatures = outputs.includeFeatures
        topology.outputs.alertExplain = outputs.alertExplain
        return topology
    }
}
