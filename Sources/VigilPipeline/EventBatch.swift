public import VigilCodec
public import VigilFeatures

/// A micro-batch of events, column-friendly: event times, one row of values per event (see
/// ``RowLayout``), the stage keys and id fields, provenance, and which events were rejected.
///
/// Stages fill their feature columns in place. An event with the features computed so far
/// serialises with ``encodeEvent(at:)`` (for a repartition topic) and comes back with
/// ``appendEncoded(_:)`` in the instance that owns its next key.
public struct EventBatch: Sendable {
    /// The row layout.
    public let layout: RowLayout
    /// Event times, ms since the epoch.
    public private(set) var times: [Int64] = []
    /// Row-major values, `count × layout.width`.
    public internal(set) var rows: [Double] = []
    /// Stage keys, `count × layout.keyFields.count`.
    public private(set) var keys: [StateKey] = []
    /// Id field texts, `count × layout.idFields.count`.
    public private(set) var ids: [String] = []
    /// Provenance of each event.
    public private(set) var provenance: [Provenance] = []
    /// Why each event was rejected, nil for events still live.
    public internal(set) var rejections: [Rejection?] = []
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
        rejections.reserveCapacity(capacity)
    }

    /// Events in the batch (rejected ones included).
    public var count: Int { times.count }

    /// Empties the batch, keeping its storage.
    public mutating func removeAll() {
        times.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        provenance.removeAll(keepingCapacity: true)
        rejections.removeAll(keepingCapacity: true)
        lateEvents.removeAll()
    }

    /// Appends an event whose source values are already in `values` (one per source field, in
    /// declaration order, NaN for text); derived and feature columns start as NaN.
    public mutating func append(time: Int64, sourceValues values: UnsafeBufferPointer<Double>, keys eventKeys: [StateKey],
                                ids eventIds: [String], provenance origin: Provenance) {
        precondition(values.count == layout.sourceFields.count && eventKeys.count == layout.keyFields.count && eventIds.count == layout.idFields.count)
        rows.append(contentsOf: values)
        rows.append(contentsOf: repeatElement(Double.nan, count: layout.width - values.count))
        appendEvent(time: time, provenance: origin)
        keys.append(contentsOf: eventKeys)
        ids.append(contentsOf: eventIds)
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

    /// What every append adds beside the row: the event's time, its provenance, no rejection.
    private mutating func appendEvent(time: Int64, provenance origin: Provenance) {
        times.append(time)
        provenance.append(origin)
        rejections.append(nil)
    }

    mutating func appendKey(_ key: StateKey) { keys.append(key) }
    mutating func appendID(_ id: String) { ids.append(id) }

    /// Whether event `index` is still live (not rejected).
    public func isLive(_ index: Int) -> Bool { rejections[index] == nil }

    /// Event `index`'s value in column `column`.
    public func value(_ index: Int, column: Int) -> Double { rows[index * layout.width + column] }

    /// Event `index`'s key for stage `stage`.
    public func key(_ index: Int, stage: Int) -> StateKey { keys[index * layout.keyFields.count + layout.stageKeyIndex[stage]] }

    /// Event `index`'s id texts.
    public func ids(of index: Int) -> ArraySlice<String> {
        let width = layout.idFields.count
        return ids[(index * width)..<((index + 1) * width)]
    }

    /// Event `index`'s features in topology order.
    public func features(of index: Int) -> ArraySlice<Double> {
        rows[(index * layout.width + layout.derivedStart)..<((index + 1) * layout.width)]
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
        for key in keys[(index * layout.keyFields.count)..<((index + 1) * layout.keyFields.count)] {
            switch key {
            case let .int(value): writer.write(UInt8(0)); writer.write(value)
            case let .string(text): writer.write(UInt8(1)); writer.write(text)
            }
        }
        for id in ids(of: index) { writer.write(id) }
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
        let (rowCount, keyCount, idCount) = (rows.count, keys.count, ids.count)
        var complete = false
        defer {
            if !complete {
                rows.removeSubrange(rowCount...)
                keys.removeSubrange(keyCount...)
                ids.removeSubrange(idCount...)
            }
        }
        for _ in 0..<layout.width { rows.append(try reader.readDouble()) }
        for _ in 0..<layout.keyFields.count {
            switch try reader.readUInt8() {
            case 0: keys.append(.int(try reader.readInt64()))
            case 1: keys.append(.string(try reader.readString()))
            case let tag: throw CodecError.binary(detail: "unknown key tag \(tag) in a staged event")
            }
        }
        for _ in 0..<layout.idFields.count { ids.append(try reader.readString()) }
        let flags = version == Self.flaggedEncodingVersion ? try reader.readUInt8() : 0
        guard reader.isAtEnd else { throw CodecError.binary(detail: "trailing bytes after a staged event") }
        complete = true
        times.append(time)
        provenance.append(Provenance(partition: partition, offset: offset))
        rejections.append(nil)
        if flags & 1 != 0 { lateEvents.insert(times.count - 1) }
    }

    /// Appends event `index` of `other` (a batch of the same topology) with everything computed
    /// so far: what ``appendEncoded(_:)`` would give for its encoding, without the bytes.
    public mutating func append(_ index: Int, of other: EventBatch) {
        precondition(other.layout.width == layout.width && other.layout.keyFields.count == layout.keyFields.count, "batches of different topologies")
        let width = layout.width
        times.append(other.times[index])
        rows.append(contentsOf: other.rows[(index * width)..<((index + 1) * width)])
        let keyWidth = layout.keyFields.count
        keys.append(contentsOf: other.keys[(index * keyWidth)..<((index + 1) * keyWidth)])
        ids.append(contentsOf: other.ids(of: index))
        provenance.append(other.provenance[index])
        rejections.append(nil)
        if other.lateEvents.contains(index) { lateEvents.insert(times.count - 1) }
    }

    /// Sets every derived and feature column back to NaN, to run the events through again.
    public mutating func clearFeatures() {
        let width = layout.width
        let start = layout.derivedStart
        rows.withUnsafeMutableBufferPointer { rows in
            for index in 0..<times.count { for column in start..<width { rows[index * width + column] = .nan } }
        }
        for index in rejections.indices { rejections[index] = nil }
        lateEvents.removeAll()
    }

    /// Removes the last event (a driver filtering what it just decoded).
    public mutating func dropLast() {
        precondition(!times.isEmpty, "dropLast() on an empty batch")
        times.removeLast()
        rows.removeLast(layout.width)
        keys.removeLast(layout.keyFields.count)
        ids.removeLast(layout.idFields.count)
        provenance.removeLast()
        rejections.removeLast()
        lateEvents.remove(times.count)
    }

    /// Marks event `index` rejected.
    public mutating func reject(_ index: Int, _ rejection: Rejection) { rejections[index] = rejection }

    /// Marks event `index` late: scored unplaced, behind its key's newest event by more than the allowed lateness.
    public mutating func markLate(_ index: Int) { lateEvents.insert(index) }

    /// Whether event `index` is late (see ``lateEvents``).
    public func isLate(_ index: Int) -> Bool { !lateEvents.isEmpty && lateEvents.contains(index) }
}
