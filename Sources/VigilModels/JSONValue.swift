/// A parsed JSON document, as model readers need it.
///
/// Foundation's JSONSerialization would do, but its errors do not say where a file is broken and
/// its numbers come back as NSNumber; this parser reports byte offsets, limits nesting so that a
/// garbled file cannot exhaust the stack, and keeps numbers as Double (which round-trips every
/// float32 that XGBoost writes).
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses a complete JSON document.
    static func parse(_ bytes: [UInt8]) throws(ModelFormatError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The value as an exact integer (a number or numeric string without a fraction).
    var integer: Int? {
        number.flatMap { Int(exactly: $0) }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The value as a number; XGBoost writes some numbers as strings ("15") and some flags as booleans.
    var number: Double? {
        switch self {
        case .number(let value): return value
        case .string(let text): return Double(text)
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }
}

extension JSONValue {
    /// `self[key]`, or an error naming `path` when it is absent.
    func require(_ key: String, at path: String) throws(ModelFormatError) -> JSONValue {
        guard let value = self[key] else { throw ModelFormatError("missing \(path).\(key)") }
        return value
    }

    func requireArray(_ key: String, at path: String) throws(ModelFormatError) -> [JSONValue] {
        guard let value = try require(key, at: path).array else { throw ModelFormatError("\(path).\(key) is not an array") }
        return value
    }

    func requireString(_ key: String, at path: String) throws(ModelFormatError) -> String {
        guard let value = try require(key, at: path).string else { throw ModelFormatError("\(path).\(key) is not a string") }
        return value
    }

    func requireNumber(_ key: String, at path: String) throws(ModelFormatError) -> Double {
        guard let value = try require(key, at: path).number else { throw ModelFormatError("\(path).\(key) is not a number") }
        return value
    }

    /// An array of numbers (numbers or numeric strings) under `key`.
    func requireNumbers(_ key: String, at path: String) throws(ModelFormatError) -> [Double] {
        let values = try requireArray(key, at: path)
        var numbers: [Double] = []
        numbers.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let number = value.number else { throw ModelFormatError("\(path).\(key)[\(index)] is not a number") }
            numbers.append(number)
        }
        return numbers
    }

    func requireStrings(_ key: String, at path: String) throws(ModelFormatError) -> [String] {
        let values = try requireArray(key, at: path)
        var strings: [String] = []
        for (index, value) in values.enumerated() {
            guard let string = value.string else { throw ModelFormatError("\(path).\(key)[\(index)] is not a string") }
            strings.append(string)
        }
        return strings
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var position = 0
    var depth = 0
    static let maximumDepth = 256

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws(ModelFormatError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected content after the JSON document") }
        return value
    }

    func error(_ message: String) -> ModelFormatError {
        ModelFormatError("invalid JSON at byte \(position): \(message)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
    }

    mutating func parseValue() throws(ModelFormatError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of file") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(ModelFormatError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of file") }
        let matches = literal.withUTF8Buffer { expected in
            expected.indices.allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw error("unexpected character") }
        position += count
    }

    mutating func enter() throws(ModelFormatError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) levels deep") }
    }

    mutating func parseObject() throws(ModelFormatError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members[key] = try parseValue()
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of file") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(ModelFormatError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of file") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(ModelFormatError) -> Double {
        let start = position
        while position < bytes.count, Self.isNumberByte(bytes[position]) { position += 1 }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            position = start
            throw error("invalid number '\(text.prefix(40))'")
        }
        return value
    }

    static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
             UInt8(ascii: "e"), UInt8(ascii: "E"):
            return true
        default:
            return false
        }
    }

    mutating func parseString() throws(ModelFormatError) -> String {
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar), position + 6 <= bytes.count,
                       bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                        position += 2
                        let low = try parseHex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00 & 0x3FF)
                    }
                    utf8.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                default:
                    throw error("invalid escape in string")
                }
            default:
                utf8.append(byte)
            }
        }
    }

    mutating func parseHex4() throws(ModelFormatError) -> UInt32 {
        guard position + 4 <= bytes.count,
              let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw error("invalid \\u escape") }
        position += 4
        return value
    }
}
