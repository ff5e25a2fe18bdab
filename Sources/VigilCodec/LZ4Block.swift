import CLZ4

/// LZ4 block compression for small self-contained buffers (state snapshots, changelog records).
///
/// A block carries no size of its own, so ``compress(_:)`` prefixes the original length
/// (4 bytes, little-endian) and ``decompress(_:)`` checks it.
public enum LZ4Block {
    /// Compresses `bytes` into a length-prefixed LZ4 block.
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        let length = bytes.withUnsafeBytes { compress($0, into: &output) }
        output.removeLast(output.count - length)
        return output
    }

    /// The same block, written into `output` from its start; returns the block's length.
    /// `output` only grows, so a caller that keeps it compresses without allocating.
    /// `acceleration` above 1 trades ratio for speed (LZ4's `LZ4_compress_fast`); any block
    /// decompresses the same way.
    public static func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], acceleration: Int32 = 1) -> Int {
        precondition(acceleration >= 1, "LZ4 acceleration starts at 1")
        precondition(input.count <= Int(LZ4_MAX_INPUT_SIZE), "LZ4 block input too large")
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        if output.count < 4 + bound { output.append(contentsOf: repeatElement(0, count: 4 + bound - output.count)) }
        let written = output.withUnsafeMutableBytes { out -> Int32 in
            out.storeBytes(of: UInt32(input.count).littleEndian, toByteOffset: 0, as: UInt32.self)
            return LZ4_compress_fast(
                input.baseAddress?.assumingMemoryBound(to: CChar.self),
                (out.baseAddress! + 4).assumingMemoryBound(to: CChar.self),
                Int32(input.count), Int32(bound), acceleration)
        }
        precondition(written > 0 || input.isEmpty, "LZ4_compress_fast failed with a sufficient bound")
        return 4 + Int(written)
    }

    /// Decompresses a block made by ``compress(_:)``; throws if it is malformed.
    public static func decompress(_ block: [UInt8]) throws -> [UInt8] {
        guard block.count >= 4 else { throw CodecError.binary(detail: "LZ4 block shorter than its length prefix") }
        let size = Int(block.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) })
        // LZ4 expands at most about 255:1 (each further length byte adds 255), so a stated size
        // beyond that is corrupt: refuse it before allocating it (a 10-byte record must not
        // make a restore allocate 2 GiB).
        guard size <= Int(LZ4_MAX_INPUT_SIZE), size <= (block.count - 4) * 256 + 64 else {
            throw CodecError.binary(detail: "LZ4 block of \(block.count) bytes claims \(size) bytes, more than LZ4 can expand to")
        }
        var output = [UInt8](repeating: 0, count: size)
        if size == 0 { return output }
        let decoded = output.withUnsafeMutableBytes { out in
            block.withUnsafeBytes { input in
                LZ4_decompress_safe(
                    (input.baseAddress! + 4).assumingMemoryBound(to: CChar.self),
                    out.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(block.count - 4), Int32(size))
            }
        }
        guard Int(decoded) == size else { throw CodecError.binary(detail: "LZ4 block does not decode to its stated \(size) bytes") }
        return output
    }
}
