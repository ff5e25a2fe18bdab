import CLZ4

/// Owns a liblz4 frame compression context and frees it exactly once.
final class LZ4CompressionContext {
    let pointer: OpaquePointer

    init(name: String) throws {
        var context: OpaquePointer?
        let result = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(result) == 0, let context else {
            throw CodecError.lz4(path: name, detail: String(cString: LZ4F_getErrorName(result)))
        }
        pointer = context
    }

    deinit { LZ4F_freeCompressionContext(pointer) }
}

/// Encodes a stream as one LZ4 frame into another sink, 64 KiB of input at a time.
///
/// ``close()`` writes the frame's end mark and closes the underlying sink; a writer dropped
/// without closing leaves a truncated frame, which readers report.
public final class LZ4FrameWriter: ByteSink {
    public let name: String
    private let sink: any ByteSink
    private let context: LZ4CompressionContext
    private let output: UnsafeMutableRawBufferPointer
    private var preferences = LZ4F_preferences_t()
    private var pending: [UInt8] = []
    private let chunkSize = 64 << 10
    private var closed = false

    /// Starts a frame on `sink` (writes its header).
    public init(sink: any ByteSink) throws {
        self.sink = sink
        name = sink.name
        context = try LZ4CompressionContext(name: sink.name)
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        let bound = LZ4F_compressBound(chunkSize, &preferences) + 64
        output = .allocate(byteCount: bound, alignment: 16)
        pending.reserveCapacity(chunkSize)
        let header = LZ4F_compressBegin(context.pointer, output.baseAddress, output.count, &preferences)
        try check(header)
        try sink.write(UnsafeRawBufferPointer(rebasing: output[0..<header]))
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let take = min(chunkSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
            if pending.count == chunkSize { try compressPending() }
        }
    }

    public func close() throws {
        guard !closed else { return }
        closed = true
        try compressPending()
        let size = LZ4F_compressEnd(context.pointer, output.baseAddress, output.count, nil)
        try check(size)
        try sink.write(UnsafeRawBufferPointer(rebasing: output[0..<size]))
        try sink.close()
    }

    private func compressPending() throws {
        guard !pending.isEmpty else { return }
        let size = pending.withUnsafeBytes {
            LZ4F_compressUpdate(context.pointer, output.baseAddress, output.count, $0.baseAddress, $0.count, nil)
        }
        try check(size)
        if size > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: output[0..<size])) }
        pending.removeAll(keepingCapacity: true)
    }

    private func check(_ code: Int) throws {
        if LZ4F_isError(code) != 0 {
            throw CodecError.lz4(path: name, detail: String(cString: LZ4F_getErrorName(code)))
        }
    }

    deinit { output.deallocate() }
}
