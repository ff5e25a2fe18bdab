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
///
/// Nothing is allocated per event but the Strings of keys of text type (an event's ids go into
/// the batch as bytes): fields are read from the record's bytes into scratch the decoder owns, and a JSON
/// record is read member by member (``JSONObjectReader``) instead of as a dictionary. The
/// handbook's 1.75M transactions decode at about 6M events/s from CSV (bench/README.md,
/// "Decoding"), against 0.55M/s when each event went through Strings and a dictionary.
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
    private let fields: [FieldSpec]
    /// The fields' types, apart from their names (copying a ``FieldSpec`` per field and event
    /// retained its name).
    private let types: [FieldType]
    private let timestampField: Int
    private let timestampFormat: TimestampFormat
    private let keyFieldIndex: [Int]
    private let idFieldIndex: [Int]
    /// Which source fields need their text kept (keys, ids, the timestamp).
    private let keepsText: [Bool]
    private let fieldCount: Int
    /// The fields' names as UTF-8, end to end, to match JSON member names without making
    /// Strings; field i's name is `nameTable[nameStarts[i]..<nameStarts[i + 1]]`.
    private let nameTable: UnsafeMutablePointer<UInt8>
    private let nameStarts: UnsafeMutablePointer<Int>
    /// By ``nameSlot(_:)``: the one field whose name has that slot, -1 for none, -2 for several.
    private let nameSlots: UnsafeMutablePointer<Int16>
    /// The last record's member names by position (in quotes; length 0: none kept) and the
    /// fields they name (-1: none), so that a record with the same members in the same order
    /// matches each name with one comparison instead of a scan and a lookup.
    private let memberCacheNames: UnsafeMutablePointer<UInt8>
    private let memberCacheLengths: UnsafeMutablePointer<Int>
    private let memberCacheFields: UnsafeMutablePointer<Int>
    /// Whether every name is ASCII (then a member matches at most one field by its bytes).
    private let namesAreASCII: Bool

    // One event's fields, filled field by field and read by `finish`. Pointers the decoder
    // owns: writing through them needs none of the exclusivity checks a class's arrays cost.
    /// The event's row: the source fields' values, then NaN in every derived and feature
    /// column (never written), so that the batch takes the whole row in one append.
    private let values: UnsafeMutablePointer<Double>
    /// The integer an int field parsed to (keys use it rather than parsing the text again).
    private let integers: UnsafeMutablePointer<Int64>
    private let hasInteger: UnsafeMutablePointer<Bool>
    /// A kept field's text: bytes of the record, of the JSON scratch, or of `numberTexts`.
    private let texts: UnsafeMutablePointer<UnsafeBufferPointer<UInt8>>
    /// Whether a kept field's text is the decimal spelling of `integers[i]` (a JSON integer).
    private let textIsInteger: UnsafeMutablePointer<Bool>
    /// Per field, room for a JSON number or boolean written as text.
    private let numberTexts: UnsafeMutablePointer<UInt8>
    private static let numberTextWidth = 32
    /// Per field, the last value of a JSON member with its name (members are read first and
    /// decoded in field order, so that the first field at fault is the one named).
    private let members: UnsafeMutablePointer<JSONScalar?>
    /// Per field, the text of its member when that is an integer (empty when not known), kept
    /// as the field's text when it spells the integer as `String(integer)` would: an integer
    /// id then needs no digits written (writing them was 3 % of decoding JSON records).
    private let integerSpellings: UnsafeMutablePointer<UnsafeBufferPointer<UInt8>>
    /// Unescaped JSON strings; at least as large as the record.
    private var jsonScratch: UnsafeMutablePointer<UInt8>
    private var jsonScratchCapacity: Int
    /// The date of the last event's timestamp (see ``TimestampParser/LastDate``).
    private let lastDate: UnsafeMutablePointer<TimestampParser.LastDate>
    /// The topology's bounds on a record.
    private let limits: SourceLimits
    /// The values each categorical field may take: texts of string fields, numbers of others.
    private let allowedTexts: [Set<String>?]
    private let allowedNumbers: [Set<Double>?]
    /// Whether field i declares its values: only those fields look in the sets above (reading
    /// the sets' array per field and event was 3 % of decoding JSON records).
    private let isCategorical: UnsafeMutablePointer<Bool>
    /// The wall clock (ms) for `max_ahead`, read every ``wallClockEvents`` events, not per event.
    private var wallClock: Int64 = 0
    private var eventsSinceWallClock = 4096  // ``wallClockEvents``: the first event reads the clock
    private static let wallClockEvents = 4096

    /// A decoder for `topology`'s source.
    public init(topology: Topology) {
        self.topology = topology
        layout = RowLayout(topology: topology)
        let fields = topology.source.fields
        self.fields = fields
        types = fields.map(\.type)
        timestampField = fields.firstIndex { $0.name == topology.source.timestamp.field } ?? 0
        timestampFormat = topology.source.timestamp.format
        keyFieldIndex = layout.keyFields.map { key in fields.firstIndex { $0.name == key } ?? 0 }
        idFieldIndex = layout.idFields.map { id in fields.firstIndex { $0.name == id } ?? 0 }
        var keeps = Array(repeating: false, count: fields.count)
        for index in keyFieldIndex + idFieldIndex { keeps[index] = true }
        keeps[timestampField] = true
        for (index, field) in fields.enumerated() where field.allowedValues != nil { keeps[index] = true }
        keepsText = keeps
        fieldCount = fields.count
        let names = fields.map { Array($0.name.utf8) }
        nameTable = .allocate(capacity: max(1, names.reduce(0) { $0 + $1.count }))
        nameStarts = .allocate(capacity: fields.count + 1)
        nameStarts[0] = 0
        memberCacheNames = .allocate(capacity: Self.memberCachePositions * Self.memberCacheWidth)
        memberCacheLengths = .allocate(capacity: Self.memberCachePositions)
        memberCacheLengths.initialize(repeating: 0, count: Self.memberCachePositions)
        memberCacheFields = .allocate(capacity: Self.memberCachePositions)
        memberCacheFields.initialize(repeating: -1, count: Self.memberCachePositions)
        nameSlots = .allocate(capacity: Self.nameSlotCount)
        nameSlots.initialize(repeating: -1, count: Self.nameSlotCount)
        for (index, name) in names.enumerated() {
            (nameTable + nameStarts[index]).initialize(from: name, count: name.count)
            nameStarts[index + 1] = nameStarts[index] + name.count
            let slot = name.withUnsafeBufferPointer { Self.nameSlot($0) }
            nameSlots[slot] = nameSlots[slot] == -1 && index < Int(Int16.max) ? Int16(index) : -2
        }
        namesAreASCII = fields.allSatisfy { $0.name.utf8.allSatisfy { $0 < 0x80 } } && Set(fields.map(\.name)).count == fields.count
        let count = max(fields.count, 1)
        let rowWidth = max(layout.width, count)
        values = .allocate(capacity: rowWidth)
        values.initialize(repeating: .nan, count: rowWidth)
        integers = .allocate(capacity: count)
        integers.initialize(repeating: 0, count: count)
        hasInteger = .allocate(capacity: count)
        hasInteger.initialize(repeating: false, count: count)
        textIsInteger = .allocate(capacity: count)
        textIsInteger.initialize(repeating: false, count: count)
        texts = .allocate(capacity: count)
        texts.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0), count: count)
        numberTexts = .allocate(capacity: count * Self.numberTextWidth)
        members = .allocate(capacity: count)
        members.initialize(repeating: nil, count: count)
        integerSpellings = .allocate(capacity: count)
        integerSpellings.initialize(repeating: UnsafeBufferPointer(start: nil, count: 0), count: count)
        jsonScratchCapacity = 4096
        lastDate = .allocate(capacity: 1)
        lastDate.initialize(to: TimestampParser.LastDate())
        jsonScratch = .allocate(capacity: jsonScratchCapacity)
        limits = topology.source.limits
        allowedTexts = fields.map { field in field.type == .string ? field.allowedValues.map(Set.init) : nil }
        allowedNumbers = fields.map { field in field.type != .string ? field.allowedValues.map { Set($0.compactMap(Double.init)) } : nil }
        isCategorical = .allocate(capacity: count)
        isCategorical.initialize(repeating: false, count: count)
        for (index, field) in fields.enumerated() where field.allowedValues != nil { isCategorical[index] = true }
    }

    deinit {
        values.deallocate()
        integers.deallocate()
        hasInteger.deallocate()
        texts.deallocate()
        textIsInteger.deallocate()
        numberTexts.deallocate()
        members.deinitialize(count: max(fields.count, 1))
        members.deallocate()
        integerSpellings.deallocate()
        jsonScratch.deallocate()
        nameTable.deallocate()
        nameStarts.deallocate()
        nameSlots.deallocate()
        memberCacheNames.deallocate()
        memberCacheLengths.deallocate()
        memberCacheFields.deallocate()
        isCategorical.deallocate()
        lastDate.deallocate()
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
        let record = reader.record
        guard record.count >= binding.minimumFieldCount else {
            return Rejection(stage: "decode", reason: "expected at least \(binding.minimumFieldCount) fields, found \(record.count)")
        }
        guard record.count <= limits.maxFields else { return tooManyFields(record.count) }
        let problem: Rejection? = binding.columns.withUnsafeBufferPointer { columns in
            for index in 0..<columns.count {
                if let problem = decodeField(index, record[columns[index]]) { return problem }
            }
            return nil
        }
        if let problem { return problem }
        // Optional fields the header lacks: missing in every row.
        for index in binding.absent { _ = decodeMissing(index) }
        return finish(provenance: provenance, into: &batch)
    }

    /// Decodes one JSON object (a line of a file or a record value) into `batch`.
    public func appendJSON(_ bytes: UnsafeBufferPointer<UInt8>, provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        if let tooLarge = checkSize(bytes.count) { return tooLarge }
        reserveJSONScratch(bytes.count)
        for index in 0..<fieldCount { members[index] = nil }
        var reader = JSONObjectReader(bytes: bytes, scratch: jsonScratch, maxDepth: limits.maxJSONDepth)
        var readable = reader.open()
        if readable {
            do {
                var position = 0
                while true {
                    // The member at this position in the last record, if this one names it too.
                    let field: Int
                    let name: (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool)
                    if position < Self.memberCachePositions, memberCacheLengths[position] > 0,
                       reader.nextName(ifItIs: UnsafeBufferPointer(start: memberCacheNames + position * Self.memberCacheWidth,
                                                                   count: memberCacheLengths[position])) {
                        field = memberCacheFields[position]
                        name = (UnsafeBufferPointer(start: memberCacheNames + position * Self.memberCacheWidth + 1,
                                                    count: memberCacheLengths[position] - 2), true)
                    } else {
                        guard let next = try reader.nextName() else { break }
                        name = next
                        field = namesAreASCII && name.isASCII ? self.field(named: name.bytes) : -2
                        rememberMember(at: position, name: name.bytes, field: field)
                    }
                    position += 1
                    if position > limits.maxFields { return tooManyFields(position) }
                    let value = try reader.value(converting: field != -1)
                    if field == -1 { continue }
                    // Text that is not valid UTF-8 is read as the tree reads it (repaired).
                    if case let .string(text, isASCII) = value, !isASCII, String(validating: text, as: UTF8.self) == nil {
                        readable = false
                        break
                    }
                    if field >= 0 {
                        members[field] = value
                        if case .int = value { integerSpellings[field] = reader.numberText }
                    } else {
                        // Names compare as Strings do (canonical equivalence), as the dictionary compared them.
                        let text = String(decoding: name.bytes, as: UTF8.self)
                        for index in fields.indices where fields[index].name == text {
                            members[index] = value
                            if case .int = value { integerSpellings[index] = reader.numberText }
                        }
                    }
                }
            } catch {
                readable = false
            }
        }
        // Not an object, not valid JSON, or text to repair: the tree parser says which, in its words.
        guard readable else {
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
        return decodeMembers(provenance: provenance, into: &batch)
    }

    /// Decodes a parsed JSON object into `batch`.
    public func appendJSON(object: [String: JSONValue], provenance: Provenance, to batch: inout EventBatch) -> Rejection? {
        var stringBytes = 0
        for field in fields { if case let .string(text) = object[field.name] { stringBytes += text.utf8.count } }
        reserveJSONScratch(stringBytes)
        var scratchEnd = 0
        for (index, field) in fields.enumerated() {
            let member: JSONScalar?
            switch object[field.name] {
            case nil: member = nil
            case .null: member = .null
            case let .bool(flag): member = .bool(flag)
            case let .int(number):
                member = .int(number)
                integerSpellings[index] = UnsafeBufferPointer(start: nil, count: 0)
            case let .double(number): member = .double(number)
            case .array, .object: member = .composite
            case let .string(text):
                // Copied into the scratch: the member is read after this loop.
                let start = jsonScratch + scratchEnd
                var isASCII = true
                for byte in text.utf8 {
                    jsonScratch[scratchEnd] = byte
                    scratchEnd += 1
                    isASCII = isASCII && byte < 0x80
                }
                member = .string(UnsafeBufferPointer(start: start, count: jsonScratch + scratchEnd - start), isASCII: isASCII)
            }
            members[index] = member
        }
        return decodeMembers(provenance: provenance, into: &batch)
    }

    private func reserveJSONScratch(_ count: Int) {
        guard count > jsonScratchCapacity else { return }
        jsonScratch.deallocate()
        jsonScratchCapacity = max(count, jsonScratchCapacity * 2)
        jsonScratch = .allocate(capacity: jsonScratchCapacity)
    }

    /// Keeps the name at member `position` (in quotes) and the field it names, for the next
    /// record: when it is ASCII and would be spelled without escapes.
    private func rememberMember(at position: Int, name: UnsafeBufferPointer<UInt8>, field: Int) {
        guard position < Self.memberCachePositions else { return }
        memberCacheLengths[position] = 0
        guard field >= -1, name.count + 2 <= Self.memberCacheWidth,
              name.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else { return }
        let room = memberCacheNames + position * Self.memberCacheWidth
        room[0] = UInt8(ascii: "\"")
        for (offset, byte) in name.enumerated() { room[1 + offset] = byte }
        room[name.count + 1] = UInt8(ascii: "\"")
        memberCacheLengths[position] = name.count + 2
        memberCacheFields[position] = field
    }

    private static let memberCachePositions = 32
    private static let memberCacheWidth = 64

    /// The field an ASCII member name names, or -1. (A later member of the same name replaces
    /// an earlier one, as in a dictionary.) One probe of `nameSlots` by the name's length and
    /// end bytes finds the only field it can be, then one comparison.
    private func field(named name: UnsafeBufferPointer<UInt8>) -> Int {
        let slot = Int(nameSlots[Self.nameSlot(name)])
        if slot == -1 { return -1 }
        if slot >= 0 { return sameName(slot, name) ? slot : -1 }
        for index in 0..<fieldCount where sameName(index, name) { return index }
        return -1
    }

    @inline(__always)
    private func sameName(_ index: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = nameStarts[index]
        guard nameStarts[index + 1] - start == name.count else { return false }
        guard let other = name.baseAddress else { return true }
        // Eight bytes at a time: names are short, and memcmp's call cost more than the compare.
        let mine = nameTable + start
        var offset = 0
        while offset + 8 <= name.count {
            if UnsafeRawPointer(mine + offset).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(other + offset).loadUnaligned(as: UInt64.self) {
                return false
            }
            offset += 8
        }
        while offset < name.count {
            if mine[offset] != other[offset] { return false }
            offset += 1
        }
        return true
    }

    /// A name's slot in `nameSlots`: its length and first and last bytes, hashed.
    @inline(__always)
    private static func nameSlot(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = name.first, let last = name.last else { return 0 }
        return (name.count &* 31 &+ Int(first) &* 7 &+ Int(last) &* 3) & (nameSlotCount - 1)
    }

    private static let nameSlotCount = 64

    /// Decodes the JSON members found, in field order.
    private func decodeMembers(provenance: Provenance, into batch: inout EventBatch) -> Rejection? {
        for index in fields.indices {
            guard let member = members[index] else {
                if let problem = decodeMissing(index) { return problem }
                continue
            }
            let type = types[index]
            switch member {
            case .null:
                if let problem = decodeMissing(index) { return problem }
            case let .string(text, _):
                // Valid UTF-8 already: the reader validates a string that is not ASCII, and the
                // tree's strings were Strings (no second look at every byte of every string).
                if let problem = decodeField(index, text, isValidUTF8: true) { return problem }
            case let .int(number):
                values[index] = type == .string ? .nan : Double(number)
                integers[index] = number
                hasInteger[index] = true
                if keepsText[index], Self.isPlainInteger(integerSpellings[index]) {
                    texts[index] = integerSpellings[index]
                    textIsInteger[index] = false
                } else {
                    // Its text is written only if read (an id's; an int key uses the integer).
                    textIsInteger[index] = true
                }
                if let problem = checkAllowed(index) { return problem }
            case let .double(number):
                // 1e999 reads as infinity.
                guard number.isFinite else { return Rejection(stage: "decode", reason: "field \(fields[index].name): \(number) is not a finite number") }
                guard type != .int || Self.isWhole(number) else {
                    return Rejection(stage: "decode", reason: "field \(fields[index].name): expected an integer, found \(number)")
                }
                values[index] = type == .string ? .nan : number
                hasInteger[index] = false
                textIsInteger[index] = false
                if keepsText[index] { texts[index] = writeNumberText(index, String(number)) }
                if let problem = checkAllowed(index) { return problem }
            case let .bool(flag):
                guard type == .bool || type == .string else {
                    return Rejection(stage: "decode", reason: "field \(fields[index].name): expected \(type.rawValue), found a boolean")
                }
                values[index] = type == .bool ? (flag ? 1 : 0) : .nan
                hasInteger[index] = false
                textIsInteger[index] = false
                texts[index] = writeNumberText(index, flag ? "true" : "false")
                // As the CSV's `true` in the same field would be (a boolean was taken unchecked).
                if let problem = checkAllowed(index) { return problem }
            case .composite:
                return Rejection(stage: "decode", reason: "field \(fields[index].name): expected \(type.rawValue), found an array or object")
            }
        }
        return finish(provenance: provenance, into: &batch)
    }

    /// Whether `number` has no fraction. Not inlined: inlined, the optimiser called libm's
    /// `round` for every double member before looking at the field's type (1 % of JSON lines).
    @inline(never)
    private static func isWhole(_ number: Double) -> Bool { number.rounded() == number }

    /// Whether `text`, a JSON integer's text, is what `String` writes for the integer it
    /// reads as. The reader refuses leading zeros, so the one other spelling is `-0` (read as 0).
    @inline(__always)
    private static func isPlainInteger(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        !text.isEmpty && !(text.count == 2 && text[0] == UInt8(ascii: "-") && text[1] == UInt8(ascii: "0"))
    }

    /// Writes `number`'s decimal digits into field `index`'s text room.
    private func writeNumberText(_ index: Int, _ number: Int64) -> UnsafeBufferPointer<UInt8> {
        let room = numberTexts + index * Self.numberTextWidth
        var magnitude = number.magnitude
        var end = Self.numberTextWidth
        repeat {
            end -= 1
            room[end] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
        } while magnitude > 0
        if number < 0 { end -= 1; room[end] = UInt8(ascii: "-") }
        return UnsafeBufferPointer(start: room + end, count: Self.numberTextWidth - end)
    }

    /// Writes `text` (at most the room's width: a Double's or a boolean's spelling) into field `index`'s text room.
    private func writeNumberText(_ index: Int, _ text: String) -> UnsafeBufferPointer<UInt8> {
        let room = numberTexts + index * Self.numberTextWidth
        var count = 0
        for byte in text.utf8 where count < Self.numberTextWidth {
            room[count] = byte
            count += 1
        }
        return UnsafeBufferPointer(start: room, count: count)
    }

    /// Field `index`'s kept text (a JSON integer's written out now).
    private func text(of index: Int) -> UnsafeBufferPointer<UInt8> {
        textIsInteger[index] ? writeNumberText(index, integers[index]) : texts[index]
    }

    private func decodeMissing(_ index: Int) -> Rejection? {
        if index == timestampField || (keyFieldIndex.contains(index) && !topology.source.optionalFields.contains(fields[index].name)) {
            return Rejection(stage: "decode", reason: "field \(fields[index].name) is missing (it is the \(index == timestampField ? "timestamp" : "key"))")
        }
        values[index] = .nan
        hasInteger[index] = false
        texts[index] = UnsafeBufferPointer(start: nil, count: 0)
        textIsInteger[index] = false
        return nil
    }

    /// Decodes field `index` from its text; `isValidUTF8` spares a string field the check.
    private func decodeField(_ index: Int, _ bytes: UnsafeBufferPointer<UInt8>, isValidUTF8: Bool = false) -> Rejection? {
        if bytes.isEmpty { return decodeMissing(index) }
        hasInteger[index] = false
        switch types[index] {
        case .int:
            guard let value = ASCIINumber.parseInt(bytes) else { return typeProblem(index, bytes) }
            values[index] = Double(value)
            integers[index] = value
            hasInteger[index] = true
        case .double:
            guard let value = ASCIINumber.parseDouble(bytes) else { return typeProblem(index, bytes) }
            // strtod reads nan and inf: refused, as a missing value is written empty.
            guard value.isFinite else {
                return Rejection(stage: "decode", reason: "field \(fields[index].name): '\(String(decoding: bytes.prefix(64), as: UTF8.self))' is not a finite number")
            }
            values[index] = value
        case .bool:
            switch bytes.count {
            case 1 where bytes[0] == UInt8(ascii: "1"): values[index] = 1
            case 1 where bytes[0] == UInt8(ascii: "0"): values[index] = 0
            default:
                let text = String(decoding: bytes, as: UTF8.self).lowercased()
                guard text == "true" || text == "false" else { return typeProblem(index, bytes) }
                values[index] = text == "true" ? 1 : 0
            }
        case .string:
            values[index] = .nan
            // A replacement character would silently change a key or an id.
            if !isValidUTF8, bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil {
                return Rejection(stage: "decode", reason: "field \(fields[index].name): not valid UTF-8")
            }
        }
        if keepsText[index] { texts[index] = bytes }
        textIsInteger[index] = false
        return checkAllowed(index)
    }

    /// Refuses a value outside a categorical field's declared values.
    @inline(__always)
    private func checkAllowed(_ index: Int) -> Rejection? {
        isCategorical[index] ? checkDeclaredValues(index) : nil
    }

    /// Refuses a value outside field `index`'s declared values (rare fields: the text is made here).
    private func checkDeclaredValues(_ index: Int) -> Rejection? {
        if let allowed = allowedTexts[index] {
            let text = String(decoding: text(of: index), as: UTF8.self)
            return allowed.contains(text) ? nil : unknownValue(index, text)
        }
        if let allowed = allowedNumbers[index], !allowed.contains(values[index]) {
            return unknownValue(index, keepsText[index] ? String(decoding: text(of: index), as: UTF8.self) : String(values[index]))
        }
        return nil
    }

    private func unknownValue(_ index: Int, _ text: String) -> Rejection {
        let field = fields[index]
        let declared = (field.allowedValues ?? []).prefix(10).joined(separator: ", ")
        return Rejection(stage: "decode", reason: "field \(field.name): '\(text.prefix(64))' is not one of its declared values (\(declared)\((field.allowedValues?.count ?? 0) > 10 ? ", …" : ""))")
    }

    private func tooManyFields(_ count: Int) -> Rejection {
        Rejection(stage: "decode", reason: "the event has \(count) fields, more than the limit of \(limits.maxFields) (source.limits.max_fields)")
    }

    private func typeProblem(_ index: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Rejection {
        Rejection(stage: "decode", reason: "field \(fields[index].name): expected \(types[index].rawValue), found '\(String(decoding: bytes.prefix(64), as: UTF8.self))'")
    }

    private func finish(provenance: Provenance, into batch: inout EventBatch) -> Rejection? {
        let format = timestampFormat
        let time: Int64?
        let fieldType = types[timestampField]
        if fieldType.isNumeric && fieldType != .bool, format != .datetime, !values[timestampField].isNaN {
            let raw = values[timestampField]
            time = format == .epochMillis ? Int64(raw.rounded()) : Int64((raw * 1000).rounded())
        } else {
            time = TimestampParser.parse(text(of: timestampField), format: format, lastDate: lastDate)
        }
        guard let time else {
            return Rejection(stage: "decode", reason: "field \(topology.source.timestamp.field): '\(String(decoding: text(of: timestampField), as: UTF8.self))' is not a \(format.rawValue) timestamp")
        }
        if let problem = checkTime(time) { return problem }
        batch.appendDecoded(time: time, row: UnsafeBufferPointer(start: values, count: layout.width), provenance: provenance)
        keyFieldIndex.withUnsafeBufferPointer { keyFields in
            batch.appendKeys(keyFields.count) { position in
                let index = keyFields[position]
                // An int key is the integer its text spells (exact beyond 2^53, where the row's Double is not).
                if types[index] == .int, !values[index].isNaN,
                   let value = hasInteger[index] ? integers[index] : ASCIINumber.parseInt(text(of: index)) {
                    return .int(value)
                }
                return .string(Self.string(text(of: index)))
            }
        }
        // Ids go into the batch as their bytes: no String per event (see EventBatch).
        for index in idFieldIndex { batch.appendID(text(of: index)) }
        return nil
    }

    /// `String(decoding: bytes, as: UTF8.self)` (ill-formed bytes repaired the same way), made
    /// by copying into the String's own storage: for the short texts of ids and keys this
    /// skips the generic decoding path (1.75M ids of up to 7 digits: 0.041 -> 0.029 s, a
    /// micro-benchmark; StageBench in the commit that made it).
    @inline(__always)
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { room in
            _ = room.initialize(fromContentsOf: bytes)
            return bytes.count
        }
    }
}

extension EventDecoder {
    /// Refuses an event time before `not_before` or further past the wall clock than
    /// `max_ahead`: either would move a partition's stream time by years. The wall clock is
    /// read once every few thousand events (a clock call per event cost a tenth of decoding).
    private func checkTime(_ time: Int64) -> Rejection? {
        let field = topology.source.timestamp.field
        if let earliest = limits.notBefore, time < earliest {
            return Rejection(stage: "decode", reason: "field \(field): \(Self.utc(time)) is before \(Self.utc(earliest)) (source.limits.not_before)")
        }
        eventsSinceWallClock += 1
        if eventsSinceWallClock >= Self.wallClockEvents || time > wallClock {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            wallClock = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
            eventsSinceWallClock = 0
        }
        if time > wallClock, time - wallClock > limits.maxAhead {
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
