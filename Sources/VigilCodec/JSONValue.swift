/// A parsed JSON value. Integers written without a fraction or exponent stay exact as `.int`.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as a Double when it is a number (or a numeric string), else nil.
    public var doubleValue: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value): return value
        case let .bool(value): return value ? 1 : 0
        case let .string(text): return Double(text)
        default: return nil
        }
    }

    /// The value as an integer when it is an integral number (or such a string), else nil.
    public var intValue: Int64? {
        switch self {
        case let .int(value): return value
        case let .double(value): return value.rounded() == value && abs(value) < 9.0e18 ? Int64(value) : nil
        case let .bool(value): return value ? 1 : 0
        case let .string(text): return Int64(text)
        default: return nil
        }
    }

    /// The value as text: strings as they are, numbers and booleans spelled out, nil otherwise.
    public var stringValue: String? {
        switch self {
        case let .string(text): return text
        case let .int(value): return String(value)
        case let .double(value): return String(value)
        case let .bool(value): return value ? "true" : "false"
        default: return nil
        }
    }
}
