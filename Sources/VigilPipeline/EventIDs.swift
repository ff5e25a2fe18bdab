/// One event's id texts (``EventBatch/ids(of:)``), in the topology's id field order: a view
/// of the batch's id bytes, each id made a String when it is read.
public struct EventIDs: RandomAccessCollection, Equatable, Sendable, CustomStringConvertible {
    private let bytes: [UInt8]
    private let ends: [Int]
    private let range: Range<Int>

    init(bytes: [UInt8], ends: [Int], range: Range<Int>) {
        self.bytes = bytes
        self.ends = ends
        self.range = range
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { range.count }

    /// The id at `position` (0-based).
    public subscript(position: Int) -> String {
        precondition(position >= 0 && position < range.count, "id position \(position) out of range")
        return withUTF8(at: position) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 of the id at `position`, in place.
    public func withUTF8<Result>(at position: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        let span = Self.byteRange(of: range.lowerBound + position, ends: ends)
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[span])) }
    }

    /// Where id `id` (over all the batch's events) lies in the id bytes whose ends are `ends`:
    /// the one place that layout is read (``EventBatch`` reads it through this too).
    @inline(__always)
    static func byteRange(of id: Int, ends: [Int]) -> Range<Int> { (id == 0 ? 0 : ends[id - 1])..<ends[id] }

    /// Two events' ids are equal when their texts are, one by one.
    public static func == (lhs: EventIDs, rhs: EventIDs) -> Bool { lhs.elementsEqual(rhs) }

    public var description: String { Array(self).description }
}
