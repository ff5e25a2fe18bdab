/// Counters of a feature engine since it was created (rolled back with a batch).
public struct EngineStatistics: Equatable, Sendable {
    /// Events that produced features.
    public var eventsProcessed: Int = 0
    /// Of those, events placed behind their key's newest event.
    public var lateEventsPlaced: Int = 0
    /// Events rejected as later than the allowed lateness (``LateEventPolicy/deadLetter``).
    public var lateEventsRejected: Int = 0
    /// Events later than the allowed lateness scored without being placed (``LateEventPolicy/score``).
    public var lateEventsUnplaced: Int = 0
    /// Keys evicted because the key bound was reached or the byte budget exceeded (least recently seen first).
    public var keysEvictedForCapacity: Int = 0
    /// Keys dropped after the state TTL passed without an event.
    public var keysExpired: Int = 0

    public init() {}
}

/// How much memory an engine's state takes.
public struct StateFootprint: Equatable, Sendable {
    /// Keys held.
    public var keyCount: Int
    /// Events buffered across all keys.
    public var bufferedEvents: Int
    /// Bytes of state: key headers, ring buffers (allocated capacity) and the key index.
    public var bytes: Int
    /// `bytes / keyCount` (0 without keys).
    public var bytesPerKey: Double { keyCount == 0 ? 0 : Double(bytes) / Double(keyCount) }
}
