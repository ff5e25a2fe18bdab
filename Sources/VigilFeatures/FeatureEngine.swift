import VigilAnomaly
import VigilCodec
import CVigilKernels
import Foundation
public import VigilTopology

/// The windowed feature state of one stage: every key's recent events and running aggregates,
/// updated one event at a time.
///
/// Layout: keys map to dense slots; each slot has a fixed-size header in one slab (window
/// cursors, compensated running sums, deque cursors, sequential state) and one ring block of
/// its own holding the buffered events column by column (time, each input, each min/max
/// deque). Invertible aggregates (count, sum, mean, variance) are added and removed as events
/// enter and leave a window; min and max use monotonic deques; distinct counts a per-window
/// value table. Windows are exact: every event sees precisely the events in its time range.
///
/// Not thread-safe: one engine belongs to one stage runner.
public final class FeatureEngine {
    /// Bounds and options of an engine.
    public struct Configuration: Sendable, Equatable {
        /// How far behind a key's newest event another may arrive and still be placed (ms). Default 0.
        public var allowedLateness: Int64 = 0
        /// Keys idle longer than this (ms of event time) are dropped by ``expireIdleKeys(now:)``. Default 30 days.
        public var stateTTL: Int64 = 30 * 86_400_000
        /// Most keys held; the least recently seen key is evicted beyond it. Default 1,000,000.
        public var maxKeys: Int = 1_000_000
        /// Most bytes of key state held (``FeatureEngine/stateBytes``); least recently seen keys
        /// are evicted while it is exceeded. Nil (the default): no byte budget.
        public var maxStateBytes: Int?
        /// Whether each batch keeps what it needs to roll back: a copy of each key's state before
        /// the batch first changes it (neither replay nor the runtime, which restores an aborted
        /// transaction's partitions from their changelogs, uses it). Default true.
        public var recordsUndo: Bool = true
        /// What becomes of an event further behind its key's newest than the allowed lateness. Default ``LateEventPolicy/score``.
        public var lateEvents: LateEventPolicy = .score
        /// Whether the engine logs, inside an open batch, every event it is given and every key it
        /// removes (``FeatureEngine/withOperations(_:)``), so that a changelog can carry a batch's
        /// events instead of its keys' whole states (`processing.changelog: events`). Default false.
        public var logsOperations: Bool = false

        /// The defaults.
        public init() {}

        /// The bounds from a topology's processing section.
        public init(processing: ProcessingSpec, recordsUndo: Bool = true) {
            allowedLateness = processing.allowedLateness
            stateTTL = processing.stateTTL
            maxKeys = processing.maxKeys
            maxStateBytes = processing.maxStateBytes
            lateEvents = processing.lateEvents
            logsOperations = processing.changelog == .events
            self.recordsUndo = recordsUndo
        }
    }

    let plan: StagePlan
    /// The engine's bounds.
    public let configuration: Configuration
    /// The fields the engine reads from each event, in the order ``process(key:time:inputs:into:)`` takes them.
    public var inputNames: [String] { plan.inputNames }
    /// The features it writes, in stage order.
    public let featureNames: [String]
    /// The stage's anomaly detectors, their input columns (into the engine's inputs), where
    /// each writes its outputs (after the features) and how many columns the stage writes.
    let detectors: [any DetectorSlots]
    let detectorColumns: [[Int]]
    let detectorOutputStarts: [Int]
    let outputCount: Int
    /// Counters since creation.
    @exclusivity(unchecked) public internal(set) var statistics = EngineStatistics()
    /// The bytes the keys' state holds, as the byte budget (``Configuration/maxStateBytes``)
    /// counts them: for each key its header slot, recency link, slot-to-key entry and key index
    /// entry (and a text key's bytes beyond Swift's 15 inline ones), its ring block at its
    /// allocated capacity (buffered events and min/max deques), its distinct-count tables
    /// (12 bytes per entry of their capacity) and its detectors' state. Kept up to date as a
    /// key is created, its ring block resized, its tables or detectors grow, and it is
    /// released: never recomputed by walking the keys. What it leaves out is the engine's
    /// shared slack: the slab and key index grown by doubling, free slots (``footprint``).
    @exclusivity(unchecked) public internal(set) var stateBytes = 0
    /// `Configuration.maxStateBytes`, or `Int.max` without one (one comparison per event).
    let byteBudget: Int
    /// What every key is charged before its ring block, tables and detectors: its header slot,
    /// recency link and slot-to-key entry (the key index entry is added by ``keyBytes(_:)``).
    let slotBytes: Int
    /// The most keys the budgets let the engine hold at once (`maxKeys`, or the byte budget
    /// over the least a key is charged, plus the one a new key's event adds before eviction):
    /// the slab and the slot-to-key table grow by doubling up to it and no further, so their
    /// slack beyond the keys held stays small (in KeyExplosionBench's byte-budget run a slab
    /// doubled to 1,048,576 slots held 883,011 keys).
    let slotLimit: Int

    @exclusivity(unchecked) var headers: UnsafeMutableRawPointer
    @exclusivity(unchecked) var slotCapacity: Int
    /// Bytes from one slot's header to the next: the header rounded up to whole cache lines, in
    /// a slab aligned to a line, so a header spans as few lines as it can.
    let slotStride: Int
    @exclusivity(unchecked) var keys: [StateKey?] = []
    /// Text keys to slots; integer keys live in `integerKeys`.
    @exclusivity(unchecked) var textKeys: [StateKey: Int32] = [:]
    @exclusivity(unchecked) var integerKeys = IntegerKeyIndex()
    @exclusivity(unchecked) var freeSlots: [Int32] = []
    /// Slots released so far: a batch's looked-up slots hold while this stays put.
    @exclusivity(unchecked) var slotReleases = 0
    /// The least-recently-seen list, one link pair per slot. Apart from the headers, in 8 bytes a
    /// slot: relinking a key touches its neighbours' links, and this array stays in cache where
    /// their headers would not.
    @exclusivity(unchecked) var links: UnsafeMutablePointer<RecencyLink>
    /// Where the keys' ring blocks live.
    @exclusivity(unchecked) var rings: RingArena
    @exclusivity(unchecked) var lruHead: Int32 = -1
    @exclusivity(unchecked) var lruTail: Int32 = -1
    @exclusivity(unchecked) var distinctTables: [[[UInt64: Int32]]] = []
    /// Column windows of each group, to walk them without filtering.
    let columnWindowsOfGroup: [[Int]]
    // The plan's hot tables as plain memory: reading them costs no reference counting.
    let columnWindowTable: UnsafeMutableBufferPointer<StagePlan.ColumnWindow>
    let outputTable: UnsafeMutableBufferPointer<StagePlan.Output>
    let groupTable: UnsafeMutableBufferPointer<WindowBounds>
    let groupMembers: UnsafeMutableBufferPointer<Int>
    let groupMemberStarts: UnsafeMutableBufferPointer<Int>
    /// Beside `groupMembers`: where each member window's column, valid count and sum are, for
    /// groups whose windows all keep only sums (`groupKeepsOnlySums`).
    let sumWindowTable: UnsafeMutableBufferPointer<SumWindow>
    let groupKeepsOnlySums: UnsafeMutableBufferPointer<Bool>
    /// The windows as ``SumGroup``s when every one is sliding or delayed and keeps at most one
    /// column's count and sum (``usesSumGroups``): the fused in-order path.
    let sumGroupTable: UnsafeMutableBufferPointer<SumGroup>
    let usesSumGroups: Bool
    /// The outputs as ``SumOutput``s when the fused path can write them all.
    let sumOutputTable: UnsafeMutableBufferPointer<SumOutput>?
    let inputCount: Int
    let groupCount: Int

    // Batch bookkeeping.
    @exclusivity(unchecked) var batchEpoch: Int64 = 1
    /// Whether a batch is open (``beginBatch()`` until ``commitBatch()`` or ``rollbackBatch()``):
    /// only then are touched keys and undo records kept. A driver that never opens one (`vigil
    /// replay`) would otherwise collect every key it ever created, 24 bytes each, however small
    /// `max_keys`: in KeyExplosionBench (20M events, 2 × 1M keys held) RSS reached 1.9 GB, not 0.78.
    @exclusivity(unchecked) var batchOpen = false
    @exclusivity(unchecked) var touched: [StateKey] = []
    /// Per key the open batch changed, in first-touch order: where its prior state lies in
    /// ``undoBytes``, or nil for a key the batch created.
    @exclusivity(unchecked) var undoLog: [(key: StateKey, state: Range<Int>?)] = []
    /// The open batch's undo records, in one buffer kept from batch to batch. An array per
    /// record was an allocation when a key was first touched and a free at the commit: 15 % of
    /// the runtime thread's samples live at 45,562 events/s (perf, 2026-12-06; the copy itself
    /// was a third of it).
    @exclusivity(unchecked) var undoBytes = ByteWriter(capacity: 0)
    /// The batch whose commit is under way (``sealBatch()``), and the buffers of the last one
    /// committed, for the next to reuse.
    @exclusivity(unchecked) var sealedBatch: SealedBatch?
    @exclusivity(unchecked) var spareUndo: SealedBatch?
    /// Undo record bytes always kept between batches (``forgetUndoRecords()``).
    static let keptUndoBytes = 4 << 20
    var statisticsAtBatchStart = EngineStatistics()
    /// Whether the open batch logs its operations (``Configuration/logsOperations``, a batch
    /// open, not replaying): the one flag the hot path reads.
    @exclusivity(unchecked) var loggingOperations = false
    /// While ``replay(operations:)`` runs: no logging, and no eviction of the engine's own (the
    /// log says which keys went).
    @exclusivity(unchecked) var replayingOperations = false
    /// The open batch's operations (``FeatureEngine+Operations``), and the previous event's
    /// time (times are logged as differences).
    @exclusivity(unchecked) var operationLog = ByteWriter(capacity: 0)
    @exclusivity(unchecked) var operationCount = 0
    @exclusivity(unchecked) var lastLoggedTime: Int64 = 0
    // Buffers ``withSnapshot(key:_:)`` reuses.
    var snapshotScratch = ByteWriter(capacity: 0)
    var compressedScratch: [UInt8] = []

    /// An engine for `stage` with the given bounds.
    public init(stage: StageSpec, configuration: Configuration = Configuration()) {
        precondition(configuration.maxKeys > 0, "maxKeys must be at least 1")
        precondition((configuration.maxStateBytes ?? 1) > 0, "maxStateBytes must be at least 1")
        byteBudget = configuration.maxStateBytes ?? .max
        precondition(configuration.allowedLateness >= 0, "allowedLateness must not be negative")
        let detectors = stage.detectors.map(DetectorFactory.makeSlots)
        let plan = StagePlan(stage: stage, detectorLayouts: detectors.map(\.layoutDescription))
        self.plan = plan
        self.configuration = configuration
        featureNames = stage.outputNames
        self.detectors = detectors
        detectorColumns = plan.detectorColumns
        var outputStarts: [Int] = []
        var next = plan.outputs.count
        for detector in detectors {
            outputStarts.append(next)
            next += detector.outputCount
        }
        detectorOutputStarts = outputStarts
        outputCount = next
        slotCapacity = 64
        slotStride = (plan.headerSize + Self.cacheLine - 1) / Self.cacheLine * Self.cacheLine
        slotBytes = slotStride + MemoryLayout<RecencyLink>.stride + MemoryLayout<StateKey?>.stride
        // Every key of a stage with windows (or lateness) has a ring block of at least 4 events.
        let leastRing = !plan.groups.isEmpty || configuration.allowedLateness > 0 ? 4 * plan.bytesPerBufferedEvent : 0
        let leastCharge = slotBytes + min(IntegerKeyIndex.entryBytes, MemoryLayout<StateKey>.stride + MemoryLayout<Int32>.stride) + leastRing
        slotLimit = min(configuration.maxKeys, configuration.maxStateBytes.map { $0 / leastCharge + 1 } ?? .max)
        headers = .allocate(byteCount: slotCapacity * slotStride, alignment: Self.cacheLine)
        links = .allocate(capacity: slotCapacity)
        rings = RingArena(bytesPerEvent: plan.bytesPerBufferedEvent)
        let members = plan.groups.indices.map { group in plan.columnWindows.indices.filter { plan.columnWindows[$0].group == group } }
        columnWindowsOfGroup = members
        columnWindowTable = .allocate(capacity: max(1, plan.columnWindows.count))
        _ = columnWindowTable.initialize(from: plan.columnWindows)
        outputTable = .allocate(capacity: max(1, plan.outputs.count))
        _ = outputTable.initialize(from: plan.outputs)
        groupTable = .allocate(capacity: max(1, plan.groups.count))
        _ = groupTable.initialize(from: plan.groups)
        let flat = members.flatMap { $0 }
        groupMembers = .allocate(capacity: max(1, flat.count))
        _ = groupMembers.initialize(from: flat)
        var starts = [0]
        for list in members { starts.append(starts.last! + list.count) }
        groupMemberStarts = .allocate(capacity: starts.count)
        _ = groupMemberStarts.initialize(from: starts)
        sumWindowTable = .allocate(capacity: max(1, flat.count))
        _ = sumWindowTable.initialize(from: flat.map { index in
            let window = plan.columnWindows[index]
            return SumWindow(column: window.column, validOffset: window.validOffset, sumOffset: window.sumOffset)
        })
        groupKeepsOnlySums = .allocate(capacity: max(1, members.count))
        _ = groupKeepsOnlySums.initialize(from: members.map { list in list.allSatisfy { plan.columnWindows[$0].keepsOnlySums } })
        inputCount = plan.inputNames.count
        groupCount = plan.groups.count
        let sumGroups = Self.sumGroups(of: plan)
        usesSumGroups = sumGroups != nil
        sumGroupTable = .allocate(capacity: max(1, sumGroups?.count ?? 0))
        if let sumGroups { _ = sumGroupTable.initialize(from: sumGroups) }
        if let sumOutputs = Self.sumOutputs(of: plan), !sumOutputs.isEmpty {
            let table = UnsafeMutableBufferPointer<SumOutput>.allocate(capacity: sumOutputs.count)
            _ = table.initialize(from: sumOutputs)
            sumOutputTable = table
        } else {
            sumOutputTable = nil
        }
    }

    deinit {
        for slot in keys.indices where keys[slot] != nil {
            if let block = header(slot).ringBlock { rings.deallocate(block, capacity: header(slot).capacity) }
        }
        headers.deallocate()
        links.deallocate()
        columnWindowTable.deallocate()
        outputTable.deallocate()
        groupTable.deallocate()
        groupMembers.deallocate()
        groupMemberStarts.deallocate()
        sumWindowTable.deallocate()
        groupKeepsOnlySums.deallocate()
        sumGroupTable.deallocate()
        sumOutputTable?.deallocate()
        integerKeys.deallocate()
    }

    /// The slot holding `key`'s state.
    @inline(__always)
    func slotOf(_ key: StateKey) -> Int32? {
        if case let .int(value) = key { return integerKeys.slot(of: value) }
        return textKeys[key]
    }

    func setSlot(_ slot: Int32?, for key: StateKey) {
        if case let .int(value) = key {
            if let slot { integerKeys.insert(value, slot: slot) } else { integerKeys.remove(value) }
        } else {
            textKeys[key] = slot
        }
    }

    /// Keys currently held.
    public var keyCount: Int { integerKeys.count + textKeys.count }

    /// Whether `key` has state.
    public func contains(_ key: StateKey) -> Bool { slotOf(key) != nil }

    @inline(__always)
    func header(_ slot: Int) -> SlotHeader { SlotHeader(raw: headers + slot * slotStride) }

    static let cacheLine = 64

    // MARK: Processing

    /// Adds one event of `key` at `time` (ms) with `inputs` (values of ``inputNames``, NaN when
    /// missing) and writes the features (``featureNames`` order) into `features`.
    ///
    /// An event at the same time as or after the key's newest is in order; one up to the
    /// allowed lateness behind it is placed in time order (its window holds the events up to its
    /// time that arrived before it); one further behind changes nothing, and is rejected or
    /// scored unplaced by ``Configuration/lateEvents``.
    public func process(key: StateKey, time: Int64, inputs: UnsafeBufferPointer<Double>,
                        into features: UnsafeMutableBufferPointer<Double>) -> EventOutcome {
        precondition(inputs.count >= plan.inputNames.count && features.count >= outputCount, "input or feature buffer too small")
        return processEvent(key: key, time: time, inputs: inputs, features: features)
    }

    /// Every live event of a batch in order, as ``process(key:time:inputs:into:)`` would take
    /// them one by one: inputs read from and features written into each event's row. Returns
    /// the events rejected as too late, with why.
    ///
    /// Each event's key state is scattered in memory (its header in the slab, its ring block
    /// elsewhere), and a key's state is rarely still cached when its next event comes. So while
    /// it processes one event, the engine asks the cache for what later events will touch: the
    /// key's index entry `indexLookahead` events ahead, its header `headerLookahead` events
    /// ahead, and — the header having arrived by then — the ring lines at that key's window
    /// cursors and its neighbours in the recency list `ringLookahead` events ahead.
    ///
    /// The events returned are those further behind their key's newest than the allowed
    /// lateness: rejected without features under ``LateEventPolicy/deadLetter``, scored
    /// unplaced (features written, state untouched) under ``LateEventPolicy/score``.
    public func process(rows batch: EventRows) -> [(index: Int, rejection: LateEventRejection)] {
        precondition(batch.inputColumns.count >= inputCount, "fewer input columns than the engine's inputs")
        precondition(batch.featureStart + outputCount <= batch.rowWidth, "the features do not fit in a row")
        let count = batch.count
        guard count > 0 else { return [] }
        return withUnsafeTemporaryAllocation(of: Int64.self, capacity: count) { numbers in
            for index in 0..<count {
                guard case let .int(value) = batch.keys[index * batch.keyStride] else { return processKeyed(batch) }
                numbers[index] = value
            }
            return processNumbered(batch, keys: UnsafeBufferPointer(numbers))
        }
    }

    /// A batch whose keys are all integers (`keys`, one per event).
    private func processNumbered(_ batch: EventRows, keys: UnsafeBufferPointer<Int64>) -> [(index: Int, rejection: LateEventRejection)] {
        var rejected: [(index: Int, rejection: LateEventRejection)] = []
        let count = batch.count
        let featureCount = outputCount
        // Each event's slot as looked up `headerLookahead` events ahead (-1: none then). Still
        // right when the event comes unless a slot was released since (capacity eviction).
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: count) { slots in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, inputCount)) { inputs in
                let inputView = UnsafeBufferPointer(inputs)
                for index in 0..<min(count, Self.headerLookahead) { slots[index] = integerKeys.slot(of: keys[index]) ?? -1 }
                let releasesAtStart = slotReleases
                for index in 0..<count {
                    let far = index + Self.indexLookahead
                    if far < count { integerKeys.prefetch(keys[far]) }
                    let ahead = index + Self.headerLookahead
                    if ahead < count {
                        let slot = integerKeys.slot(of: keys[ahead]) ?? -1
                        slots[ahead] = slot
                        if slot >= 0 { prefetchHeader(slot: Int(slot)) }
                    }
                    let near = index + Self.ringLookahead
                    if near < count {
                        if slots[near] >= 0 { prefetchRing(slot: Int(slots[near])) }
                        // Its row, for the features it will get.
                        let row = batch.rows + near * batch.rowWidth
                        vigil_prefetch(row + batch.featureStart)
                        vigil_prefetch(row + (batch.featureStart + featureCount - 1))
                    }
                    if let live = batch.live, !live[index] { continue }
                    let row = batch.rows + index * batch.rowWidth
                    for column in 0..<inputCount { inputs[column] = row[batch.inputColumns[column]] }
                    let cached = slots[index]
                    let slot = cached >= 0 && slotReleases == releasesAtStart ? cached : integerKeys.slot(of: keys[index])
                    let outcome = processEvent(existing: slot, key: .int(keys[index]), time: batch.times[index], inputs: inputView,
                                               features: UnsafeMutableBufferPointer(start: row + batch.featureStart, count: featureCount))
                    if let reason = outcome.beyondLateness { rejected.append((index, reason)) }
                }
                return rejected
            }
        }
    }

    /// A batch with text keys.
    private func processKeyed(_ batch: EventRows) -> [(index: Int, rejection: LateEventRejection)] {
        var rejected: [(index: Int, rejection: LateEventRejection)] = []
        let count = batch.count
        let keyStride = batch.keyStride
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, inputCount)) { inputs in
            let inputView = UnsafeBufferPointer(inputs)
            for index in 0..<count {
                let ahead = index + Self.headerLookahead
                if ahead < count, let slot = slotOf(batch.keys[ahead * keyStride]) { prefetchHeader(slot: Int(slot)) }
                let near = index + Self.ringLookahead
                if near < count, let slot = slotOf(batch.keys[near * keyStride]) { prefetchRing(slot: Int(slot)) }
                if let live = batch.live, !live[index] { continue }
                let row = batch.rows + index * batch.rowWidth
                for column in 0..<inputCount { inputs[column] = row[batch.inputColumns[column]] }
                let outcome = processEvent(key: batch.keys[index * keyStride], time: batch.times[index], inputs: inputView,
                                           features: UnsafeMutableBufferPointer(start: row + batch.featureStart, count: outputCount))
                if let reason = outcome.beyondLateness { rejected.append((index, reason)) }
            }
            return rejected
        }
    }

    /// How many events ahead the batch loop prefetches a key's index entry, its header, and its
    /// ring lines: each step needs the one before it in cache. On the benchmark machine a cold
    /// line takes about 150 ns and an event about as long per stage; ring distances from 2 to
    /// 12 events (with the index and header at two and three times that) measured alike
    /// within the noise of a shared machine.
    static let indexLookahead = 12
    static let headerLookahead = 8
    static let ringLookahead = 4

    /// Prefetches the header of `slot`.
    @inline(__always)
    func prefetchHeader(slot: Int) {
        let raw = headers + slot * slotStride
        var offset = 0
        while offset < plan.headerSize {
            vigil_prefetch(raw + offset)
            offset += Self.cacheLine
        }
    }

    /// Prefetches, from `slot`'s header (itself prefetched earlier), the ring lines its next
    /// event will touch: the buffer's base and end, each window's two cursors, in the time
    /// column and every input column; and its recency-list neighbours' links.
    @inline(__always)
    func prefetchRing(slot: Int) {
        let state = header(slot)
        let link = links[slot]
        if link.previous >= 0 { vigil_prefetch(links + Int(link.previous)) }
        if link.next >= 0 { vigil_prefetch(links + Int(link.next)) }
        guard let block = state.ringBlock else { return }
        // Addresses only: a header changed since its key was looked up is no danger to a hint.
        let mask = UInt(bitPattern: state.capacity &- 1)
        let columnBytes = UInt(bitPattern: state.capacity) &* 8
        let lines = inputCount + 1
        @inline(__always) func fetch(_ sequence: Int64, lines: Int) {
            var address = UInt(bitPattern: block) &+ (UInt(bitPattern: Int(truncatingIfNeeded: sequence)) & mask) &* 8
            for _ in 0..<lines {
                vigil_prefetch(UnsafeRawPointer(bitPattern: address))
                address &+= columnBytes
            }
        }
        // Trimming reads only the time at the base; a cursor equal to one fetched already (a
        // sliding window enters at the end; windows with one delay share their enter cursor)
        // is skipped.
        let end = state.end
        fetch(state.base, lines: 1)
        fetch(end, lines: lines)
        var lastEnter = end
        for group in 0..<groupCount {
            fetch(state.evict(group), lines: lines)
            let enter = state.enter(group)
            if enter != lastEnter && enter != end {
                fetch(enter, lines: lines)
                lastEnter = enter
            }
        }
    }

    /// One event (see ``process(key:time:inputs:into:)``).
    @inline(__always)
    func processEvent(key: StateKey, time: Int64, inputs: UnsafeBufferPointer<Double>,
                      features: UnsafeMutableBufferPointer<Double>) -> EventOutcome {
        processEvent(existing: slotOf(key), key: key, time: time, inputs: inputs, features: features)
    }

    /// One event of `key`, whose slot is `existing` (nil: it has none yet).
    @inline(__always)
    func processEvent(existing: Int32?, key: StateKey, time: Int64, inputs: UnsafeBufferPointer<Double>,
                      features: UnsafeMutableBufferPointer<Double>) -> EventOutcome {
        if loggingOperations { logEvent(key: key, time: time, inputs: inputs) }
        let slot: Int
        if let existing {
            slot = Int(existing)
            let newest = header(slot).maxTime
            if newest != .min && time < newest {
                if newest - time > configuration.allowedLateness {
                    let reason = LateEventRejection(eventTime: time, newestTime: newest, allowedLateness: configuration.allowedLateness)
                    guard configuration.lateEvents == .score else {
                        statistics.lateEventsRejected += 1
                        return .rejected(reason)
                    }
                    writeUnplacedFeatures(slot: slot, time: time, inputs: inputs, features: features)
                    statistics.lateEventsUnplaced += 1
                    return .unplaced(reason)
                }
                noteTouch(slot)
                moveToFront(slot)
                processLate(slot: slot, time: time, inputs: inputs, features: features)
                if stateBytes > byteBudget { evictOverByteBudget(keeping: slot) }
                statistics.eventsProcessed += 1
                statistics.lateEventsPlaced += 1
                return .late
            }
            noteTouch(slot)
            moveToFront(slot)
        } else {
            slot = createSlot(for: key)
        }
        if usesSumGroups {
            processInOrderSums(slot: slot, time: time, inputs: inputs, features: features)
        } else {
            processInOrder(slot: slot, time: time, inputs: inputs, features: features)
        }
        if stateBytes > byteBudget { evictOverByteBudget(keeping: slot) }
        statistics.eventsProcessed += 1
        return .inOrder
    }

    private func processInOrder(slot: Int, time: Int64, inputs: UnsafeBufferPointer<Double>, features: UnsafeMutableBufferPointer<Double>) {
        var state = header(slot)
        let previousTime = state.maxTime
        if groupCount > 0 || configuration.allowedLateness > 0 {
            if state.end - state.base >= Int64(state.capacity) { grow(slot: slot) }
            state = header(slot)
            let ring = RingBlock(raw: state.ringBlock!, capacity: state.capacity, columns: plan.inputNames.count)
            let position = Int(state.end) & (state.capacity - 1)
            ring.times[position] = time
            for column in 0..<inputCount { ring.column(column)[position] = inputs[column] }
            state.end += 1
            for group in 0..<groupCount { advance(slot: slot, state: state, ring: ring, group: group, time: time) }
        }
        writeFeatures(slot: slot, state: state, time: time, previousTime: previousTime, inputs: inputs, features: features, late: false)
        finishInOrder(slot: slot, state: state, time: time, inputs: inputs, features: features)
        if state.ringBlock != nil { trim(slot: slot, state: state) }
    }

    /// After an in-order event's features: its detectors, its key's charge, its time and values
    /// as the key's newest.
    @inline(__always)
    func finishInOrder(slot: Int, state: SlotHeader, time: Int64, inputs: UnsafeBufferPointer<Double>, features: UnsafeMutableBufferPointer<Double>) {
        if !detectors.isEmpty { runDetectors(slot: slot, time: time, inputs: inputs, features: features) }
        if chargesVariableBytes { recharge(slot: slot) }
        state.maxTime = time
        let lastValues = state.lastValues(plan)
        for column in 0..<inputCount { lastValues[column] = inputs[column] }
    }

    /// Moves group `group`'s cursors so its window is (lower(time), upper(time)].
    @inline(__always)
    private func advance(slot: Int, state: SlotHeader, ring: RingBlock, group: Int, time: Int64) {
        let bounds = groupTable[group]
        let lower = bounds.lower(time)
        let upper = bounds.upper(time)
        let mask = ring.capacity - 1
        var enter = state.enter(group)
        var evict = state.evict(group)
        let end = state.end
        if groupKeepsOnlySums[group] {
            // The short path: every member keeps a count and a sum only, as add/remove would.
            let first = groupMemberStarts[group]
            let last = groupMemberStarts[group + 1]
            if last - first <= 1 {
                // At most one column: its count, sum and compensation stay in registers.
                let times = ring.times
                if last == first {
                    Self.advanceCount(times: times, mask: mask, lower: lower, upper: upper, end: end, enter: &enter, evict: &evict)
                } else {
                    let window = sumWindowTable[first]
                    var valid = state.double(window.validOffset)
                    var sum = state.double(window.sumOffset)
                    var compensation = state.double(window.sumOffset + 8)
                    Self.advanceSum(times: times, values: ring.column(window.column), mask: mask, lower: lower, upper: upper, end: end,
                                    enter: &enter, evict: &evict, valid: &valid, sum: &sum, compensation: &compensation)
                    state.setDouble(window.validOffset, valid)
                    state.setDouble(window.sumOffset, sum)
                    state.setDouble(window.sumOffset + 8, compensation)
                }
                state.setEnter(group, enter)
                state.setEvict(group, evict)
                return
            }
            while evict < enter {
                let position = Int(evict) & mask
                if ring.times[position] > lower { break }
                for member in first..<last {
                    let window = sumWindowTable[member]
                    let value = ring.column(window.column)[position]
                    if value.isNaN { continue }
                    state.setDouble(window.validOffset, state.double(window.validOffset) - 1)
                    state.kahanAdd(window.sumOffset, -value)
                }
                evict += 1
            }
            while enter < end {
                let position = Int(enter) & mask
                let entering = ring.times[position]
                if entering > upper { break }
                enter += 1
                if entering <= lower {
                    evict = enter
                    continue
                }
                for member in first..<last {
                    let window = sumWindowTable[member]
                    let value = ring.column(window.column)[position]
                    if value.isNaN { continue }
                    let valid = state.double(window.validOffset)
                    if valid == 0 {
                        state.setDouble(window.sumOffset, 0)
                        state.setDouble(window.sumOffset + 8, 0)
                    }
                    state.setDouble(window.validOffset, valid + 1)
                    state.kahanAdd(window.sumOffset, value)
                }
            }
            state.setEnter(group, enter)
            state.setEvict(group, evict)
            return
        }
        let members = UnsafeBufferPointer(rebasing: groupMembers[groupMemberStarts[group]..<groupMemberStarts[group + 1]])
        while evict < enter && ring.times[Int(evict) & mask] <= lower {
            for index in members { remove(slot: slot, state: state, ring: ring, columnWindow: index, sequence: evict) }
            evict += 1
        }
        while enter < end {
            let entering = ring.times[Int(enter) & mask]
            if entering > upper { break }
            if entering <= lower {
                enter += 1
                evict = enter
                continue
            }
            for index in members { add(slot: slot, state: state, ring: ring, columnWindow: index, sequence: enter) }
            enter += 1
        }
        state.setEnter(group, enter)
        state.setEvict(group, evict)
    }

    @inline(__always)
    func add(slot: Int, state: SlotHeader, ring: RingBlock, columnWindow index: Int, sequence: Int64) {
        let window = columnWindowTable[index]
        let mask = ring.capacity - 1
        let value = ring.column(window.column)[Int(sequence) & mask]
        if value.isNaN { return }
        if window.keepsSums {
            let valid = state.double(window.validOffset)
            if valid == 0 {
                state.setDouble(window.sumOffset, 0)
                state.setDouble(window.sumOffset + 8, 0)
                if window.keepsVariance {
                    state.setDouble(window.shiftOffset, value)
                    for offset in stride(from: 8, through: 32, by: 8) { state.setDouble(window.shiftOffset + offset, 0) }
                }
            }
            state.setDouble(window.validOffset, valid + 1)
            state.kahanAdd(window.sumOffset, value)
            if window.keepsVariance {
                let shifted = value - state.double(window.shiftOffset)
                state.kahanAdd(window.shiftOffset + 8, shifted)
                state.kahanAdd(window.shiftOffset + 24, shifted * shifted)
            }
        }
        if window.keepsMin { pushDeque(state: state, ring: ring, deque: window.minDeque, offset: window.minDequeOffset, column: window.column, sequence: sequence, value: value, keepsMin: true) }
        if window.keepsMax { pushDeque(state: state, ring: ring, deque: window.maxDeque, offset: window.maxDequeOffset, column: window.column, sequence: sequence, value: value, keepsMin: false) }
        if window.keepsDistinct { distinctTables[slot][window.distinctIndex][Self.distinctBits(value), default: 0] += 1 }
    }

    @inline(__always)
    func remove(slot: Int, state: SlotHeader, ring: RingBlock, columnWindow index: Int, sequence: Int64) {
        let window = columnWindowTable[index]
        let mask = ring.capacity - 1
        let value = ring.column(window.column)[Int(sequence) & mask]
        if value.isNaN { return }
        if window.keepsSums {
            state.setDouble(window.validOffset, state.double(window.validOffset) - 1)
            state.kahanAdd(window.sumOffset, -value)
            if window.keepsVariance {
                let shifted = value - state.double(window.shiftOffset)
                state.kahanAdd(window.shiftOffset + 8, -shifted)
                state.kahanAdd(window.shiftOffset + 24, -(shifted * shifted))
            }
        }
        if window.keepsMin { popDequeFront(state: state, ring: ring, deque: window.minDeque, offset: window.minDequeOffset, sequence: sequence) }
        if window.keepsMax { popDequeFront(state: state, ring: ring, deque: window.maxDeque, offset: window.maxDequeOffset, sequence: sequence) }
        if window.keepsDistinct {
            let bits = Self.distinctBits(value)
            let remaining = (distinctTables[slot][window.distinctIndex][bits] ?? 1) - 1
            distinctTables[slot][window.distinctIndex][bits] = remaining > 0 ? remaining : nil
        }
    }

    @inline(__always)
    private func popDequeFront(state: SlotHeader, ring: RingBlock, deque: Int, offset: Int, sequence: Int64) {
        let head = state.int(offset)
        if head < state.int(offset + 8), ring.deque(deque)[Int(head) & (ring.capacity - 1)] == sequence { state.setInt(offset, head + 1) }
    }

    @inline(__always)
    private func pushDeque(state: SlotHeader, ring: RingBlock, deque: Int, offset: Int, column: Int, sequence: Int64, value: Double, keepsMin: Bool) {
        let mask = ring.capacity - 1
        let entries = ring.deque(deque)
        let values = ring.column(column)
        let head = state.int(offset)
        var tail = state.int(offset + 8)
        while tail > head {
            let back = values[Int(entries[Int(tail - 1) & mask]) & mask]
            if keepsMin ? back >= value : back <= value { tail -= 1 } else { break }
        }
        entries[Int(tail) & mask] = sequence
        state.setInt(offset + 8, tail + 1)
    }

    /// Compensated (Kahan) addition, as ``SlotHeader/kahanAdd(_:_:)`` does in the header.
    @inline(__always)
    static func kahanAdd(_ sum: inout Double, _ compensation: inout Double, _ value: Double) {
        let adjusted = value - compensation
        let total = sum + adjusted
        compensation = (total - sum) - adjusted
        sum = total
    }

    static func distinctBits(_ value: Double) -> UInt64 { value == 0 ? 0 : value.bitPattern }

    /// Writes every output feature from the state as it stands after the event was added.
    @inline(__always)
    func writeFeatures(slot: Int, state: SlotHeader, time: Int64, previousTime: Int64, inputs: UnsafeBufferPointer<Double>,
                               features: UnsafeMutableBufferPointer<Double>, late: Bool) {
        for index in 0..<plan.outputs.count {
            let output = outputTable[index]
            let value: Double
            switch output.aggregation {
            case .timeSinceLast:
                value = previousTime == .min ? .nan : Double(time - previousTime) / 1000
            case .rateOfChange:
                let previous = state.lastValues(plan)[output.column]
                if previousTime == .min { value = .nan } else if time == previousTime { value = 0 } else {
                    value = (inputs[output.column] - previous) / (Double(time - previousTime) / 1000)
                }
            case .ewma:
                value = updateEWMA(state: state, output: output, time: time, input: inputs[output.column], late: late)
            case .count:
                value = Double(state.enter(output.group) - state.evict(output.group))
            case .sum, .mean, .risk:
                value = Self.sumWindowValue(output.aggregation, valid: state.double(output.validOffset), sum: state.double(output.sumOffset))
            default:
                let ring = RingBlock(raw: state.ringBlock!, capacity: state.capacity, columns: plan.inputNames.count)
                let count = state.enter(output.group) - state.evict(output.group)
                value = windowValue(output: output, state: state, ring: ring, count: count, current: output.column >= 0 ? inputs[output.column] : .nan)
            }
            features[index] = value
        }
    }

    @inline(__always)
    private func windowValue(output: StagePlan.Output, state: SlotHeader, ring: RingBlock, count: Int64, current: Double) -> Double {
        if output.aggregation == .count { return Double(count) }
        let window = columnWindowTable[output.columnWindow]
        let mask = ring.capacity - 1
        switch output.aggregation {
        case .sum:
            return state.double(window.validOffset) > 0 ? state.double(window.sumOffset) : 0
        case .mean:
            let valid = state.double(window.validOffset)
            return valid > 0 ? state.double(window.sumOffset) / valid : .nan
        case .risk:
            let valid = state.double(window.validOffset)
            return valid > 0 ? state.double(window.sumOffset) / valid : 0
        case .variance, .std, .zscore:
            let valid = state.double(window.validOffset)
            let variance: Double
            if valid >= 2 {
                let shiftedSum = state.double(window.shiftOffset + 8)
                variance = max(0, (state.double(window.shiftOffset + 24) - shiftedSum * shiftedSum / valid) / (valid - 1))
            } else {
                variance = .nan
            }
            if output.aggregation == .variance { return variance }
            if output.aggregation == .std { return variance.squareRoot() }
            let deviation = variance.squareRoot()
            guard deviation > 0, deviation.isFinite else { return 0 }
            return (current - state.double(window.sumOffset) / valid) / deviation
        case .min, .max:
            let offset = output.aggregation == .min ? window.minDequeOffset : window.maxDequeOffset
            let deque = output.aggregation == .min ? window.minDeque : window.maxDeque
            let head = state.int(offset)
            guard head < state.int(offset + 8) else { return .nan }
            return ring.column(window.column)[Int(ring.deque(deque)[Int(head) & mask]) & mask]
        case .last:
            let enter = state.enter(output.group)
            guard enter > state.evict(output.group) else { return .nan }
            return ring.column(window.column)[Int(enter - 1) & mask]
        case .distinctCount:
            return Double(distinctTables[Int((state.raw - headers) / slotStride)][window.distinctIndex].count)
        default:
            return .nan
        }
    }

    private func updateEWMA(state: SlotHeader, output: StagePlan.Output, time: Int64, input: Double, late: Bool) -> Double {
        var average = state.double(output.ewmaOffset)
        let lastTime = state.int(output.ewmaOffset + 8)
        if input.isNaN { return lastTime == .min ? .nan : average }
        if lastTime == .min {
            average = input
        } else {
            let weight: Double
            if output.halfLife > 0 {
                let elapsed = Double(max(0, time - lastTime))
                weight = late ? 0 : 1 - exp2(-elapsed / output.halfLife)
            } else {
                weight = output.alpha
            }
            average += weight * (input - average)
        }
        state.setDouble(output.ewmaOffset, average)
        state.setInt(output.ewmaOffset + 8, max(time, lastTime))
        return average
    }

    // MARK: Late events

    private func processLate(slot: Int, time: Int64, inputs: UnsafeBufferPointer<Double>, features: UnsafeMutableBufferPointer<Double>) {
        var state = header(slot)
        if state.end - state.base >= Int64(state.capacity) { grow(slot: slot) }
        state = header(slot)
        let ring = RingBlock(raw: state.ringBlock!, capacity: state.capacity, columns: plan.inputNames.count)
        let mask = ring.capacity - 1
        // Place it after every buffered event at or before its time.
        var position = state.end
        while position > state.base && ring.times[Int(position - 1) & mask] > time { position -= 1 }
        var move = state.end
        while move > position {
            ring.times[Int(move) & mask] = ring.times[Int(move - 1) & mask]
            for column in 0..<plan.inputNames.count { ring.column(column)[Int(move) & mask] = ring.column(column)[Int(move - 1) & mask] }
            move -= 1
        }
        ring.times[Int(position) & mask] = time
        for column in 0..<plan.inputNames.count { ring.column(column)[Int(position) & mask] = inputs[column] }
        state.end += 1
        rebuildWindows(slot: slot, reference: state.maxTime)
        // Its own features: a scan of what its window holds.
        let scratch = WindowScan()
        for (index, output) in plan.outputs.enumerated() {
            switch output.aggregation {
            case .timeSinceLast:
                features[index] = position > state.base ? Double(time - ring.times[Int(position - 1) & mask]) / 1000 : .nan
            case .rateOfChange:
                if position > state.base {
                    let previousTime = ring.times[Int(position - 1) & mask]
                    let previous = ring.column(output.column)[Int(position - 1) & mask]
                    features[index] = previousTime == time ? 0 : (inputs[output.column] - previous) / (Double(time - previousTime) / 1000)
                } else {
                    features[index] = .nan
                }
            case .ewma:
                features[index] = updateEWMA(state: state, output: output, time: time, input: inputs[output.column], late: true)
            default:
                let bounds = plan.groups[output.group]
                scratch.scan(ring: ring, from: state.base, to: position + 1, lower: bounds.lower(time), upper: bounds.upper(time),
                             column: output.column)
                features[index] = scratch.value(output.aggregation, current: output.column >= 0 ? inputs[output.column] : .nan)
            }
        }
        // Detectors learn in arrival order: a late event is the key's next event to them.
        if !detectors.isEmpty { runDetectors(slot: slot, time: time, inputs: inputs, features: features) }
        if chargesVariableBytes { recharge(slot: slot) }
    }

    /// Scores and teaches the event to each detector of the key's slot.
    func runDetectors(slot: Int, time: Int64, inputs: UnsafeBufferPointer<Double>, features: UnsafeMutableBufferPointer<Double>,
                              learning: Bool = true) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, plan.inputNames.count)) { gathered in
            for (index, detector) in detectors.enumerated() {
                let columns = detectorColumns[index]
                for (position, column) in columns.enumerated() { gathered[position] = inputs[column] }
                let input = UnsafePointer(gathered.baseAddress!), output = features.baseAddress! + detectorOutputStarts[index]
                if learning {
                    detector.process(slot: slot, time: time, inputs: input, outputs: output)
                } else {
                    detector.score(slot: slot, time: time, inputs: input, outputs: output)
                }
            }
        }
    }

    /// The features of an event further behind its key's newest than the allowed lateness, from
    /// the state as it stands, without placing it: its windows hold the buffered events up to
    /// its time and itself (a window reaching before the oldest buffered event is partial), an
    /// exponential average gives the key's current value. Nothing of the key changes, so the
    /// changelog and a later event's features are as if it had never come.
    private func writeUnplacedFeatures(slot: Int, time: Int64, inputs: UnsafeBufferPointer<Double>, features: UnsafeMutableBufferPointer<Double>) {
        let state = header(slot)
        let ring = state.ringBlock.map { RingBlock(raw: $0, capacity: state.capacity, columns: plan.inputNames.count) }
        let mask = state.capacity - 1
        // The buffered events at or before its time are [base, position).
        var position = state.end
        if let ring { while position > state.base && ring.times[Int(position - 1) & mask] > time { position -= 1 } }
        let previous: (ring: RingBlock, index: Int)? = ring.flatMap { ring in position > state.base ? (ring, Int(position - 1) & mask) : nil }
        let scratch = WindowScan()
        for (index, output) in plan.outputs.enumerated() {
            let current = output.column >= 0 ? inputs[output.column] : .nan
            switch output.aggregation {
            case .timeSinceLast:
                features[index] = previous.map { Double(time - $0.ring.times[$0.index]) / 1000 } ?? .nan
            case .rateOfChange:
                features[index] = previous.map { previous in
                    let previousTime = previous.ring.times[previous.index]
                    return previousTime == time ? 0 : (current - previous.ring.column(output.column)[previous.index]) / (Double(time - previousTime) / 1000)
                } ?? .nan
            case .ewma:
                let lastTime = state.int(output.ewmaOffset + 8)
                features[index] = lastTime == .min ? current : state.double(output.ewmaOffset)
            default:
                guard let ring else { features[index] = .nan; continue }
                let bounds = plan.groups[output.group]
                scratch.scan(ring: ring, from: state.base, to: position, lower: bounds.lower(time), upper: bounds.upper(time), column: output.column)
                scratch.include(time: time, value: current, lower: bounds.lower(time), upper: bounds.upper(time))
                features[index] = scratch.value(output.aggregation, current: current)
            }
        }
        // Detectors score it against what they have learnt, and learn nothing from it.
        if !detectors.isEmpty { runDetectors(slot: slot, time: time, inputs: inputs, features: features, learning: false) }
    }

    /// Recomputes every window's cursors and aggregates from the buffer for reference time `reference`.
    func rebuildWindows(slot: Int, reference: Int64) {
        let state = header(slot)
        guard let block = state.ringBlock else { return }
        let ring = RingBlock(raw: block, capacity: state.capacity, columns: plan.inputNames.count)
        let mask = ring.capacity - 1
        for index in plan.columnWindows.indices {
            let window = plan.columnWindows[index]
            state.setDouble(window.validOffset, 0)
            if window.keepsMin { state.setInt(window.minDequeOffset, 0); state.setInt(window.minDequeOffset + 8, 0) }
            if window.keepsMax { state.setInt(window.maxDequeOffset, 0); state.setInt(window.maxDequeOffset + 8, 0) }
            if window.keepsDistinct { distinctTables[slot][window.distinctIndex].removeAll() }
        }
        for group in plan.groups.indices {
            let bounds = plan.groups[group]
            let lower = bounds.lower(reference)
            let upper = bounds.upper(reference)
            var evict = state.base
            while evict < state.end && ring.times[Int(evict) & mask] <= lower { evict += 1 }
            var enter = evict
            while enter < state.end && ring.times[Int(enter) & mask] <= upper {
                for index in columnWindowsOfGroup[group] { add(slot: slot, state: state, ring: ring, columnWindow: index, sequence: enter) }
                enter += 1
            }
            state.setEnter(group, enter)
            state.setEvict(group, evict)
        }
    }

    // MARK: Buffer management

    /// Drops buffered events no window needs any more (keeping the allowed lateness's reach).
    @inline(__always)
    private func trim(slot: Int, state: SlotHeader) {
        let end = state.end
        var keepFrom = end
        for group in 0..<groupCount { keepFrom = min(keepFrom, state.evict(group)) }
        let capacity = state.capacity
        if configuration.allowedLateness > 0 {
            let times = state.ringBlock!.assumingMemoryBound(to: Int64.self)
            let cutoff = state.maxTime - configuration.allowedLateness - plan.longestLookback
            var first = state.base
            while first < keepFrom && times[Int(first) & (capacity - 1)] <= cutoff { first += 1 }
            keepFrom = first
        }
        state.base = keepFrom
        let count = Int(end - keepFrom)
        if capacity > 8 && count * 4 < capacity { resize(slot: slot, capacity: capacity / 2) }
    }

    func grow(slot: Int) {
        let capacity = header(slot).capacity
        resize(slot: slot, capacity: capacity == 0 ? 4 : capacity * 2)
    }

    /// Moves a key's ring block to one of `capacity` events, keeping every sequence number's place.
    func resize(slot: Int, capacity: Int) {
        let state = header(slot)
        let block = rings.allocate(capacity: capacity)
        let ring = RingBlock(raw: block, capacity: capacity, columns: plan.inputNames.count)
        if let oldBlock = state.ringBlock {
            let old = RingBlock(raw: oldBlock, capacity: state.capacity, columns: plan.inputNames.count)
            let oldMask = old.capacity - 1
            let mask = capacity - 1
            var sequence = state.base
            while sequence < state.end {
                ring.times[Int(sequence) & mask] = old.times[Int(sequence) & oldMask]
                for column in 0..<plan.inputNames.count { ring.column(column)[Int(sequence) & mask] = old.column(column)[Int(sequence) & oldMask] }
                sequence += 1
            }
            for window in plan.columnWindows {
                for (keeps, deque, offset) in [(window.keepsMin, window.minDeque, window.minDequeOffset), (window.keepsMax, window.maxDeque, window.maxDequeOffset)] where keeps {
                    var position = state.int(offset)
                    while position < state.int(offset + 8) {
                        ring.deque(deque)[Int(position) & mask] = old.deque(deque)[Int(position) & oldMask]
                        position += 1
                    }
                }
            }
            rings.deallocate(oldBlock, capacity: state.capacity)
        }
        let change = (capacity - state.capacity) * plan.bytesPerBufferedEvent
        state.chargedBytes += change
        stateBytes += change
        state.ringBlock = block
        state.capacity = capacity
    }

    // MARK: Reporting

    /// Keys, buffered events and bytes of state now.
    public var footprint: StateFootprint {
        var buffered = 0
        var bytes = slotCapacity * (slotStride + MemoryLayout<RecencyLink>.stride)
        for slot in keys.indices where keys[slot] != nil {
            let state = header(slot)
            buffered += Int(state.end - state.base)
            bytes += state.capacity * plan.bytesPerBufferedEvent
            if case let .string(text)? = keys[slot], text.utf8.count > 15 { bytes += text.utf8.count }
        }
        // The key index: key, slot and hash-table slack, and the slot-to-key table.
        bytes += integerKeys.bytes + textKeys.capacity * (MemoryLayout<StateKey>.stride + 4) * 4 / 3 + keys.capacity * MemoryLayout<StateKey?>.stride
        for tables in distinctTables { for table in tables { bytes += table.capacity * 12 } }
        for detector in detectors { for slot in keys.indices where keys[slot] != nil { bytes += detector.byteCount(slot: slot) } }
        return StateFootprint(keyCount: keyCount, bufferedEvents: buffered, bytes: bytes)
    }
}

/// A slot's neighbours in the least-recently-seen list (-1: none).
struct RecencyLink {
    var previous: Int32
    var next: Int32
}

/// Where a window that keeps only sums finds its column and keeps its valid count and sum.
struct SumWindow {
    let column: Int
    let validOffset: Int
    let sumOffset: Int
}

/// Typed access to one key's header in the slab.
struct SlotHeader {
    let raw: UnsafeMutableRawPointer

    @inline(__always) func int(_ offset: Int) -> Int64 { raw.load(fromByteOffset: offset, as: Int64.self) }
    @inline(__always) func setInt(_ offset: Int, _ value: Int64) { raw.storeBytes(of: value, toByteOffset: offset, as: Int64.self) }
    @inline(__always) func double(_ offset: Int) -> Double { raw.load(fromByteOffset: offset, as: Double.self) }
    @inline(__always) func setDouble(_ offset: Int, _ value: Double) { raw.storeBytes(of: value, toByteOffset: offset, as: Double.self) }

    /// Compensated (Kahan) addition into the sum at `offset` and its compensation at `offset + 8`.
    @inline(__always) func kahanAdd(_ offset: Int, _ value: Double) {
        let sum = double(offset)
        let compensation = double(offset + 8)
        let adjusted = value - compensation
        let total = sum + adjusted
        setDouble(offset + 8, (total - sum) - adjusted)
        setDouble(offset, total)
    }

    var base: Int64 { get { int(StagePlan.baseOffset) } nonmutating set { setInt(StagePlan.baseOffset, newValue) } }
    var end: Int64 { get { int(StagePlan.endOffset) } nonmutating set { setInt(StagePlan.endOffset, newValue) } }
    var maxTime: Int64 { get { int(StagePlan.maxTimeOffset) } nonmutating set { setInt(StagePlan.maxTimeOffset, newValue) } }
    var ringBlock: UnsafeMutableRawPointer? {
        get { UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: Int(int(StagePlan.ringOffset)))) }
        nonmutating set { setInt(StagePlan.ringOffset, Int64(Int(bitPattern: newValue))) }
    }
    var capacity: Int { get { Int(int(StagePlan.capacityOffset)) } nonmutating set { setInt(StagePlan.capacityOffset, Int64(newValue)) } }
    var epoch: Int64 { get { int(StagePlan.epochOffset) } nonmutating set { setInt(StagePlan.epochOffset, newValue) } }
    var chargedBytes: Int { get { Int(int(StagePlan.chargedBytesOffset)) } nonmutating set { setInt(StagePlan.chargedBytesOffset, Int64(newValue)) } }
    @inline(__always) func enter(_ group: Int) -> Int64 { int(StagePlan.groupsOffset + group * 16) }
    @inline(__always) func evict(_ group: Int) -> Int64 { int(StagePlan.groupsOffset + group * 16 + 8) }
    @inline(__always) func setEnter(_ group: Int, _ value: Int64) { setInt(StagePlan.groupsOffset + group * 16, value) }
    @inline(__always) func setEvict(_ group: Int, _ value: Int64) { setInt(StagePlan.groupsOffset + group * 16 + 8, value) }
    @inline(__always) func lastValues(_ plan: StagePlan) -> UnsafeMutablePointer<Double> {
        (raw + plan.lastValuesOffset).assumingMemoryBound(to: Double.self)
    }
}

/// Typed access to one key's ring block: times, then each input column, then each deque.
struct RingBlock {
    let raw: UnsafeMutableRawPointer
    let capacity: Int

    @inline(__always) var times: UnsafeMutablePointer<Int64> { raw.assumingMemoryBound(to: Int64.self) }
    @inline(__always) func column(_ index: Int) -> UnsafeMutablePointer<Double> {
        (raw + capacity * 8 * (1 + index)).assumingMemoryBound(to: Double.self)
    }
    @inline(__always) func deque(_ index: Int) -> UnsafeMutablePointer<Int64> {
        (raw + capacity * 8 * (1 + columnCount + index)).assumingMemoryBound(to: Int64.self)
    }
    let columnCount: Int

    init(raw: UnsafeMutableRawPointer, capacity: Int, columns: Int) {
        self.raw = raw
        self.capacity = capacity
        columnCount = columns
    }
}
