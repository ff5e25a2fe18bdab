import VigilCodec
public import VigilPipeline
public import VigilTopology

/// Writes score and alert records as JSON bytes into a reused buffer: the per-event hot path of
/// the runtime, so names are quoted once, up front, and nothing is built that is not written.
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

    /// `{"id":…,"score":…,"model_version":…,"event_time":…[,"late":true][,"features":{…}]}`; an
    /// alert adds the features (always), the event's numeric fields, the rule, and its `reasons`
    /// when given (`"reasons":[{"feature":…,"value":…,"contribution":…},…]`, largest contribution
    /// first; see ``Pipeline/reasons(_:index:top:)``). `late` marks an event scored unplaced,
    /// further behind its key's newest event than the allowed lateness.
    public func encode(_ events: EventBatch, _ index: Int, id: String, score: Double?, alert: Bool, late: Bool = false,
                reasons: [ReasonCode] = [], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        append("{\"id\":", to: &out)
        appendQuoted(id, to: &out)
        if let score {
            append(",\"score\":", to: &out)
            appendNumber(score, to: &out)
            append(",\"model_version\":", to: &out)
            out.append(contentsOf: modelVersion)
        }
        append(",\"event_time\":", to: &out)
        append(String(events.times[index]), to: &out)
        if late { append(",\"late\":true", to: &out) }
        if includeFeatures || alert {
            append(",\"features\":{", to: &out)
            for (position, value) in events.features(of: index).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: featureKeys[position])
                appendNumber(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if alert {
            append(",\"event\":{", to: &out)
            for (position, field) in fieldKeys.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: field.key)
                appendNumber(events.value(index, column: field.column), to: &out)
            }
            append("},\"rule\":", to: &out)
            out.append(contentsOf: rule)
            if !reasons.isEmpty {
                append(",\"reasons\":[", to: &out)
                for (position, reason) in reasons.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    append("{\"feature\":", to: &out)
                    appendQuoted(reason.feature, to: &out)
                    append(",\"value\":", to: &out)
                    appendNumber(reason.value, to: &out)
                    append(",\"contribution\":", to: &out)
                    appendNumber(reason.contribution, to: &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private func append(_ text: String, to out: inout [UInt8]) { out.append(contentsOf: text.utf8) }

    /// Ids are nearly always plain ASCII: copied as they are; anything else goes through the escaper.
    private func appendQuoted(_ text: String, to out: inout [UInt8]) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            append(JSONText.quoted(text), to: &out)
        }
    }

    /// The shortest text that reads back as the same Double; NaN and infinities (not JSON) as null.
    private func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if !value.isFinite {
            append("null", to: &out)
        } else if value == value.rounded(), abs(value) < 1e15 {
            append(String(Int64(value)), to: &out)
        } else {
            append(value.description, to: &out)
        }
    }
}
