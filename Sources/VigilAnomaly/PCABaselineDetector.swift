import Foundation
public import VigilCodec
public import VigilTopology

/// A per-key multivariate baseline scored with Hotelling's T² and the PCA residual Q (SPE).
///
/// Over a key's first `baselineEvents` events (or its first `baselineSpan` of event time) the
/// detector learns the mean and covariance of the (optionally EWMA-smoothed) readings with
/// Welford's running updates. At the end of the baseline it standardises the covariance to a
/// correlation matrix, decomposes it with LAPACK (`dsyev`, ``SymmetricEigen``), keeps the
/// fewest principal components whose share of the variance exceeds `variance` (scikit-learn's
/// rule for a fractional `n_components`), and sets the upper control limits at `confidence`:
///
/// - parametric: T² ≤ k(n−1)(n+1)/(n(n−k)) · F(k, n−k) (a new observation against a baseline
///   of n; Tracy, Young & Mason 1992) and Q ≤ Jackson & Mudholkar's (1979) limit from the
///   discarded eigenvalues' θ₁, θ₂, θ₃ and the normal quantile;
/// - empirical: the same quantile of the baseline's own T² and Q (its rows are kept until then).
///
/// Each later event gets T² = Σ tᵢ²/λᵢ over the kept components and Q = ‖z‖² − Σ tᵢ², the ratio
/// r = max(T²/limit, Q/limit) averaged over the last `average` events, and the score
/// r/(1 + r): 0.5 exactly where an average ratio reaches its limit. With `forgetting` λ > 0, an
/// event within its limits also moves the mean and covariance (weight λ) and the components and
/// limits are refitted every `refitEvery` such events: a slow re-learning that follows drift.
/// Events of the baseline score 0 (T² and Q are NaN); an event with a missing value scores NaN
/// and teaches nothing.
public struct PCABaselineDetector: StreamingDetector {
    public let settings: PCABaselineSettings
    /// Number of fields.
    public let dimension: Int

    public init(settings: PCABaselineSettings, dimension: Int) {
        precondition(dimension >= 2, "a multivariate baseline needs two fields or more")
        self.settings = settings
        self.dimension = dimension
    }

    /// One key's state.
    public struct State: Sendable, Equatable {
        /// Events learned from during the baseline.
        var count: Int64 = 0
        var firstTime: Int64 = .min
        /// The EWMA of the readings (empty before the first).
        var smoothed: [Double] = []
        /// Running mean; during the baseline Welford's, later the forgetting average.
        var mean: [Double] = []
        /// During the baseline the co-moment Σ(x − mean_before)(x − mean_after)ᵀ; later the covariance.
        var moment: [Double] = []
        /// Empirical limits: the baseline's smoothed rows until the fit.
        var rows: [Double] = []
        /// The fit (empty before it): standardisation, kept components (p × k, column-major) and eigenvalues.
        var center: [Double] = []
        var scale: [Double] = []
        var components: [Double] = []
        var eigenvalues: [Double] = []
        var t2Limit = Double.nan
        var qLimit = Double.nan
        /// The last ratios (ring) and where the next goes.
        var ratios: [Double] = []
        var ratioPosition: Int64 = 0
        /// In-control events since the last refit (forgetting).
        var sinceRefit: Int64 = 0

        /// Whether the baseline has been fitted.
        public var isFitted: Bool { !eigenvalues.isEmpty }
        /// Principal components kept (0 before the fit).
        public var componentCount: Int { eigenvalues.count }
        /// The control limits (NaN before the fit).
        public var limits: (t2: Double, q: Double) { (t2Limit, qLimit) }
    }

    public var inputCount: Int { dimension }
    public var outputCount: Int { 3 }
    public var layoutDescription: String {
        "pca:\(dimension),\(settings.baselineEvents),\(settings.baselineSpan ?? -1),\(settings.smoothing),\(settings.variance),"
            + "\(settings.confidence),\(settings.limits.rawValue),\(settings.average),\(settings.forgetting),\(settings.refitEvery)"
    }

    public func makeState() -> State { State() }

    public func process(_ state: inout State, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>) {
        let p = dimension
        for index in 0..<p where inputs[index].isNaN {
            outputs[0] = .nan; outputs[1] = .nan; outputs[2] = .nan
            return
        }
        if state.smoothed.isEmpty {
            state.smoothed = Array(UnsafeBufferPointer(start: inputs, count: p))
            state.firstTime = time
        } else {
            let alpha = settings.smoothing
            for index in 0..<p { state.smoothed[index] += alpha * (inputs[index] - state.smoothed[index]) }
        }
        if !state.isFitted {
            if let span = settings.baselineSpan, time - state.firstTime >= span, state.count > Int64(p) {
                fit(&state)
            } else {
                learnBaseline(&state)
                if settings.baselineSpan == nil, state.count >= Int64(settings.baselineEvents) { fit(&state) }
                outputs[0] = 0; outputs[1] = .nan; outputs[2] = .nan
                return
            }
            if !state.isFitted {
                outputs[0] = 0; outputs[1] = .nan; outputs[2] = .nan
                return
            }
        }
        let (t2, q) = statistics(of: state.smoothed, in: state)
        let ratio = max(t2 / state.t2Limit, q / state.qLimit)
        let window = settings.average
        if state.ratios.count < window { state.ratios.append(ratio) } else { state.ratios[Int(state.ratioPosition % Int64(window))] = ratio }
        state.ratioPosition += 1
        var sum = 0.0
        for value in state.ratios { sum += value }
        let average = sum / Double(state.ratios.count)
        outputs[0] = average.isFinite ? average / (1 + average) : (average.isNaN ? .nan : 1)
        outputs[1] = t2
        outputs[2] = q
        if settings.forgetting > 0, ratio < 1 { follow(&state) }
    }

    /// Welford's update of the mean and co-moment with the current smoothed reading.
    private func learnBaseline(_ state: inout State) {
        let p = dimension
        if state.mean.isEmpty {
            state.mean = Array(repeating: 0, count: p)
            state.moment = Array(repeating: 0, count: p * p)
        }
        state.count += 1
        let n = Double(state.count)
        var before = [Double](repeating: 0, count: p)
        for index in 0..<p {
            before[index] = state.smoothed[index] - state.mean[index]
            state.mean[index] += before[index] / n
        }
        for column in 0..<p {
            let after = state.smoothed[column] - state.mean[column]
            for row in 0..<p { state.moment[row + column * p] += before[row] * after }
        }
        if settings.limits == .empirical { state.rows += state.smoothed }
    }

    /// Fits the components and limits at the end of the baseline.
    private func fit(_ state: inout State) {
        let p = dimension
        let n = Double(state.count)
        for index in 0..<(p * p) { state.moment[index] /= (n - 1) }
        refit(&state)
        if settings.limits == .empirical, state.isFitted {
            var t2s: [Double] = [], qs: [Double] = []
            let rows = state.rows
            for start in stride(from: 0, to: rows.count, by: p) {
                let (t2, q) = statistics(of: Array(rows[start..<(start + p)]), in: state)
                t2s.append(t2)
                qs.append(q)
            }
            state.t2Limit = max(Self.quantile(t2s, settings.confidence), .leastNormalMagnitude)
            state.qLimit = max(Self.quantile(qs, settings.confidence), .leastNormalMagnitude)
        }
        state.rows = []
    }

    /// Components and parametric limits from the current mean and covariance.
    private func refit(_ state: inout State) {
        let p = dimension
        let n = Double(state.count)
        var scale = [Double](repeating: 1, count: p)
        for index in 0..<p {
            let deviation = state.moment[index + index * p].squareRoot()
            if deviation > 0, deviation.isFinite { scale[index] = deviation }
        }
        var correlation = [Double](repeating: 0, count: p * p)
        for column in 0..<p {
            for row in 0..<p { correlation[row + column * p] = state.moment[row + column * p] / (scale[row] * scale[column]) }
        }
        guard let eigen = try? SymmetricEigen(symmetric: correlation, n: p) else {
            // A decomposition that fails (NaN readings slipped in) leaves the key unfitted.
            return
        }
        let total = max(eigen.values.reduce(0) { $0 + max(0, $1) }, .leastNormalMagnitude)
        // Eigenvalues below this carry no variance; floored so that neither T² nor Q divides by 0.
        let floor = total * 1e-9
        let values = eigen.values.map { max($0, floor) }
        var kept = 0, cumulative = 0.0
        while kept < p {
            cumulative += max(0, eigen.values[kept]) / total
            kept += 1
            if cumulative > settings.variance { break }
        }
        kept = min(kept, p - 1)
        state.center = state.mean
        state.scale = scale
        state.components = Array(eigen.vectors[0..<(p * kept)])
        state.eigenvalues = Array(values[0..<kept])
        let k = Double(kept)
        state.t2Limit = k * (n - 1) * (n + 1) / (n * (n - k)) * Distributions.fQuantile(settings.confidence, k, n - k)
        var theta = [0.0, 0.0, 0.0]
        for value in values[kept...] {
            theta[0] += value
            theta[1] += value * value
            theta[2] += value * value * value
        }
        var h0 = 1 - 2 * theta[0] * theta[2] / (3 * theta[1] * theta[1])
        if !(h0 > 1e-3) { h0 = 1e-3 }
        let c = Distributions.normalQuantile(settings.confidence)
        state.qLimit = theta[0] * pow(c * (2 * theta[1] * h0 * h0).squareRoot() / theta[0] + 1 + theta[1] * h0 * (h0 - 1) / (theta[0] * theta[0]), 1 / h0)
        state.sinceRefit = 0
    }

    /// T² and Q of a reading under the state's fit.
    private func statistics(of reading: [Double], in state: State) -> (t2: Double, q: Double) {
        let p = dimension
        let k = state.eigenvalues.count
        var squared = 0.0, explained = 0.0, t2 = 0.0
        var z = [Double](repeating: 0, count: p)
        for index in 0..<p {
            z[index] = (reading[index] - state.center[index]) / state.scale[index]
            squared += z[index] * z[index]
        }
        for component in 0..<k {
            var t = 0.0
            for index in 0..<p { t += state.components[index + component * p] * z[index] }
            explained += t * t
            t2 += t * t / state.eigenvalues[component]
        }
        return (t2, max(0, squared - explained))
    }

    /// Forgetting: moves the mean and covariance toward an in-control reading, refitting now and then.
    private func follow(_ state: inout State) {
        let p = dimension
        let lambda = settings.forgetting
        var d = [Double](repeating: 0, count: p)
        for index in 0..<p {
            d[index] = state.smoothed[index] - state.mean[index]
            state.mean[index] += lambda * d[index]
        }
        for column in 0..<p {
            for row in 0..<p {
                state.moment[row + column * p] = (1 - lambda) * (state.moment[row + column * p] + lambda * d[row] * d[column])
            }
        }
        state.sinceRefit += 1
        if state.sinceRefit >= Int64(settings.refitEvery) {
            let limits = (state.t2Limit, state.qLimit)
            refit(&state)
            if settings.limits == .empirical { (state.t2Limit, state.qLimit) = limits }
        }
    }

    /// numpy's default (linear) quantile.
    static func quantile(_ values: [Double], _ level: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let position = level * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }

    public func encode(_ state: State, into writer: inout ByteWriter) {
        writer.write(state.count)
        writer.write(state.firstTime)
        for array in [state.smoothed, state.mean, state.moment, state.rows, state.center, state.scale, state.components, state.eigenvalues, state.ratios] {
            writer.writeDoubles(array)
        }
        writer.write(state.t2Limit)
        writer.write(state.qLimit)
        writer.write(state.ratioPosition)
        writer.write(state.sinceRefit)
    }

    public func decode(from reader: inout ByteReader) throws -> State {
        var state = State()
        state.count = try reader.readInt64()
        state.firstTime = try reader.readInt64()
        state.smoothed = try reader.readDoubles()
        state.mean = try reader.readDoubles()
        state.moment = try reader.readDoubles()
        state.rows = try reader.readDoubles()
        state.center = try reader.readDoubles()
        state.scale = try reader.readDoubles()
        state.components = try reader.readDoubles()
        state.eigenvalues = try reader.readDoubles()
        state.ratios = try reader.readDoubles()
        state.t2Limit = try reader.readDouble()
        state.qLimit = try reader.readDouble()
        state.ratioPosition = try reader.readInt64()
        state.sinceRefit = try reader.readInt64()
        let p = dimension
        guard [0, p].contains(state.smoothed.count), [0, p].contains(state.mean.count), [0, p * p].contains(state.moment.count),
              state.components.count == state.eigenvalues.count * p, state.ratios.count <= settings.average else {
            throw AnomalyError.state("a pca_baseline state of another shape (\(p) fields expected)")
        }
        return state
    }

    public func byteCount(of state: State) -> Int {
        let doubles = state.smoothed.count + state.mean.count + state.moment.count + state.rows.count + state.center.count
            + state.scale.count + state.components.count + state.eigenvalues.count + state.ratios.count
        return 8 * doubles + 9 * 16 + 48
    }
}
