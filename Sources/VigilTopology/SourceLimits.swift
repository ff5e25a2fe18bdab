import Foundation

/// Bounds on what one source record can make Vigil do. A record past any of them is refused
/// with the limit named (and dead-lettered by the runtime); none of them needs more than the
/// record itself to check.
///
/// ```yaml
/// source:
///   limits:
///     max_record_bytes: 1MiB     # a record's value
///     max_fields: 1000           # members of a JSON event, columns of a CSV event
///     max_json_depth: 32         # nesting of JSON objects and arrays
///     max_ahead: 1d              # event time later than the wall clock by more than this
///     not_before: 2000-01-01     # event time earlier than this (UTC); `none` turns it off
/// ```
public struct SourceLimits: Sendable, Equatable {
    /// Largest record value accepted, in bytes. Default 1 MiB (Kafka's default largest message).
    public var maxRecordBytes: Int = 1 << 20
    /// Most fields one event may carry: members of a JSON object, columns of a CSV line.
    /// Default 1000.
    public var maxFields: Int = 1000
    /// Deepest nesting of JSON objects and arrays. Default 32.
    public var maxJSONDepth: Int = 32
    /// How far past the wall clock an event time may be, in ms: a clock or unit mistake (micro-
    /// for milliseconds) would otherwise move the stream time years ahead and expire every
    /// key's state. Default one day (time zones and clock skew stay well inside it).
    public var maxAhead: Int64 = 86_400_000
    /// The earliest event time accepted (ms since the epoch), or nil for no bound: seconds read
    /// as milliseconds, or a zero for a missing time, land in January 1970. Default
    /// 2000-01-01T00:00:00Z.
    public var notBefore: Int64? = 946_684_800_000

    /// The documented defaults.
    public init() {}
}

/// Dates written `YYYY-MM-DD` (UTC midnight), as milliseconds since the epoch.
enum DateText {
    static func milliseconds(_ text: String) -> Int64? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400_000
    }
}
