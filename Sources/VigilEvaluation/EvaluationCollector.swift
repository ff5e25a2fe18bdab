public import VigilPipeline
public import VigilTopology

/// Gathers a replay's labelled events for a report, batch by batch, as the topology's
/// `evaluation` section says: the label, the entity, and the handbook's protocol of leaving
/// out the events of entities already known to be compromised.
///
/// It sees every replayed event. Those before `from` are not judged, but their positive
/// labels (from `knownFrom` on, when given) make their entity known compromised for the days
/// more than ``EvaluationSpec/knownLabelDelay`` later; events in [from, until) are judged
/// unless their entity is known compromised on their day. The handbook's protocol (train on
/// 2018-07-25..31, test 2018-08-08..14, 7-day delay) is `from` = 2018-08-08, `knownFrom` =
/// 2018-07-25: frauds of the training week and of the delay period's days that are already
/// known remove their cards from the test days.
public struct EvaluationCollector {
    /// Where an event's entity comes from.
    enum EntitySource {
        /// No entity: every event its own (card precision is left out).
        case none
        /// A numeric source column.
        case column(Int)
        /// A stage key (a string field keying a stage).
        case key(stage: Int)
        /// An id field.
        case id(position: Int)
    }

    public let spec: EvaluationSpec
    /// The judged events.
    public private(set) var events: LabelledEvents
    /// Events left out because their entity was known to be compromised on their day.
    public private(set) var excludedKnown = 0
    /// Events in the period without a label.
    public private(set) var unlabelled = 0
    /// Events in the period that a model left unscored (NaN).
    public private(set) var unscored = 0
    /// The first and last judged event times.
    public private(set) var firstTime: Int64?
    public private(set) var lastTime: Int64?

    private let labelColumn: Int
    private let entitySource: EntitySource
    private let from: Int64?
    private let knownFrom: Int64?
    private var stringEntities: [String: Int64] = [:]
    /// Each entity's first day with a positive label (days since the epoch).
    private var firstPositiveDay: [Int64: Int64] = [:]

    /// A collector for `topology`'s rows (its `evaluation` section must be set) judging
    /// `models` models' scores.
    public init(topology: Topology, layout: RowLayout, models: Int, from: Int64?, knownFrom: Int64?) throws(EvaluationError) {
        guard let spec = topology.evaluation else {
            throw EvaluationError("the topology '\(topology.name)' has no evaluation section (it names the label field)")
        }
        guard let labelColumn = layout.column(of: spec.label) else { throw EvaluationError("the label '\(spec.label)' is not a column") }
        self.spec = spec
        self.labelColumn = labelColumn
        if let entity = spec.entity {
            if let field = layout.sourceFields.first(where: { $0.name == entity }), field.type.isNumeric, let column = layout.column(of: entity) {
                entitySource = .column(column)
            } else if let stage = topology.stages.firstIndex(where: { $0.key == entity }) {
                entitySource = .key(stage: stage)
            } else if let position = layout.idFields.firstIndex(of: entity) {
                entitySource = .id(position: position)
            } else {
                throw EvaluationError("the evaluation entity '\(entity)' is a string field that neither keys a stage nor is an id field; make it one or the other")
            }
        } else {
            entitySource = .none
        }
        events = LabelledEvents(models: models)
        self.from = from
        self.knownFrom = knownFrom
    }

    /// Adds a processed batch: `scores[model]` one per event, `alerts[model]` the indices of
    /// the events that met the alert rule with that model's score.
    public mutating func add(_ batch: EventBatch, scores: [[Double]], alerts: [[Int]]) {
        precondition(scores.count == events.scores.count && alerts.count == scores.count)
        let alertSets = alerts.map(Set.init)
        var eventScores = [Double](repeating: 0, count: scores.count)
        var eventAlerts = [Bool](repeating: false, count: scores.count)
        for index in 0..<batch.count where batch.isLive(index) {
            let time = batch.times[index]
            let value = batch.value(index, column: labelColumn)
            let judged = from.map { time >= $0 } ?? true
            guard !value.isNaN else {
                if judged { unlabelled += 1 }
                continue
            }
            let label = value != 0
            let entity = entity(of: batch, index, fallback: Int64(events.count))
            let day = CalendarDay.of(time)
            if label, knownFrom.map({ time >= $0 }) ?? true, firstPositiveDay[entity].map({ day < $0 }) ?? true {
                firstPositiveDay[entity] = day
            }
            guard judged else { continue }
            if hasEntities, let delay = spec.knownLabelDelay, let first = firstPositiveDay[entity], first < day - delay / CalendarDay.millisecondsPerDay {
                excludedKnown += 1
                continue
            }
            var scored = true
            for model in scores.indices {
                eventScores[model] = scores[model].isEmpty ? .nan : scores[model][index]
                if eventScores[model].isNaN { scored = false }
                eventAlerts[model] = alertSets[model].contains(index)
            }
            guard scored else { unscored += 1; continue }
            let ids = batch.ids(of: index)
            events.append(time: time, entity: entity, label: label, id: ids.count == 1 ? ids[ids.startIndex] : ids.joined(separator: ","),
                          scores: eventScores, alerts: eventAlerts)
            firstTime = min(firstTime ?? time, time)
            lastTime = max(lastTime ?? time, time)
        }
    }

    private mutating func entity(of batch: EventBatch, _ index: Int, fallback: Int64) -> Int64 {
        switch entitySource {
        case .none: return -1 - fallback
        case let .column(column):
            let value = batch.value(index, column: column)
            return value.isFinite ? Int64(exactly: value.rounded()) ?? Int64(value.bitPattern) : Int64.min
        case let .key(stage):
            switch batch.key(index, stage: stage) {
            case let .int(value): return value
            case let .string(text): return stringID(text)
            }
        case let .id(position):
            let ids = batch.ids(of: index)
            return stringID(ids[ids.startIndex + position])
        }
    }

    private mutating func stringID(_ text: String) -> Int64 {
        if let id = stringEntities[text] { return id }
        let id = Int64(stringEntities.count)
        stringEntities[text] = id
        return id
    }

    /// Whether card precision can be computed (the section names an entity).
    public var hasEntities: Bool {
        if case .none = entitySource { return false }
        return true
    }
}

/// A report that cannot be made, and why.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
