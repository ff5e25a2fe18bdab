#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
public import Logging
import Synchronization

/// A small HTTP/1.1 server for Prometheus and health checks, on POSIX sockets and a thread of
/// its own:
///
/// - `GET /metrics`: the registry in Prometheus text format (`text/plain; version=0.0.4`)
/// - `GET /health`: `200 ok` while healthy, `503` with the reason once unhealthy
/// - anything else: 404 (405 for another method on those two paths)
///
/// Starting binds synchronously (so a taken port fails right away) and then returns; requests
/// are served one at a time on the server's thread, each connection closed after its answer
/// and bounded by a 5 s deadline, so a slow client delays scrapes but never the caller.
/// ``stop()`` wakes the thread through a pipe and waits for it to end.
public final class MetricsServer: Sendable {
    /// The address actually bound: the configured host and the port the system chose when
    /// port 0 was asked for.
    public let address: ListenAddress
    let loop: ServerLoop
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Mutex(false)

    /// Binds `address` and starts serving `registry` and `health` on a new thread.
    public init(
        registry: MetricsRegistry, health: HealthStatus, address: ListenAddress = ListenAddress(host: "127.0.0.1", port: 9464),
        logger: Logger = Logger(label: "vigil.metrics")
    ) throws(MetricsServerError) {
        let (listener, bound) = try Self.bindListener(to: address)
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let error = MetricsServerError(address: address, operation: "create a wake-up pipe", errno: errno)
            close(listener)
            throw error
        }
        self.address = bound
        loop = ServerLoop(listener: listener, wakeRead: pipeEnds[0], wakeWrite: pipeEnds[1], registry: registry, health: health, logger: logger)
        let loop = loop
        let finished = finished
        let thread = Thread {
            loop.run()
            finished.signal()
        }
        thread.name = "vigil-metrics"
        thread.start()
        logger.info("metrics server listening", metadata: ["address": "\(bound)"])
    }

    /// Starts serving ``RuntimeMetrics``'s registry and health.
    public convenience init(metrics: RuntimeMetrics, address: ListenAddress, logger: Logger = Logger(label: "vigil.metrics")) throws(MetricsServerError) {
        try self.init(registry: metrics.registry, health: metrics.health, address: address, logger: logger)
    }

    deinit { stop() }

    /// Stops serving: the request in progress (if any) is cut short, the socket closed, and
    /// the thread ended before this returns. Safe to call more than once.
    public func stop() {
        let wasStopped = stopped.withLock { value in
            defer { value = true }
            return value
        }
        guard !wasStopped else { return }
        var byte: UInt8 = 1
        _ = write(loop.wakeWrite, &byte, 1)
        finished.wait()
        close(loop.wakeWrite)
    }

    /// A listening, non-blocking socket bound to `address`, and the address as bound.
    private static func bindListener(to address: ListenAddress) throws(MetricsServerError) -> (Int32, ListenAddress) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Self.streamType
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &results)
        guard status == 0, let info = results else {
            throw MetricsServerError(address: address, message: "cannot resolve \(address.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }

        let fd = socket(info.pointee.ai_family, Self.streamType, 0)
        guard fd >= 0 else { throw MetricsServerError(address: address, operation: "create a socket", errno: errno) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let error = MetricsServerError(address: address, operation: "bind", errno: errno)
            close(fd)
            throw error
        }
        guard listen(fd, 16) == 0 else {
            let error = MetricsServerError(address: address, operation: "listen", errno: errno)
            close(fd)
            throw error
        }
        setNonBlocking(fd)
        setCloseOnExec(fd)

        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let port = withUnsafeMutablePointer(to: &storage) { pointer in
            _ = pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, ListenAddress(host: address.host, port: port))
    }

    #if canImport(Glibc)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    static let streamType = SOCK_STREAM
    #endif
}

/// The server's thread: accepts, reads one request, answers, closes; until woken by the pipe.
final class ServerLoop: Sendable {
    let listener: Int32
    let wakeRead: Int32
    let wakeWrite: Int32
    let registry: MetricsRegistry
    let health: HealthStatus
    let logger: Logger
    /// Connections accepted so far (lets tests know the server holds a connection).
    let acceptedConnections = Atomic<Int>(0)

    /// Longest request head accepted; scrapers send a few hundred bytes.
    static let maxRequestHead = 16 * 1024
    /// How long one connection may take, reading and writing.
    static let connectionDeadline: Duration = .seconds(5)

    init(listener: Int32, wakeRead: Int32, wakeWrite: Int32, registry: MetricsRegistry, health: HealthStatus, logger: Logger) {
        self.listener = listener
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
        self.registry = registry
        self.health = health
        self.logger = logger
    }

    func run() {
        defer {
            close(listener)
            close(wakeRead)
        }
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("metrics server stopped: poll failed: \(String(cString: strerror(errno)))")
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED: continue
                default:
                    // Out of descriptors, say: back off rather than spin on a ready listener.
                    logger.warning("metrics server: accept failed: \(String(cString: strerror(errno)))")
                    if waitForWake(milliseconds: 100) { return }
                    continue
                }
            }
            setNonBlocking(client)
            setCloseOnExec(client)
            acceptedConnections.add(1, ordering: .relaxed)
            let woken = serve(client)
            close(client)
            if woken { return }
        }
    }

    /// Answers one request. Returns true when the stop pipe woke it.
    private func serve(_ client: Int32) -> Bool {
        let deadline = ContinuousClock.now + Self.connectionDeadline
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while HTTPRequestHead.endOfHead(in: head) == nil {
            if head.count > Self.maxRequestHead {
                return answerAndDrain(HTTPResponse(status: 431, body: "request head too large\n"), to: client, deadline: deadline)
            }
            switch wait(for: client, events: Int16(POLLIN), until: deadline) {
            case .woken: return true
            case .timedOut: return false
            case .ready: break
            }
            let count = recv(client, &buffer, buffer.count, 0)
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                return false
            }
            if count == 0 { return false }  // closed before a whole request
            head += buffer[0..<count]
        }
        if head.count > Self.maxRequestHead {
            return answerAndDrain(HTTPResponse(status: 431, body: "request head too large\n"), to: client, deadline: deadline)
        }
        guard let request = HTTPRequestHead(parsing: head) else {
            return answerAndDrain(HTTPResponse(status: 400, body: "bad request\n"), to: client, deadline: deadline)
        }
        return answer(respond(to: request), to: client, deadline: deadline)
    }

    /// Answers a request that was not read whole, then reads (and drops) what the client still
    /// sends until it closes: closing with unread input would reset the connection and could
    /// destroy the answer before the client reads it.
    private func answerAndDrain(_ response: HTTPResponse, to client: Int32, deadline: ContinuousClock.Instant) -> Bool {
        if answer(response, to: client, deadline: deadline) { return true }
        shutdown(client, Int32(SHUT_WR))
        let drainDeadline = min(deadline, ContinuousClock.now + .seconds(1))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var drained = 0
        while drained < 1 << 20 {
            switch wait(for: client, events: Int16(POLLIN), until: drainDeadline) {
            case .woken: return true
            case .timedOut: return false
            case .ready: break
            }
            let count = recv(client, &buffer, buffer.count, 0)
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { continue }
            if count <= 0 { return false }
            drained += count
        }
        return false
    }

    func respond(to request: HTTPRequestHead) -> HTTPResponse {
        let path = request.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path == "/metrics" || path == "/health" else {
            return HTTPResponse(status: 404, body: "not found; try /metrics or /health\n", headOnly: request.method == "HEAD")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: 405, body: "method not allowed\n", extraHeaders: [("Allow", "GET, HEAD")])
        }
        let headOnly = request.method == "HEAD"
        if path == "/metrics" {
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.render(), headOnly: headOnly)
        }
        if let reason = health.unhealthyReason {
            return HTTPResponse(status: 503, body: "unhealthy: \(reason)\n", headOnly: headOnly)
        }
        return HTTPResponse(status: 200, body: "ok\n", headOnly: headOnly)
    }

    private func answer(_ response: HTTPResponse, to client: Int32, deadline: ContinuousClock.Instant) -> Bool {
        let bytes = response.serialized()
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, noSignal) }
            if count < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return false }
                switch wait(for: client, events: Int16(POLLOUT), until: deadline) {
                case .woken: return true
                case .timedOut: return false
                case .ready: continue
                }
            }
            sent += count
        }
        return false
    }

    private enum Readiness { case ready, woken, timedOut }

    /// Waits until `fd` is ready for `events`, the stop pipe is written, or `deadline` passes.
    private func wait(for fd: Int32, events: Int16, until deadline: ContinuousClock.Instant) -> Readiness {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return .timedOut }
            var fds = [pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)))
            if ready < 0 {
                if errno == EINTR { continue }
                return .timedOut
            }
            if fds[1].revents != 0 { return .woken }
            if fds[0].revents != 0 { return .ready }
        }
    }

    /// Sleeps up to `milliseconds`; true when the stop pipe woke it.
    private func waitForWake(milliseconds: Int32) -> Bool {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, milliseconds) > 0
    }
}

/// The first line and headers of an HTTP/1.x request (the server reads no body).
struct HTTPRequestHead: Equatable {
    var method: String
    var target: String
    var version: String

    /// Where the head ends (after the blank line), if it has.
    static func endOfHead(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 1..<bytes.count where bytes[index] == UInt8(ascii: "\n") {
            if bytes[index - 1] == UInt8(ascii: "\n") { return index + 1 }
            if index >= 3, bytes[index - 1] == UInt8(ascii: "\r"), bytes[index - 2] == UInt8(ascii: "\n") { return index + 1 }
        }
        return nil
    }

    init?(parsing bytes: [UInt8]) {
        guard let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: bytes[..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") || parts[1] == "*" else { return nil }
        method = String(parts[0])
        target = String(parts[1])
        version = String(parts[2])
    }
}

/// A whole response; the connection closes after it.
struct HTTPResponse {
    var status: Int
    var contentType = "text/plain; charset=utf-8"
    var body: String
    var headOnly = false
    var extraHeaders: [(String, String)] = []

    init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String, headOnly: Bool = false, extraHeaders: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headOnly = headOnly
        self.extraHeaders = extraHeaders
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    func serialized() -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(bodyBytes.count)\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        head += "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + (headOnly ? [] : bodyBytes)
    }
}

/// The metrics server could not start.
public struct MetricsServerError: Error, CustomStringConvertible {
    public var address: ListenAddress
    public var message: String

    init(address: ListenAddress, message: String) {
        self.address = address
        self.message = message
    }

    init(address: ListenAddress, operation: String, errno code: Int32) {
        self.init(address: address, message: "cannot \(operation): \(String(cString: strerror(code)))")
    }

    public var description: String { "metrics server on \(address): \(message)" }
}

/// Writing to a socket the peer closed must fail, not raise SIGPIPE.
#if canImport(Glibc)
private let noSignal = Int32(MSG_NOSIGNAL)
#else
private let noSignal: Int32 = 0
#endif

private func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}

private func setCloseOnExec(_ fd: Int32) {
    _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
}
