/// How the runtime batches, commits and bounds state. All durations in milliseconds.
public struct ProcessingSpec: Sendable, Equatable {
    /// Events per micro-batch at most. Default 500.
    public var batchSize: Int = 500
    /// The longest a poll waits when no event has arrived. A micro-batch takes the events
    /// already fetched, up to `batchSize`, and never waits for more once it has one: under a
    /// backlog batches are full, at a low rate they are small and nothing waits. Default 20 ms.
    public var batchDelay: Int64 = 20
    /// How often the open transaction commits. Default 100 ms.
    public var commitInterval: Int64 = 100
    /// Whether the open transaction also commits as soon as every fetched event has been
    /// processed, before the interval. Under a backlog it changes nothing (transactions run to
    /// the interval); at a lower rate an event waits for one commit instead of the interval,
    /// at the price of more, smaller transactions. Default true.
    public var commitWhenDrained = true
    /// Whether an instance that owns both a source partition and the repartition partition an
    /// event is keyed to hands the event to that partition's next stage in the same transaction,
    /// instead of through the repartition topic (after the events that already went through
    /// the topic are applied, so each key still sees its events in order). One transaction per
    /// event instead of two; the state and its changelog are the same. Default false: the
    /// exactly-once verifier does not pass with it on against a broker that shows aborted
    /// records (see the README, Local delivery); opt in where the broker hides them.
    public var localDelivery = false
    /// What a live transaction writes to the stages' changelogs. Default
    /// ``ChangelogRecords/keyStates``.
    public var changelog: ChangelogRecords = .keyStates
    /// How far behind a key's newest event another may arrive and still be placed in order
    /// (see ``lateEvents`` for events further behind). Default 0 (events must arrive in time
    /// order per key).
    public var allowedLateness: Int64 = 0
    /// What happens to an event further behind its key's newest than ``allowedLateness``.
    /// Default ``LateEventPolicy/score``.
    public var lateEvents: LateEventPolicy = .score
    /// How long a key is kept after its newest event. Default: the longest window reach plus
    /// the allowed lateness (the least that changes no feature), set by the loader when absent.
    public var stateTTL: Int64 = 0
    /// Most keys held per stage; beyond it the least recently seen key is evicted (and counted). Default 1,000,000.
    public var maxKeys: Int = 1_000_000
    /// Most bytes of key state held per stage, like ``maxKeys`` (each stage of each source or
    /// repartition partition has its own budget: a key's features then depend only on its
    /// partition's events, never on which partitions an instance happens to own or in what
    /// order it processes them). While a stage holds more, its least recently seen keys are
    /// evicted and counted as ``maxKeys`` evictions are; either bound evicts. The bytes are
    /// what the keys' state holds (headers, ring blocks, deques, distinct tables, detector
    /// state), kept up to date as it changes. Default nil: no byte budget.
    public var maxStateBytes: Int?

    /// The documented defaults; `stateTTL` is filled in by the loader.
    public init() {}
}

/// What the runtime and the replay do with an event further behind its key's newest event than
/// the allowed lateness (`processing.late_events`).
public enum LateEventPolicy: String, Sendable, Equatable, CaseIterable {
    /// Score it against the key's state as it stands, without adding it to the key's history
    /// (its windows hold the buffered events up to its time, so a window reaching further back
    /// than the buffer keeps is partial), and flag its score record `late`. Default: a
    /// restarted instance or a backfill must not leave events unscored.
    case score
    /// Send it to the dead-letter topic with the reason (the behaviour before `late_events`).
    case deadLetter = "dead_letter"
}

/// What a live transaction writes to a stage's changelog between snapshots
/// (`processing.changelog`). Either way a snapshot of every key comes once a snapshot interval,
/// and a restore is exact.
public enum ChangelogRecords: String, Sendable, Equatable, CaseIterable {
    /// A record per key the transaction changed, with the key's whole state (LZ4), or a
    /// tombstone: compacted by key, restored by installing each. Default.
    case keyStates = "key_states"
    /// One record per stage and transaction holding the events the stage applied and the keys
    /// it removed, in order (about 20 bytes an event instead of a few hundred); a restore
    /// installs the last snapshot and replays the records after it through the stage. Records
    /// are keyed by their place since that snapshot, so compaction keeps the newest interval's.
    case events
}
