import ArgumentParser
import VigilKafka
import VigilRuntime

/// The service flags of `vigil run`: a configuration file and the values that override it.
/// Use as `@OptionGroup var service: ServiceOptions`, then ``resolve()``.
struct ServiceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The service configuration file (see config/vigil.yaml); without it, the defaults.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap servers, overriding the file's.", valueName: "host:port[,host:port…]"))
    var bootstrap: String?

    @Option(name: .customLong("property"), help: ArgumentHelp("A librdkafka property, added over the file's (repeatable).", valueName: "name=value"))
    var properties: [String] = []

    @Option(name: .customLong("instance-id"), help: ArgumentHelp("This instance's id (default: the host name); keep it stable across restarts.", valueName: "id"))
    var instanceID: String?

    @Option(name: .long, help: ArgumentHelp("Where /metrics and /health are served (default 127.0.0.1:9464; port 0: any free port).", valueName: "host:port"))
    var metricsAddress: String?

    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var logFormat: String?

    @Option(name: .long, help: ArgumentHelp("How often to commit the transaction (default 100ms).", valueName: "duration"))
    var commitInterval: String?

    @Option(name: .long, help: ArgumentHelp("How often to snapshot state (default 60s).", valueName: "duration"))
    var stateSnapshotInterval: String?

    /// The flags as overrides of the file.
    var overrides: ServiceOverrides {
        ServiceOverrides(
            bootstrapServers: bootstrap, properties: properties, instanceID: instanceID, metricsAddress: metricsAddress,
            logLevel: logLevel, logFormat: logFormat, commitInterval: commitInterval, stateSnapshotInterval: stateSnapshotInterval)
    }

    /// The configuration file (or the defaults) with the flags applied. Errors name the file,
    /// line and field, or the flag.
    func resolve() throws(ServiceConfigurationError) -> ServiceConfiguration {
        let file = try config.map { (path) throws(ServiceConfigurationError) in try ServiceConfiguration.load(contentsOf: path) } ?? ServiceConfiguration()
        return try file.merging(overrides)
    }
}

extension ServiceConfiguration {
    /// The Kafka settings of the commands that only read (`vigil tail`, `vigil replay --topic`):
    /// the `config` file's (security properties included), or the defaults, with `bootstrap`
    /// over them, as client `clientID`.
    static func kafka(config: String?, bootstrap: String?, clientID: String) throws(ServiceConfigurationError) -> KafkaConfiguration {
        let file = try config.map { (path) throws(ServiceConfigurationError) in try ServiceConfiguration.load(contentsOf: path) }
        var kafka = try (file ?? ServiceConfiguration()).merging(ServiceOverrides(bootstrapServers: bootstrap)).kafka
        kafka.clientID = clientID
        return kafka
    }
}
