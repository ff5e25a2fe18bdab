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
        let id = range.lowerBound + position
        let start = id == 0 ? 0 : ends[id - 1]
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<ends[id]])) }
    }

    /// Two events' ids are equal when their texts are, one by one.
    public static func == (lhs: EventIDs, rhs: EventIDs) -> Bool { lhs.elementsEqual(rhs) }

    public var description: String { Array(self).description }
}
