import VigilCodec
public import VigilPipeline
public import VigilTopology

/// Writes score and alert records as JSON bytes into a reused buffer: the per-event hot path of
/// the runtime, so names are quoted once, up front, and nothing is built that is not written.
/// Numbers, ids and keys go into the buffer as bytes without a String each (StageBench's
/// "outputs encoded" rows: the Strings were most of the collector's own cost an event).
/// Public so that StageBench can time the collector's per-event work without a broker.
public struct ScoreRecordEncoder {
    private let featureKeys: [[UInt8]]
    private let fieldKeys: [(key: [UInt8], column: Int)]
    private let modelVersion: [UInt8]
    private let rule: [UInt8]
    /// The bytes of all feature keys, and of all field keys: what a record's room is reckoned from.
    private let featureKeysLength: Int
    private let fieldKeysLength: Int
    let includeFeatures: Bool

    public init(topology: Topology, layout: RowLayout) {
        featureKeys = layout.featureNames.map { Array((JSONText.quoted($0) + ":").utf8) }
        fieldKeys = layout.sourceFields.filter(\.type.isNumeric).compactMap { field in
            layout.column(of: field.name).map { (Array((JSONText.quoted(field.name) + ":").utf8), $0) }
        }
        modelVersion = Array(JSONText.quoted(topology.model?.version ?? "").utf8)
        rule = Array(JSONText.quoted(topology.outputs.alertRule?.description ?? "").utf8)
        includeFeatures = topology.outputs.includeFeatures
        featureKeysLength = featureKeys.reduce(0) { $0 + $1.count }
        fieldKeysLength = fieldKeys.reduce(0) { $0 + $1.key.count }
    }

    /// The key of event `index`'s score and alert records, which their `id` repeats: its ids
    /// joined by commas.
    public func key(_ events: EventBatch, _ index: Int) -> String {
        let ids = events.ids(of: index)
        return ids.count == 1 ? ids[ids.startIndex] : ids.joined(separator: ",")
    }

    /// Writes the UTF-8 of ``key(_:_:)`` into `key` (emptied first), copied from the batch's id
    /// bytes. Bytes that are not ASCII take the String path, so that an id that is not valid
    /// UTF-8 is repaired exactly as the String would repair it.
    public func writeKey(_ events: EventBatch, _ index: Int, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        var ascii = true
        for position in 0..<events.layout.idFields.count {
            if position > 0 { key.append(UInt8(ascii: ",")) }
            events.withIDBytes(of: index, at: position) { id in
                key.append(contentsOf: id)
                ascii = ascii && !id.contains { $0 >= 0x80 }
            }
        }
        if !ascii {
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: self.key(events, index).utf8)
        }
    }

    /// The record below with the id given as a String (tests, and callers off the hot path).
    public func encode(_ events: EventBatch, _ index: Int, id: String, score: Double?, alert: Bool, late: Bool = false,
                       reasons: [ReasonCode] = [], into out: inout [UInt8]) {
        var id = id
        id.withUTF8 { encode(events, index, id: $0, score: score, alert: alert, late: late, reasons: reasons, into: &out) }
    }

    /// `{"id":…,"score":…,"model_version":…,"event_time":…[,"late":true][,"features":{…}]}`; an
    /// alert adds the features (always), the event's numeric fields, the rule, and its `reasons`
    /// when given (`"reasons":[{"feature":…,"value":…,"contribution":…},…]`, largest contribution
    /// first; see ``Pipeline/reasons(_:index:top:)``). `late` marks an event scored unplaced,
    /// further behind its key's newest event than the allowed lateness. `id` is valid UTF-8
    /// (``writeKey(_:_:into:)`` writes such).
    ///
    /// The record is written with a cursor into scratch room sized for its longest spelling,
    /// then appended to `out` in one copy: an append per part cost more than the parts.
    public func encode(_ events: EventBatch, _ index: Int, id: UnsafeBufferPointer<UInt8>, score: Double?, alert: Bool, late: Bool = false,
                       reasons: [ReasonCode] = [], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        // Text to escape is rare (ids are nearly always plain ASCII): escaped first, so its length is known.
        let escapedID: [UInt8]? = Self.isPlain(id) ? nil : Array(JSONText.quoted(String(decoding: id, as: UTF8.self)).utf8)
        let escapedReasons: [[UInt8]] = alert ? reasons.map { Array(JSONText.quoted($0.feature).utf8) } : []
        let withFeatures = includeFeatures || alert
        // Room: the longest spelling of each part. 192 holds the fixed names and punctuation
        // (105 bytes with every part present), the score (32) and the event time (20); each
        // further number takes up to 32 bytes and its comma.
        let number = DecimalText.maximumLength + 1
        var room = 192 + (escapedID?.count ?? id.count + 2) + modelVersion.count
        if withFeatures { room += featureKeysLength + featureKeys.count * number }
        if alert {
            room += fieldKeysLength + fieldKeys.count * number + rule.count
            for reason in escapedReasons { room += 48 + reason.count + 2 * number }
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { scratch in
            let start = scratch.baseAddress!
            var cursor = start
            Self.put("{\"id\":", at: &cursor)
            if let escapedID {
                Self.put(escapedID, at: &cursor)
            } else {
                Self.put(UInt8(ascii: "\""), at: &cursor)
                Self.put(id, at: &cursor)
                Self.put(UInt8(ascii: "\""), at: &cursor)
            }
            if let score {
                Self.put(",\"score\":", at: &cursor)
                Self.putNumber(score, at: &cursor)
                Self.put(",\"model_version\":", at: &cursor)
                Self.put(modelVersion, at: &cursor)
            }
            Self.put(",\"event_time\":", at: &cursor)
            cursor += DecimalText.write(integer: events.times[index], to: cursor)
            if late { Self.put(",\"late\":true", at: &cursor) }
            if withFeatures {
                Self.put(",\"features\":{", at: &cursor)
                for (position, value) in events.features(of: index).enumerated() {
                    if position > 0 { Self.put(UInt8(ascii: ","), at: &cursor) }
                    Self.put(featureKeys[position], at: &cursor)
                    Self.putNumber(value, at: &cursor)
                }
                Self.put(UInt8(ascii: "}"), at: &cursor)
            }
            if alert {
                Self.put(",\"event\":{", at: &cursor)
                for (position, field) in fieldKeys.enumerated() {
                    if position > 0 { Self.put(UInt8(ascii: ","), at: &cursor) }
                    Self.put(field.key, at: &cursor)
                    Self.putNumber(events.value(index, column: field.column), at: &cursor)
                }
                Self.put("},\"rule\":", at: &cursor)
                Self.put(rule, at: &cursor)
                if !reasons.isEmpty {
                    Self.put(",\"reasons\":[", at: &cursor)
                    for (position, reason) in reasons.enumerated() {
                        if position > 0 { Self.put(UInt8(ascii: ","), at: &cursor) }
                        Self.put("{\"feature\":", at: &cursor)
                        Self.put(escapedReasons[position], at: &cursor)
                        Self.put(",\"value\":", at: &cursor)
                        Self.putNumber(reason.value, at: &cursor)
                        Self.put(",\"contribution\":", at: &cursor)
                        Self.putNumber(reason.contribution, at: &cursor)
                        Self.put(UInt8(ascii: "}"), at: &cursor)
                    }
                    Self.put(UInt8(ascii: "]"), at: &cursor)
                }
            }
            Self.put(UInt8(ascii: "}"), at: &cursor)
            let count = cursor - start
            precondition(count <= room, "a score record overran the room reckoned for it")
            out.append(contentsOf: UnsafeBufferPointer(start: start, count: count))
        }
    }

    /// Whether `text` goes into JSON as it is, between quotes (printable ASCII, no quote or backslash).
    @inline(__always)
    private static func isPlain(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        text.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    @inline(__always)
    private static func put(_ byte: UInt8, at cursor: inout UnsafeMutablePointer<UInt8>) {
        cursor.pointee = byte
        cursor += 1
    }

    @inline(__always)
    private static func put(_ bytes: UnsafeBufferPointer<UInt8>, at cursor: inout UnsafeMutablePointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        cursor.update(from: base, count: bytes.count)
        cursor += bytes.count
    }

    @inline(__always)
    private static func put(_ bytes: [UInt8], at cursor: inout UnsafeMutablePointer<UInt8>) {
        bytes.withUnsafeBufferPointer { put($0, at: &cursor) }
    }

    @inline(__always)
    private static func put(_ text: StaticString, at cursor: inout UnsafeMutablePointer<UInt8>) {
        text.withUTF8Buffer { put($0, at: &cursor) }
    }

    /// ``appendNumber(_:to:)`` at a cursor with room for ``DecimalText/maximumLength`` bytes.
    @inline(__always)
    private static func putNumber(_ value: Double, at cursor: inout UnsafeMutablePointer<UInt8>) {
        if !value.isFinite {
            put("null", at: &cursor)
        } else if abs(value) < 1e15, Double(Int64(value)) == value {
            // Integral (the conversion truncates): as the old `value == value.rounded()`, without libm's round.
            cursor += DecimalText.write(integer: Int64(value), to: cursor)
        } else {
            cursor += DecimalText.write(value, to: cursor)
        }
    }

    /// The shortest text that reads back as the same Double; NaN and infinities (not JSON) as
    /// null. Integral values below 1e15 as integers (`-0.0` as `0`), the others as
    /// `description` spells them (``DecimalText``, which a test holds to `description`).
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalText.maximumLength) { scratch in
            var cursor = scratch.baseAddress!
            putNumber(value, at: &cursor)
            out.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress!, count: cursor - scratch.baseAddress!))
        }
    }
}
