import Foundation
import Logging
import Testing
import VigilKafka
@testable import VigilRuntime

struct ServiceConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func defaults() throws {
        let configuration = ServiceConfiguration()
        #expect(configuration.bootstrapServers == "127.0.0.1:9092")
        #expect(configuration.kafkaProperties.isEmpty)
        #expect(configuration.instanceID == ServiceConfiguration.hostName())
        #expect(!configuration.instanceID.isEmpty)
        #expect(configuration.metricsAddress == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .text)
        #expect(configuration.commitInterval == .milliseconds(100))
        #expect(configuration.stateSnapshotInterval == .seconds(60))
        // An empty file, or one of comments only, is the defaults.
        #expect(try ServiceConfiguration(yaml: "") == configuration)
        #expect(try ServiceConfiguration(yaml: "# nothing\n") == configuration)
    }

    @Test func theShippedFileLoadsWithItsDocumentedDefaults() throws {
        let loaded = try ServiceConfiguration.load(contentsOf: Self.repository.appendingPathComponent("config/vigil.yaml").path)
        #expect(loaded == ServiceConfiguration())
    }

    @Test func readsEveryField() throws {
        let yaml = """
            kafka:
              bootstrap_servers: [broker-1:9093, "broker-2:9093"]
              properties:
                security.protocol: sasl_ssl
                sasl.mechanism: SCRAM-SHA-512
                sasl.username: vigil
                sasl.password: ${VIGIL_TEST_PASSWORD}
                fetch.wait.max.ms: 50
                enable.ssl.certificate.verification: true
            instance_id: scorer-2
            metrics:
              address: 0.0.0.0:9500
            log:
              level: WARN
              format: json
            commit_interval: 250ms
            state_snapshot_interval: 2m
            """
        let configuration = try ServiceConfiguration(yaml: yaml, file: "vigil.yaml", environment: ["VIGIL_TEST_PASSWORD": "hunter2"])
        #expect(configuration.bootstrapServers == "broker-1:9093,broker-2:9093")
        #expect(configuration.kafkaProperties == [
            "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "vigil", "sasl.password": "hunter2",
            "fetch.wait.max.ms": "50", "enable.ssl.certificate.verification": "true",
        ])
        #expect(configuration.instanceID == "scorer-2")
        #expect(configuration.metricsAddress == ListenAddress(host: "0.0.0.0", port: 9500))
        #expect(configuration.logLevel == .warning)
        #expect(configuration.logFormat == .json)
        #expect(configuration.commitInterval == .milliseconds(250))
        #expect(configuration.stateSnapshotInterval == .seconds(120))
        #expect(configuration.kafka.clientID == "vigil-scorer-2")
        #expect(configuration.kafka.properties["sasl.password"] == "hunter2")

        // Secrets never show.
        let description = configuration.description
        #expect(!description.contains("hunter2"))
        #expect(description.contains("kafka.properties.sasl.password: ***"))
        #expect(description.contains("kafka.properties.sasl.username: vigil"))
        #expect(description.contains("commit_interval: 250ms"))
        #expect(description.contains("state_snapshot_interval: 120s"))
    }

    @Test func emptyFieldsKeepTheirDefaults() throws {
        let configuration = try ServiceConfiguration(yaml: "instance_id:\nlog:\n  level: ~\ncommit_interval: 1s\n")
        #expect(configuration.instanceID == ServiceConfiguration.hostName())
        #expect(configuration.logLevel == .info)
        #expect(configuration.commitInterval == .seconds(1))
    }

    /// Loading errors, each with where and why.
    @Test(arguments: [
        ("kafka:\n  bootstrap_server: x:1\n", "vigil.yaml:2:3: kafka.bootstrap_server: unknown field; expected one of bootstrap_servers, properties"),
        ("kafka:\n  bootstrap_servers: nohost\n", #"vigil.yaml:2:22: kafka.bootstrap_servers: expected host:port, a comma-separated list of them, or a YAML list; got "nohost""#),
        ("commit_interval: 100\n", #"vigil.yaml:1:18: commit_interval: expected a duration with a unit (100ms, 5s, 2m, 1h), got "100""#),
        ("state_snapshot_interval: 0s\n", "vigil.yaml:1:26: state_snapshot_interval: must be longer than zero"),
        ("log:\n  level: loud\n", #"vigil.yaml:2:10: log.level: expected one of trace, debug, info, notice, warning, error, critical, got "loud""#),
        ("log:\n  format: xml\n", #"vigil.yaml:2:11: log.format: expected text or json, got "xml""#),
        ("metrics:\n  address: 9464\n", #"vigil.yaml:2:12: metrics.address: invalid address "9464": expected host:port (IPv6 addresses go in brackets: [::1]:9464)"#),
        ("instance_id: a b\n", #"vigil.yaml:1:14: instance_id: may hold only letters, digits, '.', '_' and '-' (it becomes part of the transactional id), got "a b""#),
        ("kafka:\n  properties:\n    sasl.password: ${VIGIL_UNSET_VARIABLE}\n", "vigil.yaml:3:20: kafka.properties.sasl.password: environment variable VIGIL_UNSET_VARIABLE is not set"),
        ("kafka:\n  properties:\n    ssl.ca.location:\n", #"vigil.yaml:3:5: kafka.properties.ssl.ca.location: expected a single value (quote it if it is empty: "")"#),
        ("kafka:\n  properties: [a, b]\n", "vigil.yaml:2:15: kafka.properties: expected a mapping of librdkafka property names to values"),
        ("- just\n- a list\n", "vigil.yaml:1:1: the configuration must be a mapping of fields"),
    ])
    func errorsNameFileLineAndField(yaml: String, expected: String) {
        #expect {
            _ = try ServiceConfiguration(yaml: yaml, file: "vigil.yaml", environment: [:])
        } throws: { error in
            String(describing: error) == expected
        }
    }

    @Test func syntaxErrorsGiveThePositionButNeverTheLine() {
        let yaml = "kafka:\n  properties:\n    sasl.password: \"s3cret\n"
        #expect {
            _ = try ServiceConfiguration(yaml: yaml, file: "vigil.yaml")
        } throws: { error in
            let text = String(describing: error)
            return text.hasPrefix("vigil.yaml:") && text.contains("not valid YAML") && !text.contains("s3cret")
        }
    }

    @Test func aMissingFileSaysSo() {
        #expect {
            _ = try ServiceConfiguration.load(contentsOf: "/nonexistent/vigil.yaml")
        } throws: { error in
            String(describing: error) == "/nonexistent/vigil.yaml: cannot read the file: No such file or directory"
        }
    }

    @Test func flagsOverrideTheFile() throws {
        let file = try ServiceConfiguration(yaml: """
            kafka:
              bootstrap_servers: file:9092
              properties: {security.protocol: ssl, client.rack: a}
            instance_id: from-file
            commit_interval: 1s
            """)
        let merged = try file.merging(ServiceOverrides(
            bootstrapServers: "flag:9092, flag2:9092", properties: ["client.rack=b", "sasl.password=x=y"], instanceID: "from-flag",
            metricsAddress: "127.0.0.1:0", logLevel: "debug", logFormat: "json", commitInterval: "50ms", stateSnapshotInterval: "10s"))
        #expect(merged.bootstrapServers == "flag:9092,flag2:9092")
        #expect(merged.kafkaProperties == ["security.protocol": "ssl", "client.rack": "b", "sasl.password": "x=y"])
        #expect(merged.instanceID == "from-flag")
        #expect(merged.metricsAddress == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(merged.logLevel == .debug)
        #expect(merged.logFormat == .json)
        #expect(merged.commitInterval == .milliseconds(50))
        #expect(merged.stateSnapshotInterval == .seconds(10))
        // No flags: the file's values stand.
        #expect(try file.merging(ServiceOverrides()) == file)
    }

    @Test(arguments: [
        (ServiceOverrides(bootstrapServers: ""), "command line: --bootstrap: expected host:port[,host:port…]"),
        (ServiceOverrides(properties: ["=x"]), #"command line: --property: expected name=value, got "=…""#),
        (ServiceOverrides(properties: ["sasl.password"]), #"command line: --property: expected name=value, got "sasl.password=…""#),
        (ServiceOverrides(commitInterval: "soon"), #"command line: --commit-interval: expected a duration with a unit (100ms, 5s, 2m, 1h), got "soon""#),
        (ServiceOverrides(logFormat: "xml"), #"command line: --log-format: expected text or json, got "xml""#),
        (ServiceOverrides(instanceID: ""), "command line: --instance-id: must not be empty"),
    ])
    func badFlagsNameTheFlag(overrides: ServiceOverrides, expected: String) {
        #expect {
            _ = try ServiceConfiguration().merging(overrides)
        } throws: { error in
            String(describing: error) == expected
        }
    }

    @Test func durations() {
        #expect(ServiceConfiguration.parseDuration("100ms") == .milliseconds(100))
        #expect(ServiceConfiguration.parseDuration("1.5s") == .milliseconds(1500))
        #expect(ServiceConfiguration.parseDuration(" 2 m ") == .seconds(120))
        #expect(ServiceConfiguration.parseDuration("1h") == .seconds(3600))
        #expect(ServiceConfiguration.parseDuration("250us") == .microseconds(250))
        #expect(ServiceConfiguration.parseDuration("100") == nil)
        #expect(ServiceConfiguration.parseDuration("-1s") == nil)
        #expect(ServiceConfiguration.parseDuration("s") == nil)
    }
}
