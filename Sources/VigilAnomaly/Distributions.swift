import Foundation

/// The distribution functions the detectors' control limits and tail probabilities need.
public enum Distributions {
    /// P(Z > z) for a standard normal Z.
    public static func normalUpperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// The standard normal quantile: Acklam's rational approximation refined by one Halley
    /// step on erfc, to about 1e-15 relative.
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "a quantile needs 0 < p < 1")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        // Horner's rule: coefficients highest power first.
        func poly(_ coefficients: [Double], _ x: Double) -> Double { coefficients.reduce(0) { $0 * x + $1 } }
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = poly(c, q) / poly(d + [1], q)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x = poly(a, r) * q / poly(b + [1], r)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -poly(c, q) / poly(d + [1], q)
        }
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The regularised incomplete beta function I_x(a, b) (continued fraction, Lentz's method).
    public static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, b, a) }
        let tiny = 1e-300
        var f = 1.0, c = 1.0, d = 0.0
        for i in 0...400 {
            let m = Double(i / 2)
            let numerator: Double
            if i == 0 {
                numerator = 1
            } else if i % 2 == 0 {
                numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            } else {
                let top: Double = (a + m) * (a + b + m) * x
                numerator = -top / ((a + 2 * m) * (a + 2 * m + 1))
            }
            d = 1 + numerator * d
            if abs(d) < tiny { d = tiny }
            d = 1 / d
            c = 1 + numerator / c
            if abs(c) < tiny { c = tiny }
            let step = c * d
            f *= step
            if abs(1 - step) < 1e-15 { break }
        }
        return front * (f - 1) / a
    }

    /// P(F ≤ x) for F with `d1` and `d2` degrees of freedom.
    public static func fCDF(_ x: Double, _ d1: Double, _ d2: Double) -> Double {
        guard x > 0 else { return 0 }
        return regularizedIncompleteBeta(d1 * x / (d1 * x + d2), d1 / 2, d2 / 2)
    }

    /// The F quantile by bisection on ``fCDF(_:_:_:)`` (a limit is set once per fit).
    public static func fQuantile(_ p: Double, _ d1: Double, _ d2: Double) -> Double {
        precondition(p > 0 && p < 1 && d1 > 0 && d2 > 0)
        var low = 0.0, high = 1.0
        while fCDF(high, d1, d2) < p { high *= 2 }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if fCDF(middle, d1, d2) < p { low = middle } else { high = middle }
            if high - low <= 1e-13 * high { break }
        }
        return (low + high) / 2
    }
}
