import Foundation
import Logging
import Synchronization
import Testing
import VigilKafka
@testable import VigilRuntime

/// Secrets come from the environment, from files or from flags, and never show: not in the
/// printed configuration, not in a log line (Vigil's or librdkafka's), not in an error.
struct SecretsTests {
    static func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-secret-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func secretFilesSetTheirPropertyWithoutTheLineEnd() throws {
        let file = try Self.temporaryFile("pa55-from-file\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let yaml = """
            kafka:
              properties:
                sasl.username: vigil
                sasl.password_file: \(file)
            """
        let configuration = try ServiceConfiguration(yaml: yaml, file: "vigil.yaml", environment: [:])
        #expect(configuration.kafkaProperties == ["sasl.username": "vigil", "sasl.password": "pa55-from-file"])
        #expect(configuration.description.contains("kafka.properties.sasl.password: ***"))
        #expect(!configuration.description.contains("pa55-from-file"))

        // The same file from a flag, its path from the environment in the file.
        let flagged = try ServiceConfiguration().merging(ServiceOverrides(properties: ["ssl.key.password_file=\(file)"]))
        #expect(flagged.kafkaProperties["ssl.key.password"] == "pa55-from-file")
        let fromEnvironment = try ServiceConfiguration(
            yaml: "kafka:\n  properties:\n    sasl.password_file: ${SECRET_PATH}\n", environment: ["SECRET_PATH": file])
        #expect(fromEnvironment.kafkaProperties["sasl.password"] == "pa55-from-file")
    }

    @Test func secretFileErrorsNameThePathAndTheFieldNeverTheContents() throws {
        #expect {
            try ServiceConfiguration(yaml: "kafka:\n  properties:\n    sasl.password_file: /nonexistent/vigil-secret\n", file: "vigil.yaml")
        } throws: { error in
            "\(error)" == "vigil.yaml:3:25: kafka.properties.sasl.password_file: cannot read the secret file /nonexistent/vigil-secret: No such file or directory"
        }
        let file = try Self.temporaryFile("the-secret-itself")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect {
            try ServiceConfiguration(yaml: "kafka:\n  properties:\n    sasl.password: x\n    sasl.password_file: \(file)\n", file: "vigil.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("set either sasl.password or sasl.password_file, not both") && !text.contains("the-secret-itself")
        }
        let empty = try Self.temporaryFile("\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect {
            try ServiceConfiguration().merging(ServiceOverrides(properties: ["sasl.password_file=\(empty)"]))
        } throws: { error in
            "\(error)" == "command line: --property sasl.password_file: cannot read the secret file \(empty): the file is empty"
        }
    }

    @Test func theRedactorMasksEverySecretValueWherever() {
        let kafka = KafkaConfiguration(bootstrapServers: "b:9092", properties: [
            "sasl.password": "hunter2-long", "sasl.username": "vigil", "ssl.key.pem": "-----BEGIN KEY-----abc", "sasl.oauthbearer.config": "ab",
        ])
        let redactor = SecretRedactor(configuration: kafka)
        #expect(redactor.redact("login vigil:hunter2-long failed; key -----BEGIN KEY-----abc") == "login vigil:*** failed; key ***")
        // Two-letter values are not searched for (they would blank every "ab").
        #expect(redactor.redact("abc") == "abc")
        #expect(SecretRedactor(secrets: ["abcd", "abcdef"]).redact("xabcdefx abcd") == "x***x ***")
    }

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
        var all: [String] { lines.withLock { $0 } }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    @Test(arguments: [LogFormat.text, .json])
    func logLinesMaskSecretsInMessagesMetadataAndErrors(format: LogFormat) {
        let captured = Lines()
        let redactor = SecretRedactor(secrets: ["s3cr\"et-value"])
        let logger = Logger(label: "vigil.test") { VigilLogHandler(label: $0, format: format, sink: captured.sink, redactor: redactor) }
        logger.error("connect with s3cr\"et-value", error: Failure(description: "bad s3cr\"et-value"), metadata: ["password": "s3cr\"et-value"])
        let line = captured.all.joined()
        #expect(!line.contains("et-value"), "\(line)")
        #expect(line.contains("***"))
    }

    /// librdkafka's own log lines (with `debug` on it logs its configuration and the SASL
    /// exchange) go through the client's redactor.
    @Test func librdkafkasLogLinesNeverShowTheSecret() throws {
        let captured = Lines()
        let logger = Logger(label: "vigil.kafka") { VigilLogHandler(label: $0, level: .trace, format: .text, sink: captured.sink) }
        var kafka = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", clientID: "redaction-test")
        kafka.properties = [
            "security.protocol": "sasl_plaintext", "sasl.mechanism": "PLAIN", "sasl.username": "vigil",
            "sasl.password": "librdkafka-must-not-log-this", "debug": "conf,security,generic", "log_level": "7",
        ]
        do {
            let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
            try? producer.flush(timeout: .milliseconds(300))
        }
        let lines = captured.all
        #expect(!lines.isEmpty)
        #expect(lines.contains { $0.contains("sasl.password") || $0.contains("SASL") }, "the debug output should mention SASL: \(lines.prefix(5))")
        #expect(!lines.contains { $0.contains("librdkafka-must-not-log-this") })
    }

    /// An invalid secret property is named, its value is not.
    @Test func anInvalidSecretPropertyIsNamedWithoutItsValue() {
        var kafka = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        kafka.properties = ["ssl.key.password": "k3y-pass-phrase", "sasl.mechanism": "NOT-A-MECHANISM k3y-pass-phrase"]
        #expect {
            _ = try Producer(configuration: ProducerConfiguration(kafka: kafka))
        } throws: { error in
            let text = "\(error)"
            return !text.contains("k3y-pass-phrase") && text.contains("sasl.mechanism")
        }
    }

    /// `vigil run --print-config` shows the resolved configuration from a file, the environment,
    /// a secret file and flags, each secret as ***, and exits without connecting.
    @Test func printConfigShowsEverySettingAndNoSecret() throws {
        let secretFile = try Self.temporaryFile("from-a-file-2\n")
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let variable = "VIGIL_TEST_SECRET_\(UUID().uuidString.prefix(8))"
        setenv(variable, "from-the-environment-1", 1)
        defer { unsetenv(variable) }
        let config = try Self.temporaryFile("""
            kafka:
              bootstrap_servers: 127.0.0.1:1
              properties:
                sasl.username: vigil
                sasl.password: ${\(variable)}
                ssl.key.password_file: \(secretFile)
            instance_id: printer
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let topology = RuntimeFixture.repository.appendingPathComponent("topologies/card-fraud.yaml").path
        let run = try RuntimeFixture.runVigil([
            "run", "--topology", topology, "--config", config, "--property", "ssl.keystore.password=from-a-flag-3", "--print-config",
        ])
        #expect(run.status == 0, "\(run.errors)")
        if run.status != 0 { print("print-config: \(run.errors)") }
        let output = run.output + run.errors
        for secret in ["from-the-environment-1", "from-a-file-2", "from-a-flag-3"] { #expect(!output.contains(secret)) }
        #expect(run.output.contains("kafka.properties.sasl.password: ***"))
        #expect(run.output.contains("kafka.properties.ssl.key.password: ***"))
        #expect(run.output.contains("kafka.properties.ssl.keystore.password: ***"))
        #expect(run.output.contains("kafka.properties.sasl.username: vigil"))
        #expect(run.output.contains("instance_id: printer"))
        // Loopback unless configured otherwise.
        #expect(run.output.contains("metrics.address: 127.0.0.1:9464"))
    }
}
