/// A stream of bytes read in chunks: a plain file, an LZ4 frame, or memory.
///
/// Readers fill a caller's buffer so that nothing is allocated per chunk and no stream is ever
/// held in memory whole.
public protocol ByteSource: AnyObject {
    /// A name for error messages, usually the file's path.
    var name: String { get }

    /// Reads up to `buffer.count` bytes into `buffer`; returns how many, 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A destination for bytes: a plain file or an LZ4 frame.
public protocol ByteSink: AnyObject {
    /// A name for error messages, usually the file's path.
    var name: String { get }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws

    /// Flushes buffered bytes and ends the stream (an LZ4 frame writes its end mark). Idempotent.
    func close() throws
}

extension ByteSink {
    /// Writes the UTF-8 bytes of `string`.
    public func write(_ string: String) throws {
        var copy = string
        try copy.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Opens files for reading and writing, choosing LZ4 framing by the `.lz4` extension.
public enum EncodedFile {
    /// Opens `path` for streaming reads; a name ending in `.lz4` is decoded as LZ4 frames.
    public static func openForReading(_ path: String) throws -> any ByteSource {
        let file = try FileByteReader(path: path)
        return path.hasSuffix(".lz4") ? LZ4FrameReader(source: file) : file
    }

    /// Creates (or truncates) `path` for writing; a name ending in `.lz4` is written as an LZ4 frame.
    public static func createForWriting(_ path: String) throws -> any ByteSink {
        let file = try FileByteWriter(path: path)
        return path.hasSuffix(".lz4") ? try LZ4FrameWriter(sink: file) : file
    }
}
