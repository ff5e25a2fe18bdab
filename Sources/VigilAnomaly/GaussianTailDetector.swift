import Foundation
public import VigilCodec
public import VigilTopology

/// A univariate detector in two layers, per key, online:
///
/// 1. the raw score: how far in the tail of a Gaussian fitted to the previous `window` values
///    the value lies, as the surprise of its two-sided tail probability p = P(|X − μ| ≥ |x − μ|):
///    min(1, −log₁₀ p / 10), 0 at the mean and 1 from p = 10⁻¹⁰ on. (1 − p/2, NAB's "windowed
///    Gaussian" score, is uniform on [0.5, 1) for any steady series and saturates near 1 on a
///    trending one, which leaves the likelihood layer nothing to tell apart.)
/// 2. NAB's anomaly likelihood (Ahmad et al. 2017, the layer behind the top of the NAB
///    scoreboard): the mean of the last `shortWindow` raw scores against a normal
///    distribution of such means over the last `historicWindow` events, re-estimated every
///    `reestimationPeriod` events once `learningPeriod + estimationSamples` have been seen
///    (0.5 before); a run of very unlikely averages keeps only its first at full strength; and
///    a series whose values barely vary gets the null distribution.
///
/// The score is NAB's log-scaled likelihood, log(1.0000000001 − L) / log(1e-10): 0.5 where L
/// reaches 0.99999, NAB's "red" threshold. The raw score and L are written beside it.
/// History is kept in single precision (8 bytes per event of `historicWindow`).
public struct GaussianTailDetector: StreamingDetector {
    public let settings: GaussianTailSettings

    public init(settings: GaussianTailSettings) { self.settings = settings }

    /// One key's state.
    public struct State: Sendable, Equatable {
        var iteration: Int64 = 0
        /// The sliding window of values: ring, next position, shift and shifted sums.
        var window: [Double] = []
        var windowPosition: Int64 = 0
        var shift = 0.0
        var sum = 0.0
        var sumSquares = 0.0
        /// The last raw scores (the short average's window).
        var recent: [Double] = []
        var recentPosition: Int64 = 0
        /// The historic window of values and raw scores.
        var historyValues: [Float] = []
        var historyScores: [Float] = []
        var historyPosition: Int64 = 0
        /// The fitted distribution of averaged raw scores (NaN before the first estimate).
        var mean = Double.nan
        var deviation = Double.nan
        /// The previous event's likelihood before filtering.
        var previousTail = Double.nan
    }

    public var inputCount: Int { 1 }
    public var outputCount: Int { 3 }
    public var layoutDescription: String {
        "gaussian:\(settings.window),\(settings.shortWindow),\(settings.historicWindow),\(settings.learningPeriod),\(settings.estimationSamples),\(settings.reestimationPeriod)"
    }

    public func makeState() -> State { State() }

    public func process(_ state: inout State, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>) {
        let value = inputs[0]
        guard !value.isNaN else {
            outputs[0] = .nan; outputs[1] = .nan; outputs[2] = .nan
            return
        }
        let raw = rawScore(value, state)
        addToWindow(value, &state)
        let likelihood = self.likelihood(value: value, raw: raw, &state)
        outputs[0] = min(1, max(0, log(1.0000000001 - likelihood) / log(1.0 - 0.9999999999)))
        outputs[1] = raw
        outputs[2] = likelihood
    }

    /// The surprise of the value's two-sided Gaussian tail over the window before it.
    private func rawScore(_ value: Double, _ state: State) -> Double {
        let count = Double(state.window.count)
        guard count >= 2 else { return 0 }
        let shiftedMean = state.sum / count
        let mean = state.shift + shiftedMean
        let variance = max(0, state.sumSquares / count - shiftedMean * shiftedMean)
        let deviation = variance.squareRoot()
        guard deviation > 0 else { return value == mean ? 0 : 1 }
        let tail = 2 * Distributions.normalUpperTail(abs(value - mean) / deviation)
        return min(1, -log10(max(tail, 1e-300)) / 10)
    }

    private func addToWindow(_ value: Double, _ state: inout State) {
        if state.window.isEmpty { state.shift = value }
        let shifted = value - state.shift
        if state.window.count < settings.window {
            state.window.append(value)
        } else {
            let slot = Int(state.windowPosition % Int64(settings.window))
            let leaving = state.window[slot] - state.shift
            state.sum -= leaving
            state.sumSquares -= leaving * leaving
            state.window[slot] = value
        }
        state.windowPosition += 1
        state.sum += shifted
        state.sumSquares += shifted * shifted
        // Sums of differences drift as values come and go: rebuild them once a window.
        if state.windowPosition % Int64(settings.window) == 0 {
            state.shift = state.window.reduce(0, +) / Double(state.window.count)
            state.sum = 0
            state.sumSquares = 0
            for value in state.window {
                state.sum += value - state.shift
                state.sumSquares += (value - state.shift) * (value - state.shift)
            }
        }
    }

    /// NAB's `AnomalyLikelihood.anomalyProbability`.
    private func likelihood(value: Double, raw: Double, _ state: inout State) -> Double {
        let short = settings.shortWindow
        if state.recent.count < short { state.recent.append(raw) } else { state.recent[Int(state.recentPosition % Int64(short))] = raw }
        state.recentPosition += 1
        var result = 0.5
        if state.iteration >= Int64(settings.probationaryPeriod) {
            if state.mean.isNaN || state.iteration % Int64(settings.reestimationPeriod) == 0 { estimate(&state) }
            var total = 0.0
            for score in state.recent { total += score }
            let tail = Self.tailProbability(total / Double(state.recent.count), mean: state.mean, deviation: state.deviation)
            // A run of very unlikely averages: only its first counts as red, the rest as yellow.
            let filtered = tail <= 1e-5 && !(state.previousTail > 1e-5) ? 1e-3 : tail
            state.previousTail = tail
            result = 1 - filtered
        }
        let historic = settings.historicWindow
        if state.historyValues.count < historic {
            state.historyValues.append(Float(value))
            state.historyScores.append(Float(raw))
        } else {
            let slot = Int(state.historyPosition % Int64(historic))
            state.historyValues[slot] = Float(value)
            state.historyScores[slot] = Float(raw)
        }
        state.historyPosition += 1
        state.iteration += 1
        return result
    }

    /// Re-estimates the distribution of short averages over the history (NAB's
    /// `estimateAnomalyLikelihoods`), skipping what is left of the learning period in it.
    private func estimate(_ state: inout State) {
        let count = state.historyScores.count
        let historic = settings.historicWindow
        let oldest = count < historic ? 0 : Int(state.historyPosition % Int64(historic))
        func at(_ index: Int) -> Int { (oldest + index) % max(1, count) }
        let shiftedOut = max(0, Int(state.iteration) - historic)
        let skip = min(Int(state.iteration), max(0, settings.learningPeriod - shiftedOut))
        var sum = 0.0, sumSquares = 0.0, used = 0.0
        var valueSum = 0.0, valueSquares = 0.0
        var windowTotal = 0.0
        var lastAverage = 0.5
        let short = settings.shortWindow
        for index in 0..<count {
            windowTotal += Double(state.historyScores[at(index)])
            if index >= short { windowTotal -= Double(state.historyScores[at(index - short)]) }
            let average = windowTotal / Double(min(index + 1, short))
            lastAverage = average
            guard index >= skip else { continue }
            sum += average
            sumSquares += average * average
            used += 1
            let value = Double(state.historyValues[at(index)])
            valueSum += value
            valueSquares += value * value
        }
        guard used > 0 else {
            state.mean = 0.5
            state.deviation = 1e6
            return
        }
        var mean = sum / used
        var variance = max(0, sumSquares / used - mean * mean)
        if mean < 0.03 { mean = 0.03 }
        if variance < 0.0003 { variance = 0.0003 }
        let valueMean = valueSum / used
        if valueSquares / used - valueMean * valueMean < 1.5e-5 {
            // NAB: a metric that is (nearly) constant gets the null distribution.
            mean = 0.5
            variance = 1e12
        }
        state.mean = mean
        state.deviation = variance.squareRoot()
        state.previousTail = Self.tailProbability(lastAverage, mean: mean, deviation: state.deviation)
    }

    /// NAB's two-sided tail probability, reflected about the mean.
    static func tailProbability(_ x: Double, mean: Double, deviation: Double) -> Double {
        let reflected = x < mean ? 2 * mean - x : x
        let z = (reflected - mean) / deviation
        return 0.5 * erfc(z / 1.4142)
    }

    public func encode(_ state: State, into writer: inout ByteWriter) {
        writer.write(state.iteration)
        writer.writeDoubles(state.window)
        writer.write(state.windowPosition)
        writer.write(state.shift)
        writer.write(state.sum)
        writer.write(state.sumSquares)
        writer.writeDoubles(state.recent)
        writer.write(state.recentPosition)
        writer.writeInt32s(state.historyValues.map { Int32(bitPattern: $0.bitPattern) })
        writer.writeInt32s(state.historyScores.map { Int32(bitPattern: $0.bitPattern) })
        writer.write(state.historyPosition)
        writer.write(state.mean)
        writer.write(state.deviation)
        writer.write(state.previousTail)
    }

    public func decode(from reader: inout ByteReader) throws -> State {
        var state = State()
        state.iteration = try reader.readInt64()
        state.window = try reader.readDoubles()
        state.windowPosition = try reader.readInt64()
        state.shift = try reader.readDouble()
        state.sum = try reader.readDouble()
        state.sumSquares = try reader.readDouble()
        state.recent = try reader.readDoubles()
        state.recentPosition = try reader.readInt64()
        state.historyValues = try reader.readInt32s().map { Float(bitPattern: UInt32(bitPattern: $0)) }
        state.historyScores = try reader.readInt32s().map { Float(bitPattern: UInt32(bitPattern: $0)) }
        state.historyPosition = try reader.readInt64()
        state.mean = try reader.readDouble()
        state.deviation = try reader.readDouble()
        state.previousTail = try reader.readDouble()
        guard state.window.count <= settings.window, state.recent.count <= settings.shortWindow,
              state.historyValues.count <= settings.historicWindow, state.historyValues.count == state.historyScores.count else {
            throw AnomalyError.state("a gaussian_tail state of other window sizes")
        }
        return state
    }

    public func byteCount(of state: State) -> Int {
        8 * (state.window.count + state.recent.count) + 4 * (state.historyValues.count + state.historyScores.count) + 14 * 8
    }
}
