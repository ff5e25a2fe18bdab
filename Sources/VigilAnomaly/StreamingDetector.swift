public import VigilCodec

/// A detector that learns per key as it scores: its settings are shared, its learned state
/// (``State``) is one value per key, which the feature engine keeps beside the key's windows
/// and writes into the key's snapshots, changelog records and undo records.
///
/// A detector must be deterministic: the same events in the same order give the same state
/// bit for bit, whether the state was kept in memory or encoded and decoded between events
/// (restore and rollback depend on it).
public protocol StreamingDetector: Sendable {
    /// One key's learned state.
    associatedtype State: Sendable

    /// Values the detector reads per event (its fields, in order).
    var inputCount: Int { get }
    /// Columns it writes per event: the score first.
    var outputCount: Int { get }
    /// Describes its settings, for the stage layout's fingerprint (a snapshot is only restored
    /// into a detector with the same description).
    var layoutDescription: String { get }

    /// The state of a key that has seen nothing.
    func makeState() -> State
    /// Scores one event of the key (`inputs`: ``inputCount`` values, NaN when missing) into
    /// `outputs` (``outputCount`` values) and learns from it.
    func process(_ state: inout State, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>)
    /// Appends the state's binary form.
    func encode(_ state: State, into writer: inout ByteWriter)
    /// Reads a state that ``encode(_:into:)`` wrote.
    func decode(from reader: inout ByteReader) throws -> State
    /// Bytes the state takes in memory (for the state-size metrics).
    func byteCount(of state: State) -> Int
}

extension ByteWriter {
    /// A count and that many doubles.
    mutating func writeDoubles(_ values: [Double]) {
        writeVarint(UInt64(values.count))
        values.withUnsafeBufferPointer { write(contentsOf: $0) }
    }

    /// A count and that many 32-bit integers.
    mutating func writeInt32s(_ values: [Int32]) {
        writeVarint(UInt64(values.count))
        for value in values { write(UInt32(bitPattern: value)) }
    }
}

extension ByteReader {
    /// What ``ByteWriter/writeDoubles(_:)`` wrote, expecting `count` values when given.
    mutating func readDoubles(count expected: Int? = nil) throws -> [Double] {
        let count = try readCount(limit: 1 << 26)
        if let expected, count != expected { throw AnomalyError.state("expected \(expected) values, found \(count)") }
        var values = [Double](repeating: 0, count: count)
        for index in 0..<count { values[index] = try readDouble() }
        return values
    }

    /// What ``ByteWriter/writeInt32s(_:)`` wrote.
    mutating func readInt32s(count expected: Int? = nil) throws -> [Int32] {
        let count = try readCount(limit: 1 << 26)
        if let expected, count != expected { throw AnomalyError.state("expected \(expected) values, found \(count)") }
        var values = [Int32](repeating: 0, count: count)
        for index in 0..<count { values[index] = Int32(bitPattern: try readUInt32()) }
        return values
    }
}
