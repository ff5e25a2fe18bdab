import Foundation
import Synchronization

/// Ticks a ``FreezeWatch`` from a thread of its own, so that a process-wide freeze shows as a
/// gap between ticks whatever the runtime's thread was doing (a long commit on a slow broker
/// is not a freeze: this thread keeps ticking). The thread ends once the detector is released.
final class FreezeDetector: Sendable {
    private let watch: Mutex<FreezeWatch>

    /// `threshold`: the shortest gap taken for a freeze; `grace`: how long commits wait after one.
    init(threshold: Duration, grace: Duration) {
        watch = Mutex(FreezeWatch(threshold: threshold, grace: grace, now: .now))
        let seconds = max(.milliseconds(10), threshold / 8).seconds
        Thread { [weak self] in
            while true {
                guard let self else { return }
                self.watch.withLock { $0.tick(now: .now) }
                Thread.sleep(forTimeInterval: seconds)  // the tick interval: a gap many times longer is a freeze
            }
        }.start()
    }

    /// Blocks while a recent freeze keeps the assignment untrusted; returns how long it waited.
    @discardableResult
    func waitOutRecentFreeze() -> Duration {
        let wait = watch.withLock { $0.waitBeforeCommit(now: .now) }
        guard wait > .zero else { return .zero }
        Thread.sleep(forTimeInterval: wait.seconds)  // letting librdkafka hear from the coordinator
        return wait
    }
}
