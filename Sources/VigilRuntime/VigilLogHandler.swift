import VigilCodec
public import VigilKafka
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import Synchronization

/// How log lines look.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2025-01-31T12:00:00.123Z info vigil.runtime: committed batch events=500 partition=3`
    case text
    /// One JSON object per line: `timestamp`, `level`, `label`, `message`, `metadata`
    /// (and `error` when the call site passed one), for log shippers.
    case json
}

/// Where log lines go: standard error by default. Each line is written whole, under a lock,
/// so lines of different threads never interleave.
public struct LogSink: Sendable {
    let writeLine: @Sendable (String) -> Void

    /// A sink that hands each line (without its newline) to `body`; for tests and adapters.
    public init(_ body: @escaping @Sendable (String) -> Void) {
        writeLine = body
    }

    /// The process's standard error.
    public static let standardError: LogSink = {
        let lock = Mutex(())
        return LogSink { line in
            var bytes = Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            lock.withLock { _ in
                var written = 0
                while written < bytes.count {
                    let count = bytes[written...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                    if count < 0 {
                        if errno == EINTR { continue }
                        return  // nowhere left to report a failing stderr
                    }
                    written += count
                }
            }
        }
    }()
}

/// A swift-log handler writing one line per message, as text or JSON (see ``LogFormat``).
/// Install it for the whole process with ``VigilLogging/bootstrap(level:format:sink:)``.
public struct VigilLogHandler: LogHandler {
    public let label: String
    public let format: LogFormat
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink
    /// Masks secret values in every line, whatever logged it (a message, metadata, an error).
    public let redactor: SecretRedactor

    public init(
        label: String, level: Logger.Level = .info, format: LogFormat = .text, sink: LogSink = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil, redactor: SecretRedactor = .none
    ) {
        self.label = label
        self.format = format
        logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
        self.redactor = redactor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let own = event.metadata, !own.isEmpty {
            merged.merge(own) { _, own in own }
        }
        let timestamp = LogTimestamp.now()
        if !redactor.isEmpty { merged = merged.mapValues(redact) }
        let message = redactor.redact(event.message.description)
        let errorText = event.error.map { redactor.redact(String(describing: $0)) }
        let line: String
        switch format {
        case .text:
            line = Self.textLine(timestamp: timestamp, level: event.level, label: label, message: message, metadata: merged, error: errorText)
        case .json:
            line = Self.jsonLine(timestamp: timestamp, level: event.level, label: label, message: message, metadata: merged, error: errorText)
        }
        // The whole line, after quoting: a secret cannot slip through in a metadata value, and
        // JSON escaping cannot split one (secrets with characters JSON escapes are masked in
        // the message before it is escaped).
        sink.writeLine(redactor.redact(line))
    }

    /// A metadata value with secrets masked before it is quoted (quoting could split one).
    private func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .stringConvertible(let convertible): .string(redactor.redact(convertible.description))
        case .array(let values): .array(values.map(redact))
        case .dictionary(let values): .dictionary(values.mapValues(redact))
        }
    }

    static func textLine(timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, error: String?) -> String {
        var line = timestamp + " " + level.rawValue + " " + label + ": " + message
        for key in metadata.keys.sorted() {
            line += " " + key + "=" + Self.textValue(metadata[key]!)
        }
        if let error { line += " error=" + Self.quotedIfNeeded(error) }
        return line
    }

    static func jsonLine(timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, error: String?) -> String {
        var line = "{\"timestamp\":"
        JSONText.appendString(timestamp, to: &line)
        line += ",\"level\":"
        JSONText.appendString(level.rawValue, to: &line)
        line += ",\"label\":"
        JSONText.appendString(label, to: &line)
        line += ",\"message\":"
        JSONText.appendString(message, to: &line)
        line += ",\"metadata\":"
        appendJSON(.dictionary(metadata), to: &line)
        if let error {
            line += ",\"error\":"
            JSONText.appendString(error, to: &line)
        }
        line += "}"
        return line
    }

    private static func appendJSON(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text):
            JSONText.appendString(text, to: &line)
        case .stringConvertible(let value):
            JSONText.appendString(value.description, to: &line)
        case .array(let values):
            line += "["
            for (index, value) in values.enumerated() {
                if index > 0 { line += "," }
                appendJSON(value, to: &line)
            }
            line += "]"
        case .dictionary(let values):
            line += "{"
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                JSONText.appendString(key, to: &line)
                line += ":"
                appendJSON(values[key]!, to: &line)
            }
            line += "}"
        }
    }

    private static func textValue(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quotedIfNeeded(text)
        case .stringConvertible(let value): quotedIfNeeded(value.description)
        case .array(let values): "[" + values.map(textValue).joined(separator: ",") + "]"
        case .dictionary(let values): "{" + values.keys.sorted().map { $0 + "=" + textValue(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// logfmt style: bare when it is one plain word, otherwise a JSON string.
    private static func quotedIfNeeded(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != "\"" && $0 != "=" && $0 != "\\" }
        if plain { return text }
        var quoted = ""
        JSONText.appendString(text, to: &quoted)
        return quoted
    }
}

/// Sets up logging for the whole process.
public enum VigilLogging {
    /// Installs ``VigilLogHandler`` for every logger created from now on. Call it once, first
    /// thing in `main` (swift-log allows a single bootstrap per process).
    /// `redactor` masks secrets (the service configuration's) in every line.
    public static func bootstrap(level: Logger.Level, format: LogFormat, sink: LogSink = .standardError, redactor: SecretRedactor = .none) {
        LoggingSystem.bootstrap { label in
            VigilLogHandler(label: label, level: level, format: format, sink: sink, redactor: redactor)
        }
    }
}

/// RFC 3339 UTC timestamps with milliseconds, without Foundation's formatters (slow, and not
/// safe to share between threads on every platform).
enum LogTimestamp {
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec) / 1_000_000)
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(milliseconds, 3) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
