import CLZ4

/// Owns a liblz4 frame decompression context and frees it exactly once.
final class LZ4DecompressionContext {
    let pointer: OpaquePointer

    init(name: String) throws {
        var context: OpaquePointer?
        let result = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(result) == 0, let context else {
            throw CodecError.lz4(path: name, detail: String(cString: LZ4F_getErrorName(result)))
        }
        pointer = context
    }

    deinit { LZ4F_freeDecompressionContext(pointer) }
}

/// Decodes LZ4 frames (one or several, concatenated) from another byte source as a stream:
/// only a 256 KiB input buffer is held, never the whole file.
public final class LZ4FrameReader: ByteSource {
    public let name: String
    private let source: any ByteSource
    private var context: LZ4DecompressionContext?
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false
    private var insideFrame = false

    /// Reads LZ4 frames from `source`.
    public init(source: any ByteSource) {
        self.source = source
        name = source.name
        input = .allocate(byteCount: 256 << 10, alignment: 16)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let destination = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if context == nil { context = try LZ4DecompressionContext(name: name) }
        let context = context!
        while true {
            if inputStart == inputEnd {
                if sourceEnded {
                    if insideFrame { throw CodecError.truncated(path: name, detail: "the file ends inside an LZ4 frame") }
                    return 0
                }
                inputStart = 0
                inputEnd = try source.read(into: input)
                if inputEnd == 0 { sourceEnded = true }
                continue
            }
            var produced = buffer.count
            var consumed = inputEnd - inputStart
            let hint = LZ4F_decompress(context.pointer, destination, &produced, input.baseAddress! + inputStart, &consumed, nil)
            if LZ4F_isError(hint) != 0 {
                throw CodecError.lz4(path: name, detail: String(cString: LZ4F_getErrorName(hint)))
            }
            inputStart += consumed
            insideFrame = hint != 0
            if produced > 0 { return produced }
        }
    }

    deinit { input.deallocate() }
}
