import Foundation
public import VigilDrift
public import VigilTopology

/// Drift monitoring for a pipeline's batches: a ``DriftMonitor`` fed with the topology's
/// watched features (picked from the rows by the profile's feature names) and the score, one
/// event at a time, live events only, in batch order. It does no I/O.
///
/// How the Kafka runtime drives it (one monitor per instance, over every partition it scores):
///
/// - At transaction begin, take ``checkpoint()``.
/// - After scoring each batch, call ``observe(_:scores:from:)`` with the batch and its scores;
///   for every emission it returns, produce each of ``DriftEmission/jsonLines()`` (the record,
///   then its alerts; the `type` field tells them apart) to ``topic`` in the open transaction,
///   keyed by the topology name. A window closes when the first event of a later window
///   arrives, so its record goes out in the same transaction as that batch's scores.
/// - When the transaction aborts, ``restore(_:)`` the checkpoint: the emissions produced in it
///   are aborted with it, and the rewound batches will produce them again.
/// - At shutdown, optionally ``flush()`` the open window (its record then covers only the
///   events seen so far; leaving it unflushed loses nothing that was committed).
///
/// `vigil replay --drift-output` drives it the same way over a file and flushes at the end.
///
/// Events whose window has already closed (out of order across partitions beyond a window
/// boundary) are counted in the open window's `lateCount` and left out of its distributions.
public struct PipelineDriftMonitor: Sendable {
    /// The saved state of the monitor, from ``checkpoint()``.
    public typealias Checkpoint = DriftMonitor.Checkpoint

    /// The topology's drift section.
    public let spec: DriftSpec
    /// The topic drift records and alerts go to (`<name>.drift` by default).
    public let topic: String
    private var monitor: DriftMonitor
    private let columns: DriftColumns
    private let watchesScore: Bool
    /// The batch's events as columns, and the rows they came from: kept from batch to batch.
    private var eventColumns = DriftEventColumns()
    private var eventRows: [Int] = []

    /// A monitor for `topology` (which must have a drift section) against `profile`. The
    /// profile must watch exactly the section's features (numeric and categorical as the
    /// section says) and the score when the section watches it; otherwise the error names the
    /// differences at the section's `profile` line.
    public init(topology: Topology, profile: ReferenceProfile) throws(TopologyLoadError) {
        guard let spec = topology.drift else {
            throw TopologyLoadError(diagnostics: [TopologyDiagnostic(file: topology.name, line: 0, column: 0,
                                                                     message: "the topology '\(topology.name)' has no drift section")])
        }
        func fail(_ message: String) -> TopologyLoadError {
            TopologyLoadError(diagnostics: [spec.diagnostic("drift profile '\(spec.profilePath)': \(message)")])
        }
        var problems: [String] = []
        func compare(_ kind: String, watched: [String], profiled: [String]) {
            let missing = watched.filter { !profiled.contains($0) }
            let extra = profiled.filter { !watched.contains($0) }
            if !missing.isEmpty { problems.append("\(kind) features watched but not in the profile: \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { problems.append("\(kind) features in the profile but not watched: \(extra.joined(separator: ", "))") }
        }
        compare("numeric", watched: spec.numericFeatures, profiled: profile.numericFeatures)
        compare("categorical", watched: spec.categorical, profiled: profile.categoricalFeatures)
        if spec.monitorsScore && profile.score == nil { problems.append("the section watches the score, the profile has none") }
        if !spec.monitorsScore && profile.score != nil { problems.append("the profile has a score, the section does not watch it (score: false)") }
        if let name = profile.score?.feature, name != DriftSpec.scoreName {
            problems.append("the profile's score is named '\(name)', expected '\(DriftSpec.scoreName)'")
        }
        guard problems.isEmpty else { throw fail(problems.joined(separator: "; ") + "; rebuild it with `vigil profile`") }
        let policy: DriftThresholdPolicy
        do {
            policy = DriftThresholdPolicy(
                standard: try DriftThresholds(moderate: spec.thresholds.moderate, major: spec.thresholds.major),
                perFeature: try spec.featureThresholds.mapValues { try DriftThresholds(moderate: $0.moderate, major: $0.major) },
                minimumCount: spec.minimumCount)
            monitor = try DriftMonitor(profile: profile, configuration: .init(name: topology.name, windowLengthMs: spec.windowLength,
                                                                           thresholds: policy))
        } catch {
            throw fail("\(error)")
        }
        do {
            columns = try DriftColumns(layout: RowLayout(topology: topology), numeric: profile.numericFeatures,
                                       categorical: profile.categoricalFeatures)
        } catch {
            throw fail("the topology does not produce \(error.missing.joined(separator: ", "))")
        }
        self.spec = spec
        topic = topology.outputs.driftTopic
        watchesScore = profile.score != nil
    }

    /// The monitor of `topology`'s drift section with its profile read from
    /// ``Topology/resolvedDriftProfilePath``; nil when the topology has no drift section.
    /// A profile that cannot be read, does not decode or does not match is reported at the
    /// section's `profile` line.
    public static func load(topology: Topology) throws(TopologyLoadError) -> PipelineDriftMonitor? {
        guard let spec = topology.drift, let path = topology.resolvedDriftProfilePath else { return nil }
        let profile: ReferenceProfile
        do {
            profile = try ReferenceProfile.decode(from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = (error as? DriftError)?.description ?? (error as? DecodingError).map { "not a reference profile: \($0)" }
                ?? "cannot read \(path): \(error.localizedDescription)"
            throw TopologyLoadError(diagnostics: [spec.diagnostic("drift profile '\(spec.profilePath)': \(reason)")])
        }
        return try PipelineDriftMonitor(topology: topology, profile: profile)
    }

    /// The reference profile windows are compared with.
    public var profile: ReferenceProfile { monitor.profile }

    /// Adds the batch's live events (rejected ones are skipped) in batch order, with their
    /// scores (one per event, as ``Pipeline/score(_:)`` returns them; an empty array or NaN
    /// makes the score missing). Events before `from` (ms), when given, are skipped: a replay's
    /// warm-up. Returns the emissions of the windows these events closed, oldest first.
    public mutating func observe(_ batch: EventBatch, scores: [Double], from: Int64? = nil) -> [DriftEmission] {
        columns.fill(&eventColumns, rows: &eventRows, of: batch, scores: scores, from: from, withScore: watchesScore)
        do {
            return try monitor.observe(eventColumns)
        } catch {
            // The columns are shaped from the profile in init; a mismatch here is a bug.
            preconditionFailure("drift columns do not match their profile: \(error)")
        }
    }

    /// Closes the open window, if any (end of input), and returns its emission.
    public mutating func flush() -> [DriftEmission] {
        monitor.flush().map { [$0] } ?? []
    }

    /// The state to go back to if the transaction aborts; O(1).
    public func checkpoint() -> Checkpoint { monitor.checkpoint() }

    /// Puts back a state from ``checkpoint()``.
    public mutating func restore(_ checkpoint: Checkpoint) { monitor.restore(checkpoint) }
}
