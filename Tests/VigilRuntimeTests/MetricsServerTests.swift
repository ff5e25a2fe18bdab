import Foundation
import Glibc
import Testing
@testable import VigilRuntime

/// The metrics server answers real HTTP requests over loopback.
struct MetricsServerTests {
    static func start(_ metrics: RuntimeMetrics) throws -> MetricsServer {
        try MetricsServer(metrics: metrics, address: ListenAddress(host: "127.0.0.1", port: 0))
    }

    @Test func servesMetricsInPrometheusTextFormat() throws {
        let metrics = RuntimeMetrics()
        let server = try Self.start(metrics)
        defer { server.stop() }
        #expect(server.address.port != 0)
        #expect(server.address.host == "127.0.0.1")
        metrics.eventsIn.increment(by: 12)
        metrics.consumerLag(topic: "events", partition: 0).set(3)

        let response = try HTTPTestClient.get("/metrics", port: server.address.port)
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(response.headers["content-length"] == String(response.body.utf8.count))
        #expect(response.headers["connection"] == "close")
        #expect(response.body == metrics.registry.render())
        #expect(response.body.contains("vigil_events_in_total 12\n"))
        #expect(response.body.contains("vigil_consumer_lag_records{topic=\"events\",partition=\"0\"} 3\n"))

        // A query string does not change the answer.
        #expect(try HTTPTestClient.get("/metrics?name[]=x", port: server.address.port).status == 200)
    }

    /// The same through curl, when the machine has it: a client that is not ours.
    @Test(.enabled(if: access("/usr/bin/curl", X_OK) == 0)) func curlReadsMetricsAndHealth() throws {
        let metrics = RuntimeMetrics()
        metrics.transactionsCommitted.increment(by: 5)
        let server = try Self.start(metrics)
        defer { server.stop() }
        let metricsOutput = try Self.curl("http://127.0.0.1:\(server.address.port)/metrics")
        #expect(metricsOutput.hasPrefix("HTTP/1.1 200 OK\n"))
        #expect(metricsOutput.contains("\nContent-Type: text/plain; version=0.0.4"))
        #expect(metricsOutput.contains("vigil_transactions_committed_total 5\n"))
        metrics.health.markUnhealthy("restore stuck")
        let healthOutput = try Self.curl("http://127.0.0.1:\(server.address.port)/health")
        #expect(healthOutput.hasPrefix("HTTP/1.1 503 Service Unavailable"))
        #expect(healthOutput.hasSuffix("unhealthy: restore stuck\n"))
    }

    /// curl's answer with headers (`-i`), line ends normalised to `\n`.
    static func curl(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-i", "--max-time", "10", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    @Test func healthTurnsUnhealthyWithAReason() throws {
        let metrics = RuntimeMetrics()
        let server = try Self.start(metrics)
        defer { server.stop() }
        var response = try HTTPTestClient.get("/health", port: server.address.port)
        #expect(response.status == 200)
        #expect(response.body == "ok\n")

        metrics.health.markUnhealthy("transactional producer fenced")
        response = try HTTPTestClient.get("/health", port: server.address.port)
        #expect(response.status == 503)
        #expect(response.body == "unhealthy: transactional producer fenced\n")
        #expect(try HTTPTestClient.get("/metrics", port: server.address.port).body.contains("vigil_healthy 0\n"))

        metrics.health.markHealthy()
        #expect(try HTTPTestClient.get("/health", port: server.address.port).status == 200)
    }

    @Test func otherPathsMethodsAndGarbage() throws {
        let server = try Self.start(RuntimeMetrics())
        defer { server.stop() }
        let port = server.address.port
        #expect(try HTTPTestClient.get("/", port: port).status == 404)
        #expect(try HTTPTestClient.get("/metricsx", port: port).status == 404)
        let post = try HTTPTestClient.send("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", port: port)
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
        let head = try HTTPTestClient.get("/health", port: port, method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.headers["content-length"] == "3")
        #expect(try HTTPTestClient.send("hello\r\n\r\n", port: port).status == 400)
        // Bare line feeds end a head too (curl never sends them, netcat users do).
        #expect(try HTTPTestClient.send("GET /health HTTP/1.0\n\n", port: port).status == 200)
        let huge = "GET /health HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        #expect(try HTTPTestClient.send(huge, port: port).status == 431)
        // Still serving after all that.
        #expect(try HTTPTestClient.get("/health", port: port).status == 200)
    }

    @Test func stopClosesTheSocketAndIsIdempotent() throws {
        let server = try Self.start(RuntimeMetrics())
        let port = server.address.port
        #expect(try HTTPTestClient.get("/health", port: port).status == 200)
        server.stop()
        server.stop()
        #expect(throws: HTTPTestClient.Failure.self) { try HTTPTestClient.get("/health", port: port) }
    }

    @Test func stopEndsAConnectionThatNeverSendsARequest() throws {
        let server = try Self.start(RuntimeMetrics())
        // Connect and stay silent: the server is now waiting on this connection.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.address.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        // Wait until the server thread holds the connection (spinning: there is no event to wait on).
        let deadline = ContinuousClock.now + .seconds(10)
        while server.loop.acceptedConnections.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline { sched_yield() }
        #expect(server.loop.acceptedConnections.load(ordering: .relaxed) == 1)
        server.stop()  // returns: the stop pipe wakes the thread out of the silent connection
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, 0) == 0)  // closed, without an answer
    }

    @Test func aTakenPortIsAClearError() throws {
        let first = try Self.start(RuntimeMetrics())
        defer { first.stop() }
        #expect {
            _ = try MetricsServer(metrics: RuntimeMetrics(), address: first.address)
        } throws: { error in
            String(describing: error) == "metrics server on 127.0.0.1:\(first.address.port): cannot bind: Address already in use"
        }
    }

    @Test func listensOnIPv6Loopback() throws {
        let server: MetricsServer
        do {
            server = try MetricsServer(metrics: RuntimeMetrics(), address: ListenAddress(parsing: "[::1]:0"))
        } catch {
            // Some containers have no IPv6 loopback; nothing to test there.
            return
        }
        defer { server.stop() }
        #expect(server.address.port != 0)
        #expect(server.address.description == "[::1]:\(server.address.port)")
    }

    @Test func parsesListenAddresses() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9464") == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(try ListenAddress(parsing: "[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress(parsing: "localhost:0") == ListenAddress(host: "localhost", port: 0))
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: "9464") }
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: ":9464") }
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: "host:70000") }
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: "::1:80") }
    }
}
