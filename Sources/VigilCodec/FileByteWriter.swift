#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file through a 1 MiB buffer with POSIX `write`.
public final class FileByteWriter: ByteSink {
    public let name: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20

    /// Creates or truncates `path`.
    public init(path: String) throws {
        name = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor < 0 { throw CodecError.io(path: path, operation: "create", errno: errno) }
        buffer.reserveCapacity(bufferLimit)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit {
            try writeThrough(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Writes the buffered bytes to the file.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeThrough($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        guard descriptor >= 0 else { return }
        try flush()
        if posixClose(descriptor) != 0 { throw CodecError.io(path: name, operation: "close", errno: errno) }
        descriptor = -1
    }

    private func writeThrough(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { throw CodecError.io(path: name, operation: "write (closed)", errno: EBADF) }
        var offset = 0
        while offset < bytes.count {
            let written = posixWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw CodecError.io(path: name, operation: "write", errno: errno)
            }
            offset += written
        }
    }

    deinit {
        if descriptor >= 0 {
            try? flush()
            _ = posixClose(descriptor)
        }
    }
}

/// The C `close`, reachable from inside a type whose own method is called `close`.
private func posixClose(_ descriptor: Int32) -> Int32 { close(descriptor) }

/// The C `write`, reachable from inside a type whose own method is called `write`.
private func posixWrite(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, base, count)
}
