#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses numbers from ASCII bytes without making a String.
///
/// Decimal numbers whose digits fit in 2^53 with a power of ten up to 22 are converted exactly
/// by one multiplication or division (Clinger's fast path, correctly rounded); anything else
/// goes to `strtod`, so results always equal `Double(String)`.
public enum ASCIINumber {
    /// 10^0 ... 10^22, all exact in a Double; literals, so that the optimiser lays them out
    /// statically instead of behind a lazy-initialisation check on every access.
    @usableFromInline static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]

    /// The Double spelled by `bytes` (surrounding spaces allowed), or nil if it is not a number.
    public static func parseDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        if let value = parsePlainDecimal(bytes) { return value }
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 { end -= 1 }
        guard start < end else { return nil }
        var index = start
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 } else if bytes[index] == UInt8(ascii: "+") { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        while index < end, bytes[index] &- 0x30 < 10 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 0x30); if mantissa != 0 { digits += 1 } } else { exponent += 1 }
            sawDigit = true
            index += 1
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < end, bytes[index] &- 0x30 < 10 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[index] &- 0x30); if mantissa != 0 { digits += 1 }; exponent -= 1 }
                sawDigit = true
                index += 1
            }
        }
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e"), sawDigit {
            index += 1
            var exponentNegative = false
            if index < end, bytes[index] == UInt8(ascii: "-") { exponentNegative = true; index += 1 } else if index < end, bytes[index] == UInt8(ascii: "+") { index += 1 }
            var written = 0
            var sawExponentDigit = false
            while index < end, bytes[index] &- 0x30 < 10 {
                if written < 100_000 { written = written * 10 + Int(bytes[index] &- 0x30) }
                sawExponentDigit = true
                index += 1
            }
            if !sawExponentDigit { return slowParse(bytes, start, end) }
            exponent += exponentNegative ? -written : written
        }
        if !sawDigit || index != end { return slowParse(bytes, start, end) }
        if mantissa < (1 << 53), digits <= 19, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 { value /= powersOfTen[-exponent] } else { value *= powersOfTen[exponent] }
            return negative ? -value : value
        }
        return slowParse(bytes, start, end)
    }

    /// `[-]digits[.digits]` with at most 15 digits in all (so the integer they spell is exact
    /// in a Double) and nothing else: one pass, then one correctly rounded division, which is
    /// what the general path computes for such text. Amounts and rates are mostly this form;
    /// the general path's trimming and bookkeeping cost about as much again.
    @inline(__always)
    static func parsePlainDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let base = bytes.baseAddress, bytes.count > 0, bytes.count <= 17 else { return nil }
        let count = bytes.count
        var index = 0
        let negative = base[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var mantissa: UInt64 = 0
        let integerStart = index
        while index < count, base[index] &- 0x30 < 10 {
            mantissa = mantissa &* 10 &+ UInt64(base[index] &- 0x30)
            index += 1
        }
        var digits = index - integerStart
        var fractionDigits = 0
        if index < count, base[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < count, base[index] &- 0x30 < 10 {
                mantissa = mantissa &* 10 &+ UInt64(base[index] &- 0x30)
                index += 1
            }
            fractionDigits = index - fractionStart
            digits += fractionDigits
        }
        guard index == count, digits > 0, digits <= 15 else { return nil }
        return plainDecimal(mantissa, fractionDigits: fractionDigits, negative: negative)
    }

    /// The value of a plain decimal of at most 15 digits in all: `mantissa` (its digits without
    /// the point) over 10^`fractionDigits`. ``JSONCursor`` reads such numbers while it scans
    /// them; both go through here, so that the two agree bit for bit.
    @inlinable @inline(__always)
    static func plainDecimal(_ mantissa: UInt64, fractionDigits: Int, negative: Bool) -> Double {
        var value = Double(mantissa)
        if fractionDigits > 0 { value /= powersOfTen[fractionDigits] }
        return negative ? -value : value
    }

    /// The integer spelled by `bytes`; an integral decimal such as `3.0` is accepted too.
    public static func parseInt(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 { end -= 1 }
        guard start < end else { return nil }
        var index = start
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 } else if bytes[index] == UInt8(ascii: "+") { index += 1 }
        guard index < end else { return nil }
        var value: Int64 = 0
        while index < end, bytes[index] &- 0x30 < 10 {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] &- 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
            index += 1
        }
        if index == end { return negative ? -value : value }
        guard let double = parseDouble(bytes), double.rounded() == double, abs(double) < 9.0e18 else { return nil }
        return Int64(double)
    }

    private static func slowParse(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let length = end - start
        guard length < 512 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text in
            for offset in 0..<length { text[offset] = CChar(bitPattern: bytes[start + offset]) }
            text[length] = 0
            var stop: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &stop)
            return stop == text.baseAddress! + length ? value : nil
        }
    }
}
