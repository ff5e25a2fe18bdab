/// Why an event produced no output; the caller dead-letters it with this reason.
public struct Rejection: Sendable, Equatable, CustomStringConvertible {
    /// The stage that rejected it (`decode` for events that never entered a batch).
    public var stage: String
    /// What was wrong.
    public var reason: String

    public init(stage: String, reason: String) {
        self.stage = stage
        self.reason = reason
    }

    public var description: String { "\(stage): \(reason)" }
}
