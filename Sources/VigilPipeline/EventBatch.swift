public import VigilCodec
public import VigilFeatures

/// A micro-batch of events, column-friendly: event times, one row of values per event (see
/// ``RowLayout``), the stage keys and id fields, provenance, and which events were rejected.
///
/// Stages fill their feature columns in place. An event with the features computed so far
/// serialises with ``encodeEvent(at:)`` (for a repartition topic) and comes back with
/// ``appendEncoded(_:)`` in the instance that owns its next key.
///
/// A batch is emptied and refilled for every micro-batch (``removeAll()``), so what it keeps
/// per event is laid out to cost nothing to drop: the ids as UTF-8 back to back in one byte
/// array, the rejections as integer slots beside a list of the rare rejections, the keys in
/// slots kept across ``removeAll()`` and overwritten. Arrays of Strings, optional rejections
/// and keys were destroyed element by element through value witnesses, 3–5 % of decoding the
/// handbook (perf, bench/README.md "Decoding"), and every id was a String made per event.
/// An append touches as few arrays as it can: appending to the batch was 12–20 % of decoding
/// (StageBench, with the appends left out: CSV 0.294 -> 0.224-0.249 s, JSON records 0.367 -> 0.325).
public struct EventBatch: Sendable {
    /// The row layout.
    public let layout: RowLayout
    /// Event times, ms since the epoch.
    public private(set) var times: [Int64] = []
    /// Row-major values, `count × layout.width`.
    public internal(set) var rows: [Double] = []
    /// Stage keys: the first `keyCount` slots are the events' (`count × layout.keyFields.count`);
    /// slots past them are left over from before the last ``removeAll()``, to be overwritten.
    private var keySlots: [StateKey] = []
    private var keyCount = 0
    /// The id fields' UTF-8, back to back: id `k` (events × id fields, in order) is
    /// `idBytes[(k == 0 ? 0 : idEnds[k - 1])..<idEnds[k]]`.
    private var idBytes: [UInt8] = []
    private var idEnds: [Int] = []
    /// Provenance of each event.
    public private(set) var provenance: [Provenance] = []
    /// Per event, 0 while live, else 1 + the index of its rejection in `rejectionList`; only
    /// as long as the last rejected event needs (events past its end are live), so that
    /// appending an event need not touch it.
    private var rejectionSlots: [Int32] = []
    private var rejectionList: [Rejection] = []
    /// Indices of live events that came further behind their key's newest event than the
    /// allowed lateness at some stage and were scored unplaced (``VigilTopology/LateEventPolicy/score``):
    /// their score records say `late`. Rare, so kept as a set.
    public private(set) var lateEvents: Set<Int> = []

    /// An empty batch.
    public init(layout: RowLayout, capacity: Int = 0) {
        self.layout = layout
        times.reserveCapacity(capacity)
        rows.reserveCapacity(capacity * layout.width)
        provenance.reserveCapacity(capacity)
        idEnds.reserveCapacity(capacity * layout.idFields.count)
    }

    /// Events in the batch (rejected ones included). Inlinable: drivers read it after every
    /// event they append (a call per event was 1 % of StageBench's JSON lines).
    @inlinable public var count: Int { times.count }

    /// Stage keys, `count × layout.keyFields.count` (a copy; ``key(_:stage:)`` reads one in place).
    public var keys: [StateKey] { Array(keySlots[..<keyCount]) }

    /// Id field texts, `count × layout.idFields.count` (made on each call; ``ids(of:)`` reads one event's).
    public var ids: [String] { (0..<idEnds.count).map(idText) }

    /// Why each event was rejected, nil for events still live (a view; ``isLive(_:)`` is the cheaper test).
    public var rejections: EventRejections { EventRejections(slots: rejectionSlots, list: rejectionList, count: times.count) }

    /// Empties the batch, keeping its storage. Nothing here destroys elements one by one:
    /// the arrays emptied hold trivial values, and key slots are kept to be overwritten.
    public mutating func removeAll() {
        times.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        keyCount = 0
        idBytes.removeAll(keepingCapacity: true)
        idEnds.removeAll(keepingCapacity: true)
        provenance.removeAll(keepingCapacity: true)
        rejectionSlots.removeAll(keepingCapacity: true)
        if !rejectionList.isEmpty { rejectionList.removeAll(keepingCapacity: true) }
        if !lateEvents.isEmpty { lateEvents.removeAll() }
    }

    /// Appends an event whose source values are already in `values` (one per source field, in
    /// declaration order, NaN for text); derived and feature columns start as NaN.
    public mutating func append(time: Int64, sourceValues values: UnsafeBufferPointer<Double>, keys eventKeys: [StateKey],
                                ids eventIds: [String], provenance origin: Provenance) {
        precondition(values.count == layout.sourceFields.count && eventKeys.count == layout.keyFields.count && eventIds.count == layout.idFields.count)
        rows.append(contentsOf: values)
        rows.append(contentsOf: repeatElement(Double.nan, count: layout.width - values.count))
        appendEvent(time: time, provenance: origin)
        for key in eventKeys { appendKey(key) }
        for var id in eventIds { id.withUTF8 { appendID($0) } }
    }

    /// Appends an event's time, whole row (its source values, then NaN in every derived and
    /// feature column) and provenance; the caller then appends its keys (``appendKey(_:)``) and
    /// ids (``appendID(_:)``), without arrays of its own per event.
    mutating func appendDecoded(time: Int64, row: UnsafeBufferPointer<Double>, provenance origin: Provenance) {
        rows.append(contentsOf: row)
        appendEvent(time: time, provenance: origin)
    }

    /// Starts an event in place: the caller fills its source columns through the returned row index.
    mutating func appendBlank(time: Int64, provenance origin: Provenance) -> Int {
        rows.append(contentsOf: repeatElement(Double.nan, count: layout.width))
        appendEvent(time: time, provenance: origin)
        return times.count - 1
    }

    /// What every append adds beside the row: the event's time and its provenance (it is live:
    /// past the end of `rejectionSlots`).
    private mutating func appendEvent(time: Int64, provenance origin: Provenance) {
        times.append(time)
        provenance.append(origin)
    }

    /// Appends a key, into a slot left by ``removeAll()`` when there is one.
    mutating func appendKey(_ key: StateKey) {
        if keyCount < keySlots.count { keySlots[keyCount] = key } else { keySlots.append(key) }
        keyCount += 1
    }

    /// Appends `count` keys, the one at `position` made by `key(position)`, into slots left by
    /// ``removeAll()`` while there are: one access to the slots for an event's keys.
    @inline(__always)
    mutating func appendKeys(_ count: Int, _ key: (Int) -> StateKey) {
        let start = keyCount
        let reused = max(0, min(count, keySlots.count - start))
        if reused > 0 {
            keySlots.withUnsafeMutableBufferPointer { slots in
                for position in 0..<reused { slots[start + position] = key(position) }
            }
        }
        for position in reused..<count { keySlots.append(key(position)) }
        keyCount += count
    }

    /// Appends an id's UTF-8 (valid: the decoder checked it, or it came from a String).
    mutating func appendID(_ utf8: UnsafeBufferPointer<UInt8>) {
        idBytes.append(contentsOf: utf8)
        idEnds.append(idBytes.count)
    }

    /// Takes back the keys and ids appended past `keys` keys and `ids` ids (an event that failed half way).
    private mutating func truncateKeysAndIDs(keys: Int, ids: Int) {
        keyCount = keys
        if ids < idEnds.count {
            idBytes.removeSubrange(EventIDs.byteRange(of: ids, ends: idEnds).lowerBound...)
            idEnds.removeSubrange(ids...)
        }
    }

    /// Id `k` (over all events) as a String.
    private func idText(_ id: Int) -> String {
        idBytes.withUnsafeBufferPointer { bytes in
            String(decoding: UnsafeBufferPointer(rebasing: bytes[EventIDs.byteRange(of: id, ends: idEnds)]), as: UTF8.self)
        }
    }

    /// Whether event `index` is still live (not rejected).
    public func isLive(_ index: Int) -> Bool {
        precondition(index >= 0 && index < times.count, "event \(index) is not in the batch")
        return index >= rejectionSlots.count || rejectionSlots[index] == 0
    }

    /// Why event `index` was rejected, nil while it is live.
    public func rejection(_ index: Int) -> Rejection? {
        precondition(index >= 0 && index < times.count, "event \(index) is not in the batch")
        return EventRejections.rejection(of: index, slots: rejectionSlots, list: rejectionList)
    }

    /// Event `index`'s value in column `column`.
    public func value(_ index: Int, column: Int) -> Double { rows[index * layout.width + column] }

    /// Event `index`'s key for stage `stage`.
    public func key(_ index: Int, stage: Int) -> StateKey {
        let slot = index * layout.keyFields.count + layout.stageKeyIndex[stage]
        precondition(slot < keyCount, "event \(index) is not in the batch")
        return keySlots[slot]
    }

    /// Event `index`'s id texts, in the topology's id field order.
    public func ids(of index: Int) -> EventIDs {
        let width = layout.idFields.count
        precondition(index >= 0 && (index + 1) * width <= idEnds.count, "event \(index) is not in the batch")
        return EventIDs(bytes: idBytes, ends: idEnds, range: (index * width)..<((index + 1) * width))
    }

    /// Calls `body` with the UTF-8 of event `index`'s id at `position` (of the topology's id
    /// fields), in place: for writers that want the bytes, not a String.
    public func withIDBytes<Result>(of index: Int, at position: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        precondition(position >= 0 && position < layout.idFields.count, "id position \(position) out of range")
        let id = index * layout.idFields.count + position
        return try idBytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[EventIDs.byteRange(of: id, ends: idEnds)])) }
    }

    /// Event `index`'s features in topology order.
    public func features(of index: Int) -> ArraySlice<Double> {
        rows[(index * layout.width + layout.derivedStart)..<((index + 1) * layout.width)]
    }

    /// The key slots: the events' keys first (`count × layout.keyFields.count`), then slots to
    /// be overwritten (the engine reads the first ones in place).
    var keyStorage: [StateKey] { keySlots }

    /// Calls `body` with the rejection slots (0: live) in place: events past their end are live.
    func withRejectionSlots<Result>(_ body: (UnsafeBufferPointer<Int32>) throws -> Result) rethrows -> Result {
        try rejectionSlots.withUnsafeBufferPointer(body)
    }

    /// Version 1: an event. Version 2: the same and a flags byte after it (bit 0: late), written
    /// only for late events, so that readers of version 1 still read every other event.
    static let encodingVersion: UInt8 = 1
    static let flaggedEncodingVersion: UInt8 = 2

    /// Event `index` with everything computed so far, as bytes (for a repartition topic).
    public func encodeEvent(at index: Int) -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + layout.width * 8)
        encodeEvent(at: index, into: &writer)
        return writer.bytes
    }

    /// The same, written into `writer` (the runtime reuses one writer for every event).
    public func encodeEvent(at index: Int, into writer: inout ByteWriter) {
        let late = lateEvents.contains(index)
        writer.write(late ? Self.flaggedEncodingVersion : Self.encodingVersion)
        writer.writeVarint(UInt64(layout.width))
        writer.write(times[index])
        writer.write(UInt32(bitPattern: provenance[index].partition))
        writer.write(provenance[index].offset)
        rows.withUnsafeBufferPointer { rows in
            writer.write(contentsOf: UnsafeBufferPointer(rebasing: rows[(index * layout.width)..<((index + 1) * layout.width)]))
        }
        for key in keySlots[(index * layout.keyFields.count)..<((index + 1) * layout.keyFields.count)] {
            switch key {
            case let .int(value): writer.write(UInt8(0)); writer.write(value)
            case let .string(text): writer.write(UInt8(1)); writer.write(text)
            }
        }
        for position in 0..<layout.idFields.count { withIDBytes(of: index, at: position) { writer.write(utf8: $0) } }
        if late { writer.write(UInt8(1)) }
    }

    /// Appends an event made by ``encodeEvent(at:)`` under the same layout.
    public mutating func appendEncoded(_ bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        let version = try reader.readUInt8()
        guard version == Self.encodingVersion || version == Self.flaggedEncodingVersion else {
            throw CodecError.binary(detail: "staged event version \(version), expected \(Self.encodingVersion) or \(Self.flaggedEncodingVersion)")
        }
        guard try reader.readCount() == layout.width else { throw CodecError.binary(detail: "staged event row width differs from the topology's") }
        let time = try reader.readInt64()
        let partition = Int32(bitPattern: try reader.readUInt32())
        let offset = try reader.readInt64()
        // Read straight into the columns; a malformed event takes back what it appended.
        let (rowCount, keyCount, idCount) = (rows.count, self.keyCount, idEnds.count)
        var complete = false
        defer {
            if !complete {
                rows.removeSubrange(rowCount...)
                truncateKeysAndIDs(keys: keyCount, ids: idCount)
            }
        }
        try reader.appendDoubles(layout.width, to: &rows)
        for _ in 0..<layout.keyFields.count {
            switch try reader.readUInt8() {
            case 0: appendKey(.int(try reader.readInt64()))
            case 1: appendKey(.string(try reader.readString()))
            case let tag: throw CodecError.binary(detail: "unknown key tag \(tag) in a staged event")
            }
        }
        // Ids are read as Strings were (ill-formed UTF-8 repaired), then kept as their UTF-8.
        for _ in 0..<layout.idFields.count {
            var id = try reader.readString()
            id.withUTF8 { appendID($0) }
        }
        let flags = version == Self.flaggedEncodingVersion ? try reader.readUInt8() : 0
        guard reader.isAtEnd else { throw CodecError.binary(detail: "trailing bytes after a staged event") }
        complete = true
        times.append(time)
        provenance.append(Provenance(partition: partition, offset: offset))
        if flags & 1 != 0 { lateEvents.insert(times.count - 1) }
    }

    /// Appends event `index` of `other` (a batch of the same topology) with everything computed
    /// so far: what ``appendEncoded(_:)`` would give for its encoding, without the bytes.
    public mutating func append(_ index: Int, of other: EventBatch) {
        precondition(other.layout.width == layout.width && other.layout.keyFields.count == layout.keyFields.count
                     && other.layout.idFields.count == layout.idFields.count, "batches of different topologies")
        let width = layout.width
        times.append(other.times[index])
        rows.append(contentsOf: other.rows[(index * width)..<((index + 1) * width)])
        let keyWidth = layout.keyFields.count
        for slot in (index * keyWidth)..<((index + 1) * keyWidth) { appendKey(other.keySlots[slot]) }
        for position in 0..<layout.idFields.count { other.withIDBytes(of: index, at: position) { appendID($0) } }
        provenance.append(other.provenance[index])
        if other.lateEvents.contains(index) { lateEvents.insert(times.count - 1) }
    }

    /// Sets every derived and feature column back to NaN, to run the events through again.
    public mutating func clearFeatures() {
        let width = layout.width
        let start = layout.derivedStart
        rows.withUnsafeMutableBufferPointer { rows in
            for index in 0..<times.count { for column in start..<width { rows[index * width + column] = .nan } }
        }
        rejectionSlots.removeAll(keepingCapacity: true)
        rejectionList.removeAll()
        lateEvents.removeAll()
    }

    /// Removes the last event (a driver filtering what it just decoded).
    public mutating func dropLast() {
        precondition(!times.isEmpty, "dropLast() on an empty batch")
        times.removeLast()
        rows.removeLast(layout.width)
        truncateKeysAndIDs(keys: keyCount - layout.keyFields.count, ids: idEnds.count - layout.idFields.count)
        provenance.removeLast()
        if rejectionSlots.count > times.count {
            let slot = Int(rejectionSlots.removeLast())
            if slot != 0 && slot == rejectionList.count { rejectionList.removeLast() }
        }
        lateEvents.remove(times.count)
    }

    /// Marks event `index` rejected.
    public mutating func reject(_ index: Int, _ rejection: Rejection) {
        precondition(index >= 0 && index < times.count, "event \(index) is not in the batch")
        if index >= rejectionSlots.count { rejectionSlots.append(contentsOf: repeatElement(0, count: index + 1 - rejectionSlots.count)) }
        let slot = Int(rejectionSlots[index])
        if slot != 0 {
            rejectionList[slot - 1] = rejection
        } else {
            rejectionList.append(rejection)
            rejectionSlots[index] = Int32(rejectionList.count)
        }
    }

    /// Marks event `index` late: scored unplaced, behind its key's newest event by more than the allowed lateness.
    public mutating func markLate(_ index: Int) { lateEvents.insert(index) }

    /// Whether event `index` is late (see ``lateEvents``).
    public func isLate(_ index: Int) -> Bool { !lateEvents.isEmpty && lateEvents.contains(index) }
}
