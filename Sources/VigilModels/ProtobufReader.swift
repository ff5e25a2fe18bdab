/// A minimal reader of the protocol buffers wire format, enough to walk an ONNX model.
///
/// It yields the fields of one message; nested messages are read by starting a new reader on
/// a field's bytes. Every length is checked against the buffer, so a truncated or garbled
/// file ends in an error rather than a crash.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    let bytes: ArraySlice<UInt8>
    var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }

    /// The next field's number and value, or nil at the end of the message.
    mutating func next() throws(ModelFormatError) -> (field: Int, value: Value)? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0 else { throw ModelFormatError("invalid protobuf field number at byte \(position)") }
        switch key & 7 {
        case 0:
            return (field, .varint(try readVarint()))
        case 1:
            return (field, .fixed64(try readFixed(8)))
        case 2:
            let length = try readVarint()
            guard length <= UInt64(bytes.endIndex - position) else {
                throw ModelFormatError("protobuf field \(field) is longer than the file (truncated?)")
            }
            let start = position
            position += Int(length)
            return (field, .bytes(bytes[start..<position]))
        case 5:
            return (field, .fixed32(UInt32(truncatingIfNeeded: try readFixed(4))))
        default:
            throw ModelFormatError("unsupported protobuf wire type \(key & 7) at byte \(position)")
        }
    }

    mutating func readVarint() throws(ModelFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else { throw ModelFormatError("protobuf varint runs past the end (truncated?)") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw ModelFormatError("protobuf varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func readFixed(_ size: Int) throws(ModelFormatError) -> UInt64 {
        guard bytes.endIndex - position >= size else { throw ModelFormatError("protobuf fixed field runs past the end (truncated?)") }
        var result: UInt64 = 0
        for index in 0..<size { result |= UInt64(bytes[position + index]) << (8 * UInt64(index)) }
        position += size
        return result
    }
}

extension ProtobufReader.Value {
    var string: String? {
        if case .bytes(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var integer: Int64? {
        if case .varint(let value) = self { return Int64(bitPattern: value) }
        return nil
    }

    /// Floats of a repeated float field: packed (bytes) or one fixed32.
    func floats() throws(ModelFormatError) -> [Float] {
        switch self {
        case .fixed32(let bits): return [Float(bitPattern: bits)]
        case .bytes(let bytes):
            guard bytes.count % 4 == 0 else { throw ModelFormatError("packed float field of \(bytes.count) bytes") }
            return stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map { start in
                var bits: UInt32 = 0
                for index in 0..<4 { bits |= UInt32(bytes[start + index]) << (8 * UInt32(index)) }
                return Float(bitPattern: bits)
            }
        default: throw ModelFormatError("expected a float field")
        }
    }

    /// Doubles of a repeated double field: packed (bytes) or one fixed64.
    func doubles() throws(ModelFormatError) -> [Double] {
        switch self {
        case .fixed64(let bits): return [Double(bitPattern: bits)]
        case .bytes(let bytes):
            guard bytes.count % 8 == 0 else { throw ModelFormatError("packed double field of \(bytes.count) bytes") }
            return stride(from: bytes.startIndex, to: bytes.endIndex, by: 8).map { start in
                var bits: UInt64 = 0
                for index in 0..<8 { bits |= UInt64(bytes[start + index]) << (8 * UInt64(index)) }
                return Double(bitPattern: bits)
            }
        default: throw ModelFormatError("expected a double field")
        }
    }

    /// Integers of a repeated int64 field: packed (bytes) or one varint.
    func integers() throws(ModelFormatError) -> [Int64] {
        switch self {
        case .varint(let value): return [Int64(bitPattern: value)]
        case .bytes(let bytes):
            var reader = ProtobufReader(bytes)
            var values: [Int64] = []
            while !reader.isAtEnd { values.append(Int64(bitPattern: try reader.readVarint())) }
            return values
        default: throw ModelFormatError("expected an integer field")
        }
    }
}
