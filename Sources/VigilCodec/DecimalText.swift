/// Writes Doubles as text, byte for byte as `Double.description` spells them (the shortest
/// digits that read back to the same Double, the closest such when several are as short), but
/// into a caller's buffer instead of a new String.
///
/// Why: `vigil replay` writes 16 numbers per event; `description` cost about 150 ns a number
/// here (an allocation for the longer ones, and the runtime's general conversion), most of
/// the replay's time (bench/README.md, "Replay end to end").
///
/// How: integers below 2^53 print their digits and `.0`. Other values from 1e-13 to 2^53 are
/// converted exactly in 128-bit integers: the value
/// and the bounds of the interval that rounds to it are scaled by a power of ten to about 18
/// digits, and digits are removed while the interval still holds a shorter number (the digit
/// loop of Ryū, Adams 2018, on exact values instead of approximations), then printed as Swift
/// does (plainly down to 10^-4, else `d.ddde-XX`). Anything else (NaN, infinities, tiny and
/// huge magnitudes, subnormals) takes `description`. A test checks the
/// result against `description` on a few million values.
public enum DecimalText {
    /// The most bytes ``write(_:to:)`` writes.
    public static let maximumLength = 32

    /// 10^0 ... 10^19 as literals: the optimiser lays a literal array out statically, where a
    /// computed one is initialised lazily behind a `swift_once` check on every access (6 % of
    /// the replay's time when it was).
    private static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// 5^0 ... 5^27 (the largest power of five below 2^64), as literals.
    private static let powersOfFive: [UInt64] = [
        1, 5, 25, 125, 625, 3_125, 15_625, 78_125, 390_625, 1_953_125, 9_765_625, 48_828_125, 244_140_625,
        1_220_703_125, 6_103_515_625, 30_517_578_125, 152_587_890_625, 762_939_453_125, 3_814_697_265_625,
        19_073_486_328_125, 95_367_431_640_625, 476_837_158_203_125, 2_384_185_791_015_625, 11_920_928_955_078_125,
        59_604_644_775_390_625, 298_023_223_876_953_125, 1_490_116_119_384_765_625, 7_450_580_596_923_828_125,
    ]

    /// 5^t for t in 0...31.
    @inline(__always)
    private static func powerOfFive(_ t: Int) -> UInt128 {
        t <= 27 ? UInt128(powersOfFive[t]) : UInt128(powersOfFive[27]) * UInt128(powersOfFive[t - 27])
    }

    /// How many decimal digits `number` has.
    @inline(__always)
    private static func digitCount(_ number: UInt64) -> Int {
        var count = 1
        while count < 20, number >= powersOfTen[count] { count += 1 }
        return count
    }

    /// Writes `value` as `value.description` spells it at `out` (room for ``maximumLength``
    /// bytes); returns the number of bytes.
    public static func write(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let magnitude = value.magnitude
        if magnitude < 9_007_199_254_740_992, magnitude.rounded(.towardZero) == magnitude {
            return writeIntegral(value, to: out)
        }
        if magnitude >= 1e-13, magnitude < 9_007_199_254_740_992 {
            return writeShortest(value, to: out)
        }
        var index = 0
        for byte in value.description.utf8 where index < maximumLength {
            out[index] = byte
            index += 1
        }
        return index
    }

    /// The most bytes ``write(integer:to:)`` writes (`-9223372036854775808`).
    public static let maximumIntegerLength = 20

    /// Writes `value` as `String(value)` spells it at `out` (room for ``maximumIntegerLength``
    /// bytes); returns the number of bytes. For JSON writers that put integers straight into
    /// their buffer instead of through a String.
    public static func write(integer value: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard value < 0 else { return writeDigits(UInt64(value), to: out) }
        out[0] = UInt8(ascii: "-")
        return 1 + writeDigits(value.magnitude, to: out + 1)
    }

    /// An integral value below 2^53: its digits and `.0` (`-0.0` keeps its sign).
    private static func writeIntegral(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var index = 0
        if value.sign == .minus { out[0] = UInt8(ascii: "-"); index = 1 }
        index += writeDigits(UInt64(value.magnitude), to: out + index)
        out[index] = UInt8(ascii: ".")
        out[index + 1] = UInt8(ascii: "0")
        return index + 2
    }

    /// Writes `number`'s decimal digits; returns how many.
    @inline(__always)
    private static func writeDigits(_ number: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let count = digitCount(number)
        var rest = number
        for position in stride(from: count - 1, through: 0, by: -1) {
            out[position] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
            rest /= 10
        }
        return count
    }

    /// A finite, normal, non-integral value with 1e-13 <= |value| < 2^53.
    private static func writeShortest(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // value = m2 · 2^e2; the values rounding to it lie between (4·m2 - 1 - shift) and
        // (4·m2 + 2), in units of 2^(e2 - 2): the lower gap is half as wide at a power of two.
        let fraction = value.significandBitPattern
        let biased = Int(value.exponentBitPattern)
        let m2 = fraction | (1 << 52)
        let e2 = biased - 1075
        let lowerShift: UInt64 = fraction != 0 || biased <= 1 ? 1 : 0
        let acceptBounds = m2 & 1 == 0
        // Scale by 10^t so that the value has 17 or 18 integer digits: the interval then spans
        // more than 10 units, enough for the shortest digits. With units of 2^-k (k = 2 - e2),
        // v · 10^t = (4·m2 · 5^t) >> (k - t), exactly, in 128 bits (t <= 31: 2^55 · 5^31 < 2^128; k >= t
        // in this range).
        let decimalExponent = Int((Double(value.exponent) * 0.30102999566398120).rounded(.down))
        let t = 17 - decimalExponent
        let shift = UInt128(2 - e2 - t)
        let five = powerOfFive(t)
        let low = (UInt128(1) << shift) - 1
        let scaledValue = UInt128(4 * m2) * five
        let scaledUpper = UInt128(4 * m2 + 2) * five
        let scaledLower = UInt128(4 * m2 - 1 - lowerShift) * five
        var vr = UInt64(truncatingIfNeeded: scaledValue >> shift)
        var vp = UInt64(truncatingIfNeeded: scaledUpper >> shift)
        var vm = UInt64(truncatingIfNeeded: scaledLower >> shift)
        var vrIsTrailingZeros = scaledValue & low == 0
        var vmIsTrailingZeros = scaledLower & low == 0
        // The upper bound rounds to the next Double when the significand is odd.
        if !acceptBounds, scaledUpper & low == 0 { vp -= 1 }
        var removed = 0
        var digits: UInt64
        if !vrIsTrailingZeros && !vmIsTrailingZeros {
            // The common case: no exact tie or bound to watch; two digits at a time while
            // the interval holds a number two digits shorter.
            var roundUp = false
            while vp / 100 > vm / 100 {
                roundUp = removeDigits(100, &vr, &vp, &vm)
                removed += 2
            }
            if vp / 10 > vm / 10 {
                roundUp = removeDigits(10, &vr, &vp, &vm)
                removed += 1
            }
            digits = vr + (vr == vm || roundUp ? 1 : 0)
        } else {
            var lastRemovedDigit: UInt64 = 0
            // Digits one at a time while the interval holds a shorter number, then, when the
            // lower bound is exact and allowed, while it ends in zeros.
            while vp / 10 > vm / 10 || (vmIsTrailingZeros && acceptBounds && vm % 10 == 0) {
                vmIsTrailingZeros = vmIsTrailingZeros && vm % 10 == 0
                vrIsTrailingZeros = vrIsTrailingZeros && lastRemovedDigit == 0
                lastRemovedDigit = vr % 10
                _ = removeDigits(10, &vr, &vp, &vm)
                removed += 1
            }
            // Round half to even when the value is exactly halfway.
            if vrIsTrailingZeros && lastRemovedDigit == 5 && vr % 2 == 0 { lastRemovedDigit = 4 }
            let outside = vr == vm && (!acceptBounds || !vmIsTrailingZeros)
            digits = vr + (outside || lastRemovedDigit >= 5 ? 1 : 0)
        }
        var exponent = removed - t
        while exponent < 0, digits % 10 == 0 {
            digits /= 10
            exponent += 1
        }
        return format(digits: digits, exponent: exponent, negative: value.sign == .minus, to: out)
    }

    /// Divides the value and its bounds by `divisor` (10 or 100); whether the digits dropped
    /// from the value round it up.
    @inline(__always)
    private static func removeDigits(_ divisor: UInt64, _ vr: inout UInt64, _ vp: inout UInt64, _ vm: inout UInt64) -> Bool {
        let quotient = vr / divisor
        let roundUp = vr - quotient * divisor >= divisor / 2
        vr = quotient
        vp /= divisor
        vm /= divisor
        return roundUp
    }

    /// `digits · 10^exponent` (exponent < 0) as Swift prints it: plainly when the leading
    /// digit stands for 10^-4 or more, else as `d.ddde-XX`. Digits go straight to their place.
    private static func format(digits: UInt64, exponent: Int, negative: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var start = 0
        if negative { out[0] = UInt8(ascii: "-"); start = 1 }
        let count = digitCount(digits)
        let point = count + exponent
        var rest = digits
        if point - 1 < -4 {
            // d[.ddd]e-XX
            let hasFraction = count > 1
            var position = start + count + (hasFraction ? 1 : 0) - 1
            for index in stride(from: count - 1, through: 0, by: -1) {
                out[position] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
                position -= index == 1 ? 2 : 1
            }
            if hasFraction { out[start + 1] = UInt8(ascii: ".") }
            var index = start + count + (hasFraction ? 1 : 0)
            let power = 1 - point
            out[index] = UInt8(ascii: "e"); out[index + 1] = UInt8(ascii: "-"); index += 2
            if power < 10 { out[index] = UInt8(ascii: "0"); index += 1 }
            return index + writeDigits(UInt64(power), to: out + index)
        }
        if point > 0 {
            // ddd.ddd: the digits after the point shift one place right.
            for index in stride(from: count - 1, through: 0, by: -1) {
                out[start + index + (index >= point ? 1 : 0)] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
            }
            out[start + point] = UInt8(ascii: ".")
            return start + count + 1
        }
        // 0.000ddd
        out[start] = UInt8(ascii: "0"); out[start + 1] = UInt8(ascii: ".")
        let zeros = -point
        for index in 0..<zeros { out[start + 2 + index] = UInt8(ascii: "0") }
        let first = start + 2 + zeros
        for index in stride(from: count - 1, through: 0, by: -1) {
            out[first + index] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
            rest /= 10
        }
        return first + count
    }
}
