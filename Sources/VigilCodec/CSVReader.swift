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
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var sourceEnded = false
    /// The current record's fields as (start, end) offsets into `buffer`, two per field.
    private var bounds: UnsafeMutablePointer<Int>
    private var boundsCapacity = 64
    private var boundCount = 0
    private var quotedFields: [Int] = []
    private var nextLine = 1

    /// The 1-based line on which the current record starts.
    public private(set) var lineNumber = 0
    /// How many fields the current record has.
    public var fieldCount: Int { boundCount }

    /// Reads CSV from `source`, splitting fields on `delimiter` (`,` by default; SKAB uses `;`).
    public init(source: any ByteSource, delimiter: UInt8 = UInt8(ascii: ","), bufferSize: Int = 1 << 20) {
        self.source = source
        self.delimiter = delimiter
        name = source.name
        buffer = .allocate(byteCount: max(bufferSize, 64), alignment: 16)
        bounds = .allocate(capacity: 2 * boundsCapacity)
    }

    deinit {
        buffer.deallocate()
        bounds.deallocate()
    }

    /// The current record's fields; valid until the next call to ``next()``.
    public var record: CSVRecord {
        CSVRecord(base: UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)), bounds: UnsafePointer(bounds), count: boundCount)
    }

    /// Moves to the next record, skipping empty lines; false at the end of the input.
    ///
    /// Throws ``CodecError/csv(path:line:detail:)`` for a quote still open at the end of the input.
    public func next() throws -> Bool {
        while true {
            if let recordEnd = try splitRecord() {
                let isEmptyLine = boundCount == 1 && bounds[0] == bounds[1] && quotedFields.isEmpty
                if !quotedFields.isEmpty { unquoteFields() }
                start = recordEnd
                if isEmptyLine { continue }
                return true
            }
            return false
        }
    }

    /// Room for one more field's bounds.
    private func growBounds() {
        let larger = UnsafeMutablePointer<Int>.allocate(capacity: 4 * boundsCapacity)
        larger.update(from: bounds, count: 2 * boundsCapacity)
        bounds.deallocate()
        bounds = larger
        boundsCapacity *= 2
    }

    /// Splits the record at `start` into fields; returns the offset just past it, or nil at the end.
    ///
    /// The scan keeps its state in locals and writes the fields through a pointer: a class's
    /// arrays and counters written per byte or per field paid an exclusivity check each, which
    /// was a third of decoding's time (perf, bench/README.md "Decoding").
    private func splitRecord() throws -> Int? {
        while true {
            if start == end {
                if sourceEnded { return nil }
                try refill()
                continue
            }
            if !quotedFields.isEmpty { quotedFields.removeAll(keepingCapacity: true) }
            let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let end = self.end
            let delimiter = self.delimiter
            var bounds = self.bounds
            var capacity = boundsCapacity
            var count = 0
            var index = start
            var fieldStart = start
            var newlines = 0
            var complete = false
            var recordEnd = end
            @inline(__always) func addField(_ fieldStart: Int, _ fieldEnd: Int) {
                if count == capacity {
                    self.boundCount = count
                    growBounds()
                    bounds = self.bounds
                    capacity = boundsCapacity
                }
                bounds[2 * count] = fieldStart
                bounds[2 * count + 1] = fieldEnd
                count += 1
            }
            scan: while index < end {
                let byte = bytes[index]
                if byte == delimiter {
                    addField(fieldStart, index)
                    index += 1
                    fieldStart = index
                } else if byte == UInt8(ascii: "\n") {
                    var fieldEnd = index
                    if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                    addField(fieldStart, fieldEnd)
                    recordEnd = index + 1
                    complete = true
                    break scan
                } else if byte == UInt8(ascii: "\"") && index == fieldStart {
                    // Quoted field: find the closing quote that is not a doubled quote.
                    var cursor = index + 1
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
                            throw CodecError.csv(path: name, line: nextLine, detail: "a quoted field is still open at the end of the input")
                        }
                        break scan
                    }
                    quotedFields.append(count)
                    index = cursor + 1
                } else {
                    index += 1
                }
            }
            if !complete && sourceEnded && index >= end {
                var fieldEnd = end
                if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                addField(fieldStart, fieldEnd)
                recordEnd = end
                complete = true
            }
            if complete {
                boundCount = count
                lineNumber = nextLine
                nextLine += 1 + newlines
                return recordEnd
            }
            try refill()
        }
    }

    /// Keeps the unread tail, grows the buffer when a record fills it, and reads more.
    private func refill() throws {
        let unread = end - start
        if start > 0 {
            if unread > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: unread) }
            start = 0
            end = unread
        }
        if end == buffer.count {
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = larger
        }
        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if count == 0 { sourceEnded = true }
        end += count
    }

    /// Strips the quotes of quoted fields and turns doubled quotes into one, in place.
    private func unquoteFields() {
        let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
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
