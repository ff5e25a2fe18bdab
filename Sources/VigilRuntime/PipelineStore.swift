import VigilModels
import VigilPipeline
import VigilTopology

/// The instance's state: one ``Pipeline`` per partition number (every segment's stages for
/// that partition live in it, as Kafka Streams keeps a task per partition), made on first use
/// with the model loaded for it.
///
/// The pipelines keep no undo records: an aborted transaction's partitions are cleared and
/// restored from their changelogs, as Kafka Streams does under exactly-once. Undo records
/// cost every event a copy of its key's whole state to make the rare abort cheap: 0.45 µs an
/// event of the features' 0.80–0.90 (StageBench at rest, 3c195a7), and live at 68,343 events/s
/// p99 89.5–91.7 ms against 64.2–68.6 without them (bench/README.md).
final class PipelineStore {
    private let topology: Topology
    private let makeKernel: () throws -> (any ScoringKernel)?
    private(set) var pipelines: [Int32: Pipeline] = [:]

    init(topology: Topology, makeKernel: @escaping () throws -> (any ScoringKernel)?) {
        self.topology = topology
        self.makeKernel = makeKernel
    }

    /// The pipeline of `partition`, made if it has none.
    func pipeline(for partition: Int32) throws -> Pipeline {
        if let pipeline = pipelines[partition] { return pipeline }
        let pipeline = try Pipeline(topology: topology, kernel: try makeKernel(), recordsUndo: false)
        pipelines[partition] = pipeline
        return pipeline
    }

    /// The pipeline of `partition` if it has one.
    subscript(partition: Int32) -> Pipeline? { pipelines[partition] }

    /// Drops every key of these stages in `partition`'s pipeline (a revoked or failed segment partition).
    func clear(partition: Int32, stages: [Int]) {
        guard let pipeline = pipelines[partition] else { return }
        for stage in stages {
            for key in pipeline.engines[stage].allKeys { pipeline.removeState(stage: stage, key: key) }
        }
    }

    /// Forgets `partition`'s pipeline altogether (none of its segment partitions is owned any more).
    func remove(partition: Int32) { pipelines.removeValue(forKey: partition) }
}
