/// Whether the process stood still (SIGSTOP, a paused VM, a machine swapping it out) for long
/// enough that its group session may have expired meanwhile, as a value: ticks go in, and it
/// says how long a commit must wait before the consumer's view of its assignment can be
/// trusted again. ``FreezeDetector`` ticks it from a thread of its own.
///
/// Why: librdkafka learns that the group took its partitions away only from the coordinator's
/// next answer (or its own session timer) after the process wakes up. A transaction committed
/// in between — the one open at the freeze, or a snapshot the loop starts right after —
/// races the partitions' new owner. On Kafka the coordinator refuses the offsets of a member
/// whose generation is gone (KIP-447); a broker that does not check (Tansu 0.6) takes them,
/// and measured, the exactly-once verifier's zombie (SIGSTOP 5 s past a 2 s session) committed
/// its open transaction 2 ms after librdkafka logged the session timeout and then a snapshot
/// of a partition another instance had processed 630 records further meanwhile: every later
/// restore started from that stale snapshot and lost those records' state.
struct FreezeWatch {
    /// A gap between ticks at least this long is a freeze.
    let threshold: Duration
    /// How long after a freeze the consumer's assignment is not trusted: enough for librdkafka
    /// to hear from the coordinator (its next heartbeat, or its session timer).
    let grace: Duration
    private(set) var lastTick: ContinuousClock.Instant
    /// When the last freeze ended (the first tick after it).
    private(set) var lastFreezeEnd: ContinuousClock.Instant?

    init(threshold: Duration, grace: Duration, now: ContinuousClock.Instant) {
        self.threshold = threshold
        self.grace = grace
        lastTick = now
    }

    /// The ticker ran at `now`.
    mutating func tick(now: ContinuousClock.Instant) {
        if now - lastTick >= threshold { lastFreezeEnd = now }
        lastTick = now
    }

    /// How long a commit at `now` must wait: until `grace` has passed since the last freeze
    /// ended (a freeze is still going on, as far as the ticker knows, when it has not ticked
    /// for `threshold`: the committing thread woke first). Zero without a recent freeze.
    func waitBeforeCommit(now: ContinuousClock.Instant) -> Duration {
        let end = now - lastTick >= threshold ? now : lastFreezeEnd
        guard let end, now - end < grace else { return .zero }
        return end + grace - now
    }
}
