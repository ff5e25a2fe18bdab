public import VigilPipeline

/// Where a replay's drift records go: a monitor for the topology and a JSON-lines file.
public struct DriftOutput: Sendable {
    /// The monitor, fresh (no window open).
    public var monitor: PipelineDriftMonitor
    /// The JSON-lines file (`.lz4` compresses it).
    public var path: String

    public init(monitor: PipelineDriftMonitor, path: String) {
        self.monitor = monitor
        self.path = path
    }
}
