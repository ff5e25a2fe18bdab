import VigilCodec

/// Passes a source through and counts its bytes, for progress against a file's size.
final class CountingByteSource: ByteSource {
    let name: String
    private let source: any ByteSource
    private(set) var bytesRead = 0

    init(_ source: any ByteSource) {
        self.source = source
        name = source.name
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try source.read(into: buffer)
        bytesRead += count
        return count
    }
}
