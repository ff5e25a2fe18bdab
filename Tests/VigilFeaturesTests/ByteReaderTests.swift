import Testing
import VigilCodec

/// `appendDoubles` appends what as many `readDouble` calls would, bit for bit, and refuses a
/// short input without reading any of it.
@Suite struct ByteReaderTests {
    @Test func appendDoublesAppendsWhatReadDoubleReads() throws {
        let values: [Double] = [0, -0.0, 1.5, -3.25e-300, .infinity, -.infinity, .nan, Double(bitPattern: 0x7FF8_0000_0000_1234), .pi, 1e300]
        var writer = ByteWriter(capacity: 128)
        writer.write(UInt8(7))
        for value in values { writer.write(value) }
        writer.write(UInt8(9))

        var one = ByteReader(writer.bytes)
        _ = try one.readUInt8()
        var expected: [Double] = [42]
        for _ in values { expected.append(try one.readDouble()) }

        var bulk = ByteReader(writer.bytes)
        _ = try bulk.readUInt8()
        var read: [Double] = [42]
        try bulk.appendDoubles(values.count, to: &read)
        #expect(read.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(read.dropFirst().map(\.bitPattern) == values.map(\.bitPattern))
        #expect(bulk.offset == one.offset)
        #expect(try bulk.readUInt8() == 9)
        #expect(bulk.isAtEnd)

        // None at all is no read.
        var none = ByteReader(writer.bytes, offset: 1)
        try none.appendDoubles(0, to: &read)
        #expect(none.offset == 1 && read.count == values.count + 1)
    }

    @Test func aShortInputIsRefusedAndNothingIsRead() throws {
        var writer = ByteWriter(capacity: 64)
        for value in [1.0, 2.0, 3.0] { writer.write(value) }
        let bytes = Array(writer.bytes.dropLast())
        var reader = ByteReader(bytes)
        var read: [Double] = []
        #expect(throws: CodecError.self) { try reader.appendDoubles(3, to: &read) }
        #expect(throws: CodecError.self) { try reader.appendDoubles(-1, to: &read) }
        #expect(throws: CodecError.self) { try reader.appendDoubles(Int.max / 4, to: &read) }
        #expect(read.isEmpty && reader.offset == 0)
        try reader.appendDoubles(2, to: &read)
        #expect(read == [1, 2] && reader.offset == 16)
    }
}
