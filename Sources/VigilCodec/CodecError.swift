/// An error from reading or writing an encoded stream; each case names the place it happened.
public enum CodecError: Error, CustomStringConvertible, Equatable {
    /// A file could not be opened, read or written.
    case io(path: String, operation: String, errno: Int32)
    /// liblz4 rejected a frame or block; `detail` is liblz4's own message.
    case lz4(path: String, detail: String)
    /// The stream ended inside a frame or record.
    case truncated(path: String, detail: String)
    /// A CSV record could not be split (for example a quote left open at the end of the file).
    case csv(path: String, line: Int, detail: String)
    /// A JSON text is not valid JSON.
    case json(path: String, line: Int, column: Int, detail: String)
    /// A binary buffer (snapshot, serialised event) is malformed.
    case binary(detail: String)

    public var description: String {
        switch self {
        case let .io(path, operation, errno):
            return "\(path): cannot \(operation): \(String(cString: strerror(errno)))"
        case let .lz4(path, detail):
            return "\(path): LZ4: \(detail)"
        case let .truncated(path, detail):
            return "\(path): truncated: \(detail)"
        case let .csv(path, line, detail):
            return "\(path):\(line): CSV: \(detail)"
        case let .json(path, line, column, detail):
            return "\(path):\(line):\(column): JSON: \(detail)"
        case let .binary(detail):
            return "malformed binary data: \(detail)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
