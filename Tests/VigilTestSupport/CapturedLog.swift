public import Logging
import Synchronization

/// Keeps every line logged through its ``logger(label:)``, as "level message", for tests that
/// assert what a client logged.
public final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// The lines logged so far.
    public var all: [String] { lines.withLock { $0 } }

    /// A logger, at every level, whose lines are kept here.
    public func logger(label: String) -> Logger {
        Logger(label: label) { _ in Handler(log: self) }
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { log.append("\(event.level) \(event.message)") }
    }
}
