import Logging
import VigilCodec
import VigilDrift
import VigilKafka
import VigilPipeline
import VigilTopology

/// Writes what processing produces for consumers into the open transaction: a score per event,
/// alerts, dead letters, drift records and events forwarded to a repartition topic (Kafka
/// Streams' record collector). Every send goes through the ``TransactionDriver``.
///
/// A record the producer refuses as too large (`message.max.bytes`) never fails the
/// transaction: its event is dead-lettered with that reason, and a dead letter too large for
/// itself carries the start of the original value and the original size in a header.
final class RecordCollector {
    private let plan: TopicPlan
    private let topology: Topology
    private let driver: TransactionDriver
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private var scoreEncoder: ScoreRecordEncoder?
    private var recordBuffer: [UInt8] = []
    /// The score and alert records' key, written per event (``ScoreRecordEncoder/writeKey(_:_:into:)``).
    private var keyBuffer: [UInt8] = []
    private var eventWriter = ByteWriter(capacity: 512)
    private var provenanceHeaders: ProvenanceHeaders
    /// Room left for headers and framing when a dead letter's value is cut to fit.
    static let deadLetterOverhead = 16 * 1024

    private(set) var scored = 0
    private(set) var alerts = 0
    private(set) var deadLettered = 0
    private(set) var forwarded = 0
    private(set) var lateScored = 0
    /// The largest record the producer sends (its `message.max.bytes`).
    let maxRecordBytes: Int

    init(plan: TopicPlan, topology: Topology, driver: TransactionDriver, metrics: RuntimeMetrics, maxRecordBytes: Int, logger: Logger) {
        self.plan = plan
        self.topology = topology
        self.driver = driver
        self.metrics = metrics
        self.maxRecordBytes = maxRecordBytes
        self.logger = logger
        provenanceHeaders = ProvenanceHeaders(topic: plan.segments[0].inputTopic)
    }

    // MARK: Scores and alerts

    /// A score record per live event (and an alert for each of `alertIndices`, with
    /// `reasons(index)`: the topology's `outputs.alerts.explain`), with the event's provenance
    /// as headers.
    func emitScores(_ events: EventBatch, scores: [Double], alertIndices: Set<Int>, layout: RowLayout,
                    reasons: (Int) -> [ReasonCode] = { _ in [] }, message: (Int) -> ConsumedMessage) throws {
        let encoder = scoreEncoder ?? ScoreRecordEncoder(topology: topology, layout: layout)
        scoreEncoder = encoder
        var emitted = 0
        for index in 0..<events.count where events.isLive(index) {
            encoder.writeKey(events, index, into: &keyBuffer)
            let provenance = events.provenance[index]
            let headers = provenanceHeaders.headers(partition: provenance.partition, offset: provenance.offset)
            let score = scores.isEmpty ? nil : scores[index]
            let late = events.isLate(index)
            var tooLarge: String?
            try keyBuffer.withUnsafeBufferPointer { id in
                let key = UnsafeRawBufferPointer(id)
                encoder.encode(events, index, id: id, score: score, alert: false, late: late, into: &recordBuffer)
                do {
                    try recordBuffer.withUnsafeBytes { value in
                        try driver.send(topic: plan.scoresTopic, key: key, value: value, headers: headers, timestamp: events.times[index])
                    }
                } catch let error as KafkaError where error.code == .messageSizeTooLarge {
                    tooLarge = "its score record (\(key.count + recordBuffer.count) bytes) is larger than the producer's message.max.bytes (\(maxRecordBytes))"
                    return
                }
                guard alertIndices.contains(index) else { return }
                encoder.encode(events, index, id: id, score: score, alert: true, late: late, reasons: reasons(index), into: &recordBuffer)
                do {
                    try recordBuffer.withUnsafeBytes { value in
                        try driver.send(topic: plan.alertsTopic, key: key, value: value, headers: headers, timestamp: events.times[index])
                    }
                    alerts += 1
                } catch let error as KafkaError where error.code == .messageSizeTooLarge {
                    tooLarge = "its alert record (\(key.count + recordBuffer.count) bytes) is larger than the producer's message.max.bytes (\(maxRecordBytes))"
                }
            }
            if let tooLarge {
                try deadLetter(message(index), stage: "output", reason: tooLarge, provenance: provenance)
                continue
            }
            emitted += 1
            scored += 1
            if late {
                lateScored += 1
                metrics.lateEvents.labels("scored").increment()
            }
        }
        metrics.eventsOut.increment(by: emitted)
    }

    // MARK: Forwarding

    /// Sends event `index` to repartition partition `target` of `topic`; false when its record
    /// was too large (the event is dead-lettered instead).
    func forward(_ events: EventBatch, _ index: Int, to topic: String, partition target: Int32, key: UnsafeRawBufferPointer,
                 message: ConsumedMessage) throws -> Bool {
        eventWriter.removeAll()
        events.encodeEvent(at: index, into: &eventWriter)
        do {
            try eventWriter.bytes.withUnsafeBytes { value in
                try driver.send(topic: topic, partition: target, key: key, value: value, timestamp: events.times[index])
            }
        } catch let error as KafkaError where error.code == .messageSizeTooLarge {
            try deadLetter(message, stage: "repartition",
                           reason: "its repartition record (\(key.count + eventWriter.bytes.count) bytes) is larger than the producer's message.max.bytes (\(maxRecordBytes))",
                           provenance: events.provenance[index])
            return false
        }
        forwarded += 1
        return true
    }

    /// A barrier record to every partition of `topic` (see ``LocalDeliveryCoordinator``).
    func sendBarrier(to topic: String, partition target: Int32, marks: [Int32: Int64]) throws {
        try driver.send(ProducerRecord(topic: topic, partition: target, key: nil, value: nil,
                                       headers: [KafkaHeader(RecordHeaders.barrier, RecordHeaders.encodeOffsets(marks))]))
    }

    // MARK: Drift

    func emitDrift(_ emissions: [DriftEmission]) throws {
        for emission in emissions {
            for line in try emission.jsonLines() {
                try driver.send(ProducerRecord(topic: plan.driftTopic, key: Array(topology.name.utf8), value: Array(line), timestamp: emission.record.windowEndMs))
            }
        }
    }

    // MARK: Dead letters

    /// The original record with why it was refused, where it came from (the source event's
    /// provenance when the record is a repartitioned copy) and at which step.
    func deadLetter(_ message: ConsumedMessage, stage: String, reason: String, provenance: Provenance? = nil) throws {
        var headers = [KafkaHeader(RecordHeaders.errorReason, reason), KafkaHeader(RecordHeaders.errorStage, stage)]
        if let provenance, message.topic != plan.segments[0].inputTopic {
            headers += RecordHeaders.provenance(topic: plan.segments[0].inputTopic, partition: provenance.partition, offset: provenance.offset)
        } else {
            headers += RecordHeaders.provenance(topic: message.topic, partition: message.partition, offset: message.offset)
        }
        var value = message.value
        let key = message.key
        // The dead-letter topic may take smaller records than the topic the original came from.
        let room = maxRecordBytes - Self.deadLetterOverhead - (key?.count ?? 0)
        if let original = value, original.count > room {
            headers.append(KafkaHeader(RecordHeaders.truncatedFrom, String(original.count)))
            value = Array(original.prefix(max(0, room)))
        }
        try driver.send(ProducerRecord(topic: plan.deadLetterTopic, key: key, value: value, headers: headers, timestamp: message.timestamp))
        deadLettered += 1
        metrics.deadLettered.labels(Self.reasonLabel(stage: stage)).increment()
        if stage != "decode" && stage != "repartition" && stage != "output" { metrics.lateEvents.labels("dead_lettered").increment() }
        logger.debug("dead-lettered \(message.topic)/\(message.partition)@\(message.offset): \(stage): \(reason)")
    }

    /// The metric label of a dead letter: a short fixed code, never the message.
    static func reasonLabel(stage: String) -> String {
        switch stage {
        case "decode", "repartition", "output": return stage
        default: return "late"
        }
    }
}
