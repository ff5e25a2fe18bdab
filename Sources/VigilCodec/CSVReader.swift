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
    private var fieldStarts: [Int] = []
    private var fieldEnds: [Int] = []
    private var quotedFields: [Int] = []
    private var nextLine = 1

    /// The 1-based line on which the current record starts.
    public private(set) var lineNumber = 0
    /// How many fields the current record has.
    public var fieldCount: Int { fieldStarts.count }

    /// Reads CSV from `source`, splitting fields on `delimiter` (`,` by default; SKAB uses `;`).
    public init(source: any ByteSource, delimiter: UInt8 = UInt8(ascii: ","), bufferSize: Int = 1 << 20) {
        self.source = source
        self.delimiter = delimiter
        name = source.name
        buffer = .allocate(byteCount: max(bufferSize, 64), alignment: 16)
        fieldStarts.reserveCapacity(64)
        fieldEnds.reserveCapacity(64)
    }

    deinit { buffer.deallocate() }

    /// Moves to the next record, skipping empty lines; false at the end of the input.
    ///
    /// Throws ``CodecError/csv(path:line:detail:)`` for a quote still open at the end of the input.
    public func next() throws -> Bool {
        while true {
            if let recordEnd = try splitRecord() {
                let isEmptyLine = fieldStarts.count == 1 && fieldStarts[0] == fieldEnds[0] && quotedFields.isEmpty
                unquoteFields()
                start = recordEnd
                if isEmptyLine { continue }
                return true
            }
            return false
        }
    }

    /// Splits the record at `start` into fields; returns the offset just past it, or nil at the end.
    private func splitRecord() throws -> Int? {
        while true {
            if start == end {
                if sourceEnded { return nil }
                try refill()
                continue
            }
            fieldStarts.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            quotedFields.removeAll(keepingCapacity: true)
            let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var index = start
            var fieldStart = start
            var newlines = 0
            var complete = false
            var recordEnd = end
            scan: while index < end {
                if bytes[index] == UInt8(ascii: "\"") && index == fieldStart {
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
                    quotedFields.append(fieldStarts.count)
                    index = cursor + 1
                    continue
                }
                let byte = bytes[index]
                if byte == delimiter {
                    fieldStarts.append(fieldStart)
                    fieldEnds.append(index)
                    index += 1
                    fieldStart = index
                } else if byte == UInt8(ascii: "\n") {
                    var fieldEnd = index
                    if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                    fieldStarts.append(fieldStart)
                    fieldEnds.append(fieldEnd)
                    recordEnd = index + 1
                    complete = true
                    break scan
                } else {
                    index += 1
                }
            }
            if !complete && sourceEnded && index >= end {
                var fieldEnd = end
                if fieldEnd > fieldStart, bytes[fieldEnd - 1] == UInt8(ascii: "\r") { fieldEnd -= 1 }
                fieldStarts.append(fieldStart)
                fieldEnds.append(fieldEnd)
                recordEnd = end
                complete = true
            }
            if complete {
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
        guard !quotedFields.isEmpty else { return }
        let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for field in quotedFields {
            var read = fieldStarts[field] + 1
            var write = read
            let stop = fieldEnds[field]
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
            fieldStarts[field] += 1
            fieldEnds[field] = write
        }
    }

    /// Calls `body` with the bytes of field `index` (0-based) of the current record.
    @inlinable
    public func withField<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(fieldBytes(index))
    }

    /// The bytes of field `index`; valid until the next call to ``next()``.
    public func fieldBytes(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        precondition(index < fieldStarts.count, "CSV field \(index) out of range (\(fieldStarts.count) fields)")
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return UnsafeBufferPointer(start: base + fieldStarts[index], count: fieldEnds[index] - fieldStarts[index])
    }

    /// Field `index` as a String.
    public func string(_ index: Int) -> String { String(decoding: fieldBytes(index), as: UTF8.self) }

    /// Field `index` as a Double, or nil if it is not a number.
    public func double(_ index: Int) -> Double? { ASCIINumber.parseDouble(fieldBytes(index)) }

    /// Field `index` as an integer, or nil if it is not one.
    public func int(_ index: Int) -> Int64? { ASCIINumber.parseInt(fieldBytes(index)) }

    /// All fields of the current record as Strings (for headers).
    public func strings() -> [String] { (0..<fieldCount).map(string) }
}
