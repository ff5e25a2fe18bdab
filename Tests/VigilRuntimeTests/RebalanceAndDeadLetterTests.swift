import Foundation
import Testing
import VigilKafka
import VigilPipeline
import VigilRuntime
import VigilTopology

@Suite(.serialized)
struct RebalanceAndDeadLetterTests {
    /// Two instances in one group: one joins mid-stream, the other leaves mid-stream. Together
    /// they score every event exactly once, with the features and scores of a single run.
    @Test func instanceJoiningAndLeavingMidStreamGivesTheSameOutputsWithoutDuplicates() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("rebalance")
            let topology = try RuntimeFixture.topology(name: name, lateness: 7 * 86_400_000)
            var relaxed = topology
            relaxed.processing.stateTTL = 45 * 86_400_000
            // Both ways to the terminal stage are under test here (local delivery is opt-in).
            relaxed.processing.localDelivery = true
            // Local delivery keeps key states in the changelog (events are chained by input offsets).
            relaxed.processing.changelog = .keyStates
            let source = relaxed.source.topics[0]
            let events = try RuntimeFixture.transactions(9000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 4)])
            let layout = RowLayout(topology: relaxed)

            try RuntimeFixture.produce(Array(events[0..<3000]), to: source)
            let first = try RuntimeFixture.RunningInstance(topology: relaxed, instance: "first")
            _ = try RuntimeFixture.readScores(relaxed.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: 1000)

            // A second instance joins while the first is busy.
            try RuntimeFixture.produce(Array(events[3000..<6000]), to: source)
            let second = try RuntimeFixture.RunningInstance(topology: relaxed, instance: "second")
            // Cooperative rebalancing: the first gives up some partitions, the second takes them.
            try RuntimeFixture.waitUntil { second.runtime.statistics.rebalances > 0 && first.runtime.statistics.rebalances > 1 }
            // Once it settles, the 8 input partitions (4 of the source, 4 of the repartition
            // topic) are each restored and processed by one of the two.
            try RuntimeFixture.waitUntil {
                let (a, b) = (first.runtime.statistics.activePartitions, second.runtime.statistics.activePartitions)
                return a > 0 && b > 0 && a + b == 8
            }

            // The first leaves cleanly while events still arrive.
            try RuntimeFixture.produce(Array(events[6000..<9000]), to: source)
            first.stop()
            let scores = try RuntimeFixture.readScores(relaxed.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            if scores.count < events.count {
                let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 4)
                let ends = try (0..<4).map { try RuntimeFixture.endOffset(of: TopicPartition(source, Int32($0))) }
                let rc = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: "\(name).repartition.terminal", partitions: 4)
                let rends = try (0..<4).map { try RuntimeFixture.endOffset(of: TopicPartition("\(name).repartition.terminal", Int32($0))) }
                print("rebalance test failed: source committed \(committed.sorted { $0.key < $1.key }.map(\.value)) ends \(ends); repartition committed \(rc.sorted { $0.key < $1.key }.map(\.value)) ends \(rends)")
                print("rebalance test failed: first \(first.runtime.statistics)")
                print("rebalance test failed: second \(second.runtime.statistics) health \(second.runtime.metrics.health.unhealthyReason ?? "ok")")
            }
            // The one left has taken over every input partition.
            try RuntimeFixture.waitUntil { second.runtime.statistics.activePartitions == 8 }
            #expect(second.runtime.metrics.activePartitions.value == 8, "vigil_active_partitions follows the statistic")
            second.stop()
            #expect(first.failure == nil && second.failure == nil, "\(String(describing: first.failure)) \(String(describing: second.failure))")
            #expect(first.runtime.statistics.scored > 0 && second.runtime.statistics.scored > 0)
            // Both ways to the terminal stage were taken: handed over inside an instance that
            // owned both partitions, and through the repartition topic to the other instance
            // (and behind the barriers each assignment sends).
            let local = first.runtime.statistics.deliveredLocally + second.runtime.statistics.deliveredLocally
            let forwarded = first.runtime.statistics.forwarded + second.runtime.statistics.forwarded
            #expect(local > 0 && forwarded > 0, "\(local) delivered locally, \(forwarded) through the topic")
            print("rebalance test: \(local) delivered locally, \(forwarded) through the repartition topic")

            #expect(scores.count == events.count, "\(scores.count - Set(scores.map(\.id)).count) duplicates")
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            let expected = try RuntimeFixture.replayFeatures(relaxed, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events with other features than a single run: \(RuntimeFixture.describeMismatches(scores, expected: expected))")
        }
    }

    /// Every kind of bad event goes to the dead-letter topic with its reason and where it came
    /// from, in the same transactions as the scores; the good events around them are scored.
    @Test func everyKindOfBadEventIsDeadLetteredWithItsReason() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("dlq")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // Late events are scored by default (the next test); here they are dead-lettered.
            topology.processing.lateEvents = .deadLetter
            // Limits low enough for test records to cross them (the defaults are 1 MiB and 1000).
            topology.source.limits.maxRecordBytes = 1024
            topology.source.limits.maxFields = 50
            // TX_FRAUD as a categorical field: a label is 0 or 1.
            let fraud = try #require(topology.source.fields.firstIndex { $0.name == "TX_FRAUD" })
            topology.source.fields[fraud].allowedValues = ["0", "1"]
            let source = topology.source.topics[0]
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 1)])
            try admin.createTopics([NewTopic(name: "\(name).repartition.terminal", partitions: 1)])
            let good = try RuntimeFixture.transactions(20)
            let line = { (text: String) -> [UInt8]? in Array(text.utf8) }
            let bad: [(String, [UInt8]?, String)] = [
                ("two lines", line("1000001,2018-04-01 00:00:31,596,3156,57.16,0\n1000002,2018-04-01 00:02:10,4961,3412,81.51,0"), "exactly one line"),
                ("too few fields", line("1000003,2018-04-01 00:07:56,2"), "fields"),
                ("amount not a number", line("1000004,2018-04-01 00:09:29,4128,8737,abc,0"), "TX_AMOUNT"),
                ("bad timestamp", line("1000005,yesterday,927,9906,50.00,0"), "TX_DATETIME"),
                ("empty", nil, "no value"),
                // Customer 596's first transaction is at 00:00:31; this one is a day earlier.
                ("too late", line("1000006,2018-03-31 00:00:00,596,3156,10.00,0"), "late"),
                // A quote that would run on into the lines of the good records after it.
                ("unclosed quote", line("1000007,\"2018-04-01 00:10:00,927,9906,50.00,0"), "quoted CSV field is not closed"),
                ("missing key", line("1000008,2018-04-01 00:10:30,,9906,50.00,0"), "CUSTOMER_ID is missing"),
                ("NaN amount", line("1000009,2018-04-01 00:11:00,927,9906,NaN,0"), "TX_AMOUNT: 'NaN' is not a finite number"),
                ("infinite amount", line("1000010,2018-04-01 00:11:10,927,9906,-inf,0"), "TX_AMOUNT: '-inf' is not a finite number"),
                // Accepted, either would move the partition's stream time by centuries and
                // expire every key's state: the good events after them would lose their history.
                ("far future", line("1000011,2999-01-01 00:00:00,927,9906,5.00,0"), "ahead of the wall clock (source.limits.max_ahead)"),
                ("far past", line("1000012,1970-01-01 00:00:05,927,9906,5.00,0"), "before 2000-01-01T00:00:00Z (source.limits.not_before)"),
                ("invalid UTF-8", Array("1000013,2018-04-01 00:12:00".utf8) + [0xC3, 0x28] + Array(",927,9906,5.00,0".utf8), "TX_DATETIME: not valid UTF-8"),
                ("oversized", line("1000014,2018-04-01 00:13:00,927,9906,5.00,0," + String(repeating: "x", count: 2000)), "2044 bytes, more than the limit of 1024"),
                ("too many fields", line("1000015,2018-04-01 00:14:00,927,9906,5.00,0" + String(repeating: ",0", count: 60)), "66 fields, more than the limit of 50"),
                ("unknown category", line("1000016,2018-04-01 00:15:00,927,9906,5.00,7"), "TX_FRAUD: '7' is not one of its declared values (0, 1)"),
            ]
            let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
            func send(_ events: ArraySlice<(id: String, customer: String, line: String)>) throws {
                for event in events { try producer.send(ProducerRecord(topic: source, key: Array(event.customer.utf8), value: Array(event.line.utf8))) }
            }
            try send(good[..<10])
            for (label, value, _) in bad {
                try producer.send(ProducerRecord(topic: source, key: Array(label.utf8), value: value))
            }
            try send(good[10...])
            // A record on the repartition topic that Vigil did not write.
            try producer.send(ProducerRecord(topic: "\(name).repartition.terminal", key: Array("garbage".utf8), value: [1, 2, 3]))
            try producer.flush()

            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let letters = try Self.read(topology.outputs.deadLetterTopic, count: bad.count + 1)
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: good.count)
            instance.stop()

            #expect(Set(scores.map(\.id)) == Set(good.map(\.id)))
            // The good events after the poison ones have their history: the same features and
            // scores as a replay of the good events alone.
            let expected = try RuntimeFixture.replayFeatures(topology, Array(good))
            #expect(RuntimeFixture.mismatchedIDs(scores, expected: expected).isEmpty)
            #expect(letters.count == bad.count + 1)
            for (label, value, reason) in bad {
                guard let letter = letters.first(where: { $0.key == Array(label.utf8) }) else {
                    Issue.record("no dead letter for '\(label)'")
                    continue
                }
                #expect(letter.value == value, "the dead letter keeps the original value")
                let why = letter.header(RecordHeaders.errorReason)?.stringValue ?? ""
                #expect(why.contains(reason), "'\(label)': reason '\(why)' should mention '\(reason)'")
                #expect(letter.header(RecordHeaders.sourceTopic)?.stringValue == source)
                #expect(letter.header(RecordHeaders.sourcePartition)?.stringValue == "0")
                #expect(letter.header(RecordHeaders.sourceOffset).flatMap { $0.stringValue.flatMap(Int64.init) } != nil)
            }
            let garbage = letters.first { $0.key == Array("garbage".utf8) }
            #expect(garbage?.header(RecordHeaders.errorStage)?.stringValue == "repartition")
            #expect(garbage?.header(RecordHeaders.sourceTopic)?.stringValue == "\(name).repartition.terminal")
        }
    }

    /// With the default policy an event further behind its key's newest than the allowed
    /// lateness is scored — flagged late, against the key's state as it stands — and changes
    /// nothing: the key's next event gets the features it would have had without it.
    @Test func aTooLateEventIsScoredFlaggedLateAndLeavesTheStateAlone() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("late")
            let topology = try RuntimeFixture.topology(name: name, lateness: 0)
            #expect(topology.processing.lateEvents == .score)
            let source = topology.source.topics[0]
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 1)])
            let good = try RuntimeFixture.transactions(40)
            // Customer 596's first transaction is at 00:00:31; this one is a day earlier.
            let late = (id: "1000006", customer: "596", line: "1000006,2018-03-31 00:00:00,596,3156,10.00,0")
            try RuntimeFixture.produce(Array(good[..<20]) + [late] + Array(good[20...]), to: source)
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: good.count + 1)
            instance.stop()
            #expect(instance.failure == nil)
            #expect(instance.runtime.statistics.deadLettered == 0)
            #expect(instance.runtime.statistics.lateScored == 1)
            #expect(Set(scores.map(\.id)) == Set(good.map(\.id) + [late.id]))
            let flagged = scores.filter(\.late)
            #expect(flagged.map(\.id) == [late.id], "only the late event is flagged")
            // The good events have exactly the features of a replay without the late event.
            let expected = try RuntimeFixture.replayFeatures(topology, good)
            let mismatched = RuntimeFixture.mismatchedIDs(scores.filter { !$0.late }, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events changed by the late one, e.g. \(mismatched.prefix(3))")
            // Its own customer features see no earlier transaction of the customer (none is
            // buffered before its time): a count of one, its own amount.
            let own = Dictionary(uniqueKeysWithValues: zip(layout.featureNames, flagged.first?.features ?? []))
            #expect(own["CUSTOMER_ID_NB_TX_1DAY_WINDOW"] == 1)
            #expect(own["CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"] == 10)
        }
    }

    static func read(_ topic: String, count: Int) throws -> [ConsumerRecord] {
        let consumer = try Consumer(configuration: ConsumerConfiguration(kafka: RuntimeFixture.kafka, groupID: RuntimeFixture.unique("reader")), logger: RuntimeFixture.logger)
        defer { try? consumer.close() }
        try consumer.assign([TopicPartition(topic, 0): KafkaOffset.beginning])
        var records: [ConsumerRecord] = []
        let clock = ContinuousClock()
        let end = clock.now + .seconds(60)
        while records.count < count, clock.now < end { records += try consumer.poll(timeout: .milliseconds(200)) }
        return records
    }
}
