import Synchronization

/// Whether the service is healthy, as `GET /health` reports it: healthy until the runtime
/// marks itself unhealthy with a reason (a fatal Kafka error, a fenced producer, a stuck
/// restore), which the endpoint then returns with status 503.
public final class HealthStatus: Sendable {
    private let reason = Mutex<String?>(nil)
    private let gauge: Gauge?

    /// A status that starts healthy.
    public convenience init() { self.init(gauge: nil) }

    init(gauge: Gauge?) {
        self.gauge = gauge
        gauge?.set(1)
    }

    /// Marks the service unhealthy; `reason` is shown to whoever asks (keep secrets out of it).
    public func markUnhealthy(_ reason: String) {
        self.reason.withLock { $0 = reason }
        gauge?.set(0)
    }

    /// Marks the service healthy again.
    public func markHealthy() {
        reason.withLock { $0 = nil }
        gauge?.set(1)
    }

    /// Nil while healthy, otherwise the reason given to ``markUnhealthy(_:)``.
    public var unhealthyReason: String? { reason.withLock { $0 } }

    public var isHealthy: Bool { unhealthyReason == nil }
}
