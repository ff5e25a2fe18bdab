public import VigilDrift
public import VigilTopology

/// Builds a topology's reference profile from a pipeline's batches (what `vigil profile`
/// does over a replay of the training period): the drift section's watched features, read
/// from the rows, and the score when the section watches it. No I/O.
public struct PipelineProfileBuilder: Sendable {
    private var builder: ProfileBuilder
    private let columns: DriftColumns
    private var numeric: [Double]
    private var categorical: [String?]
    private let watchesScore: Bool
    /// The batch's events as columns, and the rows they came from: kept from batch to batch.
    private var eventColumns = DriftEventColumns()
    private var eventRows: [Int] = []

    /// A builder for `topology`'s drift section; the profile is named after the topology.
    /// Throws when the topology has no drift section or `configuration` is invalid.
    public init(topology: Topology, configuration: ProfileBuilder.Configuration = .init()) throws {
        guard let spec = topology.drift else { throw DriftError.invalidConfiguration("the topology '\(topology.name)' has no drift section") }
        var configuration = configuration
        configuration.scoreName = DriftSpec.scoreName
        builder = try ProfileBuilder(name: topology.name, numericFeatures: spec.numericFeatures, categoricalFeatures: spec.categorical,
                                     includesScore: spec.monitorsScore, configuration: configuration)
        // The loader checked that every watched feature is a column.
        columns = try! DriftColumns(layout: RowLayout(topology: topology), numeric: spec.numericFeatures, categorical: spec.categorical)
        numeric = Array(repeating: .nan, count: spec.numericFeatures.count)
        categorical = Array(repeating: nil, count: spec.categorical.count)
        watchesScore = spec.monitorsScore
    }

    /// Adds the batch's live events with their scores (one per event; empty or NaN: missing),
    /// skipping events before `from` (ms) when given.
    public mutating func add(_ batch: EventBatch, scores: [Double], from: Int64? = nil) {
        columns.fill(&eventColumns, rows: &eventRows, of: batch, scores: scores, from: from, withScore: watchesScore)
        let count = eventColumns.count
        for event in 0..<count {
            for feature in numeric.indices { numeric[feature] = eventColumns.numeric[feature * count + event] }
            for feature in categorical.indices { categorical[feature] = eventColumns.categorical[feature][event] }
            do {
                // A missing score is NaN in the columns; the builder counts NaN and nil alike.
                try builder.add(eventTimeMs: eventColumns.times[event], numeric: numeric, categorical: categorical,
                                score: watchesScore ? eventColumns.scores[event] : nil)
            } catch {
                preconditionFailure("profile row does not match its builder: \(error)")
            }
        }
    }

    /// The profile of everything added; throws when a watched feature never had a value.
    public func build() throws -> ReferenceProfile { try builder.build() }
}
