import VigilTopology

/// A window as the half-open time range (lower, upper] it covers for an event at time t.
///
/// Both bounds are non-decreasing in t for every window kind, which is what lets the engine
/// move two cursors forward per event instead of rescanning.
struct WindowBounds: Equatable, Hashable {
    /// How far below t the exclusive lower bound sits (sliding and delayed), or 0 for aligned kinds.
    let reach: Int64
    /// How far below t the inclusive upper bound sits (the delay).
    let delay: Int64
    /// For tumbling and hopping windows: the alignment step and the window size.
    let step: Int64
    let alignedSize: Int64

    init(_ spec: WindowSpec) {
        switch spec {
        case let .sliding(size): (reach, delay, step, alignedSize) = (size, 0, 0, 0)
        case let .delayed(size, delay): (reach, self.delay, step, alignedSize) = (size + delay, delay, 0, 0)
        case let .tumbling(size): (reach, delay, step, alignedSize) = (0, 0, size, size)
        case let .hopping(size, advance): (reach, delay, step, alignedSize) = (0, 0, advance, size)
        }
    }

    /// The exclusive lower bound for an event at `time`.
    @inline(__always)
    func lower(_ time: Int64) -> Int64 {
        if step == 0 { return time &- reach }
        let floor = time >= 0 ? time / step * step : -((-time + step - 1) / step) * step
        // The oldest aligned window still holding `time` started (size/step − 1) steps before `floor`.
        return floor - alignedSize + step - 1
    }

    /// The inclusive upper bound for an event at `time`.
    @inline(__always)
    func upper(_ time: Int64) -> Int64 { time &- delay }

    /// How far back from t the window can reach.
    var lookback: Int64 { step == 0 ? reach : alignedSize }
}
