/// Why a JSON text was rejected, with the 1-based column of the offending byte.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    /// 1-based byte column within the text.
    public var column: Int
    /// What was expected.
    public var detail: String
    /// The name of the outermost object member whose value the error is in, if it is in one
    /// (an event's field); set by the tree parser, ``JSONParser``.
    public var member: String?

    public var description: String { "column \(column)\(member.map { " (member \($0))" } ?? ""): \(detail)" }
}

/// A small strict JSON parser (RFC 8259) over bytes, for one event per line or per record.
public enum JSONParser {
    /// The deepest nesting of objects and arrays ``parse(_:maxDepth:)`` accepts by default.
    public static let defaultMaxDepth = 128

    /// Parses one JSON value filling the whole of `bytes` (surrounding whitespace allowed).
    /// Objects and arrays nested deeper than `maxDepth`, and strings that are not UTF-8, are
    /// errors (RFC 8259 requires UTF-8; a replacement character would silently change a key).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { scratch.deallocate() }
        var parser = JSONCursor(bytes: bytes, scratch: scratch, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0, build: true)
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.error("unexpected characters after the JSON value") }
        return value
    }

    /// Parses one JSON value from `bytes`.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in try parse(buffer, maxDepth: maxDepth) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            fatalError("unreachable: \(error)")
        }
    }
}
