public import VigilCodec
import VigilFeatures
public import VigilTopology

/// Turns source records (CSV rows or JSON objects) into batch events by the topology's field
/// list; a record that does not fit is refused with a reason naming the field, so the caller
/// can dead-letter it.
public final class EventDecoder {
    /// Where each source field sits in a CSV file's columns.
    public struct CSVBinding: Sendable {
        let columns: [Int]
        /// Columns a row must have at least.
        public let minimumFieldCount: Int
        /// Optional fields the header lacks (read as missing).
        let absent: [Int]
    }

    let topology: Topology
    let layout: RowLayout
    private let timestampField: Int
    private let keyFieldIndex: [Int]
    private let idFieldIndex: [Int]
    private var values: [Double]
    private var texts: [String?]
    private var eventKeys: [StateKey] = []
    private var eventIds: [String] = []
    /// Which source fields need their text kept (keys of text type, ids).
    private let keepsText: [Bool]

    /// A decoder for `topology`'s source.
    public init(topology: Topology) {
        self.topology = topology
        layout = RowLayout(topology: topology)
        let fields = topology.source.fields
        timestampField = fields.firstIndex { $0.name == topology.source.timestamp.field } ?? 0
        keyFieldIndex = layout.keyFields.map { key in fields.firstIndex { $0.name == key } ?? 0 }
        idFieldIndex = layout.idFields.map { id in fields.firstIndex { $0.name == id } ?? 0 }
        values = Array(repeating: .nan, count: fields.count)
        texts = Array(repeating: nil, count: fields.count)
        var keeps = Array(repeating: false, count: fields.count)
        for index in keyFieldIndex + idFieldIndex { keeps[index] = true }
        keeps[timestampField] = true
        keepsText = keeps
    }

    /// Matches a CSV header to the declared fields; throws naming any field the header lacks.
    public func bind(header: [String], file: String) throws -> CSVBinding {
        var columns: [Int] = []
        var missing: [String] = []
        var absent: [Int] = []
        for (index, field) in topology.source.fields.enumerated() {
            if let column = header.firstIndex(of: field.name) {
                columns.append(column)
            } else if topology.source.optionalFields.contains(field.name) {
                // Read from the timestamp's column, then set missing after the row is read.
                absent.append(index)
                columns.append(header.firstIndex(of: topology.source.timestamp.field) ?? 0)
            } else {
                missing.append(field.name)
            }
        }
        if !missing.isEmpty {
            throw PipelineError.input("\(file):1: the CSV header lacks declared field(s) \(missing.joined(separator: ", ")); it has \(header.joined(separator: ", "))")
        }
        return CSVBinding(columns: columns, minimumFieldCount: (columns.max() ?? -1) + 1, absent: absent)
    }

    /// Decodes the reader's current row into `batch`; returns why not if it does not fit.
    public func appendCSV(_ reader: CSVReader, binding: CSVBinding, provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        guard reader.fieldCount >= binding.minimumFieldCount else {
            return Rejection(stage: "decode", reason: "expected at least \(binding.minimumFieldCount) fields, found \(reader.fieldCount)")
        }
        let fields = topology.source.fields
        for index in fields.indices {
            let bytes = reader.fieldBytes(binding.columns[index])
            if let problem = decodeField(index, fields[index], bytes) { return problem }
        }
        for index in binding.absent {
            values[index] = .nan
            texts[index] = ""
        }
        return finish(provenance: provenance, into: &batch)
    }

    /// Decodes one JSON object (a line of a file or a record value) into `batch`.
    public func appendJSON(_ bytes: UnsafeBufferPointer<UInt8>, provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            return Rejection(stage: "decode", reason: "not valid JSON: \(error)")
        }
        guard case let .object(object) = value else { return Rejection(stage: "decode", reason: "expected a JSON object") }
        return appendJSON(object: object, provenance: provenance, to: &batch)
    }

    /// Decodes a parsed JSON object into `batch`.
    public func appendJSON(object: [String: JSONValue], provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        let fields = topology.source.fields
        for index in fields.indices {
            let field = fields[index]
            guard let value = object[field.name], value != .null else {
                if let problem = decodeMissing(index, field) { return problem }
                continue
            }
            switch value {
            case let .string(text):
                var copy = text
                if let problem = copy.withUTF8({ decodeField(index, field, $0) }) { return problem }
            case let .int(number):
                values[index] = Double(number)
                texts[index] = keepsText[index] ? String(number) : nil
                if field.type == .string { values[index] = .nan }
            case let .double(number):
                guard field.type != .int || number.rounded() == number else {
                    return Rejection(stage: "decode", reason: "field \(field.name): expected an integer, found \(number)")
                }
                values[index] = field.type == .string ? .nan : number
                texts[index] = keepsText[index] ? String(number) : nil
            case let .bool(flag):
                guard field.type == .bool || field.type == .string else {
                    return Rejection(stage: "decode", reason: "field \(field.name): expected \(field.type.rawValue), found a boolean")
                }
                values[index] = field.type == .bool ? (flag ? 1 : 0) : .nan
                texts[index] = flag ? "true" : "false"
            default:
                return Rejection(stage: "decode", reason: "field \(field.name): expected \(field.type.rawValue), found an array or object")
            }
        }
        return finish(provenance: provenance, into: &batch)
    }

    private func decodeMissing(_ index: Int, _ field: FieldSpec) -> Rejection? {
        if index == timestampField || (keyFieldIndex.contains(index) && !topology.source.optionalFields.contains(field.name)) {
            return Rejection(stage: "decode", reason: "field \(field.name) is missing (it is the \(index == timestampField ? "timestamp" : "key"))")
        }
        values[index] = .nan
        texts[index] = ""
        return nil
    }

    private func decodeField(_ index: Int, _ field: FieldSpec, _ bytes: UnsafeBufferPointer<UInt8>) -> Rejection? {
        if bytes.isEmpty { return decodeMissing(index, field) }
        switch field.type {
        case .int:
            guard let value = ASCIINumber.parseInt(bytes) else { return typeProblem(field, bytes) }
            values[index] = Double(value)
        case .double:
            guard let value = ASCIINumber.parseDouble(bytes) else { return typeProblem(field, bytes) }
            values[index] = value
        case .bool:
            switch bytes.count {
            case 1 where bytes[0] == UInt8(ascii: "1"): values[index] = 1
            case 1 where bytes[0] == UInt8(ascii: "0"): values[index] = 0
            default:
                let text = String(decoding: bytes, as: UTF8.self).lowercased()
                guard text == "true" || text == "false" else { return typeProblem(field, bytes) }
                values[index] = text == "true" ? 1 : 0
            }
        case .string:
            values[index] = .nan
        }
        texts[index] = keepsText[index] ? String(decoding: bytes, as: UTF8.self) : nil
        return nil
    }

    private func typeProblem(_ field: FieldSpec, _ bytes: UnsafeBufferPointer<UInt8>) -> Rejection {
        Rejection(stage: "decode", reason: "field \(field.name): expected \(field.type.rawValue), found '\(String(decoding: bytes.prefix(64), as: UTF8.self))'")
    }

    private func finish(provenance: Provenance, into batch: inout EventBatch) -> Rejection? {
        let timestampSpec = topology.source.timestamp
        let time: Int64?
        let fieldType = topology.source.fields[timestampField].type
        if fieldType.isNumeric && fieldType != .bool, timestampSpec.format != .datetime, !values[timestampField].isNaN {
            let raw = values[timestampField]
            time = timestampSpec.format == .epochMillis ? Int64(raw.rounded()) : Int64((raw * 1000).rounded())
        } else {
            var text = texts[timestampField] ?? ""
            time = text.withUTF8 { TimestampParser.parse($0, format: timestampSpec.format) }
        }
        guard let time else {
            return Rejection(stage: "decode", reason: "field \(timestampSpec.field): '\(texts[timestampField] ?? "")' is not a \(timestampSpec.format.rawValue) timestamp")
        }
        eventKeys.removeAll(keepingCapacity: true)
        for index in keyFieldIndex {
            let field = topology.source.fields[index]
            if field.type == .int, !values[index].isNaN, let text = texts[index], let value = Int64(text) ?? ASCIINumber.parseIntText(text) {
                eventKeys.append(.int(value))
            } else {
                eventKeys.append(.string(texts[index] ?? ""))
            }
        }
        eventIds.removeAll(keepingCapacity: true)
        for index in idFieldIndex { eventIds.append(texts[index] ?? "") }
        values.withUnsafeBufferPointer { batch.append(time: time, sourceValues: $0, keys: eventKeys, ids: eventIds, provenance: provenance) }
        return nil
    }
}

extension ASCIINumber {
    static func parseIntText(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { parseInt($0) }
    }
}
