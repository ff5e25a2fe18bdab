import Foundation
import VigilCodec
public import VigilDrift
import VigilFeatures
public import VigilModels
import VigilPipeline
public import VigilTopology

/// Replays a file of events through a topology's ``Pipeline`` (the same one the live runtime
/// drives) and writes one CSV row per event: the id fields, every feature in topology order,
/// and the score when a model is set.
///
/// Input: CSV with a header or JSON lines, plain or LZ4-framed (`.lz4`), read as a stream.
/// The format follows the file name (`.csv`, `.jsonl`, `.ndjson`, `.json`, each optionally
/// `.lz4`), else the topology's source format. Records that do not decode are counted, the
/// first 100 kept with their line numbers, and skipped; the run goes on.
///
/// `from` and `until` (ms) select which events are written, [from, until): events before
/// `from` still feed the state (a window needs its history), events at or after `until` are
/// skipped entirely. The same replay writes drift records (``DriftOutput``) and builds drift
/// reference profiles (``buildProfile(inputPath:from:until:configuration:progress:)``).
public final class FileReplay {
    /// The topology replayed.
    public let topology: Topology
    private let pipeline: Pipeline
    private let batchSize: Int

    /// A replay of `topology`, scoring with `kernel` when given.
    public init(topology: Topology, kernel: (any ScoringKernel)? = nil, batchSize: Int = 4096) throws {
        self.topology = topology
        pipeline = try Pipeline(topology: topology, kernel: kernel, recordsUndo: false)
        self.batchSize = batchSize
    }

    /// Reads `inputPath`, writes `outputPath` (CSV; `.lz4` compresses it); `progress` is called
    /// about ten times a second. With `drift` (a monitor and the path of a JSON-lines file),
    /// every drift record and alert of the events in [from, until) goes to that file, record
    /// then alerts per window, and the last window is flushed at the end of the input.
    public func run(inputPath: String, outputPath: String, from: Int64? = nil, until: Int64? = nil,
                    drift: DriftOutput? = nil, progress: ((ReplayProgress) -> Void)? = nil) throws -> ReplaySummary {
        let sink = try EncodedFile.createForWriting(outputPath)
        var monitor = drift?.monitor
        let driftSink = try drift.map { try EncodedFile.createForWriting($0.path) }
        let layout = pipeline.layout
        var header = layout.idFields + layout.featureNames
        if pipeline.hasModel { header.append("score") }
        try sink.write(header.map { CSVField.quoted($0) }.joined(separator: ",") + "\n")
        var text = ""
        text.reserveCapacity(1 << 20)
        var driftRecords = 0
        var driftAlerts = 0
        func writeDrift(_ emissions: [DriftEmission]) throws {
            guard let driftSink else { return }
            var bytes: [UInt8] = []
            for emission in emissions {
                for line in try emission.jsonLines() {
                    bytes.append(contentsOf: line)
                    bytes.append(0x0A)
                }
                driftRecords += 1
                driftAlerts += emission.alerts.count
            }
            if !bytes.isEmpty { try driftSink.write(bytes) }
        }

        var summary = try replay(inputPath: inputPath, from: from, until: until, progress: progress) { batch, output, summary in
            for index in 0..<batch.count where batch.rejections[index] == nil {
                if let from, batch.times[index] < from { continue }
                var first = true
                for id in batch.ids(of: index) {
                    if !first { text.append(",") }
                    text.append(CSVField.quoted(id))
                    first = false
                }
                for value in batch.features(of: index) {
                    if !first { text.append(",") }
                    if !value.isNaN { text.append(value.description) }
                    first = false
                }
                if !output.scores.isEmpty {
                    text.append(",")
                    if !output.scores[index].isNaN { text.append(output.scores[index].description) }
                }
                text.append("\n")
                summary.rowsWritten += 1
            }
            try sink.write(text)
            text.removeAll(keepingCapacity: true)
            if monitor != nil { try writeDrift(monitor!.observe(batch, scores: output.scores, from: from)) }
        }
        if monitor != nil { try writeDrift(monitor!.flush()) }
        try sink.close()
        try driftSink?.close()
        summary.driftRecords = driftRecords
        summary.driftAlerts = driftAlerts
        return summary
    }

    /// Builds the topology's drift reference profile from the events in [from, until) — what
    /// `vigil profile` does: the same replay as ``run(inputPath:outputPath:from:until:drift:progress:)``
    /// (events before `from` still feed the windows), with the drift section's watched
    /// features and the score going to a ``PipelineProfileBuilder`` instead of a CSV file.
    public func buildProfile(inputPath: String, from: Int64? = nil, until: Int64? = nil,
                             configuration: ProfileBuilder.Configuration = .init(),
                             progress: ((ReplayProgress) -> Void)? = nil) throws -> (profile: ReferenceProfile, summary: ReplaySummary) {
        var builder = try PipelineProfileBuilder(topology: topology, configuration: configuration)
        var summary = try replay(inputPath: inputPath, from: from, until: until, progress: progress) { batch, output, summary in
            builder.add(batch, scores: output.scores, from: from)
        }
        let profile = try builder.build()
        summary.rowsWritten = profile.eventCount
        return (profile, summary)
    }

    /// Reads `inputPath` in batches through the pipeline and hands each processed batch, with
    /// its scores and alerts, to `body` (which also sees the summary so far). Counts malformed
    /// and rejected records; skips events at or after `until` entirely. `body` decides what
    /// to do with events before `from`.
    func replay(inputPath: String, from: Int64?, until: Int64?, progress: ((ReplayProgress) -> Void)?,
                body: (EventBatch, BatchOutput, inout ReplaySummary) throws -> Void) throws -> ReplaySummary {
        let started = Date()
        let file = try FileByteReader(path: inputPath)
        let totalBytes = file.size
        let counting = CountingByteSource(file)
        let source: any ByteSource = inputPath.hasSuffix(".lz4") ? LZ4FrameReader(source: counting) : counting
        var summary = ReplaySummary()
        summary.scored = pipeline.hasModel

        var batch = pipeline.makeBatch(capacity: batchSize)
        var lines: [Int] = []
        lines.reserveCapacity(batchSize)
        var lastReport = Date()

        func flush() throws {
            guard batch.count > 0 else { return }
            let output = pipeline.process(&batch)
            for index in 0..<batch.count {
                if let rejection = batch.rejections[index] {
                    summary.rejectedCount += 1
                    if summary.rejected.count < 100 { summary.rejected.append((lines[index], rejection.description)) }
                }
            }
            try body(batch, output, &summary)
            batch.removeAll()
            lines.removeAll(keepingCapacity: true)
            if let progress, Date().timeIntervalSince(lastReport) >= 0.1 {
                lastReport = Date()
                progress(ReplayProgress(bytesRead: counting.bytesRead, totalBytes: totalBytes, eventsRead: summary.eventsRead,
                                        elapsed: lastReport.timeIntervalSince(started)))
            }
        }

        func noteMalformed(_ line: Int, _ reason: String) {
            summary.malformedCount += 1
            if summary.malformed.count < 100 { summary.malformed.append((line, reason)) }
        }

        let decoder = pipeline.makeDecoder()
        if Self.format(of: inputPath, default: topology.source.format) == .csv {
            let reader = CSVReader(source: source, delimiter: topology.source.delimiter)
            guard try reader.next() else { throw PipelineError.input("\(inputPath): empty input; expected a CSV header") }
            let binding = try decoder.bind(header: reader.strings(), file: inputPath)
            while true {
                let more: Bool
                do {
                    more = try reader.next()
                } catch let error as CodecError {
                    if case let .csv(_, line, detail) = error { noteMalformed(line, detail); break }
                    throw error
                }
                guard more else { break }
                summary.eventsRead += 1
                let line = reader.lineNumber
                let countBefore = batch.count
                if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(line)), to: &batch) {
                    noteMalformed(line, problem.reason)
                    continue
                }
                if let until, batch.times[countBefore] >= until { batch.dropLast(); continue }
                lines.append(line)
                if batch.count >= batchSize { try flush() }
            }
        } else {
            let reader = LineReader(source: source)
            while let bytes = try reader.next() {
                let line = reader.lineNumber
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                summary.eventsRead += 1
                let countBefore = batch.count
                if let problem = decoder.appendJSON(bytes, provenance: Provenance(partition: -1, offset: Int64(line)), to: &batch) {
                    noteMalformed(line, problem.reason)
                    continue
                }
                if let until, batch.times[countBefore] >= until { batch.dropLast(); continue }
                lines.append(line)
                if batch.count >= batchSize { try flush() }
            }
        }
        try flush()
        summary.keysPerStage = pipeline.engines.map(\.keyCount)
        summary.bytesPerKeyPerStage = pipeline.engines.map(\.footprint.bytesPerKey)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// The input format a file name implies, else `fallback`.
    public static func format(of path: String, default fallback: EventFormat) -> EventFormat {
        let name = path.hasSuffix(".lz4") ? String(path.dropLast(4)) : path
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .json }
        return fallback
    }
}
