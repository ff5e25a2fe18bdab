import Foundation
import Testing
import VigilCodec
import VigilKafka
import VigilTestSupport

/// `vigil run` against a broker that serves TLS and one that requires SASL (Tansu's
/// `--authentication`): the card-fraud topology runs
/// over each with the right settings, and each wrong setting fails with a clear error that shows
/// no secret.
///
/// Tansu 0.6.0 cannot turn its own TLS on from its command line (see scripts/tls-proxy), so the
/// TLS broker is Tansu behind a TLS terminator on the port clients use: what the clients see —
/// handshake, certificate chain, a dropped plaintext connection — is what a TLS listener shows.
@Suite(.serialized)
struct SecureBrokerTests {
    @Test func aTopologyRunsOverTLSAndWrongTLSSettingsFailClearly() async throws {
        try await BlockingCall.run {
            let certificates = try TestCertificates.make()
            defer { certificates.remove() }
            try LocalServices.startTLSBroker(certificates)
            defer { LocalServices.stopBroker(port: LocalServices.tlsPort) }
            let properties = ["security.protocol": "ssl", "ssl.ca.location": certificates.authority]
            let kafka = LocalServices.kafka(port: LocalServices.tlsPort, properties)
            try Self.runsTheTopology(kafka: kafka, properties: properties, name: RuntimeFixture.unique("tls"))

            // A certificate no trusted authority signed.
            let untrusted = try Self.failure(port: LocalServices.tlsPort, properties: ["security.protocol": "ssl", "ssl.ca.location": certificates.otherAuthority],
                                             expecting: "certificate verify failed")
            #expect(untrusted.contains("ssl.ca.location"), "the error should say which setting to look at: \(untrusted)")
            // Plaintext to the TLS port.
            let plaintext = try Self.failure(port: LocalServices.tlsPort, properties: [:], expecting: "security.protocol")
            #expect(plaintext.contains("SSL"), "\(plaintext)")
        }
    }

    /// A login the broker refuses fails with a clear error naming SASL and showing no password,
    /// with librdkafka's security debugging on and the password from a secret file.
    ///
    /// The broker requires SASL (`--authentication`) and offers SCRAM-SHA-256 and -512 only
    /// (not PLAIN: its SASL library is built without it), and with this Tansu build's storage
    /// (memory or S3, "dynostore") it refuses every SCRAM login as "unknown-user": that engine
    /// keeps no SCRAM credentials (`tansu user create` does nothing there). So a wrong password
    /// and an unknown user are one case here; the next test, a login that succeeds, cannot run
    /// against it.
    @Test func aRefusedSASLLoginFailsClearlyWithoutShowingThePassword() async throws {
        try await BlockingCall.run {
            try LocalServices.startSASLBroker()
            defer { LocalServices.stopBroker(port: LocalServices.saslPort) }
            let password = "scram-" + UUID().uuidString.prefix(8)
            let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sasl-\(UUID().uuidString)").path
            try (password + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: secretFile) }
            let scram = ["security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "vigil",
                         "sasl.password_file": secretFile, "debug": "security,conf"]
            let output = try Self.failure(port: LocalServices.saslPort, properties: scram, expecting: "SASL authentication error", logLevel: "debug")
            #expect(output.contains("SCRAM"), "\(output.suffix(2000))")
            #expect(!output.contains(password))
        }
    }

    /// The topology over SASL/SCRAM-SHA-512 with the password from a secret file. Needs a
    /// broker that keeps SCRAM users (Kafka, or Tansu on PostgreSQL storage) with user `vigil`.
    /// The test broker's build cannot: started on a local PostgreSQL 15 (`--storage-engine
    /// postgres://…`) it exits with `FeatureNotEnabled { feature: "postgres" }` (tried 2026-12-05).
    @Test(.disabled("the test broker (Tansu 0.6.0 on memory/S3 storage) refuses every SCRAM login and offers no PLAIN; see the test above"))
    func aTopologyRunsOverSASLSCRAM() async throws {
        try await BlockingCall.run {
            try LocalServices.startSASLBroker()
            defer { LocalServices.stopBroker(port: LocalServices.saslPort) }
            let password = "vigil-password"
            let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sasl-\(UUID().uuidString)").path
            try (password + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: secretFile) }
            let scram = ["security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "vigil"]
            let kafka = LocalServices.kafka(port: LocalServices.saslPort, scram.merging(["sasl.password": password]) { $1 })
            try Self.runsTheTopology(kafka: kafka, properties: scram.merging(["sasl.password_file": secretFile]) { $1 }, name: RuntimeFixture.unique("sasl"))
        }
    }

    /// Runs the card-fraud topology with `vigil run` on the broker `kafka` names, its service
    /// configuration carrying `properties`, and checks that every event is scored once.
    static func runsTheTopology(kafka: KafkaConfiguration, properties: [String: String], name: String) throws {
        let file = try RuntimeFixture.topologyFile(name: name, lateness: "7d")
        let source = "\(name).transactions"
        try Admin(configuration: kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
        let events = try RuntimeFixture.transactions(300)
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: RuntimeFixture.logger)
        for event in events { try producer.send(ProducerRecord(topic: source, key: Array(event.customer.utf8), value: Array(event.line.utf8))) }
        try producer.flush()

        let config = try Self.serviceConfiguration(bootstrap: kafka.bootstrapServers, properties: properties)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let vigil = try VigilProcess(["run", "--topology", file, "--config", config, "--instance-id", "secure", "--session-timeout", "2",
                                      "--metrics-address", "127.0.0.1:0", "--log-level", "warning"])
        defer { vigil.stop() }
        let ids = try Self.readIDs(kafka: kafka, topic: "\(name).scores", count: events.count)
        #expect(ids.count == events.count)
        #expect(Set(ids) == Set(events.map(\.id)))
        #expect(vigil.stop() == 0, "\(vigil.errors)")
    }

    /// Starts `vigil run` with `properties` against the broker on `port`, waits until its output
    /// says `expecting` (or it exits), stops it, and returns what it wrote.
    static func failure(port: Int, properties: [String: String], expecting: String, logLevel: String = "warning") throws -> String {
        let name = RuntimeFixture.unique("refused")
        let file = try RuntimeFixture.topologyFile(name: name, lateness: "7d")
        let config = try Self.serviceConfiguration(bootstrap: "127.0.0.1:\(port)", properties: properties)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let vigil = try VigilProcess(["run", "--topology", file, "--config", config, "--instance-id", "refused", "--metrics-address", "127.0.0.1:0",
                                      "--log-level", logLevel])
        let found = vigil.waitForOutput(containing: expecting, within: .seconds(60))
        vigil.stop()
        #expect(found, "vigil run should say '\(expecting)'; it wrote: \(vigil.errors.suffix(3000))")
        return vigil.errors
    }

    static func serviceConfiguration(bootstrap: String, properties: [String: String]) throws -> String {
        var yaml = "kafka:\n  bootstrap_servers: \(bootstrap)\n  properties:\n"
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) { yaml += "    \(name): \"\(value)\"\n" }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-config-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `id` of every record of the single-partition `topic`, once `count` have arrived.
    static func readIDs(kafka: KafkaConfiguration, topic: String, count: Int) throws -> [String] {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: RuntimeFixture.unique("reader"))
        configuration.reportsPartitionEOF = false
        let consumer = try Consumer(configuration: configuration, logger: RuntimeFixture.logger)
        defer { try? consumer.close() }
        try consumer.assign([TopicPartition(topic, 0): KafkaOffset.beginning])
        var ids: [String] = []
        let end = ContinuousClock.now + .seconds(90)
        while ids.count < count, ContinuousClock.now < end {
            for record in try consumer.poll(maxRecords: 1000, timeout: .milliseconds(200)) {
                guard case let .object(object) = try JSONParser.parse(record.value ?? []), let id = object["id"]?.stringValue else { continue }
                ids.append(id)
            }
        }
        return ids
    }
}

/// `vigil run` (or another vigil command) as a process of its own, its standard error kept in a
/// file that the test reads while it runs.
final class VigilProcess: @unchecked Sendable {
    let process = Process()
    private let errorFile: URL

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-stderr-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else { throw FixtureError("cannot create \(errorFile.path)") }
        process.executableURL = URL(fileURLWithPath: try RuntimeFixture.vigilExecutable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: errorFile) }

    /// Everything it wrote to standard error so far.
    var errors: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    /// Polls its output (a file) until it contains `text`, it exits, or `within` passes.
    func waitForOutput(containing text: String, within deadline: Duration) -> Bool {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if errors.contains(text) { return true }
            if !process.isRunning { return errors.contains(text) }
            Thread.sleep(forTimeInterval: 0.1)  // polling a file for a condition, with a deadline
        }
        return false
    }

    /// SIGTERM (it finishes its batch, commits and leaves), then waits; returns its exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
