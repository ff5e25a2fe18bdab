import Foundation
import Testing
import VigilEvaluation
import VigilFeatures
import VigilPipeline
import VigilTopology

/// The evaluation section and the handbook's protocol: which events a report judges.
@Suite struct EvaluationCollectorTests {
    static let yaml = """
        name: cards
        source:
          topics: [tx]
          format: csv
          key: CARD
          id: ID
          timestamp: { field: TIME, format: epoch_millis }
          fields: { ID: string, TIME: int, CARD: int, AMOUNT: double, FRAUD: int }
        stages:
          - name: card
            key: CARD
            features:
              - { name: COUNT_1D, kind: count, window: 1d }
        outputs:
          alerts: { rule: COUNT_1D >= 3 }
        evaluation:
          label: FRAUD
          entity: CARD
          top_k: 2
          known_label_delay: 7d
        """

    static let day: Int64 = 86_400_000

    /// A batch of (day, card, fraud) events at noon of their day.
    static func batch(_ events: [(day: Int64, card: Int64, fraud: Double)], layout: RowLayout) -> EventBatch {
        var batch = EventBatch(layout: layout)
        for (index, event) in events.enumerated() {
            let time = event.day * day + day / 2
            let values = [Double.nan, Double(time), Double(event.card), 10, event.fraud]
            values.withUnsafeBufferPointer { values in
                batch.append(time: time, sourceValues: values, keys: [.int(event.card)], ids: ["e\(index)"],
                             provenance: Provenance(partition: 0, offset: Int64(index)))
            }
        }
        return batch
    }

    @Test func cardsWithAFraudKnownThroughTheDelayAreLeftOut() throws {
        let topology = try TopologyLoader.load(yaml: Self.yaml, file: "cards.yaml")
        let spec = try #require(topology.evaluation)
        #expect(spec == EvaluationSpec(label: "FRAUD", entity: "CARD", topK: 2, knownLabelDelay: 7 * Self.day))
        let layout = RowLayout(topology: topology)
        // Days 100..: frauds of card 1 on day 100 (before knownFrom: ignored), card 2 on day 102,
        // card 3 on day 110 (inside the period); the period starts on day 110.
        var collector = try EvaluationCollector(topology: topology, layout: layout, models: 1, from: 110 * Self.day, knownFrom: 101 * Self.day)
        let events: [(day: Int64, card: Int64, fraud: Double)] = [
            (100, 1, 1), (102, 2, 1), (105, 4, .nan),
            (110, 1, 0), (110, 2, 0), (110, 3, 1), (110, 4, .nan),  // card 2 known on day 110 (102 < 110 − 7)
            (111, 2, 0),                                            // still known
            (117, 3, 0),                                            // 110 is not before 117 − 7: not yet known
            (118, 3, 0),                                            // 110 < 118 − 7: known
        ]
        let batch = Self.batch(events, layout: layout)
        let scores = events.indices.map { Double($0) / 10 }
        collector.add(batch, scores: [scores], alerts: [[5, 8]])
        #expect(collector.events.ids == ["e3", "e5", "e8"])
        #expect(collector.events.labels == [false, true, false])
        #expect(collector.events.alerts[0] == [false, true, true])
        #expect(collector.events.entities == [1, 3, 3])
        #expect(collector.excludedKnown == 3)
        #expect(collector.unlabelled == 1)
    }

    @Test func withoutTheDelayEveryLabelledEventOfThePeriodIsJudged() throws {
        let topology = try TopologyLoader.load(yaml: Self.yaml.replacingOccurrences(of: "\n  known_label_delay: 7d", with: ""), file: "cards.yaml")
        let layout = RowLayout(topology: topology)
        var collector = try EvaluationCollector(topology: topology, layout: layout, models: 2, from: nil, knownFrom: nil)
        let events: [(day: Int64, card: Int64, fraud: Double)] = [(100, 1, 1), (120, 1, 0), (121, 1, 1)]
        collector.add(Self.batch(events, layout: layout), scores: [[0.1, 0.2, 0.3], [0.3, 0.2, .nan]], alerts: [[], []])
        #expect(collector.events.ids == ["e0", "e1"])
        #expect(collector.unscored == 1 && collector.excludedKnown == 0)
    }

    @Test func theSectionIsCheckedAgainstTheSource() {
        func diagnostics(_ replacement: (String, String)) -> [String] {
            do {
                _ = try TopologyLoader.load(yaml: Self.yaml.replacingOccurrences(of: replacement.0, with: replacement.1), file: "cards.yaml")
                return []
            } catch {
                return error.diagnostics.map(\.description)
            }
        }
        #expect(diagnostics(("label: FRAUD", "label: FRAUDS")).contains { $0.contains("cards.yaml:") && $0.contains("evaluation label 'FRAUDS' is not a source field") })
        #expect(diagnostics(("label: FRAUD", "label: ID")).contains { $0.contains("is a string field") })
        #expect(diagnostics(("entity: CARD", "entity: SHOP")).contains { $0.contains("evaluation entity 'SHOP' is not a source field") })
        #expect(diagnostics(("known_label_delay: 7d", "known_label_delay: 36h")).contains { $0.contains("whole days") })
        #expect(diagnostics(("top_k: 2", "top_k: 0")).contains { $0.contains("top_k must be at least 1") })
        #expect(diagnostics(("rule: COUNT_1D >= 3 }", "rule: COUNT_1D >= 3, explain: 2 }")).contains { $0.contains("alerts explain needs a model") })
    }
}
