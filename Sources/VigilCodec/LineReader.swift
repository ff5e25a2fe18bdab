#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a byte stream line by line (`\n` or `\r\n`), with line numbers; used for JSON lines.
///
/// A line's bytes are valid until the next call to ``next()``.
public final class LineReader {
    /// The source's name, for error messages.
    public let name: String
    private let source: any ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var sourceEnded = false

    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0

    /// Reads lines from `source`.
    public init(source: any ByteSource, bufferSize: Int = 1 << 20) {
        self.source = source
        name = source.name
        buffer = .allocate(byteCount: max(bufferSize, 64), alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next line without its line end, or nil at the end of the input.
    public func next() throws -> UnsafeBufferPointer<UInt8>? {
        let bytes = { self.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) }
        var scanned = start
        while true {
            // memchr: the generic firstIndex(of:) went a byte at a time (a tenth of JSON-lines decoding).
            if scanned < end, let found = memchr(buffer.baseAddress! + scanned, 0x0A, end - scanned) {
                let stop = UnsafeRawPointer(found) - UnsafeRawPointer(buffer.baseAddress!)
                var lineEnd = stop
                if lineEnd > start, bytes()[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeBufferPointer(start: bytes() + start, count: lineEnd - start)
                start = stop + 1
                lineNumber += 1
                return line
            }
            if sourceEnded {
                guard start < end else { return nil }
                var lineEnd = end
                if bytes()[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeBufferPointer(start: bytes() + start, count: lineEnd - start)
                start = end
                lineNumber += 1
                return line
            }
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
            scanned = end
            let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if count == 0 { sourceEnded = true }
            end += count
        }
    }
}
