import Synchronization

/// A value that goes up and down (lag, keys of state). Stored as the bits of a `Double` in
/// one atomic word: `set` is a store, `add` a compare-and-swap loop.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0.0.bitPattern)

    init() {}

    /// Sets the value.
    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    /// Sets the value from an integer (counts, bytes, offsets).
    public func set(_ value: Int) { set(Double(value)) }

    /// Adds `delta` (negative to subtract).
    public func add(_ delta: Double) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + delta).bitPattern
            let (exchanged, original) = bits.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}
