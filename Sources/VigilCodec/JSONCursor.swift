/// The lexer and validator both JSON readers share: ``JSONParser`` builds a ``JSONValue`` tree
/// with it, ``JSONObjectReader`` streams an object's members through it without allocating.
/// One set of rules (RFC 8259, strict) and one set of error messages for both.
///
/// Strings are unescaped into `scratch`, which must hold as many bytes as the text: an
/// unescaped string is never longer than its escaped form, so strings already handed out stay
/// valid while the cursor goes on.
///
/// The few methods of the path every member of a record takes are `@inlinable`, so that
/// ``JSONObjectReader``'s callers in other modules inline them (see its note).
@usableFromInline
struct JSONCursor {
    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    @usableFromInline var index = 0
    @usableFromInline let scratch: UnsafeMutablePointer<UInt8>
    @usableFromInline var scratchEnd = 0
    /// Objects and arrays nested deeper than this are errors.
    @usableFromInline let maxDepth: Int

    init(bytes: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth) {
        self.bytes = bytes
        self.scratch = scratch
        self.maxDepth = maxDepth
    }

    @usableFromInline
    func error(_ detail: String) -> JSONParseError { JSONParseError(column: index + 1, detail: detail) }

    @inlinable @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
    }

    /// One value; a tree when `build`, else only validated (and `.null` returned).
    @usableFromInline
    mutating func value(depth: Int, build: Bool) throws(JSONParseError) -> JSONValue {
        guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        guard index < bytes.count else { throw error("expected a value, found the end of the text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth, build: build)
        case UInt8(ascii: "["): return try array(depth: depth, build: build)
        case UInt8(ascii: "\""):
            let text = try string()
            return build ? .string(String(decoding: text.bytes, as: UTF8.self)) : .null
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("expected \(word)") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw error("expected \(word)") }
        index += count
    }

    mutating func object(depth: Int, build: Bool) throws(JSONParseError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return build ? .object(members) : .null }
        while true {
            let key = try memberName()
            let value: JSONValue
            do throws(JSONParseError) {
                value = try self.value(depth: depth + 1, build: build)
            } catch {
                // Named by the outermost member as it goes up: an event's field.
                var named = error
                named.member = String(decoding: key.bytes, as: UTF8.self)
                throw named
            }
            if build { members[String(decoding: key.bytes, as: UTF8.self)] = value }
            skipWhitespace()
            guard index < bytes.count else { throw error("expected ',' or '}', found the end of the text") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return build ? .object(members) : .null }
            throw error("expected ',' or '}'")
        }
    }

    /// A member's name and the `:` after it, with the whitespace around both.
    mutating func memberName() throws(JSONParseError) -> (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
        let key = try string()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
        index += 1
        skipWhitespace()
        return key
    }

    mutating func array(depth: Int, build: Bool) throws(JSONParseError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return build ? .array(elements) : .null }
        while true {
            skipWhitespace()
            let element = try value(depth: depth + 1, build: build)
            if build { elements.append(element) }
            skipWhitespace()
            guard index < bytes.count else { throw error("expected ',' or ']', found the end of the text") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return build ? .array(elements) : .null }
            throw error("expected ',' or ']'")
        }
    }

    /// The string at the cursor (which is on its opening quote), unescaped: its bytes in the
    /// text when it has no escapes, else in `scratch`; and whether all of them are ASCII.
    /// A string that is not UTF-8 is an error (RFC 8259 requires it; a replacement character
    /// would silently change a key or a value). Only strings with non-ASCII bytes are checked.
    @usableFromInline
    mutating func string() throws(JSONParseError) -> (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) {
        let found = try unvalidatedString()
        // Named at the string's closing quote, as a check while reading it would.
        if !found.isASCII, String(validating: found.bytes, as: UTF8.self) == nil {
            throw JSONParseError(column: index, detail: "a string is not valid UTF-8")
        }
        return found
    }

    private mutating func unvalidatedString() throws(JSONParseError) -> (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) {
        index += 1
        let begin = index
        var high: UInt8 = 0
        // Fast path: no escapes. Eight bytes at a time while they hold no quote, backslash or
        // control character (SWAR: a byte equal to b makes (x ^ b) a zero byte, found by the
        // classic has-zero-byte test; the lowest flagged byte is exact), then byte by byte.
        // Member names and short values are most of an event's bytes: this halved the time
        // JSON-lines decoding spent in strings (bench/README.md, "Decoding").
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var highWord: UInt64 = 0
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self).littleEndian
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let found = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
            if found != 0 {
                let stop = found.trailingZeroBitCount / 8
                if stop > 0 { highWord |= word & (UInt64.max >> (64 - 8 * stop)) }
                index += stop
                break
            }
            highWord |= word
            index += 8
        }
        if highWord & highs != 0 { high = 0x80 }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
            high |= bytes[index]
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return (UnsafeBufferPointer(rebasing: bytes[begin..<(index - 1)]), high < 0x80)
        }
        let start = scratchEnd
        var write = scratch + scratchEnd
        @inline(__always) func append(_ byte: UInt8) {
            write.pointee = byte
            write += 1
            high |= byte
        }
        write.update(from: bytes.baseAddress! + begin, count: index - begin)
        write += index - begin
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                scratchEnd = write - scratch
                return (UnsafeBufferPointer(start: scratch + start, count: scratchEnd - start), high < 0x80)
            }
            if byte < 0x20 { throw error("control character inside a string") }
            if byte != UInt8(ascii: "\\") { append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            switch bytes[index] {
            case UInt8(ascii: "\""): append(0x22)
            case UInt8(ascii: "\\"): append(0x5C)
            case UInt8(ascii: "/"): append(0x2F)
            case UInt8(ascii: "b"): append(0x08)
            case UInt8(ascii: "f"): append(0x0C)
            case UInt8(ascii: "n"): append(0x0A)
            case UInt8(ascii: "r"): append(0x0D)
            case UInt8(ascii: "t"): append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\"), bytes[index + 2] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    index += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                for byte in UTF8.encode(unicode)! { append(byte) }
            default: throw error("invalid escape in a string")
            }
            index += 1
        }
        throw error("string not closed")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 < bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            index += 1
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 0x41 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }

    @usableFromInline static let powersOfTen: [Int64] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    /// How many of the eight bytes at `pointer` are digits before the first that is not, and
    /// the number they spell (SWAR: a byte is a digit when byte - '0' is at most 9, tested in
    /// all eight lanes at once; the digits then combine pairwise by three multiplications).
    @inlinable @inline(__always)
    static func eightDigits(_ pointer: UnsafeRawPointer) -> (count: Int, value: UInt64) {
        let word = pointer.loadUnaligned(as: UInt64.self).littleEndian
        let digits = word &- 0x3030_3030_3030_3030
        // A lane is flagged when its value minus '0' is above 9 or below 0 (the lowest flag is exact).
        let flags = (digits | (digits &+ 0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080
        let count = flags.trailingZeroBitCount / 8
        guard count > 0 else { return (0, 0) }
        // Keep the `count` digits, moved to the top lanes, most significant first in the lowest lane.
        var value = (digits << UInt64(64 - 8 * count)) & 0x0F0F_0F0F_0F0F_0F0F
        value = (value &* 2561) >> 8 & 0x00FF_00FF_00FF_00FF
        value = (value &* 6_553_601) >> 16 & 0x0000_FFFF_0000_FFFF
        value = (value &* 42_949_672_960_001) >> 32
        return (count, value)
    }

    /// The error for a number whose integer part starts with a zero and goes on, named at its
    /// first byte, with its text.
    @usableFromInline
    mutating func leadingZero(from begin: Int) -> JSONParseError {
        var end = begin + 1
        while end < bytes.count, end - begin < 32, bytes[end] &- 0x30 < 10 || bytes[end] == UInt8(ascii: ".") || bytes[end] | 0x20 == UInt8(ascii: "e") { end += 1 }
        index = begin
        return error("a number with a leading zero (\(String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<end]), as: UTF8.self))): JSON allows none")
    }

    /// A number as the tree holds it (see ``scalarNumber(converting:)``).
    mutating func number() throws(JSONParseError) -> JSONValue {
        switch try scalarNumber() {
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        default: return .null
        }
    }

    /// A number: `.int` when written without a fraction or exponent and within Int64, else
    /// `.double`. Without `converting`, only checked (`.null`), unless so long that converting
    /// is what could reject it. (A ``JSONScalar`` rather than a ``JSONValue``: returning the
    /// tree's enum, which holds Strings, arrays and dictionaries, cost copies and releases.)
    @inlinable @inline(__always)
    mutating func scalarNumber(converting: Bool = true) throws(JSONParseError) -> JSONScalar {
        let begin = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { index += 1; negative = true }
        guard index < bytes.count, bytes[index] &- 0x30 < 10 else { throw error("expected digits") }
        // Integers of up to 18 digits are read while they are scanned (they cannot overflow),
        // up to 8 digits at a time.
        let digitsStart = index
        var magnitude: Int64 = 0
        while index + 8 <= bytes.count {
            let (count, value) = Self.eightDigits(UnsafeRawPointer(bytes.baseAddress! + index))
            if converting { magnitude = magnitude &* Self.powersOfTen[count] &+ Int64(value) }
            index += count
            if count < 8 { break }
        }
        while index < bytes.count, bytes[index] &- 0x30 < 10 {
            magnitude = magnitude &* 10 &+ Int64(bytes[index] &- 0x30)
            index += 1
        }
        let digitCount = index - digitsStart
        // RFC 8259: an integer part is 0 or starts with 1-9 (007, -01 and 00.5 are not numbers).
        if digitCount > 1, bytes[digitsStart] == UInt8(ascii: "0") { throw leadingZero(from: begin) }
        var fractionDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, bytes[index] &- 0x30 < 10 else { throw error("expected digits after '.'") }
            // The fraction's digits go on the integer's (wrapping: used only when at most 15 in all).
            let fractionStart = index
            while index < bytes.count, bytes[index] &- 0x30 < 10 {
                magnitude = magnitude &* 10 &+ Int64(bytes[index] &- 0x30)
                index += 1
            }
            fractionDigits = index - fractionStart
        }
        var exponent = false
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            exponent = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, bytes[index] &- 0x30 < 10 else { throw error("expected exponent digits") }
            while index < bytes.count, bytes[index] &- 0x30 < 10 { index += 1 }
        }
        let integral = fractionDigits == 0 && !exponent
        if integral && digitCount <= 18 { return converting ? .int(negative ? -magnitude : magnitude) : .null }
        // A plain decimal of at most 15 digits: what ASCIINumber.parseDouble's first path computes
        // from the same digits, without reading them again (it was 5 % of decoding JSON records).
        if !exponent && digitCount + fractionDigits <= 15 {
            return converting ? .double(ASCIINumber.plainDecimal(UInt64(magnitude), fractionDigits: fractionDigits, negative: negative)) : .null
        }
        // ASCIINumber.parseDouble fails only past 511 characters (beyond its exact fast path).
        if !converting && index - begin < 512 { return .null }
        let text = UnsafeBufferPointer(rebasing: bytes[begin..<index])
        if integral, let value = ASCIINumber.parseInt(text) { return .int(value) }
        guard let value = ASCIINumber.parseDouble(text) else { throw error("number out of range") }
        return .double(value)
    }
}
