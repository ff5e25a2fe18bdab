/// A streaming CSV reader: RFC 4180 quoting (quoted delimiters, newlines and doubled quotes),
/// `\n` or `\r\n` line ends, the line number of every record, and fields read as bytes, strings
/// or numbers without copying.
///
/// The reader holds one buffer (1 MiB by default, grown only for a longer record). A record's
/// fields are valid until the next call to ``next()``.
///
/// ```swift
/// let reader = CSVReader(source: try EncodedFile.openForReading("events.csv.lz4"))
/// while try reader.next() { let amount = reader.double(4) }
/// ```
public final class CSVReader {
    /// The source's name, for error messages.
    public let name: String
    private let source: any ByteSource
    private let delimiter: UInt8
    /// The reader's state, behind a pointer it owns: as the class's own stored properties, each
    /// read and write per record paid a dynamic exclusivity check (`swift_beginAccess`, 5 % of
    /// StageBench's CSV rows), as the line reader's had.
    private let state: UnsafeMutablePointer<State>
    /// Which fields of the current record were quoted (rare: only touched when one was).
    private var quotedFields: [Int] = []

    private struct State {
        var buffer: UnsafeMutableRawBufferPointer
        /// The unread bytes are `buffer[start..<end]`.
        var start = 0
        var end = 0
        var sourceEnded = false
        /// The current record's fields as (start, end) offsets into `buffer`, two per field.
        var bounds: UnsafeMutablePointer<Int>
        var boundsCapacity = 64
        var boundCount = 0
        /// Whether the current record has quoted fields (listed in `quotedFields`).
        var hasQuotedFields = false
        var nextLine = 1
        var lineNumber = 0
    }

    /// The 1-based line on which the current record starts.
    public var lineNumber: Int { state.pointee.lineNumber }
    /// How many fields the current record has.
    public var fieldCount: Int { state.pointee.boundCount }

    /// Reads CSV from `source`, splitting fields on `delimiter` (`,` by default; SKAB uses `;`).
    public init(source: any ByteSource, delimiter: UInt8 = UInt8(ascii: ","), bufferSize: Int = 1 << 20) {
        self.source = source
        self.delimiter = delimiter
        name = source.name
        state = .allocate(capacity: 1)
        state.initialize(to: State(buffer: .allocate(byteCount: max(bufferSize, 64), alignment: 16), bounds: .allocate(capacity: 2 * 64)))
    }

    deinit {
        state.pointee.buffer.deallocate()
        state.pointee.bounds.deallocate()
        state.deallocate()
    }

    /// The current record's fields; valid until the next call to ``next()``.
    public var record: CSVRecord {
        CSVRecord(base: UnsafePointer(state.pointee.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                  bounds: UnsafePointer(state.pointee.bounds), count: state.pointee.boundCount)
    }

    /// Moves to the next record, skipping empty lines; false at the end of the input.
    ///
    /// Throws ``CodecError/csv(path:line:detail:)`` for a quote still open at the end of the input.
    public func next() throws -> Bool {
        while true {
            if let recordEnd = try splitRecord() {
                let hasQuotedFields = state.pointee.hasQuotedFields
                let isEmptyLine = state.pointee.boundCount == 1 && state.pointee.bounds[0] == state.pointee.bounds[1] && !hasQuotedFields
                if hasQuotedFields { unquoteFields() }
                state.pointee.start = recordEnd
                if isEmptyLine { continue }
                return true
            }
            return false
        }
    }

    /// Room for one more field's bounds.
    private func growBounds() {
        let capacity = state.pointee.boundsCapacity
        let larger = UnsafeMutablePointer<Int>.allocate(capacity: 4 * capacity)
        larger.update(from: state.pointee.bounds, count: 2 * capacity)
        state.pointee.bounds.deallocate()
        state.pointee.bounds = larger
        state.pointee.boundsCapacity = 2 * capacity
    }

    /// `0x80` in each byte of `word` that is zero, `0` in every other byte (exact: no borrow
    /// from one byte into the next, unlike the shorter `(x - 0x01…) & ~x & 0x80…`).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((word & low7) &+ low7) | word | low7)
    }

    /// Splits the record at `start` into fields; returns the offset just past it, or nil at the end.
    ///
    /// The scan keeps its state in locals and writes the fields through a pointer: a class's
    /// arrays and counters written per byte or per field paid an exclusivity check each, which
    /// was a third of decoding's time (perf, bench/README.md "Decoding"). It looks at eight
    /// bytes at a time for the three bytes that matter (the delimiter, the line end, a quote)
    /// and visits only those: byte by byte, the scan was 26-32 % of decoding the handbook's CSV
    /// (45-byte records of 9 fields; perf of StageBench's CSV rows, bench/README.md).
    private func splitRecord() throws -> Int? {
        while true {
            let start = state.pointee.start
            if start == state.pointee.end {
                if state.pointee.sourceEnded { return nil }
                try refill()
                continue
            }
            if state.pointee.hasQuotedFields {
                quotedFields.removeAll(keepingCapacity: true)
                state.pointee.hasQuotedFields = false
            }
            let bytes = UnsafePointer(state.pointee.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            let end = state.pointee.end
            let sourceEnded = state.pointee.sourceEnded
            let delimiter = self.delimiter
            var bounds = state.pointee.bounds
            var capacity = state.pointee.boundsCapacity
            var count = 0
            var index = start
            var fieldStart = start
            var newlines = 0
            var complete = false
            var recordEnd = end
            @inline(__always) func addField(_ fieldStart: Int, _ fieldEnd: Int) {
                if count == capacity {
                    growBounds()
                    bounds = state.pointee.bounds
                    capacity = state.pointee.boundsCapacity
                }
                bounds[2 * count] = fieldStart
                bounds[2 * count + 1] = fieldEnd
                count += 1
            }
            /// Handles the byte at `at` if it ends a field or the record or opens a quoted field:
            /// returns false when the scan stops (the record is complete, or a quoted field runs
            /// past the bytes read so far), with `index` where the scan goes on otherwise.
            @inline(__always) func visit(_ at: Int) throws -> Bool {
                let byte = bytes[at]
                if byte == delimiter {
                    addField(fieldStart, at)
                    fieldStart = at + 1
                    index = at + 1
                } else if byte == UInt8(ascii: "\n") {
                    var fieldEnd = at
                    if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                    addField(fieldStart, fieldEnd)
                    recordEnd = at + 1
                    complete = true
                    return false
                } else if byte == UInt8(ascii: "\"") && at == fieldStart {
                    // Quoted field: find the closing quote that is not a doubled quote.
                    var cursor = at + 1
                    var closed = false
                    while cursor < end {
                        let byte = bytes[cursor]
                        if byte == UInt8(ascii: "\"") {
                            if cursor + 1 < end, bytes[cursor + 1] == UInt8(ascii: "\"") { cursor += 2; continue }
                            if cursor + 1 == end && !sourceEnded { break }
                            closed = true
                            break
                        }
                        if byte == UInt8(ascii: "\n") { newlines += 1 }
                        cursor += 1
                    }
                    if !closed {
                        if sourceEnded {
                            throw CodecError.csv(path: name, line: state.pointee.nextLine, detail: "a quoted field is still open at the end of the input")
                        }
                        index = end
                        return false
                    }
                    quotedFields.append(count)
                    state.pointee.hasQuotedFields = true
                    index = cursor + 1
                } else {
                    index = at + 1
                }
                return true
            }
            let delimiters = 0x0101_0101_0101_0101 &* UInt64(delimiter)
            let lineEnds: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
            let quotes: UInt64 = 0x2222_2222_2222_2222
            scan: while true {
                // Eight bytes at a time: each byte that may matter is visited in order; after a
                // quoted field the scan goes on from its end.
                while index + 8 <= end {
                    let wordStart = index
                    let word = UInt64(littleEndian: UnsafeRawPointer(bytes + wordStart).loadUnaligned(as: UInt64.self))
                    var found = Self.zeroBytes(word ^ delimiters) | Self.zeroBytes(word ^ lineEnds) | Self.zeroBytes(word ^ quotes)
                    var next = wordStart + 8
                    while found != 0 {
                        let at = wordStart + (found.trailingZeroBitCount >> 3)
                        found &= found &- 1
                        guard try visit(at) else { break scan }
                        // A quoted field was read past `at`: go on from its end.
                        if index > at + 1 { next = index; break }
                    }
                    index = next
                }
                // The last few bytes, one at a time.
                while index < end {
                    guard try visit(index) else { break scan }
                }
                break
            }
            if !complete && sourceEnded && index >= end {
                var fieldEnd = end
                if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                addField(fieldStart, fieldEnd)
                recordEnd = end
                complete = true
            }
            if complete {
                state.pointee.boundCount = count
                state.pointee.lineNumber = state.pointee.nextLine
                state.pointee.nextLine += 1 + newlines
                return recordEnd
            }
            state.pointee.boundCount = count
            try refill()
        }
    }

    /// Keeps the unread tail, grows the buffer when a record fills it, and reads more.
    private func refill() throws {
        let unread = state.pointee.end - state.pointee.start
        var buffer = state.pointee.buffer
        if state.pointee.start > 0 {
            if unread > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + state.pointee.start, byteCount: unread) }
            state.pointee.start = 0
            state.pointee.end = unread
        }
        if state.pointee.end == buffer.count {
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: state.pointee.end)
            buffer.deallocate()
            buffer = larger
            state.pointee.buffer = larger
        }
        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[state.pointee.end...]))
        if count == 0 { state.pointee.sourceEnded = true }
        state.pointee.end += count
    }

    /// Strips the quotes of quoted fields and turns doubled quotes into one, in place.
    private func unquoteFields() {
        let bytes = state.pointee.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let bounds = state.pointee.bounds
        for field in quotedFields {
            var read = bounds[2 * field] + 1
            var write = read
            let stop = bounds[2 * field + 1]
            while read < stop {
                if bytes[read] == UInt8(ascii: "\"") {
                    if read + 1 < stop, bytes[read + 1] == UInt8(ascii: "\"") {
                        bytes[write] = UInt8(ascii: "\""); write += 1; read += 2; continue
                    }
                    read += 1
                    continue
                }
                bytes[write] = bytes[read]
                write += 1
                read += 1
            }
            bounds[2 * field] += 1
            bounds[2 * field + 1] = write
        }
    }

    /// Calls `body` with the bytes of field `index` (0-based) of the current record.
    @inlinable
    public func withField<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(fieldBytes(index))
    }

    /// The bytes of field `index`; valid until the next call to ``next()``.
    public func fieldBytes(_ index: Int) -> UnsafeBufferPointer<UInt8> { record[index] }

    /// Field `index` as a String.
    public func string(_ index: Int) -> String { String(decoding: fieldBytes(index), as: UTF8.self) }

    /// Field `index` as a Double, or nil if it is not a number.
    public func double(_ index: Int) -> Double? { ASCIINumber.parseDouble(fieldBytes(index)) }

    /// Field `index` as an integer, or nil if it is not one.
    public func int(_ index: Int) -> Int64? { ASCIINumber.parseInt(fieldBytes(index)) }

    /// All fields of the current record as Strings (for headers).
    public func strings() -> [String] { (0..<fieldCount).map(string) }
}

/// The fields of the record a ``CSVReader`` is on: a view of the reader's buffer, valid until
/// the reader moves on.
public struct CSVRecord {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let bounds: UnsafePointer<Int>
    /// How many fields the record has.
    public let count: Int

    init(base: UnsafePointer<UInt8>, bounds: UnsafePointer<Int>, count: Int) {
        self.base = base
        self.bounds = bounds
        self.count = count
    }

    /// The bytes of field `index` (0-based).
    @inlinable
    public subscript(index: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(index >= 0 && index < count, "CSV field \(index) out of range (\(count) fields)")
        return UnsafeBufferPointer(start: base + bounds[2 * index], count: bounds[2 * index + 1] - bounds[2 * index])
    }
}
