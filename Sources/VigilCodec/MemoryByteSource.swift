/// Bytes already in memory as a ``ByteSource`` (tests, Kafka record values).
public final class MemoryByteSource: ByteSource {
    public let name: String
    private let bytes: [UInt8]
    private var position = 0

    /// Serves `bytes`; `name` appears in error messages.
    public init(_ bytes: [UInt8], name: String = "<memory>") {
        self.bytes = bytes
        self.name = name
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}

/// A ``ByteSink`` that keeps what is written in memory.
public final class MemoryByteSink: ByteSink {
    public let name: String
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []
    /// Whether ``close()`` has been called.
    public private(set) var isClosed = false

    /// An empty sink; `name` appears in error messages.
    public init(name: String = "<memory>") { self.name = name }

    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }

    public func close() throws { isClosed = true }
}
