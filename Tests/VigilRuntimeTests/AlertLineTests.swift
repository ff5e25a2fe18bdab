import Testing
import VigilKafka
@testable import VigilRuntime

/// `vigil tail`'s readable alert lines and its filters, on records as `vigil run` writes them.
@Suite struct AlertLineTests {
    static let alert = #"{"id":"1241953","score":0.99812,"model_version":"1","event_time":1533731345000,"features":{"TX_AMOUNT":512.25},"event":{"TX_AMOUNT":512.25},"rule":"score >= 0.5","reasons":[{"feature":"TX_AMOUNT","value":512.25,"contribution":2.3114},{"feature":"TERMINAL_ID_RISK_7DAY_WINDOW","value":0.5,"contribution":1.2},{"feature":"TX_DURING_NIGHT","value":0,"contribution":-0.051}]}"#

    static func record(_ value: String, key: String = "1241953", timestamp: Int64? = 1_533_731_345_000) -> ConsumerRecord {
        ConsumerRecord(topic: "card-fraud.alerts", partition: 0, offset: 7, key: Array(key.utf8), value: Array(value.utf8), headers: [], timestamp: timestamp)
    }

    @Test func anAlertReadsOnOneLine() throws {
        let line = try #require(AlertLine(Self.record(Self.alert)))
        #expect(line.text(colour: false)
            == "2018-08-08 12:29:05  1241953  score 0.998  v1  TX_AMOUNT=512.25 (+2.31)  TERMINAL_ID_RISK_7DAY_WINDOW=0.5 (+1.20)  TX_DURING_NIGHT=0 (-0.05)")
        // Coloured by score: red from 0.9, yellow from 0.5, plain below.
        #expect(line.text(colour: true).contains("\u{1B}[1;31mscore 0.998\u{1B}[0m"))
        let middling = try #require(AlertLine(Self.record(#"{"id":"5","score":0.61,"event_time":0}"#)))
        #expect(middling.text(colour: true) == "1970-01-01 00:00:00  1241953  \u{1B}[1;33mscore 0.610\u{1B}[0m")
        // Not a score record: nil, and the tail shows it as text.
        #expect(AlertLine(Self.record("TRANSACTION_ID,TX_AMOUNT")) == nil)
        var tail = TopicTail(topic: "t", kafka: .init(bootstrapServers: "127.0.0.1:1"))
        tail.format = .alert
        #expect(tail.line(for: Self.record("plain")) == "card-fraud.alerts/0@7 1241953 plain")
        #expect(tail.line(for: Self.record(Self.alert)).hasPrefix("2018-08-08 12:29:05  1241953  score 0.998"))
    }

    @Test func filtersKeepWhatWasAskedFor() {
        var tail = TopicTail(topic: "t", kafka: .init(bootstrapServers: "127.0.0.1:1"))
        #expect(tail.accepts(Self.record("anything")))
        tail.minimumScore = 0.99
        #expect(tail.accepts(Self.record(Self.alert)))
        #expect(!tail.accepts(Self.record(#"{"id":"5","score":0.61}"#)))
        #expect(!tail.accepts(Self.record("not a score record")))
        tail.minimumScore = nil
        tail.key = "1241953"
        #expect(tail.accepts(Self.record(Self.alert)) && !tail.accepts(Self.record(Self.alert, key: "1241954")))
        tail.key = nil
        // Event time from the record, else the Kafka timestamp.
        tail.fromTime = 1_533_731_345_000
        #expect(tail.accepts(Self.record(Self.alert, timestamp: 0)))
        #expect(!tail.accepts(Self.record(#"{"id":"5","score":0.61,"event_time":1533731344999}"#)))
        #expect(tail.accepts(Self.record("raw", timestamp: 1_533_731_345_000)) && !tail.accepts(Self.record("raw", timestamp: 1)))
        #expect(!tail.accepts(Self.record("raw", timestamp: nil)))
    }
}
