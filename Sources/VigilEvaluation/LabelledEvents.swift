/// The events a report judges, column by column: when, which entity, the label, the id, and
/// each model's score and alert (index 0 the champion, 1 the challenger).
public struct LabelledEvents: Sendable {
    public var times: [Int64] = []
    public var entities: [Int64] = []
    public var labels: [Bool] = []
    public var ids: [String] = []
    /// Per model, one score per event.
    public var scores: [[Double]]
    /// Per model, whether each event raised an alert.
    public var alerts: [[Bool]]

    public init(models: Int) {
        scores = Array(repeating: [], count: models)
        alerts = Array(repeating: [], count: models)
    }

    public var count: Int { times.count }

    /// Each event's day since the epoch (UTC).
    public var days: [Int64] { times.map(CalendarDay.of) }

    /// Appends one event.
    public mutating func append(time: Int64, entity: Int64, label: Bool, id: String, scores eventScores: [Double], alerts eventAlerts: [Bool]) {
        times.append(time)
        entities.append(entity)
        labels.append(label)
        ids.append(id)
        for model in scores.indices {
            scores[model].append(eventScores[model])
            alerts[model].append(eventAlerts[model])
        }
    }
}
