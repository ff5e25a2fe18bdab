public import VigilTopology
import VigilCodec

/// Turns event-time text into milliseconds since the Unix epoch without Foundation's
/// formatters (which are slow and locale-bound): datetimes are read as UTC unless they carry
/// a zone.
public enum TimestampParser {
    /// The last date a parse read (its ten bytes, `YYYY-MM-DD`, and its midnight), kept by a
    /// caller that parses one event after another: consecutive events mostly share a date,
    /// and reading it again (digits, checks, days from civil) was 2 to 10 % of decoding the
    /// handbook's CSV (StageBench, CPU seconds: 0.393 -> 0.351 from memory in one run; in
    /// another, main against the branch, 0.382 -> 0.374, and 0.451 -> 0.431 from the LZ4 file).
    public struct LastDate {
        var bytes: (UInt64, UInt16) = (0, 0)
        var midnight: Int64 = 0
        var isSet = false

        public init() {}

        init(bytes: (UInt64, UInt16), midnight: Int64) {
            self.bytes = bytes
            self.midnight = midnight
            isSet = true
        }
    }

    /// Parses `bytes` in `format`; nil when it does not match. With `lastDate`, a datetime
    /// whose date is the last one parsed there takes its midnight from it.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, format: TimestampFormat, lastDate: UnsafeMutablePointer<LastDate>? = nil) -> Int64? {
        switch format {
        case .datetime: return parseDatetime(bytes, lastDate: lastDate)
        case .epochMillis:
            if let value = ASCIINumber.parseInt(bytes) { return value }
            return ASCIINumber.parseDouble(bytes).flatMap { $0.isFinite && abs($0) < 9e18 ? Int64($0.rounded()) : nil }
        case .epochSeconds:
            return ASCIINumber.parseDouble(bytes).flatMap { $0.isFinite && abs($0) < 9e15 ? Int64(($0 * 1000).rounded()) : nil }
        }
    }

    /// Parses text in `format`.
    public static func parse(_ text: String, format: TimestampFormat) -> Int64? {
        var copy = text
        return copy.withUTF8 { parse($0, format: format) }
    }

    /// `YYYY-MM-DD`, optionally followed by ` ` or `T`, `HH:MM[:SS[.fraction]]` and `Z` or `±HH[:]MM`.
    static func parseDatetime(_ bytes: UnsafeBufferPointer<UInt8>, lastDate: UnsafeMutablePointer<LastDate>? = nil) -> Int64? {
        var text = Cursor(bytes: bytes)
        var milliseconds: Int64
        let dateBytes = text.index + 10 <= text.end ? text.tenBytes() : nil
        if let lastDate, let dateBytes, lastDate.pointee.isSet, lastDate.pointee.bytes == dateBytes {
            milliseconds = lastDate.pointee.midnight
            text.index += 10
        } else {
            guard let year = text.digits(4), text.expect(UInt8(ascii: "-")), let month = text.digits(2), text.expect(UInt8(ascii: "-")),
                  let day = text.digits(2), (1...12).contains(month), (1...31).contains(day) else { return nil }
            milliseconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400_000
            // A date is always ten bytes.
            if let lastDate, let dateBytes { lastDate.pointee = LastDate(bytes: dateBytes, midnight: milliseconds) }
        }
        if text.atEnd { return milliseconds }
        guard text.expect(UInt8(ascii: " ")) || text.expect(UInt8(ascii: "T")) else { return nil }
        guard let hour = text.digits(2), text.expect(UInt8(ascii: ":")), let minute = text.digits(2), hour < 24, minute < 60 else { return nil }
        var second = 0
        var fraction: Int64 = 0
        if text.expect(UInt8(ascii: ":")) {
            guard let parsed = text.digits(2), parsed < 61 else { return nil }
            second = parsed
            if text.expect(UInt8(ascii: ".")) || text.expect(UInt8(ascii: ",")) {
                guard let value = text.fraction() else { return nil }
                fraction = value
            }
        }
        milliseconds += Int64(hour * 3_600_000 + minute * 60_000 + second * 1000) + fraction
        if text.atEnd { return milliseconds }
        if text.expect(UInt8(ascii: "Z")) { return text.atEnd ? milliseconds : nil }
        let sign: Int64
        if text.expect(UInt8(ascii: "+")) { sign = 1 } else if text.expect(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let zoneHours = text.digits(2) else { return nil }
        _ = text.expect(UInt8(ascii: ":"))
        guard let zoneMinutes = text.digits(2), text.atEnd else { return nil }
        return milliseconds - sign * Int64(zoneHours * 3_600_000 + zoneMinutes * 60_000)
    }

    /// A position in a datetime's bytes, surrounding spaces trimmed. A struct with mutating
    /// methods rather than nested functions capturing the index: captured, the index was boxed
    /// and every access paid an exclusivity check (a tenth of CSV decoding's time).
    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var end: Int

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            end = bytes.count
            while index < end, bytes[index] == 0x20 { index += 1 }
            while end > index, bytes[end - 1] == 0x20 { end -= 1 }
        }

        var atEnd: Bool { index == end }

        /// The ten bytes at the index (at least ten remain).
        func tenBytes() -> (UInt64, UInt16) {
            let start = UnsafeRawPointer(bytes.baseAddress! + index)
            return (start.loadUnaligned(as: UInt64.self), start.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }

        mutating func digits(_ count: Int) -> Int? {
            guard index + count <= end else { return nil }
            var value = 0
            for _ in 0..<count {
                let digit = bytes[index] &- 0x30
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
                index += 1
            }
            return value
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard index < end, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Fractional-second digits as milliseconds (digits past the third count for nothing).
        mutating func fraction() -> Int64? {
            var value: Int64 = 0
            var scale: Int64 = 100
            let first = index
            while index < end, bytes[index] &- 0x30 < 10 {
                value += Int64(bytes[index] &- 0x30) * scale
                scale /= 10
                index += 1
            }
            return index > first ? value : nil
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `YYYY-MM-DD HH:MM:SS[.mmm]` in UTC, for output.
    public static func format(_ milliseconds: Int64) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : -((-milliseconds + 86_399_999) / 86_400_000)
        let inDay = milliseconds - days * 86_400_000
        // Civil from days (H. Hinnant).
        let shifted = Int(days) + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let hour = Int(inDay / 3_600_000), minute = Int(inDay / 60_000 % 60), second = Int(inDay / 1000 % 60), milli = Int(inDay % 1000)
        let base = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        return milli == 0 ? base : base + "." + pad(milli, 3)
    }
}
