#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
public import Logging
public import VigilKafka
import Yams

/// The service's own settings (`--config FILE`, see `config/vigil.yaml`), as opposed to what
/// a topology computes. Every field has a documented default, so an empty file (or none) is a
/// working configuration for a local broker. Flags override file values through
/// ``merging(_:)``.
///
/// ```yaml
/// kafka:
///   bootstrap_servers: 127.0.0.1:9092     # or a list of host:port
///   properties:                           # any librdkafka property, passed through
///     security.protocol: sasl_ssl
///     sasl.password: ${VIGIL_SASL_PASSWORD}   # ${NAME} is read from the environment
/// instance_id: scorer-1                   # default: the host name
/// metrics:
///   address: 127.0.0.1:9464
/// log:
///   level: info                           # trace, debug, info, notice, warning, error, critical
///   format: text                          # text or json
/// commit_interval: 100ms
/// state_snapshot_interval: 60s
/// ```
public struct ServiceConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// `kafka.bootstrap_servers`: comma-separated `host:port` pairs. Default `127.0.0.1:9092`.
    public var bootstrapServers = "127.0.0.1:9092"
    /// `kafka.properties`: librdkafka properties passed through unchanged (security, SASL,
    /// SSL files, tuning). Default none. Secret values are never printed.
    public var kafkaProperties: [String: String] = [:]
    /// `instance_id`: names this instance; its transactional id and client id derive from it,
    /// so it must stay the same across restarts of one instance and differ between instances.
    /// Letters, digits, `.`, `_` and `-`. Default: the host name.
    public var instanceID = ServiceConfiguration.hostName()
    /// `metrics.address`: where `/metrics` and `/health` are served. Default `127.0.0.1:9464`
    /// (loopback only); port 0 picks a free port.
    public var metricsAddress = ListenAddress(host: "127.0.0.1", port: 9464)
    /// `log.level`. Default `info`.
    public var logLevel: Logger.Level = .info
    /// `log.format`: `text` or `json`. Default `text`.
    public var logFormat: LogFormat = .text
    /// `commit_interval`: how often the open transaction is committed. Default 100 ms.
    public var commitInterval: Duration = .milliseconds(100)
    /// `state_snapshot_interval`: how often each partition's state is snapshotted, bounding
    /// the changelog a restore replays. Default 60 s.
    public var stateSnapshotInterval: Duration = .seconds(60)

    /// The defaults.
    public init() {}

    /// The Kafka connection settings: the bootstrap servers, client id `vigil-<instance id>`
    /// and the pass-through properties.
    public var kafka: KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrapServers, clientID: "vigil-\(instanceID)", properties: kafkaProperties)
    }

    /// Every setting on one line each, secrets replaced by `***` (safe to log).
    public var description: String {
        var lines = [
            "kafka.bootstrap_servers: \(bootstrapServers)",
        ]
        lines += kafka.redactedProperties.map { "kafka.properties.\($0.name): \($0.value)" }
        lines += [
            "instance_id: \(instanceID)",
            "metrics.address: \(metricsAddress)",
            "log.level: \(logLevel.rawValue)",
            "log.format: \(logFormat.rawValue)",
            "commit_interval: \(Self.format(commitInterval))",
            "state_snapshot_interval: \(Self.format(stateSnapshotInterval))",
        ]
        return lines.joined(separator: "\n")
    }

    // MARK: - Loading

    /// Reads a configuration file. Errors name the file, line, column and field. `${NAME}` in
    /// property values is read from `environment` (default: the process's).
    public static func load(
        contentsOf path: String, environment: [String: String]? = nil
    ) throws(ServiceConfigurationError) -> ServiceConfiguration {
        let text = try Self.readFile(path)
        return try ServiceConfiguration(yaml: text, file: path, environment: environment)
    }

    /// Parses a configuration from YAML text; `file` names it in errors.
    public init(
        yaml: String, file: String = "<configuration>", environment: [String: String]? = nil
    ) throws(ServiceConfigurationError) {
        self.init()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ServiceConfigurationError(yamlError: error, file: file)
        } catch {
            throw ServiceConfigurationError(file: file, problem: "not valid YAML: \(error)")
        }
        guard let root, !Self.isNull(root) else { return }  // empty file: the defaults
        let reader = Reader(file: file, environment: environment ?? ProcessInfo.processInfo.environment)
        try reader.read(root, into: &self)
    }

    // MARK: - Flags

    /// Returns this configuration with the given command-line values applied over it. Values
    /// are parsed as in the file; errors name the flag.
    public func merging(_ overrides: ServiceOverrides) throws(ServiceConfigurationError) -> ServiceConfiguration {
        var merged = self
        func fail(_ flag: String, _ problem: String) -> ServiceConfigurationError {
            ServiceConfigurationError(file: "command line", field: flag, problem: problem)
        }
        if let value = overrides.bootstrapServers {
            guard let servers = Self.parseBootstrap(value) else { throw fail("--bootstrap", "expected host:port[,host:port…]") }
            merged.bootstrapServers = servers
        }
        for assignment in overrides.properties {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw fail("--property", "expected name=value, got \"\(assignment.prefix { $0 != "=" })=…\"")
            }
            let name = String(assignment[..<equals]), value = String(assignment[assignment.index(after: equals)...])
            if let property = Self.filePropertyTarget(name) {
                do throws(SecretFileError) {
                    merged.kafkaProperties[property] = try Self.readSecretFile(value)
                } catch {
                    throw fail("--property \(name)", error.description)
                }
            } else {
                merged.kafkaProperties[name] = value
            }
        }
        if let value = overrides.instanceID {
            if let problem = Self.instanceIDProblem(value) { throw fail("--instance-id", problem) }
            merged.instanceID = value
        }
        if let value = overrides.metricsAddress {
            do throws(ListenAddressError) {
                merged.metricsAddress = try ListenAddress(parsing: value)
            } catch {
                throw fail("--metrics-address", error.description)
            }
        }
        if let value = overrides.logLevel {
            guard let level = Self.parseLevel(value) else { throw fail("--log-level", Self.levelProblem(value)) }
            merged.logLevel = level
        }
        if let value = overrides.logFormat {
            guard let format = LogFormat(rawValue: value.lowercased()) else { throw fail("--log-format", "expected text or json, got \"\(value)\"") }
            merged.logFormat = format
        }
        if let value = overrides.commitInterval {
            merged.commitInterval = try Self.parsePositiveDuration(value) { fail("--commit-interval", $0) }
        }
        if let value = overrides.stateSnapshotInterval {
            merged.stateSnapshotInterval = try Self.parsePositiveDuration(value) { fail("--state-snapshot-interval", $0) }
        }
        return merged
    }

    // MARK: - Secrets

    /// Masks the values of secret properties (passwords, keys, tokens; see
    /// ``KafkaConfiguration/isSecret(_:)``) wherever they appear: give it to the log handler
    /// so that no log line can show one.
    public var redactor: SecretRedactor { SecretRedactor(configuration: kafka) }

    /// A property named `NAME_file` sets `NAME` to the contents of the file it names (a
    /// mounted secret: Kubernetes, systemd's `LoadCredential=`, Docker secrets).
    static let fileSuffix = "_file"

    /// The property a `NAME_file` property sets, or nil for an ordinary property.
    static func filePropertyTarget(_ name: String) -> String? {
        guard name.hasSuffix(fileSuffix), name.count > fileSuffix.count else { return nil }
        return String(name.dropLast(fileSuffix.count))
    }

    /// A secret file's contents without the line end editors and `echo` add. The error names
    /// the file, never its contents.
    static func readSecretFile(_ path: String) throws(SecretFileError) -> String {
        var bytes: [UInt8]
        switch readBytes(path, limit: 1 << 20) {
        case .success(let read): bytes = read
        case .failure(let problem): throw SecretFileError(path: path, problem: problem.text)
        }
        while let last = bytes.last, last == 10 || last == 13 { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SecretFileError(path: path, problem: "not UTF-8 text") }
        guard !text.isEmpty else { throw SecretFileError(path: path, problem: "the file is empty") }
        return text
    }

    // MARK: - Values

    /// The host name (the default instance id), or `vigil` when it cannot be read.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "vigil" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "vigil" : name
    }

    /// Parses durations written `100ms`, `1.5s`, `2m`, `1h` (a unit is required).
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let scale: Double
        switch unit {
        case "us", "µs": scale = 1e-6
        case "ms": scale = 1e-3
        case "s": scale = 1
        case "m", "min": scale = 60
        case "h": scale = 3600
        default: return nil
        }
        let nanoseconds = value * scale * 1e9
        guard nanoseconds < 9e18 else { return nil }
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds)s" }
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return milliseconds == milliseconds.rounded() ? "\(Int64(milliseconds))ms" : "\(milliseconds)ms"
    }

    static func parseLevel(_ text: String) -> Logger.Level? {
        let lowered = text.lowercased()
        return lowered == "warn" ? .warning : Logger.Level(rawValue: lowered)
    }

    static func levelProblem(_ text: String) -> String {
        "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\""
    }

    static func parseBootstrap(_ text: String) -> String? {
        let servers = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !servers.isEmpty, servers.allSatisfy(isHostPort) else { return nil }
        return servers.joined(separator: ",")
    }

    static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, let port = Int(text[text.index(after: colon)...]) else { return false }
        return (1...65535).contains(port)
    }

    /// Why an instance id is not acceptable, or nil when it is.
    static func instanceIDProblem(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.count > 200 { return "must be at most 200 characters" }
        let allowed = text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "_" || scalar == "-")
        }
        return allowed ? nil : "may hold only letters, digits, '.', '_' and '-' (it becomes part of the transactional id), got \"\(text)\""
    }

    static func parsePositiveDuration(
        _ text: String, _ fail: (String) -> ServiceConfigurationError
    ) throws(ServiceConfigurationError) -> Duration {
        guard let duration = parseDuration(text) else { throw fail("expected a duration with a unit (100ms, 5s, 2m, 1h), got \"\(text)\"") }
        guard duration > .zero else { throw fail("must be longer than zero") }
        return duration
    }

    static func isNull(_ node: Node) -> Bool {
        node.null != nil
    }

    /// The file's text; errors say why in the system's words ("No such file or directory").
    private static func readFile(_ path: String) throws(ServiceConfigurationError) -> String {
        let bytes: [UInt8]
        switch readBytes(path, limit: .max) {
        case .success(let read): bytes = read
        case .failure(let problem): throw ServiceConfigurationError(file: path, problem: "cannot read the file: \(problem.text)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ServiceConfigurationError(file: path, problem: "the file is not UTF-8 text")
        }
        return text
    }

    struct ReadProblem: Error { var text: String }

    /// A file's bytes, or why not in the system's words; more than `limit` bytes is a problem.
    static func readBytes(_ path: String, limit: Int) -> Result<[UInt8], ReadProblem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadProblem(text: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadProblem(text: String(cString: strerror(errno))))
            }
            if count == 0 { return .success(bytes) }
            bytes += buffer[0..<count]
            if bytes.count > limit { return .failure(ReadProblem(text: "larger than \(limit) bytes; is it the right file?")) }
        }
    }
}

/// A secret file that could not be read: its path and why (never its contents).
struct SecretFileError: Error, CustomStringConvertible {
    var path: String
    var problem: String
    var description: String { "cannot read the secret file \(path): \(problem)" }
}

/// A configuration that could not be loaded: where (file, line, column), which field, why.
/// Never contains a secret value.
public struct ServiceConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The file's path (or `command line`).
    public var file: String
    /// 1-based line and column, when known.
    public var line: Int?
    public var column: Int?
    /// The field's dotted path (`kafka.bootstrap_servers`) or flag, when the problem is in one.
    public var field: String?
    public var problem: String

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String? = nil, problem: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.problem = problem
    }

    init(yamlError: YamlError, file: String) {
        // YamlError's own description quotes the offending line, which may hold a secret:
        // keep only the position and the problem.
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            self.init(file: file, line: mark.line, column: mark.column, problem: "not valid YAML: \(what)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.init(
                file: file, line: context.mark.line, column: context.mark.column,
                problem: "duplicate key \(duplicates.sorted().joined(separator: ", "))")
        default:
            self.init(file: file, problem: "not valid YAML")
        }
    }

    public var description: String {
        var place = file
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        if let field { return "\(place): \(field): \(problem)" }
        return "\(place): \(problem)"
    }
}

/// Walks the YAML tree into a configuration, naming each node's place in errors.
private struct Reader {
    let file: String
    let environment: [String: String]

    func error(_ node: Node?, _ field: String?, _ problem: String) -> ServiceConfigurationError {
        ServiceConfigurationError(file: file, line: node?.mark?.line, column: node?.mark?.column, field: field, problem: problem)
    }

    func read(_ root: Node, into configuration: inout ServiceConfiguration) throws(ServiceConfigurationError) {
        for (_, value, name) in try entries(of: root, path: nil, allowed: ["kafka", "instance_id", "metrics", "log", "commit_interval", "state_snapshot_interval"]) {
            if ServiceConfiguration.isNull(value) { continue }  // `field:` with no value keeps the default
            switch name {
            case "kafka":
                for (_, value, inner) in try entries(of: value, path: "kafka", allowed: ["bootstrap_servers", "properties"]) {
                    if ServiceConfiguration.isNull(value) { continue }
                    switch inner {
                    case "bootstrap_servers": configuration.bootstrapServers = try bootstrap(value)
                    default: configuration.kafkaProperties = try properties(value)
                    }
                }
            case "instance_id":
                let text = try scalar(value, "instance_id")
                if let problem = ServiceConfiguration.instanceIDProblem(text) { throw error(value, "instance_id", problem) }
                configuration.instanceID = text
            case "metrics":
                for (_, value, _) in try entries(of: value, path: "metrics", allowed: ["address"]) where !ServiceConfiguration.isNull(value) {
                    let text = try scalar(value, "metrics.address")
                    do throws(ListenAddressError) {
                        configuration.metricsAddress = try ListenAddress(parsing: text)
                    } catch {
                        throw self.error(value, "metrics.address", error.description)
                    }
                }
            case "log":
                for (_, value, inner) in try entries(of: value, path: "log", allowed: ["level", "format"]) where !ServiceConfiguration.isNull(value) {
                    let text = try scalar(value, "log.\(inner)")
                    if inner == "level" {
                        guard let level = ServiceConfiguration.parseLevel(text) else { throw error(value, "log.level", ServiceConfiguration.levelProblem(text)) }
                        configuration.logLevel = level
                    } else {
                        guard let format = LogFormat(rawValue: text.lowercased()) else { throw error(value, "log.format", "expected text or json, got \"\(text)\"") }
                        configuration.logFormat = format
                    }
                }
            case "commit_interval":
                configuration.commitInterval = try duration(value, name)
            default:
                configuration.stateSnapshotInterval = try duration(value, name)
            }
        }
    }

    /// A mapping's entries with their key names, refusing keys outside `allowed` (typos).
    func entries(of node: Node, path: String?, allowed: [String]) throws(ServiceConfigurationError) -> [(Node, Node, String)] {
        guard case .mapping(let mapping) = node else {
            throw error(node, path, path == nil ? "the configuration must be a mapping of fields" : "expected a mapping of fields")
        }
        var result: [(Node, Node, String)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw error(key, path, "field names must be plain words") }
            let name = scalar.string
            let dotted = path.map { "\($0).\(name)" } ?? name
            guard allowed.contains(name) else {
                throw error(key, dotted, "unknown field; expected one of \(allowed.joined(separator: ", "))")
            }
            result.append((key, value, name))
        }
        return result
    }

    func scalar(_ node: Node, _ field: String) throws(ServiceConfigurationError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, field, "expected a single value") }
        return scalar.string
    }

    func bootstrap(_ node: Node) throws(ServiceConfigurationError) -> String {
        let field = "kafka.bootstrap_servers"
        let text: String
        if case .sequence(let sequence) = node {
            var items: [String] = []
            for item in sequence { items.append(try scalar(item, field)) }
            text = items.joined(separator: ",")
        } else {
            text = try scalar(node, field)
        }
        guard let servers = ServiceConfiguration.parseBootstrap(text) else {
            throw error(node, field, "expected host:port, a comma-separated list of them, or a YAML list; got \"\(text)\"")
        }
        return servers
    }

    func properties(_ node: Node) throws(ServiceConfigurationError) -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error(node, "kafka.properties", "expected a mapping of librdkafka property names to values") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard case .scalar(let nameScalar) = key else { throw error(key, "kafka.properties", "property names must be plain words") }
            let name = nameScalar.string
            let field = "kafka.properties.\(name)"
            guard case .scalar(let valueScalar) = value, !ServiceConfiguration.isNull(value) else {
                // An empty value has no place of its own: point at its name.
                throw error(ServiceConfiguration.isNull(value) ? key : value, field, "expected a single value (quote it if it is empty: \"\")")
            }
            let text = try expand(valueScalar.string, node: value, field: field)
            if let property = ServiceConfiguration.filePropertyTarget(name) {
                do throws(SecretFileError) {
                    result[property] = try ServiceConfiguration.readSecretFile(text)
                } catch {
                    throw self.error(value, field, error.description)
                }
            } else {
                result[name] = text
            }
        }
        let names = Set(mapping.compactMap { $0.key.scalar?.string })
        for name in names.sorted() where names.contains(name + ServiceConfiguration.fileSuffix) {
            throw error(node, "kafka.properties.\(name)", "set either \(name) or \(name)\(ServiceConfiguration.fileSuffix), not both")
        }
        return result
    }

    /// Replaces `${NAME}` with the environment variable, so secrets can stay out of the file
    /// (systemd's `EnvironmentFile=`, a secret manager's variables).
    func expand(_ text: String, node: Node, field: String) throws(ServiceConfigurationError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw error(node, field, "unterminated ${ in the value")
            }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name] else {
                throw error(node, field, "environment variable \(name) is not set")
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    func duration(_ node: Node, _ field: String) throws(ServiceConfigurationError) -> Duration {
        let text = try scalar(node, field)
        return try ServiceConfiguration.parsePositiveDuration(text) { error(node, field, $0) }
    }
}
