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
    let includeFeatures: Bool

    public init(topology: Topology, layout: RowLayout) {
        featureKeys = layout.featureNames.map { Array((JSONText.quoted($0) + ":").utf8) }
        fieldKeys = layout.sourceFields.filter(\.type.isNumeric).compactMap { field in
            layout.column(of: field.name).map { (Array((JSONText.quoted(field.name) + ":").utf8), $0) }
        }
        modelVersion = Array(JSONText.quoted(topology.model?.version ?? "").utf8)
        rule = Array(JSONText.quoted(topology.outputs.alertRule?.description ?? "").utf8)
        includeFeatures = topology.outputs.includeFeatures
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
    public func encode(_ events: EventBatch, _ index: Int, id: UnsafeBufferPointer<UInt8>, score: Double?, alert: Bool, late: Bool = false,
                       reasons: [ReasonCode] = [], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        append("{\"id\":", to: &out)
        appendQuoted(id, to: &out)
        if let score {
            append(",\"score\":", to: &out)
            Self.appendNumber(score, to: &out)
            append(",\"model_version\":", to: &out)
            out.append(contentsOf: modelVersion)
        }
        append(",\"event_time\":", to: &out)
        Self.appendInteger(events.times[index], to: &out)
        if late { append(",\"late\":true", to: &out) }
        if includeFeatures || alert {
            append(",\"features\":{", to: &out)
            for (position, value) in events.features(of: index).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: featureKeys[position])
                Self.appendNumber(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if alert {
            append(",\"event\":{", to: &out)
            for (position, field) in fieldKeys.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: field.key)
                Self.appendNumber(events.value(index, column: field.column), to: &out)
            }
            append("},\"rule\":", to: &out)
            out.append(contentsOf: rule)
            if !reasons.isEmpty {
                append(",\"reasons\":[", to: &out)
                for (position, reason) in reasons.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    append("{\"feature\":", to: &out)
                    var feature = reason.feature
                    feature.withUTF8 { appendQuoted($0, to: &out) }
                    append(",\"value\":", to: &out)
                    Self.appendNumber(reason.value, to: &out)
                    append(",\"contribution\":", to: &out)
                    Self.appendNumber(reason.contribution, to: &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Literals are appended from their static bytes: no String view to walk.
    @inline(__always)
    private func append(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Ids are nearly always plain ASCII: copied as they are; anything else goes through the escaper.
    private func appendQuoted(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if text.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: JSONText.quoted(String(decoding: text, as: UTF8.self)).utf8)
        }
    }

    /// The shortest text that reads back as the same Double; NaN and infinities (not JSON) as
    /// null. Integral values below 1e15 as integers (`-0.0` as `0`), the others as
    /// `description` spells them (``DecimalText``, which a test holds to `description`).
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if !value.isFinite {
            ("null" as StaticString).withUTF8Buffer { out.append(contentsOf: $0) }
        } else if abs(value) < 1e15, Double(Int64(value)) == value {
            // Integral (the conversion truncates): as the old `value == value.rounded()`, without libm's round.
            appendInteger(Int64(value), to: &out)
        } else {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalText.maximumLength) { scratch in
                let count = DecimalText.write(value, to: scratch.baseAddress!)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
            }
        }
    }

    /// `String(value)`'s bytes, written without the String.
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalText.maximumIntegerLength) { scratch in
            let count = DecimalText.write(integer: value, to: scratch.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
    }
}
