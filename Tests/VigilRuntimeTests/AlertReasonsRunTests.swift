import Foundation
import Testing
import VigilKafka
import VigilRuntime
import VigilTestSupport

/// `outputs.alerts.explain: 3` in the card-fraud topology: every alert `vigil run` commits
/// (here through `vigil demo`, the same runtime) carries its three reasons, largest first.
@Suite struct AlertReasonsRunTests {
    @Test func everyCommittedAlertCarriesItsReasons() throws {
        let (status, text, errors) = try RuntimeFixture.runVigil([
            "demo", "--events", "3000", "--rate", "8000", "--bootstrap", TestBroker.bootstrap,
            "--topology", RuntimeFixture.repository.appendingPathComponent("topologies/card-fraud.yaml").path,
        ])
        #expect(status == 0, "\(text)\n\(errors.suffix(3000))")
        // "… N alerts (score >= 0.5) …" and "Topics: X.scores, X.alerts;"
        let alertCount = try #require(text.firstMatch(of: /, (\d+) alerts \(/).flatMap { Int($0.1) })
        let topic = try #require(text.firstMatch(of: /Topics: \S+\.scores, (\S+\.alerts);/).map { String($0.1) })
        #expect(alertCount > 0, "\(text)")
        var tail = TopicTail(topic: topic, kafka: KafkaConfiguration(bootstrapServers: TestBroker.bootstrap))
        tail.fromBeginning = true
        tail.maxRecords = alertCount
        let deadline = ContinuousClock.now + .seconds(60)
        var lines: [AlertLine] = []
        tail.format = .json
        var records: [String] = []
        try tail.run(shouldStop: { ContinuousClock.now > deadline }) { records.append($0) }
        #expect(records.count == alertCount)
        for record in records {
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any])
            let value = try #require(envelope["value"] as? String)
            let alert = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            let reasons = try #require(alert["reasons"] as? [[String: Any]], "\(value)")
            #expect(reasons.count == 3)
            let contributions = reasons.compactMap { $0["contribution"] as? Double }
            #expect(contributions.count == 3 && contributions == contributions.sorted(by: >), "\(value)")
            let features = try #require(alert["features"] as? [String: Any])
            #expect(reasons.allSatisfy { ($0["feature"] as? String).map { features[$0] != nil || $0 == "TX_AMOUNT" } ?? false })
            lines.append(try #require(AlertLine(ConsumerRecord(topic: topic, partition: 0, offset: 0, key: nil, value: Array(value.utf8), headers: [], timestamp: nil))))
        }
        #expect(lines.allSatisfy { $0.reasons.count == 3 && $0.score >= 0.5 })
    }
}
