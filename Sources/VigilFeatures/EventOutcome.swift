/// What the engine did with one event.
public enum EventOutcome: Equatable, Sendable {
    /// In time order for its key: state advanced, features written.
    case inOrder
    /// Behind its key's newest event but within the allowed lateness: placed in time order,
    /// features written from the events its window holds.
    case late
    /// Further behind its key's newest event than the allowed lateness, under
    /// ``LateEventPolicy/deadLetter``: state untouched, no features; the caller dead-letters it
    /// with ``LateEventRejection``.
    case rejected(LateEventRejection)
    /// Further behind than the allowed lateness, under ``LateEventPolicy/score``: features
    /// written from the state as it stands (the events buffered up to its time), the key's
    /// state untouched; the caller flags its score late.
    case unplaced(LateEventRejection)

    /// Whether features were written.
    public var isAccepted: Bool {
        if case .rejected = self { return false }
        return true
    }
}

extension EventOutcome {
    /// Why the event was further behind than the allowed lateness (rejected or unplaced), nil otherwise.
    public var beyondLateness: LateEventRejection? {
        switch self {
        case .rejected(let reason), .unplaced(let reason): return reason
        case .inOrder, .late: return nil
        }
    }
}

/// Why an event was too late.
public struct LateEventRejection: Equatable, Sendable, CustomStringConvertible {
    /// The event's time, ms since the epoch.
    public var eventTime: Int64
    /// The key's newest event time when it arrived.
    public var newestTime: Int64
    /// The allowed lateness, ms.
    public var allowedLateness: Int64

    public var description: String {
        "event time \(eventTime) ms is \(newestTime - eventTime) ms behind its key's newest event (\(newestTime) ms); allowed lateness is \(allowedLateness) ms"
    }
}
