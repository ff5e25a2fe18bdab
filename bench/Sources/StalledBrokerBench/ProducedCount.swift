import Foundation

/// How many events the producer thread has sent, read by the sampler.
final class ProducedCount: @unchecked Sendable {
    // @unchecked: one Int behind a lock.
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func set(_ value: Int) { lock.withLock { count = value } }
}
