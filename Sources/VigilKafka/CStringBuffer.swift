/// A fixed-size C character buffer for librdkafka's `errstr` out-parameters.
struct CStringBuffer {
    var storage = [CChar](repeating: 0, count: 512)

    var count: Int { storage.count }

    /// The text librdkafka wrote, up to its terminating NUL.
    var string: String {
        storage.withUnsafeBufferPointer { buffer in
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
