/// Card precision@k per day, as the Fraud Detection Handbook defines it (chapter 4.2,
/// `card_precision_top_k`): each day, a card's score is its highest transaction score that
/// day and it counts as compromised when any of its transactions that day is a fraud; the k
/// cards with the highest scores are the day's alerts (investigators check k cards a day),
/// and the precision is the share of compromised cards among them, over k. Cards found
/// compromised in an earlier day's top k are left out of the later days (they are blocked);
/// the mean is over the days. Ties between cards' scores are broken by card id, smallest first
/// (the handbook leaves them to pandas' sort).
public struct CardPrecision: Sendable, Codable, Equatable {
    /// One day's figures.
    public struct Day: Sendable, Codable, Equatable {
        /// The day, `YYYY-MM-DD` (UTC).
        public var day: String
        /// Compromised cards among the day's top k, over k.
        public var precision: Double
        /// Compromised cards found in the day's top k.
        public var detectedCards: Int
        /// Compromised cards that day (after leaving out those detected earlier).
        public var compromisedCards: Int
        /// Cards with a transaction that day (after leaving out those detected earlier).
        public var cards: Int
    }

    /// The number of cards checked per day.
    public var k: Int
    /// Per day, in order.
    public var days: [Day]
    /// The mean of the days' precisions (NaN without days).
    public var mean: Double

    /// Computes it for events on `days` (days since the epoch, UTC) of cards `entities`, with
    /// `scores` and `labels`.
    public init(k: Int, days eventDays: [Int64], entities: [Int64], scores: [Double], labels: [Bool]) {
        precondition(k > 0, "k must be positive")
        precondition(eventDays.count == entities.count && entities.count == scores.count && scores.count == labels.count)
        self.k = k
        var byDay: [Int64: [Int]] = [:]
        for index in eventDays.indices { byDay[eventDays[index], default: []].append(index) }
        var detected = Set<Int64>()
        var result: [Day] = []
        for day in byDay.keys.sorted() {
            // Each card's highest score and whether it had a fraud that day.
            var cards: [Int64: (score: Double, compromised: Bool)] = [:]
            for index in byDay[day]! where !detected.contains(entities[index]) {
                let previous = cards[entities[index]]
                cards[entities[index]] = (max(previous?.score ?? -.infinity, scores[index]), (previous?.compromised ?? false) || labels[index])
            }
            let ranked = cards.sorted { $0.value.score > $1.value.score || ($0.value.score == $1.value.score && $0.key < $1.key) }
            let top = ranked.prefix(k).filter { $0.value.compromised }
            detected.formUnion(top.map(\.key))
            result.append(Day(day: CalendarDay.text(day), precision: Double(top.count) / Double(k), detectedCards: top.count,
                              compromisedCards: cards.values.reduce(0) { $0 + ($1.compromised ? 1 : 0) }, cards: cards.count))
        }
        days = result
        mean = result.isEmpty ? .nan : result.reduce(0) { $0 + $1.precision } / Double(result.count)
    }
}
