public import VigilCodec

/// One detector's states for every key slot of a feature engine, type-erased so an engine can
/// hold detectors of any kind. Slots are the engine's dense key slots.
public protocol DetectorSlots: AnyObject {
    /// Values read per event.
    var inputCount: Int { get }
    /// Columns written per event.
    var outputCount: Int { get }
    /// The detector's settings, for the layout fingerprint.
    var layoutDescription: String { get }
    /// Gives `slot` a fresh state (a new key).
    func reset(slot: Int)
    /// Frees `slot`'s state (the key is gone).
    func release(slot: Int)
    /// Scores and learns one event of the key in `slot`.
    func process(slot: Int, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>)
    /// Scores one event as ``process(slot:time:inputs:outputs:)`` would, leaving the state as
    /// it was (an event too late to place, scored but not learnt from).
    func score(slot: Int, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>)
    /// Appends the state of `slot`.
    func encode(slot: Int, into writer: inout ByteWriter)
    /// Replaces the state of `slot` with one read from `reader`.
    func decode(slot: Int, from reader: inout ByteReader) throws
    /// Bytes of `slot`'s state in memory (0 without one).
    func byteCount(slot: Int) -> Int
}

/// The states of one ``StreamingDetector`` by slot.
public final class DetectorBank<Detector: StreamingDetector>: DetectorSlots {
    /// The detector.
    public let detector: Detector
    private var states: [Detector.State?] = []

    /// A bank for `detector`, with no slots yet.
    public init(_ detector: Detector) { self.detector = detector }

    public var inputCount: Int { detector.inputCount }
    public var outputCount: Int { detector.outputCount }
    public var layoutDescription: String { detector.layoutDescription }

    public func reset(slot: Int) {
        if slot >= states.count { states.append(contentsOf: repeatElement(nil, count: slot + 1 - states.count)) }
        states[slot] = detector.makeState()
    }

    public func release(slot: Int) {
        if slot < states.count { states[slot] = nil }
    }

    public func process(slot: Int, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>) {
        if slot >= states.count || states[slot] == nil { reset(slot: slot) }
        detector.process(&states[slot]!, time: time, inputs: inputs, outputs: outputs)
    }

    public func score(slot: Int, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>) {
        // A copy learns and is thrown away: rare events, so the copy's allocations do not matter.
        var copy = slot < states.count ? states[slot] ?? detector.makeState() : detector.makeState()
        detector.process(&copy, time: time, inputs: inputs, outputs: outputs)
    }

    public func encode(slot: Int, into writer: inout ByteWriter) {
        detector.encode(slot < states.count ? states[slot] ?? detector.makeState() : detector.makeState(), into: &writer)
    }

    public func decode(slot: Int, from reader: inout ByteReader) throws {
        let state = try detector.decode(from: &reader)
        if slot >= states.count { states.append(contentsOf: repeatElement(nil, count: slot + 1 - states.count)) }
        states[slot] = state
    }

    public func byteCount(slot: Int) -> Int {
        guard slot < states.count, let state = states[slot] else { return 0 }
        return detector.byteCount(of: state)
    }
}
