/// A feature computed from one event alone, before any stage runs.
public struct DerivedFeature: Sendable, Equatable {
    /// The output name.
    public var name: String
    /// What it computes.
    public var kind: DerivedKind

    public init(name: String, kind: DerivedKind) {
        self.name = name
        self.kind = kind
    }
}

/// The per-event computations. Calendar features use event time in UTC.
public enum DerivedKind: Sendable, Equatable {
    /// Hour of day, 0...23.
    case hour
    /// Day of week, 0 = Monday ... 6 = Sunday.
    case weekday
    /// 1 on Saturday and Sunday, else 0.
    case weekend
    /// 1 when the hour is within `fromHour...toHour` (wrapping past midnight when from > to), else 0.
    case night(fromHour: Int, toHour: Int)
    /// Natural logarithm of `1 + field` (so that 0 stays 0); NaN below −1.
    case log1p(field: String)
    /// `numerator / denominator`; NaN when the denominator is 0.
    case ratio(numerator: String, denominator: String)

    /// The kind's name in topology files.
    public var keyword: String {
        switch self {
        case .hour: "hour"
        case .weekday: "weekday"
        case .weekend: "weekend"
        case .night: "night"
        case .log1p: "log"
        case .ratio: "ratio"
        }
    }

    /// The fields the computation reads.
    public var inputs: [String] {
        switch self {
        case .hour, .weekday, .weekend, .night: []
        case let .log1p(field): [field]
        case let .ratio(numerator, denominator): [numerator, denominator]
        }
    }
}
