#if canImport(Glibc)
import Glibc
#endif
import Foundation
public import VigilKafka

/// Brokers and servers the reliability and security tests start for themselves, beside the
/// shared test broker: a TLS broker, a SASL/SCRAM broker, brokers on persistent storage (a
/// loopback S3 server, `scripts/moto`) that can be restarted. Each runs on a port of its own
/// derived from the shared broker's (its port + 1 … + 7), through the repository's scripts,
/// and is stopped by the test that started it.
public enum LocalServices {
    /// The shared broker's port; the others are numbered after it.
    public static var basePort: Int { Int(TestBroker.bootstrap.split(separator: ":").last ?? "") ?? 19092 }

    public static var tlsPort: Int { basePort + 1 }
    public static var saslPort: Int { basePort + 2 }
    public static var restartPort: Int { basePort + 3 }
    public static var restartStoragePort: Int { basePort + 4 }
    public static var latePort: Int { basePort + 5 }

    /// Runs `scripts/NAME ARGUMENTS…` with extra environment; throws with its output if it fails.
    /// Spawned and reaped directly (posix_spawn, waitpid): Foundation's Process, waiting for a
    /// script whose background children outlive it, was seen to leave the script a zombie and
    /// wait forever.
    @discardableResult
    public static func script(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-script-\(UUID().uuidString)").path
        defer { unlink(outputPath) }
        let executable = RepositoryFiles.root + "/scripts/" + name
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &fileActions, nil, argv, envp)
        guard spawned == 0 else { throw ServiceError("cannot start scripts/\(name): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw ServiceError("waiting for scripts/\(name): \(String(cString: strerror(errno)))") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            throw ServiceError("scripts/\(name) \(arguments.joined(separator: " ")) failed (\(exited ? "exit \(code)" : "signal \(status & 0x7F)")): \(text)")
        }
        return text
    }

    /// The variables Tansu reads for `s3://tansu/` storage on the moto server at `port`.
    public static func storageEnvironment(port: Int) throws -> [String: String] {
        var environment: [String: String] = [:]
        for line in try script("moto", ["env", String(port)]).split(separator: "\n") {
            let assignment = line.hasPrefix("export ") ? line.dropFirst(7) : line[...]
            guard let equals = assignment.firstIndex(of: "=") else { continue }
            environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        environment["VIGIL_BROKER_STORAGE"] = "s3://tansu/"
        return environment
    }

    /// A broker serving TLS on ``tlsPort`` with `certificates`' server certificate.
    public static func startTLSBroker(_ certificates: TestCertificates) throws {
        try script("broker", ["start", String(tlsPort)], environment: [
            "VIGIL_BROKER_TLS_CERT": certificates.serverCertificate, "VIGIL_BROKER_TLS_KEY": certificates.serverKey,
        ])
    }

    /// A broker requiring SASL authentication on ``saslPort`` (Tansu's `--authentication`).
    /// With this Tansu build's storage (memory, S3) it accepts PLAIN with any user and password
    /// and refuses every SCRAM login: that engine keeps no SCRAM credentials.
    public static func startSASLBroker() throws {
        try script("broker", ["start", String(saslPort)], environment: ["VIGIL_BROKER_AUTHENTICATION": "1"])
    }

    /// Stops the broker on `port` (and its TLS proxy), if this repository's script started one.
    public static func stopBroker(port: Int) { _ = try? script("broker", ["stop", String(port)]) }

    /// Stops the moto server on `port`, if the script started one.
    public static func stopStorage(port: Int) { _ = try? script("moto", ["stop", String(port)]) }

    public static func kafka(port: Int, _ properties: [String: String] = [:]) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: "127.0.0.1:\(port)", clientID: "vigil-tests", properties: properties)
    }
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it, plus a second,
/// unrelated authority, made with openssl in a fresh temporary folder (nothing secret is
/// committed); ``remove()`` deletes them.
public struct TestCertificates: Sendable {
    public let directory: String
    /// The authority that signed the server certificate.
    public var authority: String { directory + "/ca.pem" }
    /// An authority that signed nothing the broker shows.
    public var otherAuthority: String { directory + "/other-ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }

    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=vigil-test-ca"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=vigil-untrusted-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ServiceError("openssl \(arguments.joined(separator: " ")) failed") }
        }
        return certificates
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

public struct ServiceError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
