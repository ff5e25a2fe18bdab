/// A member's value as ``JSONObjectReader`` hands it out: scalars as they are, strings as
/// bytes (unescaped), arrays and objects only validated.
public enum JSONScalar {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// Valid while the reader's text and scratch are; `isASCII` when no byte is 0x80 or above.
    case string(UnsafeBufferPointer<UInt8>, isASCII: Bool)
    /// An array or an object (validated, not built).
    case composite
}

/// Reads the members of one JSON object without building it: no dictionary and no String
/// per member, which is what decoding an event per JSON record needs (the tree that
/// ``JSONParser`` builds cost one dictionary and a String per member and event).
///
/// It accepts and rejects exactly what ``JSONParser`` does, with the same errors (the two
/// share one lexer). Member names and string values are unescaped into `scratch`, which must
/// hold `bytes.count` bytes; everything handed out stays valid until the text or the scratch
/// goes, so a caller may keep members and use them after the last one.
///
/// ```swift
/// var reader = JSONObjectReader(bytes: line, scratch: scratch)
/// guard try reader.open() else { /* not an object */ }
/// while let name = try reader.nextName() { let value = try reader.value() … }
/// ```
///
/// ``nextName(ifItIs:)``, ``value(converting:)`` and ``numberText`` are `@inlinable`: every
/// member of every record goes through them, and inlined into the event decoder (another
/// module) they cost less than called: StageBench, JSON records, 0.488 -> 0.430 s of CPU,
/// and 0.409 s with the number reader inlined into them too.
public struct JSONObjectReader {
    @usableFromInline var cursor: JSONCursor
    @usableFromInline var first = true
    @usableFromInline var ended = false
    @usableFromInline var numberStart = 0
    @usableFromInline var numberEnd = 0

    /// A reader of `bytes`; `scratch` holds at least `bytes.count` bytes.
    public init(bytes: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth) {
        cursor = JSONCursor(bytes: bytes, scratch: scratch, maxDepth: maxDepth)
    }

    /// Moves into the object; false when the text does not start with one (whitespace aside).
    public mutating func open() -> Bool {
        cursor.skipWhitespace()
        guard cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: "{") else { return false }
        cursor.index += 1
        return true
    }

    /// The next member's name (unescaped); nil after the last, once the rest of the text has
    /// been checked to be whitespace. Read its value with ``value(converting:)`` before the
    /// next name.
    public mutating func nextName() throws(JSONParseError) -> (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool)? {
        if ended { return nil }
        if first {
            first = false
            cursor.skipWhitespace()
            if cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: "}") {
                cursor.index += 1
                try finish()
                return nil
            }
        }
        return try cursor.memberName()
    }

    /// Moves past the next member's name and its `:` when the text spells it exactly as
    /// `quoted` (the name in quotes, with no escapes); false, leaving the reader where it was,
    /// otherwise. Then ``value(converting:)`` reads the member's value, as after
    /// ``nextName()``, which this spares the scan of a name a caller saw in the record before
    /// (JSON producers write the same members in the same order record after record).
    @inlinable
    public mutating func nextName(ifItIs quoted: UnsafeBufferPointer<UInt8>) -> Bool {
        if ended { return false }
        var probe = cursor
        probe.skipWhitespace()
        let count = quoted.count
        guard count >= 2, probe.index + count <= probe.bytes.count, let start = probe.bytes.baseAddress.map({ $0 + probe.index }) else { return false }
        var offset = 0
        while offset + 8 <= count {
            if UnsafeRawPointer(start + offset).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(quoted.baseAddress! + offset).loadUnaligned(as: UInt64.self) {
                return false
            }
            offset += 8
        }
        if offset < count && count >= 8 {
            // The rest as the last eight bytes (overlapping the words compared): no loop by the
            // byte (StageBench, JSON records: 0.409 -> 0.399 s of CPU).
            if UnsafeRawPointer(start + count - 8).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(quoted.baseAddress! + count - 8).loadUnaligned(as: UInt64.self) {
                return false
            }
        } else {
            while offset < count {
                if start[offset] != quoted[offset] { return false }
                offset += 1
            }
        }
        probe.index += count
        probe.skipWhitespace()
        guard probe.index < probe.bytes.count, probe.bytes[probe.index] == UInt8(ascii: ":") else { return false }
        probe.index += 1
        probe.skipWhitespace()
        cursor = probe
        first = false
        return true
    }

    /// The value of the member just named, and the `,` or `}` after it. With `converting`
    /// false a number is only checked (and `.null` returned): members nobody reads need no
    /// conversion. Either way the text is accepted or rejected exactly as the tree parser does.
    @inlinable
    public mutating func value(converting: Bool = true) throws(JSONParseError) -> JSONScalar {
        let value: JSONScalar
        // No number's text until one is read whole (a value that is not one, or a number that
        // throws, leaves it empty rather than the one before, or a range that ends before it starts).
        (numberStart, numberEnd) = (cursor.index, cursor.index)
        guard cursor.index < cursor.bytes.count else { throw cursor.error("expected a value, found the end of the text") }
        switch cursor.bytes[cursor.index] {
        case UInt8(ascii: "\""):
            let text = try cursor.string()
            value = .string(text.bytes, isASCII: text.isASCII)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            _ = try cursor.value(depth: 1, build: false)
            value = .composite
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = cursor.index
            value = try cursor.scalarNumber(converting: converting)
            (numberStart, numberEnd) = (start, cursor.index)
        default:
            switch try cursor.value(depth: 1, build: false) {
            case .bool(let flag): value = .bool(flag)
            default: value = .null
            }
        }
        cursor.skipWhitespace()
        guard cursor.index < cursor.bytes.count else { throw cursor.error("expected ',' or '}', found the end of the text") }
        if cursor.bytes[cursor.index] == UInt8(ascii: ",") {
            cursor.index += 1
        } else if cursor.bytes[cursor.index] == UInt8(ascii: "}") {
            cursor.index += 1
            try finish()
        } else {
            throw cursor.error("expected ',' or '}'")
        }
        return value
    }

    /// The text of the number the last ``value(converting:)`` read, as written (`-0` reads as
    /// the integer 0; a leading zero, as in `007`, is refused): a caller that keeps a number's
    /// text need not write it.
    /// Empty when that value was not a number, or did not read.
    @inlinable
    public var numberText: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: cursor.bytes[numberStart..<numberEnd])
    }

    @usableFromInline
    mutating func finish() throws(JSONParseError) {
        ended = true
        cursor.skipWhitespace()
        if cursor.index != cursor.bytes.count { throw cursor.error("unexpected characters after the JSON value") }
    }
}
