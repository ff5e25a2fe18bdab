/// A host and port to listen on, written `host:port` (`127.0.0.1:9464`, `[::1]:9464`,
/// `0.0.0.0:9464`). Port 0 asks the system for a free port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A numeric IPv4 or IPv6 address, or a host name resolved when the server starts.
    public var host: String {
        didSet { precondition(!host.isEmpty, "listen host must not be empty") }
    }
    public var port: UInt16

    public init(host: String, port: UInt16) {
        precondition(!host.isEmpty, "listen host must not be empty")
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[ipv6]:port`.
    public init(parsing text: String) throws(ListenAddressError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ListenAddressError(text: text, problem: "expected [ipv6]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ListenAddressError(text: text, problem: "expected host:port (IPv6 addresses go in brackets: [::1]:9464)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ListenAddressError(text: text, problem: "the host is missing (127.0.0.1 for loopback, 0.0.0.0 for every interface)") }
        guard let port = UInt16(portText) else { throw ListenAddressError(text: text, problem: "the port must be a number from 0 to 65535") }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A listen address that could not be parsed.
public struct ListenAddressError: Error, CustomStringConvertible {
    public var text: String
    public var problem: String
    public var description: String { "invalid address \"\(text)\": \(problem)" }
}
