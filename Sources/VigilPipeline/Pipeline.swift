import CVigilKernels
import Foundation
public import VigilFeatures
public import VigilModels
public import VigilTopology

/// The one pipeline that file replay and the live Kafka runtime both drive: events in, derived
/// features, each stage's windowed features, a feature matrix, scores, alerts and state changes
/// out. It does no I/O.
///
/// Whole batch at once (replay): ``process(_:)``. Stage by stage (the runtime, when a stage is
/// keyed differently from its input and runs after a repartition topic):
/// ``computeDerived(_:)``, then ``runStage(_:on:)`` per stage — moving events between
/// instances with ``EventBatch/encodeEvent(at:)`` and ``EventBatch/appendEncoded(_:)`` — then
/// ``score(_:)`` and ``alerts(_:scores:)``. Transactions: ``beginBatch()``, then
/// ``touchedKeys(stage:)`` with ``snapshot(stage:key:)`` for changelog records, and
/// ``commitBatch()`` or ``rollbackBatch()``.
public final class Pipeline {
    /// The topology it runs.
    public let topology: Topology
    /// The row layout of its batches.
    public let layout: RowLayout
    /// One feature engine per stage.
    public let engines: [FeatureEngine]
    /// The model's input names in its column order (empty without a model).
    public let modelInputs: [String]
    /// The newest event time seen (ms), or `Int64.min` before any event.
    public private(set) var streamTime: Int64 = .min

    private var scorer: BatchScorer?
    /// Explains scores when the kernel came with an explainer (``ExplainingKernel``).
    private var reasonCoder: ReasonCoder?
    private let stageInputColumns: [[Int]]
    /// The derived features as row columns, without the names: copying a `DerivedKind` in the
    /// per-event loop retained its strings.
    private let derivedSteps: [DerivedStep]
    private var streamTimeAtBatchStart: Int64 = .min
    /// The stream time before the sealed batch, while one waits for its commit.
    private var streamTimeAtSealedStart: Int64?
    private let alertColumns: [Int]

    /// A pipeline for `topology`, scoring with `kernel` when given (its ``ScoringKernel/inputNames``
    /// order the model matrix's columns). `recordsUndo` keeps what ``rollbackBatch()`` needs, a
    /// copy of each touched key's state (about 0.45 µs an event in StageBench): for a driver
    /// that rolls batches back in memory. Replay does not roll back, and the runtime restores
    /// an aborted transaction's partitions from their changelogs instead; both turn it off.
    /// A topology whose model names a score feature (`model: {score: NAME}`) scores with that
    /// feature when no kernel is given.
    public init(topology: Topology, kernel: (any ScoringKernel)? = nil, recordsUndo: Bool = true) throws {
        let kernel = kernel ?? topology.model?.scoreFeature.map { FeatureScoreKernel(feature: $0) }
        self.topology = topology
        let layout = RowLayout(topology: topology)
        self.layout = layout
        let configuration = FeatureEngine.Configuration(processing: topology.processing, recordsUndo: recordsUndo)
        engines = topology.stages.map { FeatureEngine(stage: $0, configuration: configuration) }
        stageInputColumns = engines.map { engine in engine.inputNames.map { layout.column(of: $0)! } }
        derivedSteps = topology.derived.map { feature in
            let inputs = feature.kind.inputs.map { layout.column(of: $0)! }
            switch feature.kind {
            case .hour: return .hour
            case .weekday: return .weekday
            case .weekend: return .weekend
            case let .night(from, to): return .night(fromHour: from, toHour: to)
            case .log1p: return .log1p(column: inputs[0])
            case .ratio: return .ratio(numerator: inputs[0], denominator: inputs[1])
            }
        }
        let scorer = try kernel.map { try BatchScorer(kernel: $0, layout: layout, topologyName: topology.name) }
        self.scorer = scorer
        modelInputs = scorer?.inputNames ?? []
        reasonCoder = scorer.flatMap { scorer in scorer.explainer.map { ReasonCoder(explainer: $0, columns: scorer.inputColumns) } }
        alertColumns = (topology.outputs.alertRule?.conditions ?? []).map { $0.subject == "score" ? -1 : (layout.column(of: $0.subject) ?? -1) }
    }

    /// Whether the pipeline scores.
    public var hasModel: Bool { scorer != nil }

    /// Whether it can explain its scores (its kernel came with an explainer).
    public var explains: Bool { reasonCoder != nil }

    /// An empty batch of this pipeline's layout.
    public func makeBatch(capacity: Int = 0) -> EventBatch { EventBatch(layout: layout, capacity: capacity) }

    /// A decoder for this topology's source records.
    public func makeDecoder() -> EventDecoder { EventDecoder(topology: topology) }

    // MARK: Running

    /// Everything for a whole batch: derived features, every stage, scores and alerts.
    public func process(_ batch: inout EventBatch) -> BatchOutput {
        computeDerived(&batch)
        for stage in engines.indices { runStage(stage, on: &batch) }
        let scores = score(batch)
        return BatchOutput(scores: scores, alerts: alerts(batch, scores: scores))
    }

    /// How many rows ahead computeDerived prefetches.
    static let rowLookahead = 8

    /// Fills the derived-feature columns of every live event (and advances stream time).
    public func computeDerived(_ batch: inout EventBatch) {
        let width = layout.width
        let start = layout.derivedStart
        for time in batch.times where time > streamTime { streamTime = time }
        guard !derivedSteps.isEmpty else { return }
        let times = batch.times
        derivedSteps.withUnsafeBufferPointer { steps in
            batch.rows.withUnsafeMutableBufferPointer { rows in
                let count = times.count
                for index in 0..<count {
                    let base = index * width
                    // This pass is the first to touch each row since the batch was filled: ask
                    // for the rows a few events ahead, to be written.
                    if index + Self.rowLookahead < count, let rowStart = rows.baseAddress {
                        let ahead = rowStart + (index + Self.rowLookahead) * width
                        for offset in stride(from: 0, to: width, by: 8) { vigil_prefetch_for_write(ahead + offset) }
                        vigil_prefetch_for_write(ahead + (width - 1))
                    }
                    let time = times[index]
                    let days = time >= 0 ? time / 86_400_000 : -((-time + 86_399_999) / 86_400_000)
                    let hour = Double((time - days * 86_400_000) / 3_600_000)
                    let weekday = Double(((days + 3) % 7 + 7) % 7)
                    for offset in 0..<steps.count {
                        let value: Double
                        switch steps[offset] {
                        case .hour: value = hour
                        case .weekday: value = weekday
                        case .weekend: value = weekday >= 5 ? 1 : 0
                        case let .night(from, to):
                            let hourOfDay = Int(hour)
                            value = (from <= to ? (hourOfDay >= from && hourOfDay <= to) : (hourOfDay >= from || hourOfDay <= to)) ? 1 : 0
                        case let .log1p(column): value = Foundation.log1p(rows[base + column])
                        case let .ratio(numerator, denominator):
                            let divisor = rows[base + denominator]
                            value = divisor == 0 ? .nan : rows[base + numerator] / divisor
                        }
                        rows[base + start + offset] = value
                    }
                }
            }
        }
    }

    /// Runs stage `stage` over the batch's live events in order: each event's features go into
    /// its row; an event too late for its key is marked rejected (dead-letter it).
    public func runStage(_ stage: Int, on batch: inout EventBatch) {
        let engine = engines[stage]
        let columns = stageInputColumns[stage]
        let width = layout.width
        let start = layout.stageStarts[stage]
        let keyWidth = layout.keyFields.count
        let keyIndex = layout.stageKeyIndex[stage]
        let times = batch.times
        let keys = batch.keyStorage
        // Which events are live, read in place (a map over the optionals called a closure and
        // copied each element).
        let count = batch.count
        let live = batch.withRejectionSlots { slots in
            [Bool](unsafeUninitializedCapacity: count) { flags, initialized in
                for index in 0..<slots.count { flags[index] = slots[index] == 0 }
                for index in slots.count..<count { flags[index] = true }
                initialized = count
            }
        }
        var rejected: [(index: Int, rejection: LateEventRejection)] = []
        columns.withUnsafeBufferPointer { columns in
            live.withUnsafeBufferPointer { live in
                times.withUnsafeBufferPointer { times in
                    keys.withUnsafeBufferPointer { keys in
                        batch.rows.withUnsafeMutableBufferPointer { rows in
                            guard let rowStart = rows.baseAddress, let timeStart = times.baseAddress,
                                  let keyStart = keys.baseAddress else { return }
                            rejected = engine.process(rows: EventRows(
                                count: times.count, times: timeStart, keys: keyStart + keyIndex, keyStride: keyWidth, live: live.baseAddress,
                                rows: rowStart, rowWidth: width, inputColumns: columns, featureStart: start))
                        }
                    }
                }
            }
        }
        // Beyond the allowed lateness: scored unplaced (features written, state untouched) or rejected, by the policy.
        for (index, reason) in rejected {
            if engine.configuration.lateEvents == .score {
                batch.markLate(index)
            } else {
                batch.reject(index, Rejection(stage: topology.stages[stage].name, reason: reason.description))
            }
        }
    }

    /// Scores the live events with the model: one score per event, NaN for rejected ones;
    /// empty without a model.
    public func score(_ batch: EventBatch) -> [Double] {
        scorer?.score(batch) ?? []
    }

    /// The `top` reasons for event `index`'s score (by default the topology's
    /// `outputs.alerts.explain`): the model inputs with the largest TreeSHAP contributions.
    /// Empty when the pipeline has no explainer (see ``explains``) or `top` is 0. Alerts are
    /// rare, so events are explained one at a time, after scoring, and only those asked for.
    public func reasons(_ batch: EventBatch, index: Int, top: Int? = nil) -> [ReasonCode] {
        reasonCoder?.reasons(batch, index: index, top: top ?? topology.outputs.alertExplain) ?? []
    }

    /// Indices of live events that meet the topology's alert rule (none without a rule).
    public func alerts(_ batch: EventBatch, scores: [Double]) -> [Int] {
        guard let rule = topology.outputs.alertRule else { return [] }
        var result: [Int] = []
        for index in 0..<batch.count where batch.isLive(index) {
            var holds = true
            for (condition, column) in zip(rule.conditions, alertColumns) {
                let value = column < 0 ? (scores.isEmpty ? .nan : scores[index]) : batch.value(index, column: column)
                if !condition.comparison.holds(value, condition.threshold) { holds = false; break }
            }
            if holds { result.append(index) }
        }
        return result
    }

    // MARK: Transactions and state

    /// Opens a batch on every stage (see ``FeatureEngine/beginBatch()``).
    public func beginBatch() {
        streamTimeAtBatchStart = streamTime
        for engine in engines { engine.beginBatch() }
    }

    /// Keeps the open batch's state changes.
    public func commitBatch() { for engine in engines { engine.commitBatch() } }

    /// Keys the open batch evicted for capacity (`processing.max_keys`, `processing.max_state_bytes`), over every stage.
    public var keysEvictedInBatch: Int { engines.reduce(0) { $0 + $1.keysEvictedInBatch } }

    /// Undoes the open batch's state changes on every stage, and a sealed batch's before it.
    public func rollbackBatch() {
        streamTime = streamTimeAtSealedStart ?? streamTimeAtBatchStart
        streamTimeAtSealedStart = nil
        for engine in engines { engine.rollbackBatch() }
    }

    /// Closes the open batch for its commit, keeping how to undo it, so that the next batch
    /// can run while the commit is under way (see ``FeatureEngine/sealBatch()``). Read its
    /// touched keys and operations first.
    public func sealBatch() {
        precondition(streamTimeAtSealedStart == nil, "a sealed batch is still waiting for its commit's outcome")
        streamTimeAtSealedStart = streamTimeAtBatchStart
        streamTimeAtBatchStart = streamTime
        for engine in engines { engine.sealBatch() }
    }

    /// Forgets the open and the sealed batch without undoing their state changes (the state is
    /// about to be cleared and restored from the changelog; see
    /// ``FeatureEngine/discardBatches()``). The stream time goes back to where it stood before
    /// them, as with ``rollbackBatch()``: the events that moved it on are done again, and an
    /// expiry at the stream time they reached would drop keys their retry still needs.
    public func discardBatches() {
        streamTime = streamTimeAtSealedStart ?? streamTimeAtBatchStart
        streamTimeAtSealedStart = nil
        streamTimeAtBatchStart = streamTime
        for engine in engines { engine.discardBatches() }
    }

    /// The sealed batch committed: forgets how to undo it. Returns the keys it evicted for capacity.
    @discardableResult
    public func commitSealedBatch() -> Int {
        streamTimeAtSealedStart = nil
        return engines.reduce(0) { $0 + $1.commitSealedBatch() }
    }

    /// Keys of stage `stage` the open batch changed; write ``snapshot(stage:key:)`` of each
    /// (nil: a tombstone) to the stage's changelog.
    public func touchedKeys(stage: Int) -> [StateKey] { engines[stage].touchedKeys }

    /// The compressed state of `key` in stage `stage`, nil if it has none.
    public func snapshot(stage: Int, key: StateKey) -> [UInt8]? { engines[stage].snapshot(key: key) }

    /// The same, lent to `body` without a copy of its own (see ``FeatureEngine/withSnapshot(key:_:)``).
    public func withSnapshot<R, E: Error>(stage: Int, key: StateKey, _ body: (UnsafeRawBufferPointer?) throws(E) -> R) throws(E) -> R {
        try engines[stage].withSnapshot(key: key, body)
    }

    /// Restores one key's state in stage `stage` from a snapshot.
    @discardableResult
    public func restore(stage: Int, snapshot: [UInt8]) throws -> StateKey { try engines[stage].restore(snapshot: snapshot) }

    /// Stage `stage`'s operations in the open batch (its events and removed keys, in order),
    /// lent to `body` as one LZ4 block: the changelog record of `processing.changelog: events`
    /// (see ``FeatureEngine/withOperations(_:)``).
    public func withOperations<R, E: Error>(stage: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try engines[stage].withOperations(body)
    }

    /// Replays a record of ``withOperations(stage:_:)`` into stage `stage`; returns the operations applied.
    @discardableResult
    public func replay(stage: Int, operations: [UInt8]) throws -> Int { try engines[stage].replay(operations: operations) }

    /// Drops a key's state in stage `stage` (a changelog tombstone).
    public func removeState(stage: Int, key: StateKey) { engines[stage].removeState(key: key) }

    /// Expires keys idle past the state TTL on every stage, by stream time; returns how many.
    @discardableResult
    public func expireIdleKeys() -> Int { expireIdleKeys(stages: Array(engines.indices)) }

    /// The same on these stages only (a segment's, whose changelog records the open transaction
    /// writes: an expired key is touched, so its tombstone goes with them).
    @discardableResult
    public func expireIdleKeys(stages: [Int]) -> Int {
        guard streamTime != .min else { return 0 }
        return stages.reduce(0) { $0 + engines[$1].expireIdleKeys(now: streamTime) }
    }
}

/// A derived feature compiled to row columns.
private enum DerivedStep {
    case hour
    case weekday
    case weekend
    case night(fromHour: Int, toHour: Int)
    case log1p(column: Int)
    case ratio(numerator: Int, denominator: Int)
}

/// What ``Pipeline/process(_:)`` produced beside the feature rows in the batch.
public struct BatchOutput: Sendable, Equatable {
    /// One score per event (NaN for rejected events); empty without a model.
    public var scores: [Double]
    /// Indices of events that meet the alert rule.
    public var alerts: [Int]
}
