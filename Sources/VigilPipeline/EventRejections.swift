/// Why each event of a batch was rejected, nil for events still live (``EventBatch/rejections``):
/// a view of the batch's rejection slots. ``EventBatch/isLive(_:)`` and
/// ``EventBatch/rejection(_:)`` read one event's without making the view.
public struct EventRejections: RandomAccessCollection, Sendable {
    /// Per event up to the last rejected one, 0 while live, else 1 + the index of its
    /// rejection in `list`; events past its end are live.
    private let slots: [Int32]
    private let list: [Rejection]
    private let eventCount: Int

    init(slots: [Int32], list: [Rejection], count: Int) {
        self.slots = slots
        self.list = list
        eventCount = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { eventCount }

    /// Event `index`'s rejection, nil while it is live.
    public subscript(index: Int) -> Rejection? {
        precondition(index >= 0 && index < eventCount, "event \(index) is not in the batch")
        return Self.rejection(of: index, slots: slots, list: list)
    }

    /// Event `index`'s rejection read from the slots and the list (``EventBatch/rejection(_:)``
    /// reads it through this too, without making the view).
    @inline(__always)
    static func rejection(of index: Int, slots: [Int32], list: [Rejection]) -> Rejection? {
        let slot = index < slots.count ? Int(slots[index]) : 0
        return slot == 0 ? nil : list[slot - 1]
    }
}
