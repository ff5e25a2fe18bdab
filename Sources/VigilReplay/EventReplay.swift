import Foundation
import VigilCodec
public import VigilDrift
import VigilFeatures
public import VigilModels
public import VigilPipeline
public import VigilTopology

/// Replays events — a file (``FileSource``) or a topic (`TopicSource`, in VigilRuntime) —
/// through a topology's ``Pipeline`` (the same one the live runtime drives) and writes one CSV
/// row per event: the id fields, every feature in topology order, and the score when a model
/// is set. Records that do not decode are counted, the first 100 kept with where they are
/// (line, or partition and offset), and skipped; the run goes on.
///
/// `from` and `until` (ms) select which events are written, [from, until): events before
/// `from` still feed the state (a window needs its history), events at or after `until` are
/// skipped entirely. The same replay writes drift records (``DriftOutput``) and builds drift
/// reference profiles (``buildProfile(inputPath:from:until:configuration:progress:)``).
public final class EventReplay {
    /// The topology replayed.
    public let topology: Topology
    private let pipeline: Pipeline
    private let batchSize: Int

    private var challenger: BatchScorer?

    /// A replay of `topology`, scoring with `kernel` when given, and with `challenger` too (a
    /// second model scoring the same rows in the same pass).
    public init(topology: Topology, kernel: (any ScoringKernel)? = nil, challenger: (any ScoringKernel)? = nil, batchSize: Int = 4096) throws {
        self.topology = topology
        let pipeline = try Pipeline(topology: topology, kernel: kernel, recordsUndo: false)
        self.pipeline = pipeline
        self.challenger = try challenger.map { try BatchScorer(kernel: $0, layout: pipeline.layout, topologyName: topology.name) }
        self.batchSize = batchSize
    }

    /// Whether `explain` can be asked of ``run(source:outputPath:from:until:drift:explain:observe:progress:)``
    /// (the kernel came with an explainer).
    public var explains: Bool { pipeline.explains }

    /// Replays the file at `inputPath` (``FileSource``); see ``run(source:outputPath:from:until:drift:progress:)``.
    public func run(inputPath: String, outputPath: String, from: Int64? = nil, until: Int64? = nil,
                    drift: DriftOutput? = nil, progress: ((ReplayProgress) -> Void)? = nil) throws -> ReplaySummary {
        try run(source: FileSource(path: inputPath), outputPath: outputPath, from: from, until: until, drift: drift, progress: progress)
    }

    /// Reads `source`, writes `outputPath` (CSV; `.lz4` compresses it); `progress` is called
    /// about ten times a second. With `drift` (a monitor and the path of a JSON-lines file),
    /// every drift record and alert of the events in [from, until) goes to that file, record
    /// then alerts per window, and the last window is flushed at the end of the input.
    ///
    /// With a challenger, each row also has `challenger_score`. With `explain` K > 0 (the
    /// kernel must explain: ``explains``), each row ends with the K inputs of largest TreeSHAP
    /// contribution to the champion's score, as `reason_i` and `contribution_i` pairs.
    /// `observe`, when given, sees every processed batch (events before `from` included) with
    /// the scores and alert indices of the champion and the challenger (model 0 and 1).
    public func run(source: some ReplaySource, outputPath: String, from: Int64? = nil, until: Int64? = nil,
                    drift: DriftOutput? = nil, explain: Int = 0, observe: ((EventBatch, [[Double]], [[Int]]) throws -> Void)? = nil,
                    progress: ((ReplayProgress) -> Void)? = nil) throws -> ReplaySummary {
        precondition(explain == 0 || pipeline.explains, "explain needs a kernel with an explainer")
        let sink = try EncodedFile.createForWriting(outputPath)
        var monitor = drift?.monitor
        let driftSink = try drift.map { try EncodedFile.createForWriting($0.path) }
        let layout = pipeline.layout
        var header = layout.idFields + layout.featureNames
        if pipeline.hasModel { header.append("score") }
        if challenger != nil { header.append("challenger_score") }
        for rank in stride(from: 1, through: explain, by: 1) { header += ["reason_\(rank)", "contribution_\(rank)"] }
        try sink.write(header.map { CSVField.quoted($0) }.joined(separator: ",") + "\n")
        let rows = CSVRowText()
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

        var summary = try replay(source: source, from: from, until: until, progress: progress) { [self] batch, output, summary in
            let challengerScores = challenger?.score(batch) ?? []
            summary.rowsWritten += rows.append(
                batch, scores: output.scores, challengerScores: challengerScores, from: from,
                reasons: explain > 0 ? { self.pipeline.reasons(batch, index: $0, top: explain).map { ($0.feature, $0.contribution) } } : nil)
            try rows.write(to: sink)
            if monitor != nil { try writeDrift(monitor!.observe(batch, scores: output.scores, from: from)) }
            if let observe {
                if challengerScores.isEmpty {
                    try observe(batch, [output.scores], [output.alerts])
                } else {
                    try observe(batch, [output.scores, challengerScores], [output.alerts, pipeline.alerts(batch, scores: challengerScores)])
                }
            }
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
        var summary = try replay(source: FileSource(path: inputPath), from: from, until: until, progress: progress) { batch, output, summary in
            builder.add(batch, scores: output.scores, from: from)
        }
        let profile = try builder.build()
        summary.rowsWritten = profile.eventCount
        return (profile, summary)
    }

    /// Reads `source` in batches through the pipeline and hands each processed batch, with its
    /// scores and alerts, to `body` (which also sees the summary so far). Counts malformed and
    /// rejected records; skips events at or after `until` entirely. `body` decides what to do
    /// with events before `from`.
    func replay(source: some ReplaySource, from: Int64?, until: Int64?, progress: ((ReplayProgress) -> Void)?,
                body: @escaping (EventBatch, BatchOutput, inout ReplaySummary) throws -> Void) throws -> ReplaySummary {
        let started = Date()
        let feed = ReplayFeed(batch: pipeline.makeBatch(capacity: batchSize), capacity: batchSize, until: until) { [pipeline] feed in
            let output = pipeline.process(&feed.batch)
            for index in 0..<feed.batch.count {
                if let rejection = feed.batch.rejection(index) {
                    feed.summary.rejectedCount += 1
                    if feed.summary.rejected.count < 100 { feed.summary.rejected.append((feed.place(of: index), rejection.description)) }
                }
            }
            try body(feed.batch, output, &feed.summary)
        }
        feed.summary.scored = pipeline.hasModel
        var lastReport = Date()
        feed.afterFlush = { [unowned feed] in
            guard let progress, Date().timeIntervalSince(lastReport) >= 0.1 else { return }
            lastReport = Date()
            let position = source.position
            progress(ReplayProgress(bytesRead: position.bytesRead, totalBytes: position.totalBytes, eventsRead: feed.summary.eventsRead,
                                    elapsed: lastReport.timeIntervalSince(started)))
        }
        try source.read(topology: topology, pipeline: pipeline, into: feed)
        try feed.flush()
        var summary = feed.summary
        summary.keysPerStage = pipeline.engines.map(\.keyCount)
        summary.bytesPerKeyPerStage = pipeline.engines.map(\.footprint.bytesPerKey)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

}
