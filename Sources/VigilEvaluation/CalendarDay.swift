import VigilPipeline

/// UTC calendar days as the report names them.
enum CalendarDay {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The day (since 1970-01-01, UTC) of a time in milliseconds.
    static func of(_ time: Int64) -> Int64 {
        time >= 0 ? time / millisecondsPerDay : -((-time + millisecondsPerDay - 1) / millisecondsPerDay)
    }

    /// `YYYY-MM-DD` of a day since the epoch.
    static func text(_ day: Int64) -> String {
        String(TimestampParser.format(day * millisecondsPerDay).prefix(10))
    }

    /// `YYYY-MM-DD HH:MM:SS[.mmm]` of a time in milliseconds (UTC).
    static func timeText(_ time: Int64) -> String { TimestampParser.format(time) }
}
