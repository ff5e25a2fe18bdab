/// How the runtime batches, commits and bounds state. All durations in milliseconds.
public struct ProcessingSpec: Sendable, Equatable {
    /// Events per micro-batch at most. Default 500.
    public var batchSize: Int = 500
    /// The longest a micro-batch waits to fill. Default 20 ms.
    public var batchDelay: Int64 = 20
    /// How often the open transaction commits. Default 100 ms.
    public var commitInterval: Int64 = 100
    /// How far behind a key's newest event another may arrive and still be placed in order;
    /// later events are dead-lettered. Default 0 (events must arrive in time order per key).
    public var allowedLateness: Int64 = 0
    /// How long a key is kept after its newest event. Default: the longest window reach plus
    /// the allowed lateness (the least that changes no feature), set by the loader when absent.
    public var stateTTL: Int64 = 0
    /// Most keys held per stage; beyond it the least recently seen key is evicted (and counted). Default 1,000,000.
    public var maxKeys: Int = 1_000_000

    /// The documented defaults; `stateTTL` is filled in by the loader.
    public init() {}
}
