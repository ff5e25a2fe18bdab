#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a byte stream line by line (`\n` or `\r\n`), with line numbers; used for JSON lines.
///
/// A line is handed out in place, as bytes of the reader's buffer (1 MiB by default, grown only
/// for a longer line): nothing is copied or allocated per line. A last line without a line end
/// is a line; an empty line is an empty line (callers skip blank ones). A line's bytes are
/// valid until the next call to ``next()``.
public final class LineReader {
    /// The source's name, for error messages.
    public let name: String
    private let source: any ByteSource
    /// The buffer and the read position, behind a pointer the reader owns: as the class's own
    /// stored properties, each read and write in ``next()`` paid a dynamic exclusivity check
    /// (`swift_beginAccess`, 1.2-1.6 % of StageBench's JSON lines), as the CSV reader's had.
    private let state: UnsafeMutablePointer<State>

    private struct State {
        var buffer: UnsafeMutableRawBufferPointer
        /// The unread bytes are `buffer[start..<end]`.
        var start = 0
        var end = 0
        var sourceEnded = false
        var lineNumber = 0
    }

    /// The 1-based number of the line last returned.
    public var lineNumber: Int { state.pointee.lineNumber }

    /// Reads lines from `source`, `bufferSize` bytes at a time (at least 64).
    public init(source: any ByteSource, bufferSize: Int = 1 << 20) {
        self.source = source
        name = source.name
        state = .allocate(capacity: 1)
        state.initialize(to: State(buffer: .allocate(byteCount: max(bufferSize, 64), alignment: 16)))
    }

    deinit {
        state.pointee.buffer.deallocate()
        state.deallocate()
    }

    /// The next line without its line end, or nil at the end of the input.
    public func next() throws -> UnsafeBufferPointer<UInt8>? {
        var scanned = state.pointee.start
        while true {
            let bytes = UnsafePointer(state.pointee.buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            let end = state.pointee.end
            // memchr: the generic firstIndex(of:) went a byte at a time (a tenth of JSON-lines decoding).
            if scanned < end, let found = memchr(bytes + scanned, 0x0A, end - scanned) {
                let stop = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - bytes
                return takeLine(bytes, upTo: stop, resumingAt: stop + 1)
            }
            if state.pointee.sourceEnded {
                guard state.pointee.start < end else { return nil }
                return takeLine(bytes, upTo: end, resumingAt: end)
            }
            scanned = try refill()
        }
    }

    /// The line from the read position to `stop` (a `\r` before `stop` dropped); reading goes
    /// on at `resume`.
    @inline(__always)
    private func takeLine(_ bytes: UnsafePointer<UInt8>, upTo stop: Int, resumingAt resume: Int) -> UnsafeBufferPointer<UInt8> {
        let first = state.pointee.start
        var lineEnd = stop
        if lineEnd > first, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        state.pointee.start = resume
        state.pointee.lineNumber += 1
        return UnsafeBufferPointer(start: bytes + first, count: lineEnd - first)
    }

    /// Moves the unread bytes to the front, grows the buffer when one line fills it, and reads
    /// more; returns where the search for a line end goes on (the bytes before were searched).
    private func refill() throws -> Int {
        var buffer = state.pointee.buffer
        let unread = state.pointee.end - state.pointee.start
        if state.pointee.start > 0 {
            if unread > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + state.pointee.start, byteCount: unread) }
            state.pointee.start = 0
            state.pointee.end = unread
        }
        if unread == buffer.count {
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: unread)
            buffer.deallocate()
            buffer = larger
            state.pointee.buffer = larger
        }
        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[unread...]))
        if count == 0 { state.pointee.sourceEnded = true }
        state.pointee.end = unread + count
        return unread
    }
}
