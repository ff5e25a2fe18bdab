/// UTC calendar days as the report names them.
enum CalendarDay {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The day (since 1970-01-01, UTC) of a time in milliseconds.
    static func of(_ time: Int64) -> Int64 {
        time >= 0 ? time / millisecondsPerDay : -((-time + millisecondsPerDay - 1) / millisecondsPerDay)
    }

    /// `YYYY-MM-DD` of a day since the epoch (proleptic Gregorian, Howard Hinnant's civil_from_days).
    static func text(_ day: Int64) -> String {
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))"
    }

    /// `YYYY-MM-DD HH:MM:SS` of a time in milliseconds (UTC).
    static func timeText(_ time: Int64) -> String {
        let day = of(time)
        let seconds = (time - day * millisecondsPerDay) / 1000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(text(day)) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }
}
