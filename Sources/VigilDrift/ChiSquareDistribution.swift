import Foundation

/// The chi-square upper tail, via the regularised upper incomplete gamma function
/// `Q(k/2, x/2)` (series below `a + 1`, Lentz's continued fraction above, as in Numerical
/// Recipes), so that the module needs nothing beyond Foundation.
enum ChiSquareDistribution {
    static func survival(_ statistic: Double, degreesOfFreedom: Int) -> Double {
        guard statistic > 0 else { return 1 }
        return regularizedUpperGamma(Double(degreesOfFreedom) / 2, statistic / 2)
    }

    static func regularizedUpperGamma(_ a: Double, _ x: Double) -> Double {
        let logPrefactor = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var term = 1 / a
            var sum = term
            var denominator = a
            for _ in 0..<10_000 {
                denominator += 1
                term *= x / denominator
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return Swift.max(0, 1 - sum * exp(logPrefactor))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var fraction = d
        for step in 1..<10_000 {
            let an = -Double(step) * (Double(step) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            fraction *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(logPrefactor) * fraction
    }
}
