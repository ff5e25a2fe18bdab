/// Decides, as data, when an event may skip the repartition topic behind the source and go to
/// the next segment inside the instance (local delivery), and keeps what that decision rests
/// on. No I/O: the runtime tells it what happened and sends what it says; its tests need no
/// broker.
///
/// The rule: an event of source partition `s` keyed to repartition partition `q` is delivered
/// locally when this instance owns (and has restored) `q`, and `q` has applied everything this
/// instance sent it through the topic — for every source partition the instance owns, so that
/// `q` sees each source's events in the order the topic would have given them. What was sent
/// is known from the barriers: when an instance is assigned a source partition (or a
/// repartition partition) it sends, to every repartition partition, a barrier per source it
/// owns naming the offset below which everything of that source was forwarded; it lands behind
/// everything earlier owners forwarded. Until `q` has read those barriers, events go through
/// the topic, and the sources wait a little (one commit and one fetch, normally) for `q` to
/// catch up, so that a steady stream ever switches to local delivery.
struct LocalDeliveryCoordinator {
    /// Whether local delivery is on (`processing.local_delivery`).
    let enabled: Bool
    /// How long the sources wait for a repartition partition to catch up before going on
    /// through the topic.
    let catchUpLimit: Duration
    /// How long after a cut-off wait the next one may start.
    let catchUpRetry: Duration

    /// Per owned source partition: per repartition partition, the highest source offset (or
    /// barrier mark) sent to it through the topic since the source was assigned.
    private(set) var sent: [Int32: [Int32: Int64]] = [:]
    /// Source partitions whose barriers go out (again) in the next transaction.
    private(set) var barriersDue: Set<Int32> = []
    /// Per repartition partition this instance owns: the highest source offset applied per
    /// source partition (from the topic, its barriers, or local deliveries).
    private(set) var applied: [Int32: AppliedSourceOffsets] = [:]
    /// ``applied`` as it was when the open transaction began (put back if it aborts), with the
    /// marks of partitions restored since then as restored: an abort must not wipe what a
    /// restore completed in the middle of the transaction brought back.
    private var appliedAtBegin: [Int32: AppliedSourceOffsets]?
    /// ``appliedAtBegin`` of the transaction whose commit runs in the background while the next
    /// one runs (``RuntimeOptions/overlapsCommit``): put back if that commit fails, whatever
    /// the next one applied since.
    private var appliedAtCommitting: [Int32: AppliedSourceOffsets]?
    private var catchUpSince: ContinuousClock.Instant?

    /// What local delivery did in the open transaction.
    struct Transaction {
        /// Per repartition partition that took events locally: from which source partitions.
        var localSources: [Int32: Set<Int32>] = [:]
    }

    init(enabled: Bool, commitInterval: Duration, catchUpRetry: Duration = .seconds(30)) {
        self.enabled = enabled
        catchUpLimit = max(.seconds(1), commitInterval * 2)
        self.catchUpRetry = catchUpRetry
    }

    // MARK: Assignment

    /// This instance was assigned source partition `source`: its barriers are due.
    mutating func sourceAssigned(_ source: Int32) {
        guard enabled else { return }
        sent[source] = [:]
        barriersDue.insert(source)
    }

    /// This instance was assigned repartition partition `target` (restored from its
    /// changelog with `restored` applied offsets, empty when they are not kept): every owned
    /// source's barrier goes out again, so that `target` learns what it has to catch up to.
    mutating func repartitionAssigned(_ target: Int32, restored: AppliedSourceOffsets) {
        applied[target] = restored
        appliedAtBegin?[target] = restored
        appliedAtCommitting?[target] = restored
        guard enabled else { return }
        barriersDue.formUnion(sent.keys)
    }

    mutating func sourceRevoked(_ source: Int32) {
        sent.removeValue(forKey: source)
        barriersDue.remove(source)
    }

    mutating func repartitionRevoked(_ target: Int32) {
        applied.removeValue(forKey: target)
        appliedAtBegin?.removeValue(forKey: target)
        appliedAtCommitting?.removeValue(forKey: target)
    }

    // MARK: Transactions

    /// A transaction began: an abort puts the applied marks back as they are now.
    mutating func transactionBegan() { appliedAtBegin = applied }

    /// The open transaction's commit started in the background: the next transaction begins
    /// (``transactionBegan()``) while it runs, and its outcome comes with ``committed()`` or
    /// ``aborted()``.
    mutating func commitStarted() {
        appliedAtCommitting = appliedAtBegin ?? applied
        appliedAtBegin = nil
    }

    // MARK: Barriers

    /// The barriers to send at the start of a transaction: for each due source partition, the
    /// offset below which everything of it was forwarded (`committed(source) - 1`).
    func dueBarriers(committed: (Int32) -> Int64) -> [(source: Int32, below: Int64)] {
        barriersDue.sorted().map { ($0, committed($0) - 1) }
    }

    /// A barrier of `source` marking `below` was sent to `target`.
    mutating func barrierSent(source: Int32, below: Int64, to target: Int32) {
        sent[source, default: [:]][target] = below
        catchUpSince = nil
    }

    /// The open transaction committed (or, with a commit in the background, the committing
    /// one): its barriers are no longer due, its applied marks stand.
    mutating func committed() {
        barriersDue.removeAll()
        if appliedAtCommitting != nil {
            appliedAtCommitting = nil
        } else {
            appliedAtBegin = nil
        }
    }

    /// The open transaction was aborted: the applied marks go back to where they were when it
    /// began, and what it forwarded through the topic is void, so every owned source's barrier
    /// goes out again, marking where the repartition partitions now stand (the catch-up waits
    /// for those, not for the aborted records).
    /// With a commit in the background, its failure aborts the transaction behind it too: the
    /// marks go back to where the committing one began.
    mutating func aborted() {
        if let saved = appliedAtCommitting ?? appliedAtBegin { applied = saved }
        appliedAtBegin = nil
        appliedAtCommitting = nil
        guard enabled else { return }
        barriersDue.formUnion(sent.keys)
    }

    // MARK: Routing

    /// Whether an event for repartition partition `target` goes there inside the instance.
    /// `owned`: this instance owns `target` and has restored it.
    func deliversLocally(to target: Int32, owned: Bool) -> Bool {
        guard enabled, owned, !sent.isEmpty else { return false }
        return sent.values.allSatisfy { $0[target] != nil } && !isBehind(target)
    }

    /// An event of `source` at `offset` went to `target` through the topic.
    mutating func forwarded(source: Int32, offset: Int64, to target: Int32) {
        guard enabled else { return }
        sent[source, default: [:]][target] = offset
    }

    /// Whether repartition partition `target` has yet to apply something this instance sent it.
    func isBehind(_ target: Int32) -> Bool {
        let mark = applied[target]
        return sent.contains { source, targets in targets[target].map { (mark?.offsets[source] ?? .min) < $0 } ?? false }
    }

    // MARK: Applying

    /// Repartition partition `target` applies the event of `source` at `offset` (read from the
    /// topic or handed over); false when it had applied that offset already (a copy).
    mutating func apply(_ target: Int32, source: Int32, offset: Int64) -> Bool {
        applied[target, default: AppliedSourceOffsets()].apply(partition: source, offset: offset)
    }

    /// Repartition partition `target` read a barrier: everything below the marks is applied.
    mutating func applyBarrier(_ target: Int32, marks: [Int32: Int64]) {
        for (source, below) in marks { _ = apply(target, source: source, offset: below) }
    }

    /// The applied offsets of `target` (written to its changelog where they are kept).
    func appliedOffsets(of target: Int32) -> AppliedSourceOffsets? { applied[target] }

    // MARK: Holding the sources

    /// Whether the sources should wait for a repartition partition this instance owns to apply
    /// what the instance sent it (after an assignment's barriers, or an abort). Under a steady
    /// stream the events sent through the topic are otherwise always one transaction ahead of
    /// what the partition has read, and it never switches to local delivery. The wait is
    /// normally one commit and one fetch; it is cut off after ``catchUpLimit`` — a transaction
    /// left open upstream, or a foreign record dead-lettered in place of the last one sent, can
    /// hold a partition back — and tried again ``catchUpRetry`` later.
    mutating func holdsSources(now: ContinuousClock.Instant, owned: [Int32]) -> Bool {
        guard enabled, !sent.isEmpty, owned.contains(where: isBehind) else {
            catchUpSince = nil
            return false
        }
        let since = catchUpSince ?? now
        if now - since >= catchUpRetry {
            catchUpSince = now
            return true
        }
        catchUpSince = since
        return now - since < catchUpLimit
    }
}
