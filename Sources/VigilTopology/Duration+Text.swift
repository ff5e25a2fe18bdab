/// Durations in topology files: a whole number and a unit, `ms`, `s`, `m`, `h`, `d` or `w`
/// (`250ms`, `30s`, `7d`). Vigil keeps event time in milliseconds since the Unix epoch.
public enum DurationText {
    /// The duration in milliseconds, or nil if `text` is not a number followed by a known unit.
    public static func milliseconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingSpaces
        guard let split = trimmed.firstIndex(where: { !$0.isASCII || !$0.isNumber }) else { return nil }
        guard let amount = Int64(trimmed[..<split]) else { return nil }
        let unit: Int64
        switch trimmed[split...] {
        case "ms": unit = 1
        case "s": unit = 1_000
        case "m": unit = 60_000
        case "h": unit = 3_600_000
        case "d": unit = 86_400_000
        case "w": unit = 604_800_000
        default: return nil
        }
        let (result, overflow) = amount.multipliedReportingOverflow(by: unit)
        return overflow ? nil : result
    }

    /// The shortest exact spelling of `milliseconds` (`7d`, `90s`, `250ms`).
    public static func text(_ milliseconds: Int64) -> String {
        for (unit, suffix) in [(Int64(604_800_000), "w"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")]
        where milliseconds != 0 && milliseconds % unit == 0 {
            return "\(milliseconds / unit)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
