public import VigilTopology

/// Which topics a topology runs on, and which stages run on which topic.
///
/// Stages are grouped into segments: a segment is a run of stages keyed by the same field, fed
/// by one topic partitioned by that field. The first segment reads the source; every change of
/// key starts a new segment behind a repartition topic (`<name>.repartition.<stage>`), as Kafka
/// Streams does, so that each key's state lives in exactly one partition of one segment.
public struct TopicPlan: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        /// The topic this segment consumes.
        public var inputTopic: String
        /// The stages it runs, in order (indices into the topology's stages; may be empty for a
        /// source segment whose first stage is keyed differently from the source).
        public var stages: [Int]
        /// The field its input is partitioned by (the source's key for the first segment).
        public var partitionKey: String
    }

    public let name: String
    public let segments: [Segment]
    public let scoresTopic: String
    public let alertsTopic: String
    public let driftTopic: String
    public let deadLetterTopic: String
    /// Per stage: where its state changes go.
    public let changelogTopics: [String]
    /// Where each partition's newest state snapshot is recorded.
    public let checkpointTopic: String

    public init(topology: Topology) throws(TopicPlanError) {
        guard topology.source.topics.count == 1 else {
            throw TopicPlanError(detail: "vigil run reads exactly one source topic (co-partitioning of several is not supported); the topology '\(topology.name)' names \(topology.source.topics.count)")
        }
        name = topology.name
        var segments: [Segment] = []
        var current = Segment(inputTopic: topology.source.topics[0], stages: [], partitionKey: topology.source.keyFields.first ?? "")
        for (index, stage) in topology.stages.enumerated() {
            if stage.key != current.partitionKey && !(current.stages.isEmpty && segments.isEmpty && current.partitionKey.isEmpty) {
                segments.append(current)
                current = Segment(inputTopic: "\(topology.name).repartition.\(stage.name)", stages: [], partitionKey: stage.key)
            }
            current.partitionKey = stage.key
            current.stages.append(index)
        }
        segments.append(current)
        // A source segment with no stage only forwards: it still computes derived features.
        self.segments = segments
        scoresTopic = topology.outputs.scoresTopic
        alertsTopic = topology.outputs.alertsTopic
        driftTopic = topology.outputs.driftTopic
        deadLetterTopic = topology.outputs.deadLetterTopic
        changelogTopics = topology.stages.map { "\(topology.name).changelog.\($0.name)" }
        checkpointTopic = "\(topology.name).checkpoints"
    }

    /// The topics this instance consumes.
    public var inputTopics: [String] { segments.map(\.inputTopic) }

    /// The segment that consumes `topic`, if any.
    public func segment(consuming topic: String) -> Int? { segments.firstIndex { $0.inputTopic == topic } }

    /// Topics Vigil creates with the source's partition count (outputs, repartition, changelogs).
    public var createdTopics: [String] {
        Array(segments.dropFirst().map(\.inputTopic)) + changelogTopics + [checkpointTopic, scoresTopic, alertsTopic, driftTopic, deadLetterTopic]
    }
}

/// A topology that `vigil run` cannot map onto topics.
public struct TopicPlanError: Error, CustomStringConvertible, Equatable {
    public var detail: String
    public var description: String { detail }
}
