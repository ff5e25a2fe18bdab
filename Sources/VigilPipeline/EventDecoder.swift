#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    /// Which source fields need their text kept (keys of text type, ids, categorical fields).
    private let keepsText: [Bool]
    /// The topology's bounds on a record.
    private let limits: SourceLimits
    /// The values each categorical field may take: texts of string fields, numbers of others.
    private let allowedTexts: [Set<String>?]
    private let allowedNumbers: [Set<Double>?]

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
        for (index, field) in fields.enumerated() where field.allowedValues != nil { keeps[index] = true }
        keepsText = keeps
        limits = topology.source.limits
        allowedTexts = fields.map { field in field.type == .string ? field.allowedValues.map(Set.init) : nil }
        allowedNumbers = fields.map { field in field.type != .string ? field.allowedValues.map { Set($0.compactMap(Double.init)) } : nil }
    }

    /// Refuses a record larger than the topology's `max_record_bytes`.
    public func checkSize(_ count: Int) -> Rejection? {
        guard count > limits.maxRecordBytes else { return nil }
        return Rejection(stage: "decode", reason: "the record is \(count) bytes, more than the limit of \(limits.maxRecordBytes) (source.limits.max_record_bytes)")
    }

    /// Matches a CSV header to the declared fields; throws naming any field the header lacks.
    public func bind(header: [String], file: String) throws -> CSVBinding {
        var columns: [Int] = []
        var missing: [String] = []
        for field in topology.source.fields {
            if let column = header.firstIndex(of: field.name) { columns.append(column) } else { missing.append(field.name) }
        }
        if !missing.isEmpty {
            throw PipelineError.input("\(file):1: the CSV header lacks declared field(s) \(missing.joined(separator: ", ")); it has \(header.joined(separator: ", "))")
        }
        return CSVBinding(columns: columns, minimumFieldCount: (columns.max() ?? -1) + 1)
    }

    /// Decodes the reader's current row into `batch`; returns why not if it does not fit.
    public func appendCSV(_ reader: CSVReader, binding: CSVBinding, provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        guard reader.fieldCount >= binding.minimumFieldCount else {
            return Rejection(stage: "decode", reason: "expected at least \(binding.minimumFieldCount) fields, found \(reader.fieldCount)")
        }
        guard reader.fieldCount <= limits.maxFields else { return tooManyFields(reader.fieldCount) }
        let fields = topology.source.fields
        for index in fields.indices {
            let bytes = reader.fieldBytes(binding.columns[index])
            if let problem = decodeField(index, fields[index], bytes) { return problem }
        }
        return finish(provenance: provenance, into: &batch)
    }

    /// Decodes one JSON object (a line of a file or a record value) into `batch`.
    public func appendJSON(_ bytes: UnsafeBufferPointer<UInt8>, provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        if let tooLarge = checkSize(bytes.count) { return tooLarge }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: limits.maxJSONDepth)
        } catch {
            return Rejection(stage: "decode", reason: "not valid JSON: \(error)")
        }
        guard case let .object(object) = value else { return Rejection(stage: "decode", reason: "expected a JSON object") }
        guard object.count <= limits.maxFields else { return tooManyFields(object.count) }
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
                if let problem = checkAllowed(index, field) { return problem }
            case let .double(number):
                guard number.isFinite else { return Rejection(stage: "decode", reason: "field \(field.name): \(number) is not a finite number") }
                guard field.type != .int || number.rounded() == number else {
                    return Rejection(stage: "decode", reason: "field \(field.name): expected an integer, found \(number)")
                }
                values[index] = field.type == .string ? .nan : number
                texts[index] = keepsText[index] ? String(number) : nil
                if let problem = checkAllowed(index, field) { return problem }
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
        if index == timestampField || keyFieldIndex.contains(index) {
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
            // strtod reads nan and inf: refused, as a missing value is written empty.
            guard value.isFinite else {
                return Rejection(stage: "decode", reason: "field \(field.name): '\(String(decoding: bytes.prefix(64), as: UTF8.self))' is not a finite number")
            }
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
            // A replacement character would silently change a key or an id.
            if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil {
                return Rejection(stage: "decode", reason: "field \(field.name): not valid UTF-8")
            }
        }
        texts[index] = keepsText[index] ? String(decoding: bytes, as: UTF8.self) : nil
        return checkAllowed(index, field)
    }

    /// Refuses a value outside a categorical field's declared values.
    private func checkAllowed(_ index: Int, _ field: FieldSpec) -> Rejection? {
        if let allowed = allowedTexts[index] {
            guard let text = texts[index], !allowed.contains(text) else { return nil }
            return unknownValue(field, text)
        }
        if let allowed = allowedNumbers[index], !allowed.contains(values[index]) {
            return unknownValue(field, texts[index] ?? String(values[index]))
        }
        return nil
    }

    private func unknownValue(_ field: FieldSpec, _ text: String) -> Rejection {
        let declared = (field.allowedValues ?? []).prefix(10).joined(separator: ", ")
        return Rejection(stage: "decode", reason: "field \(field.name): '\(text.prefix(64))' is not one of its declared values (\(declared)\((field.allowedValues?.count ?? 0) > 10 ? ", …" : ""))")
    }

    private func tooManyFields(_ count: Int) -> Rejection {
        Rejection(stage: "decode", reason: "the event has \(count) fields, more than the limit of \(limits.maxFields) (source.limits.max_fields)")
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
        if let problem = checkTime(time) { return problem }
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

extension EventDecoder {
    /// Refuses an event time before `not_before` or further past the wall clock than
    /// `max_ahead`: either would move a partition's stream time by years.
    private func checkTime(_ time: Int64) -> Rejection? {
        let field = topology.source.timestamp.field
        if let earliest = limits.notBefore, time < earliest {
            return Rejection(stage: "decode", reason: "field \(field): \(Self.utc(time)) is before \(Self.utc(earliest)) (source.limits.not_before)")
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        if time > wall, time - wall > limits.maxAhead {
            return Rejection(stage: "decode", reason: "field \(field): \(Self.utc(time)) is more than \(DurationText.text(limits.maxAhead)) ahead of the wall clock (source.limits.max_ahead)")
        }
        return nil
    }

    /// A time as `YYYY-MM-DDTHH:MM:SSZ` (years outside 0...9999 as milliseconds).
    static func utc(_ time: Int64) -> String {
        guard time > -62_167_219_200_000, time < 253_402_300_800_000 else { return "\(time) ms since the epoch" }
        var seconds = time_t(time >= 0 ? time / 1000 : (time - 999) / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }
}

extension ASCIINumber {
    static func parseIntText(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { parseInt($0) }
    }
}
