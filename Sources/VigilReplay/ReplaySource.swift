public import VigilPipeline
public import VigilTopology

/// Where a replay's events come from: a file (``FileSource``) or a topic (`TopicSource`).
public protocol ReplaySource: AnyObject {
    /// How much has been read so far, for the progress line.
    var position: ReplayPosition { get }
    /// Reads every record, appending each event to the feed's batch with a decoder made from
    /// `pipeline` and then calling ``ReplayFeed/appended()``; a record that does not decode is
    /// reported with ``ReplayFeed/malformed(_:_:)``.
    func read(topology: Topology, pipeline: Pipeline, into feed: ReplayFeed) throws
}

/// How far a ``ReplaySource`` has read.
public struct ReplayPosition: Sendable {
    /// Input bytes consumed (compressed bytes for an `.lz4` file, record values for a topic).
    public var bytesRead: Int
    /// The input's size, when known.
    public var totalBytes: Int?

    public init(bytesRead: Int, totalBytes: Int?) {
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
    }
}
