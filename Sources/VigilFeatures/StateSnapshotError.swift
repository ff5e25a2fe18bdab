/// A state snapshot or changelog record that cannot be restored: corrupt, truncated, written by
/// another stage layout or by a newer format version. The restore names the record
/// (topic/partition@offset) and what to do; this says what is wrong with it.
public struct StateSnapshotError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with it.
    public var problem: String
    /// The record's size as stored.
    public var bytes: Int

    public init(problem: String, bytes: Int) {
        self.problem = problem
        self.bytes = bytes
    }

    public var description: String { "state record of \(bytes) bytes cannot be restored: \(problem)" }
}
