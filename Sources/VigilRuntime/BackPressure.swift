/// When consumption pauses because the producer cannot keep up (a slow or stuck broker), as
/// data: the runtime reports the producer's queue and failed sends, and pauses or resumes its
/// inputs as this says. A full queue pauses every input until the queue has drained below the
/// low mark; a send that could not find room (the transaction was aborted for it) pauses them
/// for a backoff that doubles up to a limit, so that a stuck broker is not hammered with retries.
struct BackPressure {
    /// Records queued in the producer at which consumption pauses.
    let highMark: Int
    /// Records queued below which it resumes.
    let lowMark: Int
    let initialBackoff: Duration
    let maxBackoff: Duration
    private(set) var paused = false
    private var until: ContinuousClock.Instant?
    private var backoff: Duration

    init(queueCapacity: Int, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(10)) {
        highMark = max(1, queueCapacity / 2)
        lowMark = max(0, queueCapacity / 4)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        backoff = initialBackoff
    }

    /// Whether consumption should be paused now, given the producer's queue. Returns true when
    /// this call paused it (to count pauses).
    mutating func update(queued: Int, now: ContinuousClock.Instant) -> (paused: Bool, started: Bool) {
        let wasPaused = paused
        if let until, now < until {
            paused = true
        } else {
            until = nil
            if queued >= highMark {
                paused = true
            } else if queued <= lowMark {
                paused = false
            }
        }
        return (paused, paused && !wasPaused)
    }

    /// A send found no room in the queue within its timeout: pause for the backoff, and double it.
    mutating func sendFailed(now: ContinuousClock.Instant) {
        until = now + backoff
        paused = true
        backoff = min(maxBackoff, backoff * 2)
    }

    /// A transaction committed: the broker keeps up again, so the next backoff starts small.
    mutating func committed() { backoff = initialBackoff }
}
