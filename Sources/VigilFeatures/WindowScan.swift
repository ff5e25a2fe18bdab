import VigilTopology

/// Aggregates of one window computed by scanning the buffer: for a late event, whose window is
/// not the one the running aggregates describe.
final class WindowScan {
    private var values: [Double] = []
    private var count = 0
    private var last = Double.nan

    /// Collects the events with time in (lower, upper] among sequence numbers [from, to).
    func scan(ring: RingBlock, from: Int64, to: Int64, lower: Int64, upper: Int64, column: Int) {
        values.removeAll(keepingCapacity: true)
        count = 0
        last = .nan
        let mask = ring.capacity - 1
        var sequence = from
        while sequence < to {
            let time = ring.times[Int(sequence) & mask]
            if time > lower && time <= upper {
                count += 1
                if column >= 0 {
                    let value = ring.column(column)[Int(sequence) & mask]
                    last = value
                    if !value.isNaN { values.append(value) }
                }
            }
            sequence += 1
        }
    }

    /// Adds one more event, not in the buffer (an unplaced late event itself), when its time is
    /// in (lower, upper].
    func include(time: Int64, value: Double, lower: Int64, upper: Int64) {
        guard time > lower && time <= upper else { return }
        count += 1
        last = value
        if !value.isNaN { values.append(value) }
    }

    /// The aggregation over what was scanned, with the same conventions as the running aggregates.
    func value(_ aggregation: Aggregation, current: Double) -> Double {
        let valid = Double(values.count)
        switch aggregation {
        case .count: return Double(count)
        case .sum: return values.reduce(0, +)
        case .mean: return values.isEmpty ? .nan : values.reduce(0, +) / valid
        case .risk: return values.isEmpty ? 0 : values.reduce(0, +) / valid
        case .min: return values.min() ?? .nan
        case .max: return values.max() ?? .nan
        case .last: return count == 0 ? .nan : last
        case .distinctCount: return Double(Set(values.map(FeatureEngine.distinctBits)).count)
        case .variance, .std, .zscore:
            guard values.count >= 2 else { return aggregation == .zscore ? 0 : .nan }
            let mean = values.reduce(0, +) / valid
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (valid - 1)
            if aggregation == .variance { return variance }
            if aggregation == .std { return variance.squareRoot() }
            let deviation = variance.squareRoot()
            return deviation > 0 ? (current - mean) / deviation : 0
        default: return .nan
        }
    }
}
