import Synchronization

/// A value that only goes up (events, transactions, rebalances). Lock-free: an increment is
/// one relaxed atomic add, cheap enough for the per-event path.
public final class Counter: Sendable {
    private let count = Atomic<UInt64>(0)

    init() {}

    /// Adds `amount` (default 1).
    public func increment(by amount: Int = 1) {
        precondition(amount >= 0, "a counter never goes down")
        count.wrappingAdd(UInt64(amount), ordering: .relaxed)
    }

    /// The current value.
    public var value: UInt64 { count.load(ordering: .relaxed) }
}
