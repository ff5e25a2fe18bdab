import VigilCodec
public import VigilPipeline
public import VigilTopology

/// Events from a file: CSV with a header or JSON lines, plain or LZ4-framed (`.lz4`), read as
/// a stream. The format follows the file name (`.csv`, `.jsonl`, `.ndjson`, `.json`, each
/// optionally `.lz4`), else the topology's source format. An event's provenance is partition
/// −1 and its line number.
public final class FileSource: ReplaySource {
    /// The file's path.
    public let path: String
    private var counting: CountingByteSource?
    private var totalBytes: Int?

    public init(path: String) {
        self.path = path
    }

    public var position: ReplayPosition { ReplayPosition(bytesRead: counting?.bytesRead ?? 0, totalBytes: totalBytes) }

    public func read(topology: Topology, pipeline: Pipeline, into feed: ReplayFeed) throws {
        let file = try FileByteReader(path: path)
        totalBytes = file.size
        let counting = CountingByteSource(file)
        self.counting = counting
        let source: any ByteSource = path.hasSuffix(".lz4") ? LZ4FrameReader(source: counting) : counting
        let decoder = pipeline.makeDecoder()
        if Self.format(of: path, default: topology.source.format) == .csv {
            let reader = CSVReader(source: source, delimiter: topology.source.delimiter)
            guard try reader.next() else { throw PipelineError.input("\(path): empty input; expected a CSV header") }
            let binding = try decoder.bind(header: reader.strings(), file: path)
            while true {
                let more: Bool
                do {
                    more = try reader.next()
                } catch let error as CodecError {
                    if case let .csv(_, line, detail) = error { feed.malformed(.line(line), detail); break }
                    throw error
                }
                guard more else { break }
                feed.noteRecord()
                let line = reader.lineNumber
                if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(line)), to: &feed.batch) {
                    feed.malformed(.line(line), problem.reason)
                    continue
                }
                try feed.appended()
            }
        } else {
            let reader = LineReader(source: source)
            while let bytes = try reader.next() {
                let line = reader.lineNumber
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                feed.noteRecord()
                if let problem = decoder.appendJSON(bytes, provenance: Provenance(partition: -1, offset: Int64(line)), to: &feed.batch) {
                    feed.malformed(.line(line), problem.reason)
                    continue
                }
                try feed.appended()
            }
        }
    }

    /// The input format a file name implies, else `fallback`.
    public static func format(of path: String, default fallback: EventFormat) -> EventFormat {
        let name = path.hasSuffix(".lz4") ? String(path.dropLast(4)) : path
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .json }
        return fallback
    }
}
