import Foundation
import Testing
import VigilCodec
import VigilKafka
import VigilReplay
@testable import VigilRuntime
import VigilTestSupport

/// `vigil replay --topic`: a topic replays as a file of the same records does, through the
/// runtime's decoding, and a record that does not decode is named by partition and offset.
@Suite(.serialized) struct TopicReplayTests {
    @Test func aTopicReplaysAsAFileOfItsRecords() async throws {
        try await BlockingCall.run { try Self.replayATopicAndItsFile() }
    }

    static func replayATopicAndItsFile() throws {
        let name = RuntimeFixture.unique("topic-replay")
        let topology = try RuntimeFixture.topology(name: name)
        let topic = topology.source.topics[0]
        let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
        try admin.createTopics([NewTopic(name: topic, partitions: 1)])
        var events = try RuntimeFixture.transactions(3_000)
        // Offset 1,000 (line 1,002 of the file, after its header): a customer id that is not a number.
        events.insert(("bad", "7", "999999999,2018-04-01 00:00:00,not-a-number,1,10.0,0"), at: 1_000)
        try RuntimeFixture.produce(events, to: topic)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-topic-replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/transactions.csv"
        let header = topology.source.fields.map(\.name).joined(separator: ",")
        try ([header] + events.map(\.line)).joined(separator: "\n").appending("\n").write(toFile: file, atomically: true, encoding: .utf8)

        let kernel = try RuntimeFixture.kernel(topology)
        let fromFile = try EventReplay(topology: topology, kernel: kernel).run(inputPath: file, outputPath: folder + "/file.csv")
        let source = TopicSource(topic: topic, kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
        let fromTopic = try EventReplay(topology: topology, kernel: kernel).run(source: source, outputPath: folder + "/topic.csv")

        let fileRows = try String(contentsOfFile: folder + "/file.csv", encoding: .utf8).split(separator: "\n")
        let topicRows = try String(contentsOfFile: folder + "/topic.csv", encoding: .utf8).split(separator: "\n")
        #expect(topicRows.count == 3_001)  // the header and one row per good record
        #expect(topicRows == fileRows)
        #expect(fromTopic.eventsRead == 3_001 && fromTopic.rowsWritten == 3_000 && fromTopic.scored)
        #expect(fromTopic.malformedCount == 1 && fromTopic.rejectedCount == 0)
        #expect(fromTopic.malformed.first?.place == .record(partition: 0, offset: 1_000))
        #expect(fromTopic.malformed.first?.place.describe(in: topic) == "\(topic)/0@1000")
        #expect(fromFile.malformed.first?.place == .line(1_002))
        #expect(fromTopic.malformed.first?.reason == fromFile.malformed.first?.reason)
        // The features in the rows are the handbook's own: the runtime tests' replay of the lines.
        let expected = try RuntimeFixture.replayFeatures(topology, events.filter { $0.id != "bad" })
        let first = topicRows[1].split(separator: ",", omittingEmptySubsequences: false)
        let values = try #require(expected[String(first[0])])
        #expect(first.dropFirst().map { Double($0) ?? .nan }.elementsEqual(values) { $0 == $1 || ($0.isNaN && $1.isNaN) })
    }

    /// `vigil replay --topic` itself, on a JSON topic (the sensor topology, SKAB readings) with
    /// --until: the same rows as `vigil replay --input` on a file of the same records, and the
    /// record that is not JSON named by partition and offset.
    @Test func theCommandReplaysAJSONTopicAsItsFile() async throws {
        try await BlockingCall.run { try Self.replayTheSensorTopicWithTheCommand() }
    }

    static func replayTheSensorTopicWithTheCommand() throws {
        let skab = RepositoryFiles.sharedData + "/skab/valve1/0.csv"
        guard FileManager.default.fileExists(atPath: skab) else { throw FixtureError("the SKAB data is missing at \(skab)") }
        let topic = RuntimeFixture.unique("sensor-replay")
        let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
        try admin.createTopics([NewTopic(name: topic, partitions: 1)])
        let reader = CSVReader(source: try EncodedFile.openForReading(skab), delimiter: UInt8(ascii: ";"))
        #expect(try reader.next())
        let header = reader.strings()
        let sensors = ["Current", "Pressure", "Temperature"]
        var lines: [(key: String, value: String)] = []
        var times: [String] = []
        while times.count < 200, try reader.next() {
            let time = reader.string(header.firstIndex(of: "datetime")!)
            times.append(time)
            for sensor in sensors {
                let value = reader.string(header.firstIndex(of: sensor)!)
                lines.append((sensor, #"{"SENSOR": "\#(sensor)", "datetime": "\#(time)", "VALUE": \#(value), "anomaly": 0}"#))
            }
            if times.count == 100 { lines.append(("bad", "this record is not JSON")) }  // offset 300
        }
        let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
        for line in lines { try producer.send(ProducerRecord(topic: topic, key: Array(line.key.utf8), value: Array(line.value.utf8))) }
        try producer.flush()

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sensor-replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try lines.map(\.value).joined(separator: "\n").appending("\n").write(toFile: folder + "/readings.jsonl", atomically: true, encoding: .utf8)
        func replay(_ input: [String], output: String) throws -> (status: Int32, errors: String) {
            let run = try RuntimeFixture.runVigil(["replay", "--topology", RepositoryFiles.sensorTopology, "--until", times[150], "--output", output] + input)
            return (run.status, run.errors)
        }
        let fromFile = try replay(["--input", folder + "/readings.jsonl"], output: folder + "/file.csv")
        let fromTopic = try replay(["--topic", topic, "--bootstrap", RuntimeFixture.bootstrap], output: folder + "/topic.csv")
        #expect(fromFile.status == 0, "\(fromFile.errors)")
        #expect(fromTopic.status == 0, "\(fromTopic.errors)")
        let fileRows = try String(contentsOfFile: folder + "/file.csv", encoding: .utf8).split(separator: "\n")
        let topicRows = try String(contentsOfFile: folder + "/topic.csv", encoding: .utf8).split(separator: "\n")
        #expect(topicRows.count == 1 + 150 * sensors.count)  // the header, and the readings before --until
        #expect(topicRows == fileRows)
        #expect(fromTopic.errors.contains("\(topic)/0@300: malformed:"), "\(fromTopic.errors)")
        #expect(fromFile.errors.contains("readings.jsonl:301: malformed:"), "\(fromFile.errors)")
    }

    @Test func aMissingTopicIsAClearError() async throws {
        let topology = try RuntimeFixture.topology(name: RuntimeFixture.unique("topic-replay-missing"))
        let topic = "no-such-topic-\(UUID().uuidString.prefix(8))"
        let message = try await BlockingCall.run { () -> String in
            let source = TopicSource(topic: topic, kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            do {
                _ = try EventReplay(topology: topology).run(source: source, outputPath: "/dev/null")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message.contains("topic '\(topic)' does not exist"))
    }
}

/// Which one-line CSV values the runtime can hand to its shared CSV reader.
@Suite struct SourceRecordDecoderTests {
    @Test(arguments: [
        ("1,2,3", true),
        ("1,\"2\",3", true),
        ("1,\"a,b\",3", true),
        ("1,\"a\"\"b\",3", true),  // a doubled quote inside a quoted field
        ("1,a\"b,3", true),  // a quote inside an unquoted field is a character
        ("\"\"", true),
        ("1,\"2,3", false),
        ("1,\"a\"\",3", false),  // the doubled quote is an escape; the field stays open
        ("\"", false),
    ])
    func quotedFieldsMustCloseOnTheirLine(value: String, closes: Bool) {
        let bytes = Array(value.utf8)
        #expect(bytes.withUnsafeBytes { SourceRecordDecoder.quotedFieldsClose($0, delimiter: UInt8(ascii: ",")) } == closes, "\(value)")
    }
}
