/// The value a stage's state is keyed by: an integer or a text.
public enum StateKey: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case string(String)

    public var description: String {
        switch self {
        case let .int(value): String(value)
        case let .string(text): text
        }
    }
}
