/// What a replay did.
public struct ReplaySummary: Sendable {
    /// Records read from the input (header excluded).
    public var eventsRead = 0
    /// Rows written to the output (for a profile: events profiled).
    public var rowsWritten = 0
    /// Drift records written (one per closed window).
    public var driftRecords = 0
    /// Drift alerts written.
    public var driftAlerts = 0
    /// Records that could not be decoded.
    public var malformedCount = 0
    /// The first malformed records: where they are and why.
    public var malformed: [(place: ReplayPlace, reason: String)] = []
    /// Events a stage rejected (too late for their key).
    public var rejectedCount = 0
    /// The first rejected events: where they are and why.
    public var rejected: [(place: ReplayPlace, reason: String)] = []
    /// Keys held per stage at the end.
    public var keysPerStage: [Int] = []
    /// Bytes of state per key per stage at the end.
    public var bytesPerKeyPerStage: [Double] = []
    /// Whether scores were written.
    public var scored = false
    /// Wall time, seconds.
    public var seconds = 0.0
}

/// Progress of a running replay, reported about ten times a second.
public struct ReplayProgress: Sendable {
    /// Input bytes consumed (compressed bytes for `.lz4`, record values for a topic).
    public var bytesRead: Int
    /// The input's size, when known.
    public var totalBytes: Int?
    /// Records read so far.
    public var eventsRead: Int
    /// Seconds since the start.
    public var elapsed: Double
}
