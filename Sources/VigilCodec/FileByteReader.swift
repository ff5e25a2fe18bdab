#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file's bytes with POSIX `read`; the descriptor is closed when the reader goes away.
public final class FileByteReader: ByteSource {
    public let name: String
    private let descriptor: Int32

    /// Opens `path`; throws ``CodecError/io(path:operation:errno:)`` if it cannot.
    public init(path: String) throws {
        name = path
        descriptor = open(path, O_RDONLY)
        if descriptor < 0 { throw CodecError.io(path: path, operation: "open", errno: errno) }
    }

    /// The file's size in bytes, for progress reporting; nil when unknown.
    public var size: Int? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : nil
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = posixRead(descriptor, base, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw CodecError.io(path: name, operation: "read", errno: errno)
        }
    }

    deinit { close(descriptor) }
}

/// The C `read`, reachable from inside a type whose own method is called `read`.
private func posixRead(_ descriptor: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, base, count)
}
