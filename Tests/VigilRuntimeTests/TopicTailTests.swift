import Foundation
import Synchronization
import Testing
import VigilKafka
import VigilTestSupport
@testable import VigilRuntime

/// `vigil tail`'s logic against the real broker.
@Suite(.serialized)
struct TopicTailTests {
    /// Six records over two partitions: keys, a null key, a null value, headers, text that
    /// needs escaping, bytes that are not UTF-8.
    static func sampleRecords(topic: String) -> [ProducerRecord] {
        [
            ProducerRecord(topic: topic, partition: 0, key: Array("card-1".utf8), value: Array(#"{"score":0.97}"#.utf8),
                           headers: [KafkaHeader("source.topic", "events"), KafkaHeader("source.offset", "7")], timestamp: 1_700_000_000_000),
            ProducerRecord(topic: topic, partition: 0, key: nil, value: Array("no key".utf8), timestamp: 1_700_000_000_001),
            ProducerRecord(topic: topic, partition: 0, key: Array("card-2".utf8), value: nil, timestamp: 1_700_000_000_002),
            ProducerRecord(topic: topic, partition: 1, key: Array("card-3".utf8), value: Array("line one\nline two\t\\".utf8),
                           headers: [KafkaHeader("empty", nil)], timestamp: 1_700_000_000_003),
            ProducerRecord(topic: topic, partition: 1, key: [0xff, 0x00, 0x10], value: Array("binary key".utf8), timestamp: 1_700_000_000_004),
            ProducerRecord(topic: topic, partition: 1, key: Array("card-4".utf8), value: Array("plain".utf8), timestamp: 1_700_000_000_005),
        ]
    }

    @Test func fromTheBeginningInText() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-text", partitions: 2)
            try TestBroker.produce(Self.sampleRecords(topic: topic))
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.fromBeginning = true
            tail.maxRecords = 6
            var lines: [String] = []
            let count = try tail.run(logger: TestBroker.logger) { lines.append($0) }
            #expect(count == 6)
            // Partitions interleave in any order; within one, offsets ascend.
            #expect(lines.filter { $0.hasPrefix("\(topic)/0@") } == [
                "\(topic)/0@0 card-1 {\"score\":0.97} | source.topic=events source.offset=7",
                "\(topic)/0@1 (null) no key",
                "\(topic)/0@2 card-2 (null)",
            ])
            #expect(lines.filter { $0.hasPrefix("\(topic)/1@") } == [
                "\(topic)/1@0 card-3 line one\\nline two\\t\\\\ | empty=(null)",
                "\(topic)/1@1 0xff0010 binary key",
                "\(topic)/1@2 card-4 plain",
            ])
        }
    }

    @Test func fromTheBeginningInJSON() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-json", partitions: 2)
            try TestBroker.produce(Self.sampleRecords(topic: topic))
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.fromBeginning = true
            tail.format = .json
            tail.maxRecords = 6
            var lines: [String] = []
            try tail.run(logger: TestBroker.logger) { lines.append($0) }
            let t = "{\"topic\":\"\(topic)\""
            #expect(Set(lines) == [
                t + #","partition":0,"offset":0,"timestamp":1700000000000,"key":"card-1","value":"{\"score\":0.97}","headers":[{"name":"source.topic","value":"events"},{"name":"source.offset","value":"7"}]}"#,
                t + #","partition":0,"offset":1,"timestamp":1700000000001,"key":null,"value":"no key","headers":[]}"#,
                t + #","partition":0,"offset":2,"timestamp":1700000000002,"key":"card-2","value":null,"headers":[]}"#,
                t + #","partition":1,"offset":0,"timestamp":1700000000003,"key":"card-3","value":"line one\nline two\t\\","headers":[{"name":"empty","value":null}]}"#,
                t + #","partition":1,"offset":1,"timestamp":1700000000004,"key_base64":"/wAQ","value":"binary key","headers":[]}"#,
                t + #","partition":1,"offset":2,"timestamp":1700000000005,"key":"card-4","value":"plain","headers":[]}"#,
            ])
            // Each line is a JSON object a standard parser reads.
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["topic"] as? String == topic)
            }
        }
    }

    /// By default the tail starts at the end: records produced before it is positioned are not
    /// shown, records produced after are.
    @Test func fromTheEndShowsOnlyNewRecords() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-end", partitions: 2)
            try TestBroker.produce((0..<10).map { ProducerRecord(topic: topic, partition: Int32($0 % 2), value: Array("old-\($0)".utf8)) })
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.maxRecords = 4
            var lines: [String] = []
            var produceError: (any Error)?
            try tail.run(logger: TestBroker.logger, onPositioned: {
                do {
                    try TestBroker.produce((0..<4).map { ProducerRecord(topic: topic, partition: Int32($0 % 2), value: Array("new-\($0)".utf8)) })
                } catch {
                    produceError = error
                }
            }) { lines.append($0) }
            #expect(produceError == nil)
            #expect(lines.sorted() == [
                "\(topic)/0@5 (null) new-0", "\(topic)/0@6 (null) new-2", "\(topic)/1@5 (null) new-1", "\(topic)/1@6 (null) new-3",
            ])
        }
    }

    /// From the end of a topic nobody wrote to yet (the partition-EOF path).
    @Test func fromTheEndOfAnEmptyTopic() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-empty", partitions: 1)
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.maxRecords = 2
            var lines: [String] = []
            try tail.run(logger: TestBroker.logger, onPositioned: {
                try? TestBroker.produce([ProducerRecord(topic: topic, key: Array("k".utf8), value: Array("a".utf8)), ProducerRecord(topic: topic, key: Array("k".utf8), value: Array("b".utf8))])
            }) { lines.append($0) }
            #expect(lines == ["\(topic)/0@0 k a", "\(topic)/0@1 k b"])
        }
    }

    @Test func onePartitionOnly() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-partition", partitions: 3)
            try TestBroker.produce((0..<9).map { ProducerRecord(topic: topic, partition: Int32($0 % 3), value: Array("v\($0)".utf8)) })
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.fromBeginning = true
            tail.partition = 1
            tail.maxRecords = 3
            var lines: [String] = []
            try tail.run(logger: TestBroker.logger) { lines.append($0) }
            #expect(lines == ["\(topic)/1@0 (null) v1", "\(topic)/1@1 (null) v4", "\(topic)/1@2 (null) v7"])
        }
    }

    /// Stopping (SIGINT in the command) ends the tail with what it printed so far.
    @Test func stopsWhenAsked() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("tail-stop", partitions: 1)
            try TestBroker.produce([ProducerRecord(topic: topic, value: Array("only".utf8))])
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.fromBeginning = true
            var lines: [String] = []
            // No maximum: it ends because `shouldStop` turns true once the record is printed.
            let count = try tail.run(logger: TestBroker.logger, shouldStop: { lines.count == 1 }) { lines.append($0) }
            #expect(count == 1)
            #expect(lines == ["\(topic)/0@0 (null) only"])
        }
    }

    @Test func aMissingTopicOrPartitionIsAClearError() async throws {
        try await TestBroker.blocking {
            let missing = TestBroker.unique("no-such-topic")
            #expect {
                try TopicTail(topic: missing, kafka: TestBroker.kafka).run(logger: TestBroker.logger) { _ in }
            } throws: { error in
                String(describing: error) == "topic \(missing) does not exist at \(TestBroker.bootstrap)"
            }
            let topic = try TestBroker.createTopic("tail-bad-partition", partitions: 2)
            var tail = TopicTail(topic: topic, kafka: TestBroker.kafka)
            tail.partition = 2
            #expect {
                try tail.run(logger: TestBroker.logger) { _ in }
            } throws: { error in
                String(describing: error) == "topic \(topic) has partitions 0 to 1; there is no partition 2"
            }
        }
    }
}
