import Foundation
import Testing
import VigilCodec

@Suite struct CodecTests {
    @Test func lz4FrameRoundTripStreamsLargeInput() throws {
        var generator = SplitMix(seed: 9)
        var original: [UInt8] = []
        for _ in 0..<(3 << 20) { original.append(UInt8(generator.next() % 16) + 65) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-frame-\(UUID().uuidString).lz4").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EncodedFile.createForWriting(path)
        for chunk in stride(from: 0, to: original.count, by: 100_003) {
            try writer.write(Array(original[chunk..<min(original.count, chunk + 100_003)]))
        }
        try writer.close()
        let reader = try EncodedFile.openForReading(path)
        var decoded: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 7_777)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { break }
            decoded.append(contentsOf: buffer[0..<count])
        }
        #expect(decoded == original)
    }

    @Test func truncatedFrameIsReported() throws {
        let sink = MemoryByteSink()
        let writer = try LZ4FrameWriter(sink: sink)
        try writer.write(Array(repeating: 7, count: 200_000))
        try writer.close()
        let reader = LZ4FrameReader(source: MemoryByteSource(Array(sink.bytes.dropLast(10)), name: "cut.lz4"))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        #expect(throws: CodecError.self) {
            while try buffer.withUnsafeMutableBytes({ try reader.read(into: $0) }) > 0 {}
        }
    }

    @Test func lz4BlockRoundTrip() throws {
        let bytes = (0..<10_000).map { UInt8($0 % 251) }
        #expect(try LZ4Block.decompress(LZ4Block.compress(bytes)) == bytes)
        #expect(try LZ4Block.decompress(LZ4Block.compress([])) == [])
        #expect(throws: CodecError.self) { try LZ4Block.decompress([1, 2]) }
    }

    @Test func csvReaderHandlesQuotesLineEndsAndLineNumbers() throws {
        let text = "a,b,c\r\n1,\"x, y\",3\n\n2,\"multi\nline\",\"say \"\"hi\"\"\"\n3,,last"
        // A tiny buffer forces records across refills.
        let reader = CSVReader(source: MemoryByteSource(Array(text.utf8)), bufferSize: 8)
        var rows: [(Int, [String])] = []
        while try reader.next() { rows.append((reader.lineNumber, reader.strings())) }
        #expect(rows.map(\.0) == [1, 2, 4, 6])
        #expect(rows.map(\.1) == [["a", "b", "c"], ["1", "x, y", "3"], ["2", "multi\nline", "say \"hi\""], ["3", "", "last"]])
        let open = CSVReader(source: MemoryByteSource(Array("a\n\"never closed\n".utf8)))
        #expect(try open.next())
        #expect(throws: CodecError.self) { _ = try open.next() }
    }

    /// The reader scans eight bytes at a time for delimiters, line ends and quotes: random
    /// records (fields with delimiters, quotes, line breaks, `\r`, non-ASCII text, quotes inside
    /// unquoted fields, empty fields; `\n` and `\r\n` line ends; blank lines), written as RFC
    /// 4180 writes them, read back field for field with their line numbers, whatever the
    /// buffer size, the delimiter, and where a record falls against the eight-byte words.
    @Test func csvReaderReadsRandomRecordsAsTheyWereWritten() throws {
        var generator = SplitMix(seed: 41)
        let pieces = ["a", "bc", "12345", "é", "x\"y", " ", "0.25", "long-field-text-", "∂"]
        for delimiter in [UInt8(ascii: ","), UInt8(ascii: ";")] {
            let separator = String(UnicodeScalar(delimiter))
            let specials = [separator, "\"", "\n", "\r\n", "\"\""]
            var text = ""
            var line = 1
            var expected: [(Int, [String])] = []
            for _ in 0..<3_000 {
                while generator.next() % 10 == 0 { text += generator.next() % 2 == 0 ? "\n" : "\r\n"; line += 1 }
                let fieldCount = 2 + Int(generator.next() % 9)
                var fields: [String] = []
                for _ in 0..<fieldCount {
                    var field = ""
                    for _ in 0..<Int(generator.next() % 4) {
                        field += generator.next() % 6 == 0 ? specials[Int(generator.next() % UInt64(specials.count))]
                                                           : pieces[Int(generator.next() % UInt64(pieces.count))]
                    }
                    fields.append(field)
                }
                let written = fields.map { field in
                    let quoted = field.hasPrefix("\"") || field.contains(separator) || field.contains("\n") || field.contains("\r")
                        || (field.contains("\"") && generator.next() % 2 == 0)
                    return quoted ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
                }
                expected.append((line, fields))
                text += written.joined(separator: separator)
                line += fields.reduce(0) { $0 + $1.filter { $0 == "\n" || $0 == "\r\n" }.count }
                text += generator.next() % 3 == 0 ? "\r\n" : "\n"
                line += 1
            }
            for bufferSize in [64, 100, 4096, 1 << 20] {
                // Offsets 0-7: the records fall differently against the eight-byte words.
                for shift in [0, 3] {
                    let reader = CSVReader(source: MemoryByteSource(Array((String(repeating: "\n", count: shift) + text).utf8)),
                                           delimiter: delimiter, bufferSize: bufferSize)
                    var read: [(Int, [String])] = []
                    while try reader.next() { read.append((reader.lineNumber - shift, reader.strings())) }
                    #expect(read.count == expected.count, "buffer \(bufferSize), delimiter \(separator)")
                    for (got, want) in zip(read, expected) where got.0 != want.0 || got.1 != want.1 {
                        Issue.record("buffer \(bufferSize), delimiter \(separator): line \(got.0) \(got.1), expected line \(want.0) \(want.1)")
                        break
                    }
                }
            }
        }
        // A last record without a line end, and one whose quoted field the input never closes.
        let last = CSVReader(source: MemoryByteSource(Array("a,b\n\"x,\"\"y\"\"\",0123456789,z".utf8)))
        #expect(try last.next() && last.next())
        #expect(last.strings() == ["x,\"y\"", "0123456789", "z"] && last.lineNumber == 2)
        #expect(try !last.next())
        let open = CSVReader(source: MemoryByteSource(Array("a,b,c,d,e,f,g,h,i\n1,2,\"never closed, 0123456789\n".utf8)))
        #expect(try open.next())
        #expect(throws: CodecError.self) { _ = try open.next() }
    }

    @Test func numbersParseLikeTheStandardLibrary() {
        for text in ["0", "-0", "57.16", "1e-7", "123456789012345678901234", "0.1", "2.5E3", "  42 ", "-17.000001", "inf", "nan", "9007199254740993"] {
            let parsed = Array(text.utf8).withUnsafeBufferPointer { ASCIINumber.parseDouble($0) }
            let expected = Double(text.trimmingCharacters(in: .whitespaces))
            #expect(parsed?.bitPattern == expected?.bitPattern || (parsed?.isNaN == true && expected?.isNaN == true), "\(text)")
        }
        #expect(Array("abc".utf8).withUnsafeBufferPointer { ASCIINumber.parseDouble($0) } == nil)
        #expect(Array("12x".utf8).withUnsafeBufferPointer { ASCIINumber.parseInt($0) } == nil)
        #expect(Array("3.0".utf8).withUnsafeBufferPointer { ASCIINumber.parseInt($0) } == 3)
    }

    /// JSON numbers read as `Double(String)` reads their text, bit for bit (plain decimals are
    /// read while they are scanned; longer ones and exponents go through ASCIINumber).
    @Test func jsonNumbersReadAsTheStandardLibraryReadsThem() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0.0", "-0.0", "57.16", "0.1", "0.3", "999999999999999.9", "99999999999999.99", "1.000000000000001",
                     "12345678901234.5", "1234567890123456.5", "0.000000000000001", "1e5", "-2.5E-3", "1234567890123456789.5"]
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 1...12, using: &generator)
            let fractionDigits = Int.random(in: 1...8, using: &generator)
            // Without leading zeros, which JSON refuses.
            let digits = String(UInt64.random(in: 0...999_999_999_999, using: &generator)).suffix(integerDigits).drop { $0 == "0" }
            let integer = digits.isEmpty ? "0" : digits
            let fraction = (0..<fractionDigits).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            texts.append((Bool.random(using: &generator) ? "-" : "") + integer + "." + fraction)
        }
        for text in texts {
            let value = try JSONParser.parse(Array(text.utf8))
            guard case let .double(number) = value else {
                Issue.record("\(text): \(value)")
                continue
            }
            #expect(number.bitPattern == Double(text)!.bitPattern, "\(text)")
        }
    }

    @Test func jsonParserReadsObjectsAndReportsColumns() throws {
        let value = try JSONParser.parse(Array(#"{"a": 1, "b": -2.5e1, "c": "x\u00e9\n", "d": [true, null], "e": {"f": 12345678901234}}"#.utf8))
        #expect(value == .object(["a": .int(1), "b": .double(-25), "c": .string("xé\n"), "d": .array([.bool(true), .null]), "e": .object(["f": .int(12345678901234)])]))
        do {
            _ = try JSONParser.parse(Array(#"{"a": 1,, }"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.column == 9)
        }
    }

    /// `numberText` is the text of the number the last value was, and empty after any other
    /// value or a number that did not read (it had kept the number before, or crashed). An
    /// integer spelled with a leading zero (`007`) is refused now (RFC 8259), so `-0` stands for
    /// a spelling String would not write.
    @Test func jsonObjectReaderNumberTextIsTheLastValuesOwn() throws {
        let bytes = Array(#"{"a": -0, "b": "x", "c": -12, "d": 1e}"#.utf8)
        var texts: [String] = []
        var failed = false
        bytes.withUnsafeBufferPointer { buffer in
            let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: buffer.count)
            defer { scratch.deallocate() }
            var reader = JSONObjectReader(bytes: buffer, scratch: scratch)
            guard reader.open() else { return }
            do {
                while try reader.nextName() != nil {
                    defer { texts.append(String(decoding: reader.numberText, as: UTF8.self)) }
                    _ = try reader.value()
                }
            } catch {
                failed = true
            }
        }
        #expect(failed)
        #expect(texts == ["-0", "", "-12", ""])
    }

    /// RFC 8259 spells an integer part as 0 or a digit 1-9 and more digits: `007`, `-01`, `00.5`
    /// and `01e2` are refused by both readers, named at the number's first byte and, by the tree
    /// parser, in the member they are the value of; `0`, `-0`, `0.5` and `10` still read.
    @Test func numbersWithLeadingZerosAreRefused() throws {
        for (text, column, number, member) in [(#"{"amount": 007}"#, 12, "007", "amount"), (#"{"a": -01}"#, 7, "-01", "a"), (#"{"a": 00.5}"#, 7, "00.5", "a"),
                                                (#"{"a": [1, 01e2]}"#, 11, "01e2", "a"), (#"{"a": {"b": 0012}}"#, 13, "0012", "a")] {
            let bytes = Array(text.utf8)
            let detail = "a number with a leading zero (\(number)): JSON allows none"
            let tree = #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
            #expect(tree?.description == "column \(column) (member \(member)): \(detail)", "\(text)")
            let streamed = bytes.withUnsafeBufferPointer { buffer -> JSONParseError? in
                let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: buffer.count)
                defer { scratch.deallocate() }
                var reader = JSONObjectReader(bytes: buffer, scratch: scratch)
                guard reader.open() else { return nil }
                do {
                    while try reader.nextName() != nil {
                        _ = try reader.value()
                        Issue.record("\(text): accepted")
                    }
                } catch let error as JSONParseError {
                    #expect(reader.numberText.isEmpty)
                    return error
                } catch {}
                return nil
            }
            #expect(streamed?.column == column && streamed?.detail == detail, "\(text): \(String(describing: streamed))")
        }
        for text in ["0", "-0", "0.5", "-0.5e3", "10", "100", "0e1", "[0, 0]"] {
            #expect(throws: Never.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
        }
    }

    /// The member-by-member reader accepts and rejects what the tree parser does, with the
    /// same errors, and hands out the same members (the last of a repeated name wins there).
    @Test func jsonObjectReaderAgreesWithTheTreeParser() throws {
        let texts = [
            #"{"a": 1, "b": -2.5e1, "c": "x\u00e9\n", "d": [true, null], "e": {"f": 12345678901234}}"#,
            #"  {"a":1,"a":"again" , "\u0062": false, "long name with spaces": "abcdefghijklmnopqrstuvwxyz0123456789"}  "#,
            #"{"n": -0, "big": 123456789012345678901, "lead": 007, "e": 1E+2, "m": -9223372036854775808, "p": 9223372036854775807}"#,
            #"{"s": "tab\tquote\"slash\\/ \ud83d\ude00 ünïcödé", "z": null, "t": true, "empty": ""}"#,
            "{}", " { } ", "[1, 2]", "\"text\"", "42",
            #"{"a": 1,, }"#, #"{"a": 1"#, #"{"a" 1}"#, #"{"a": tru}"#, #"{"a": 1} x"#, #"{"a": "open}"#,
            #"{"a": "\q"}"#, #"{"a": "\ud800"}"#, #"{"a": [1, }"#, #"{"a": -}"#, #"{"a": 1.}"#, #"{"a": 1e}"#,
            "{\"a\": \"ctl\u{01}\"}", #"{1: 2}"#, "", "   ", #"{"a": {"b": [[[]]]}, "c": 3}"#,
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let tree = Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(bytes) }
            let streamed: Result<[String: JSONValue]?, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
                let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(buffer.count, 1))
                defer { scratch.deallocate() }
                var reader = JSONObjectReader(bytes: buffer, scratch: scratch)
                guard reader.open() else { return .success(nil) }
                var members: [String: JSONValue] = [:]
                do {
                    while let name = try reader.nextName() {
                        let key = String(decoding: name.bytes, as: UTF8.self)
                        switch try reader.value() {
                        case .null: members[key] = .null
                        case let .bool(flag): members[key] = .bool(flag)
                        case let .int(number): members[key] = .int(number)
                        case let .double(number): members[key] = .double(number)
                        case let .string(text, isASCII):
                            #expect(isASCII == text.allSatisfy { $0 < 0x80 }, "\(text)")
                            members[key] = .string(String(decoding: text, as: UTF8.self))
                        case .composite: members[key] = .array([])
                        }
                    }
                } catch let error as JSONParseError {
                    return .failure(error)
                } catch {
                    Issue.record("\(error)")
                }
                return .success(members)
            }
            switch (tree, streamed) {
            case let (.success(.object(object)), .success(members?)):
                let scalars = object.mapValues { value -> JSONValue in
                    if case .array = value { return .array([]) }
                    if case .object = value { return .array([]) }
                    return value
                }
                #expect(scalars == members, "\(text)")
            case (.success, .success(nil)):
                break  // not an object: the decoder asks the tree parser
            case let (.failure(expected), .failure(error)):
                // The tree parser names the member an error is in too (the decoder takes its message).
                #expect(error.column == expected.column && error.detail == expected.detail, "\(text)")
            case (.failure, .success(nil)):
                break  // not an object: the decoder asks the tree parser, which names the error
            default:
                Issue.record("\(text): tree \(tree), streamed \(streamed)")
            }
        }
    }

    /// DecimalText spells every Double as `description` does: random bit patterns over the
    /// whole range, the shapes replay writes (means of cent amounts, shares, sigmoid scores,
    /// counts), and the edges (zeros, powers of two, 2^53, 0.001, subnormals, NaN, infinities).
    @Test func decimalTextSpellsDoublesAsDescriptionDoes() {
        var generator = SplitMix(seed: 77)
        var values: [Double] = [0, -0.0, 1, -1, 0.001, 0.0009999999999999998, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 9_007_199_254_740_992,
                                9_007_199_254_740_991, 9_007_199_254_740_994, 4_503_599_627_370_495.5, 1e15, 1e16, 123456.789,
                                .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                                1e-5, 1e-4, 0.0001, 57.16, 81.51, 0.5, 0.25, 0.125, 1.5, 2.5, 1e22, 1e23]
        for exponent in -20...60 { values.append(Double(sign: .plus, exponent: exponent, significand: 1)); values.append(Double(sign: .plus, exponent: exponent, significand: 1).nextDown) }
        for _ in 0..<1_000_000 { values.append(Double(bitPattern: generator.next())) }
        // Random significands with exponents across the range written without an exponent.
        for _ in 0..<1_000_000 {
            let exponent = Int(generator.next() % 104) - 51
            values.append(Double(sign: generator.next() % 2 == 0 ? .plus : .minus, exponent: exponent,
                                 significand: 1 + Double(generator.next() >> 12) / Double(1 << 52)))
        }
        for _ in 0..<500_000 {
            let count = Double(generator.next() % 60 + 1)
            var sum = 0.0
            for _ in 0..<Int(count) { sum += Double(generator.next() % 100_000) / 100 }
            values.append(sum / count)
            values.append(Double(generator.next() % 30) / count)
            values.append(1 / (1 + exp(-(Double(Int64(bitPattern: generator.next()) % 2_000_000) / 100_000))))
            values.append(Double(generator.next() % 1_000_000) / 1000 * (generator.next() % 2 == 0 ? 1 : -1))
        }
        var mismatches: [String] = []
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: DecimalText.maximumLength)
        defer { buffer.deallocate() }
        for value in values {
            let count = DecimalText.write(value, to: buffer)
            let text = String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self)
            if text != value.description, mismatches.count < 10 { mismatches.append("\(value.description) written as \(text)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func lineReaderNumbersLines() throws {
        let reader = LineReader(source: MemoryByteSource(Array("one\r\ntwo\n\nfour".utf8)), bufferSize: 4)
        var lines: [(Int, String)] = []
        while let line = try reader.next() { lines.append((reader.lineNumber, String(decoding: line, as: UTF8.self))) }
        #expect(lines.map(\.0) == [1, 2, 3, 4])
        #expect(lines.map(\.1) == ["one", "two", "", "four"])
    }

    /// Lines handed out in place must come out the same however the source's reads cut them:
    /// a `\r\n` split between two reads, a line split across many, empty lines, a line longer
    /// than the buffer (which grows), a last line without a line end (with and without `\r`),
    /// a lone `\r` inside a line (kept).
    @Test func lineReaderLinesDoNotDependOnHowReadsCutThem() throws {
        let long = String(repeating: "{\"amount\": 12.5}", count: 30)  // 480 bytes: more than the 64-byte buffer
        let inputs = [
            "one\r\ntwo\n\n\r\nfour\n",
            "a\rb\r\n\(long)\r\n\(long)\nlast",
            "\n\n\(long)\r",
            "no line end",
            "",
        ]
        for input in inputs {
            // The lines by definition, on the bytes (a String takes \r\n as one character): split
            // on \n, one \r before it dropped, no line after a final \n.
            let bytes = Array(input.utf8)
            var pieces = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            if bytes.isEmpty || bytes.last == 0x0A { pieces.removeLast() }
            let expected = pieces.map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
            for readSize in [1, 2, 3, 5, 7, 63, 64, 65, 1000] {
                let reader = LineReader(source: ChunkedByteSource(bytes, readSize: readSize), bufferSize: 64)
                var lines: [String] = []
                var numbers: [Int] = []
                while let line = try reader.next() {
                    lines.append(String(decoding: line, as: UTF8.self))
                    numbers.append(reader.lineNumber)
                }
                #expect(lines == expected, "reads of \(readSize) bytes: \(input.prefix(40).debugDescription)")
                #expect(numbers == expected.indices.map { $0 + 1 })
                #expect(try reader.next() == nil)
            }
        }
    }
}

/// Serves bytes at most `readSize` at a time, so that reads cut lines where a test wants.
private final class ChunkedByteSource: ByteSource {
    let name = "<chunked>"
    private let bytes: [UInt8]
    private let readSize: Int
    private var position = 0

    init(_ bytes: [UInt8], readSize: Int) {
        self.bytes = bytes
        self.readSize = readSize
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, readSize, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: count) }
        position += count
        return count
    }
}
