/// Why each event of a batch was rejected, nil for events still live (``EventBatch/rejections``):
/// a view of the batch's rejection slots. ``EventBatch/isLive(_:)`` and
/// ``EventBatch/rejection(_:)`` read one event's without making the view.
public struct EventRejections: RandomAccessCollection, Sendable {
    /// Per event, 0 while live, else 1 + the index of its rejection in `list`.
    private let slots: [Int32]
    private let list: [Rejection]

    init(slots: [Int32], list: [Rejection]) {
        self.slots = slots
        self.list = list
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { slots.count }

    /// Event `index`'s rejection, nil while it is live.
    public subscript(index: Int) -> Rejection? {
        let slot = Int(slots[index])
        return slot == 0 ? nil : list[slot - 1]
    }
}
