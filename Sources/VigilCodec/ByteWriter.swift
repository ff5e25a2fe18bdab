/// Appends little-endian binary values to a byte array (snapshots, serialised events).
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    /// Writes the bit pattern, so NaN payloads and signed zeros round-trip exactly.
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    /// Writes a variable-length unsigned integer (LEB128).
    public mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 { bytes.append(UInt8(rest & 0x7F) | 0x80); rest >>= 7 }
        bytes.append(UInt8(rest))
    }
    /// Writes a length-prefixed UTF-8 string.
    public mutating func write(_ value: String) {
        writeVarint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }
    /// Writes UTF-8 text as ``write(_:)-(String)`` writes a String holding it (its length, then the bytes).
    public mutating func write(utf8 text: UnsafeBufferPointer<UInt8>) {
        writeVarint(UInt64(text.count))
        bytes.append(contentsOf: text)
    }
    /// Writes `count` 8-byte values from `start` as ``write(_:)-(UInt64)`` would, one after the
    /// other, but in one copy (snapshots write whole ring buffers).
    public mutating func write<Word: FixedWidthInteger>(contentsOf start: UnsafePointer<Word>, count: Int) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: start, count: count * MemoryLayout<Word>.stride))
        #else
        for index in 0..<count { withUnsafeBytes(of: start[index].littleEndian) { bytes.append(contentsOf: $0) } }
        #endif
    }
    /// Writes the bit patterns of `values` as ``write(_:)-(Double)`` would, in one copy.
    public mutating func write(contentsOf values: UnsafeBufferPointer<Double>) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        for value in values { write(value) }
        #endif
    }
    /// Appends what `body` writes at the start of the `capacity` bytes it is lent; `body`
    /// returns how many it wrote. For encoders that write many small values without a bounds
    /// check per byte: `body` must not write past `capacity` (nothing checks each store).
    public mutating func append(capacity: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 8) { scratch in
            let written = body(scratch)
            precondition(written >= 0 && written <= capacity, "wrote beyond the lent capacity")
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<written]))
        }
    }
    /// Forgets what was written, keeping the storage (a writer reused record after record).
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
    /// Replaces the 8 bytes at `offset`, already written, with `value`.
    public mutating func overwrite(_ value: UInt64, at offset: Int) {
        precondition(offset >= 0 && offset + 8 <= bytes.count, "overwrite beyond what was written")
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    }
    /// Writes a length-prefixed byte array.
    public mutating func write(bytes value: [UInt8]) {
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}

/// Reads what ``ByteWriter`` wrote; every read checks bounds and throws ``CodecError/binary(detail:)``.
public struct ByteReader {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var offset: Int

    /// Reads `bytes` from `offset`.
    public init(_ bytes: [UInt8], offset: Int = 0) {
        precondition(offset >= 0 && offset <= bytes.count, "a reader's offset must lie within its bytes")
        self.bytes = bytes
        self.offset = offset
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws -> Int {
        guard count >= 0, offset + count <= bytes.count else {
            throw CodecError.binary(detail: "needs \(count) bytes at offset \(offset), has \(bytes.count - offset)")
        }
        defer { offset += count }
        return offset
    }

    public mutating func readUInt8() throws -> UInt8 { bytes[try take(1)] }
    public mutating func readUInt32() throws -> UInt32 {
        let at = try take(4)
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }
    public mutating func readUInt64() throws -> UInt64 {
        let at = try take(8)
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }
    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readDouble() throws -> Double { Double(bitPattern: try readUInt64()) }
    /// Reads `count` doubles and appends them to `values`: what `count` calls of
    /// ``readDouble()`` would append, with one append for all of them (a repartitioned event's
    /// row, ``EventBatch``'s `appendEncoded`). On a throw nothing is read or appended.
    public mutating func appendDoubles(_ count: Int, to values: inout [Double]) throws {
        // Checked before `take`, so that `count * 8` cannot overflow.
        guard count >= 0, count <= (bytes.count - offset) / 8 else {
            throw CodecError.binary(detail: "needs \(count) doubles at offset \(offset), has \(bytes.count - offset) bytes")
        }
        let at = try take(count * 8)
        bytes.withUnsafeBytes { raw in
            values.append(contentsOf: (0..<count).lazy.map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 8 * $0, as: UInt64.self))) })
        }
    }
    public mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            guard shift < 64 else { throw CodecError.binary(detail: "varint longer than 64 bits at offset \(offset)") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
    /// Reads a count written with ``ByteWriter/writeVarint(_:)``, bounded by `limit`.
    public mutating func readCount(limit: Int = 1 << 30) throws -> Int {
        let value = try readVarint()
        guard value <= UInt64(limit) else { throw CodecError.binary(detail: "count \(value) exceeds \(limit) at offset \(offset)") }
        return Int(value)
    }
    public mutating func readString() throws -> String {
        let count = try readCount(limit: bytes.count)
        let at = try take(count)
        return String(decoding: bytes[at..<(at + count)], as: UTF8.self)
    }
    public mutating func readBytes() throws -> [UInt8] {
        let count = try readCount(limit: bytes.count)
        let at = try take(count)
        return Array(bytes[at..<(at + count)])
    }
}
