import Foundation
import VigilCodec
public import Logging
public import VigilKafka

/// What `vigil tail` does: reads a topic's records as they arrive and turns each into one line
/// of text or JSON.
///
/// It reads without a consumer group (partitions are assigned, nothing is committed; the
/// consumer's `group.id` is a throwaway name librdkafka needs but no group is ever joined) and
/// with `read_committed`, so records of open transactions are not shown.
///
/// Starting "from the end": the natural way is a ListOffsets "latest" request (librdkafka's
/// `OFFSET_END`), but Kafka-compatible brokers do not all answer it right (the test broker,
/// Tansu, does not). So the tail starts each partition at its beginning, waits for the first
/// fetch answer, which carries the partition's end (the high watermark, or under
/// `read_committed` the last stable offset, as librdkafka records it: ``Consumer/cachedWatermarks(_:)``;
/// or the partition-EOF event of an empty partition), then seeks there and drops any record
/// below it that was already fetched. On real Kafka this gives the same position as "latest".
public struct TopicTail: Sendable {
    /// How each record is printed.
    public enum Format: String, Sendable, CaseIterable {
        /// `topic/partition@offset key value`, then ` | name=value …` when the record has headers.
        /// Null keys and values print as `(null)`; bytes that are not UTF-8 as `0x` and hex;
        /// control characters escaped (`\n`, `\t`, `\u{1b}`) so a record stays on one line.
        case text
        /// One JSON object per record: `topic`, `partition`, `offset`, `timestamp` (ms, or
        /// null), `key`, `value` (strings or null) and `headers` (`[{"name":…,"value":…}]`).
        /// Bytes that are not UTF-8 come as `key_base64` / `value_base64` instead.
        case json
        /// Vigil's score and alert records as a person reads them (``AlertLine``): event time,
        /// key, score, model version and reasons; other records as ``text``.
        case alert
    }

    public var topic: String
    public var kafka: KafkaConfiguration
    /// Start at the oldest record instead of the end. Default false.
    public var fromBeginning = false
    /// Only this partition. Default: every partition.
    public var partition: Int32?
    public var format: Format = .text
    /// Stop after this many records. Default: never (until stopped).
    public var maxRecords: Int? {
        didSet { precondition(maxRecords.map { $0 > 0 } ?? true, "max records must be positive") }
    }
    /// Colour ``Format/alert`` lines by score (ANSI). Default false.
    public var colour = false
    /// Only Vigil score and alert records with a score at or above this. Default: every record.
    public var minimumScore: Double?
    /// Only records with this key (for alerts, the event id). Default: every record.
    public var key: String?
    /// Only records whose event time (a Vigil record's `event_time`, else the record's
    /// timestamp) is at or after this, in ms. Records are read from the beginning and filtered
    /// (offsets-for-times would skip them on Kafka, but some compatible brokers answer it
    /// wrongly). Default: every record.
    public var fromTime: Int64?
    /// How long to wait for the brokers to tell where each partition ends. Default 30 s.
    public var positionTimeout: Duration = .seconds(30)

    public init(topic: String, kafka: KafkaConfiguration) {
        self.topic = topic
        self.kafka = kafka
    }

    /// Reads until ``maxRecords`` records have been printed or `shouldStop` says so (checked
    /// at least every 200 ms), handing each line (without newline) to `output`. Calls
    /// `onPositioned` once every partition is at its starting point: records produced after
    /// that are printed. Returns how many records were printed. Blocks: run it on a thread
    /// of its own (the `vigil tail` command runs it on the main thread).
    @discardableResult
    public func run(
        logger: Logger = Logger(label: "vigil.tail"),
        shouldStop: () -> Bool = { false },
        onPositioned: () -> Void = {},
        output: (String) -> Void
    ) throws -> Int {
        let partitions = try partitionsToRead(logger: logger)
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "vigil-tail-\(UUID().uuidString.lowercased())")
        configuration.isolationLevel = .readCommitted
        configuration.reportsPartitionEOF = true
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) }))

        var starts: [TopicPartition: Int64] = [:]
        if !fromBeginning, fromTime == nil {
            guard let ends = try findEnds(of: partitions, consumer: consumer, logger: logger, shouldStop: shouldStop) else { return 0 }
            starts = ends
            try consumer.seek(ends)
        }
        onPositioned()

        var printed = 0
        while !shouldStop() {
            let done = try consumer.withBatch(maxRecords: 500, timeout: .milliseconds(200)) { batch in
                for error in batch.errors { logger.warning("\(error)") }
                for message in batch.messages where message.offset >= starts[message.topicPartition, default: 0] {
                    guard accepts(message.record) else { continue }
                    output(line(for: message.record))
                    printed += 1
                    if let maxRecords, printed >= maxRecords { return true }
                }
                return false
            }
            if done { break }
        }
        return printed
    }

    /// The partitions to read, checked against the cluster.
    private func partitionsToRead(logger: Logger) throws -> [TopicPartition] {
        let admin = try Admin(configuration: kafka, logger: logger)
        guard let description = try admin.listTopics()[topic] else {
            throw TopicTailError("topic \(topic) does not exist at \(kafka.bootstrapServers)")
        }
        if let partition {
            guard partition >= 0, Int(partition) < description.partitionCount else {
                throw TopicTailError("topic \(topic) has partitions 0 to \(description.partitionCount - 1); there is no partition \(partition)")
            }
            return [TopicPartition(topic, partition)]
        }
        return (0..<Int32(description.partitionCount)).map { TopicPartition(topic, $0) }
    }

    /// Each partition's end as the brokers' fetch answers give it (see the type's comment);
    /// nil when stopped before.
    private func findEnds(
        of partitions: [TopicPartition], consumer: Consumer, logger: Logger, shouldStop: () -> Bool
    ) throws -> [TopicPartition: Int64]? {
        var ends: [TopicPartition: Int64] = [:]
        let deadline = ContinuousClock.now + positionTimeout
        while ends.count < partitions.count {
            if shouldStop() { return nil }
            guard ContinuousClock.now < deadline else {
                let missing = partitions.filter { ends[$0] == nil }.map(\.description).joined(separator: ", ")
                throw TopicTailError("could not learn where \(missing) end(s) within \(positionTimeout) from \(kafka.bootstrapServers)")
            }
            try consumer.withBatch(maxRecords: 1000, timeout: .milliseconds(100)) { batch in
                for error in batch.errors { logger.warning("\(error)") }
                for (partition, end) in batch.partitionEnds where ends[partition] == nil { ends[partition] = end }
            }
            for partition in partitions where ends[partition] == nil {
                if let marks = consumer.cachedWatermarks(partition) { ends[partition] = marks.high }
            }
        }
        return ends
    }

    /// Whether the record passes the filters (``minimumScore``, ``key``, ``fromTime``).
    public func accepts(_ record: ConsumerRecord) -> Bool {
        if let key, record.key != Array(key.utf8) { return false }
        guard minimumScore != nil || fromTime != nil else { return true }
        let alert = AlertLine(record)
        if let minimumScore, !(alert.map { $0.score >= minimumScore } ?? false) { return false }
        if let fromTime, !((alert?.eventTime ?? record.timestamp).map { $0 >= fromTime } ?? false) { return false }
        return true
    }

    /// The record as one line in ``format``.
    public func line(for record: ConsumerRecord) -> String {
        switch format {
        case .text: Self.textLine(record)
        case .json: Self.jsonLine(record)
        case .alert: AlertLine(record)?.text(colour: colour) ?? Self.textLine(record)
        }
    }

    static func textLine(_ record: ConsumerRecord) -> String {
        var line = "\(record.topic)/\(record.partition)@\(record.offset) \(text(record.key)) \(text(record.value))"
        if !record.headers.isEmpty {
            line += " |"
            for header in record.headers { line += " \(escapeText(header.name))=\(text(header.value))" }
        }
        return line
    }

    static func jsonLine(_ record: ConsumerRecord) -> String {
        var line = "{\"topic\":"
        JSONText.appendString(record.topic, to: &line)
        line += ",\"partition\":\(record.partition),\"offset\":\(record.offset),\"timestamp\":"
        line += record.timestamp.map(String.init) ?? "null"
        line += ","
        appendBytes(record.key, name: "key", to: &line)
        line += ","
        appendBytes(record.value, name: "value", to: &line)
        line += ",\"headers\":["
        for (index, header) in record.headers.enumerated() {
            line += index == 0 ? "{\"name\":" : ",{\"name\":"
            JSONText.appendString(header.name, to: &line)
            line += ","
            appendBytes(header.value, name: "value", to: &line)
            line += "}"
        }
        line += "]}"
        return line
    }

    /// `"name":"text"`, `"name":null`, or `"name_base64":"…"` for bytes that are not UTF-8.
    private static func appendBytes(_ bytes: [UInt8]?, name: String, to line: inout String) {
        guard let bytes else {
            line += "\"\(name)\":null"
            return
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            line += "\"\(name)\":"
            JSONText.appendString(text, to: &line)
        } else {
            line += "\"\(name)_base64\":\"\(Data(bytes).base64EncodedString())\""
        }
    }

    private static func text(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "(null)" }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
        return escapeText(text)
    }

    private static func escapeText(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Why a tail could not run.
public struct TopicTailError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
