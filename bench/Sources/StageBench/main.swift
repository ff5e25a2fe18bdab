// StageBench: what each stage of the pipeline costs per event on the handbook's 1.75M
// transactions through topologies/card-fraud.yaml, all in one process and one run:
// decoding (CSV from the LZ4 file, CSV from memory, JSON lines from memory), the features
// (derived and both stages), scoring (the topology's XGBoost model), and encoding changelog
// records (each key a transaction touched: its LZ4 state, as the runtime writes them) for
// transactions of a few sizes. Decoding is measured beside the feature engine here because
// the issue's target is that it be at least as fast (events/s). Prints a Markdown table.
//
//   cd bench && swift build -c release --product StageBench && taskset -c 0 .build/release/StageBench
import ArgumentParser
import Foundation
import VigilCodec
import VigilFeatures
import VigilModels
import VigilPipeline
import VigilTopology
import VigilKafka
import VigilRuntime
import Logging

@main
struct StageBench: ParsableCommand {
    @Option(help: "The card-fraud topology.")
    var topology = "../topologies/card-fraud.yaml"

    @Option(help: "The transactions (CSV, optionally .lz4).")
    var input = "../../shared/data/fraud-handbook/transactions.csv.lz4"

    @Option(help: "Timed repetitions of each stage (the best is reported).")
    var repetitions = 3

    @Option(help: "Events per micro-batch (vigil replay's default).")
    var batchSize = 4096

    @Option(parsing: .upToNextOption, help: "Events per transaction for the changelog rows.")
    var transactionEvents: [Int] = [500, 5000, 50000]

    @Flag(help: "Print the rows as JSON lines too (for scripts).")
    var json = false

    @Option(help: "Only the stages whose name contains this (for profiling).")
    var only: String?

    struct Row {
        var stage: String
        var events: Int
        var seconds: Double
        var cpuSeconds: Double
        var note = ""
    }

    func run() throws {
        let loaded = try TopologyLoader.load(path: topology)
        guard let modelPath = loaded.resolvedModelPath else { throw ValidationError("the topology has no model") }
        let kernel = try ModelLoader.load(path: modelPath)
        var rows: [Row] = []
        let loadBefore = Self.loadAverage()

        // The input in memory: the CSV text, and the same events as JSON lines.
        let csv = try Self.readAll(EncodedFile.openForReading(input))
        let jsonLines = try Self.jsonLines(fromCSV: csv)

        // Decoding, into one batch reused as vigil replay does (each full batch is emptied).
        let probe = try Pipeline(topology: loaded, recordsUndo: false)
        var events = 0
        rows.append(try measure("decode CSV (LZ4 file → batches)") {
            events = try Self.decodeCSV(source: EncodedFile.openForReading(input), pipeline: probe, batchSize: batchSize, keep: nil)
            return events
        })
        rows.append(try measure("decode CSV (memory → batches)") {
            try Self.decodeCSV(source: MemoryByteSource(csv), pipeline: probe, batchSize: batchSize, keep: nil)
        })
        rows.append(try measure("decode JSON lines (memory → batches)") {
            try Self.decodeJSON(source: MemoryByteSource(jsonLines), pipeline: probe, batchSize: batchSize)
        })
        // As the runtime decodes record values: each object in place, no line reader.
        let records = Self.lineRanges(jsonLines)
        rows.append(try measure("decode JSON records (in place → batches)") {
            try Self.decodeJSONRecords(jsonLines, ranges: records, pipeline: probe, batchSize: batchSize)
        })

        // The batches every later stage runs on (not timed).
        var batches: [EventBatch] = []
        _ = try Self.decodeCSV(source: MemoryByteSource(csv), pipeline: probe, batchSize: batchSize, keep: &batches)

        // Features, then scores, on the same batches.
        var scoredBatches: [EventBatch] = []
        rows.append(try measure("features (derived + 2 stages, 14 features)") {
            let pipeline = try Pipeline(topology: loaded, recordsUndo: false)
            var work = batches
            for index in work.indices { work[index].clearFeatures() }
            let (seconds, cpu) = Self.clock {
                for index in work.indices {
                    pipeline.computeDerived(&work[index])
                    for stage in pipeline.engines.indices { pipeline.runStage(stage, on: &work[index]) }
                }
            }
            scoredBatches = work
            return (events, seconds, cpu, "")
        })
        // The features in transactions of 500 events, each a batch that keeps the touched keys
        // (and, with `changelog: events`, logs its operations), committed at its end; the
        // transactions are cut before timing. Without undo records is how the runtime computes
        // them since it restores an aborted transaction's partitions (ea608a0); with them, what
        // the copy of each touched key's prior state cost.
        for recordsUndo in [true, false] {
            let name = recordsUndo ? "features in transactions of 500 events (undo records, touched keys, operation log)"
                : "features in transactions of 500 events without undo records (touched keys, operation log)"
            rows.append(try measure(name) {
                let pipeline = try Pipeline(topology: loaded, recordsUndo: recordsUndo)
                var transactions: [EventBatch] = []
                for batch in batches {
                    var offset = 0
                    while offset < batch.count {
                        let take = min(500, batch.count - offset)
                        var part = pipeline.makeBatch(capacity: take)
                        for event in offset..<(offset + take) { part.append(event, of: batch) }
                        part.clearFeatures()
                        transactions.append(part)
                        offset += take
                    }
                }
                let (seconds, cpu) = Self.clock {
                    for index in transactions.indices {
                        pipeline.beginBatch()
                        _ = pipeline.process(&transactions[index])
                        pipeline.commitBatch()
                    }
                }
                return (events, seconds, cpu, "")
            })
        }
        var scores: [[Double]] = []
        rows.append(try measure("score (XGBoost \(kernel.inputNames.count) inputs, batches of \(batchSize))") {
            let pipeline = try Pipeline(topology: loaded, kernel: kernel, recordsUndo: false)
            var checksum = 0.0
            var kept: [[Double]] = []
            let (seconds, cpu) = Self.clock {
                for batch in scoredBatches {
                    let batchScores = pipeline.score(batch)
                    checksum += batchScores.last ?? 0
                    kept.append(batchScores)
                }
            }
            if checksum.isNaN { print("checksum NaN") }
            scores = kept
            return (events, seconds, cpu, "")
        })
        // The topology's drift monitor over the scored batches: every feature and the score
        // into the window's running summaries (means, bins, the sketch over a thousand knots).
        if let drift = loaded.drift {
            rows.append(try measure("drift (\(drift.features.count) features and the score)") {
                guard var monitor = try PipelineDriftMonitor.load(topology: loaded) else { throw ValidationError("no drift monitor") }
                var emitted = 0
                let (seconds, cpu) = Self.clock {
                    for (batch, batchScores) in zip(scoredBatches, scores) { emitted += monitor.observe(batch, scores: batchScores).count }
                }
                return (events, seconds, cpu, "\(emitted) windows closed")
            })
        }

        // Repartitioned events decoded as the runtime's segment behind the topic does
        // (SegmentProcessor.decodeStaged): each record's value, as librdkafka holds it, into a
        // batch of the record's partition. The records are every scored event encoded for the
        // repartition topic (`encodeEvent`), laid end to end in memory beforehand.
        if !scoredBatches.isEmpty || only.map({ "decode repartitioned events".contains($0) }) == true {
            let source = scoredBatches.isEmpty ? batches : scoredBatches
            var encoded: [UInt8] = []
            var ends: [Int] = []
            var writer = ByteWriter(capacity: 512)
            for batch in source {
                for index in 0..<batch.count {
                    writer.removeAll()
                    batch.encodeEvent(at: index, into: &writer)
                    encoded.append(contentsOf: writer.bytes)
                    ends.append(encoded.count)
                }
            }
            rows.append(try measure("decode repartitioned events (records in memory → batches of \(batchSize))") {
                var decoded = 0
                let (seconds, cpu) = try Self.clock {
                    try encoded.withUnsafeBytes { bytes in
                        var batch = probe.makeBatch(capacity: batchSize)
                        var value: [UInt8] = []
                        var start = 0
                        for end in ends {
                            // Copied into one reused buffer, as decodeStaged does.
                            value.removeAll(keepingCapacity: true)
                            value.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                            try batch.appendEncoded(value)
                            start = end
                            if batch.count == batchSize {
                                decoded += batch.count
                                batch = probe.makeBatch(capacity: batchSize)
                            }
                        }
                        decoded += batch.count
                    }
                }
                return (decoded, seconds, cpu, "\(encoded.count / max(1, ends.count)) bytes a record")
            })
        }

        // The record collector's own work per event, without a producer (RecordCollector's
        // emitScores and forward, and the repartition key SegmentProcessor makes): each live
        // event's score record (key and JSON) with the three provenance headers, an alert (the
        // features, the event's numbers, the rule; no reasons) where the score passes
        // card-fraud's rule (>= 0.5), and the event encoded for the repartition topic. What
        // librdkafka costs on top is the "outputs queued" rows below.
        let outputLabels = [false, true].map { withFeatures in
            "outputs encoded (collector, no producer: \(withFeatures ? "score records with the features (include_features)" : "score records as card-fraud ships them"), alerts, headers, forwarded events)"
        }
        if scores.isEmpty, outputLabels.contains(where: { only.map($0.contains) ?? true }) {
            // --only skipped the features and scores these rows run on: made here, untimed.
            let pipeline = try Pipeline(topology: loaded, kernel: kernel, recordsUndo: false)
            scoredBatches = batches
            for index in scoredBatches.indices {
                scoredBatches[index].clearFeatures()
                pipeline.computeDerived(&scoredBatches[index])
                for stage in pipeline.engines.indices { pipeline.runStage(stage, on: &scoredBatches[index]) }
                scores.append(pipeline.score(scoredBatches[index]))
            }
        }
        for withFeatures in [false, true] {
            var outputTopology = loaded
            outputTopology.outputs.includeFeatures = withFeatures
            rows.append(try measure(outputLabels[withFeatures ? 1 : 0]) {
                let encoder = ScoreRecordEncoder(topology: outputTopology, layout: probe.layout)
                var provenanceHeaders = ProvenanceHeaders(topic: "transactions")
                var record: [UInt8] = []
                var key: [UInt8] = []
                var forwarded = ByteWriter(capacity: 512)
                let forwardStage = probe.engines.count - 1
                var bytes = 0
                var alerts = 0
                let (seconds, cpu) = Self.clock {
                    for (batch, batchScores) in zip(scoredBatches, scores) {
                        for index in 0..<batch.count where batch.isLive(index) {
                            let provenance = batch.provenance[index]
                            let headers = provenanceHeaders.headers(partition: provenance.partition, offset: provenance.offset)
                            encoder.writeKey(batch, index, into: &key)
                            let score = batchScores[index]
                            key.withUnsafeBufferPointer { key in
                                encoder.encode(batch, index, id: key, score: score, alert: false, into: &record)
                                bytes += key.count + record.count + headers.count
                                if score >= 0.5 {
                                    encoder.encode(batch, index, id: key, score: score, alert: true, into: &record)
                                    bytes += key.count + record.count
                                    alerts += 1
                                }
                            }
                            var forwardKey = batch.key(index, stage: forwardStage).description
                            forwardKey.withUTF8 { bytes += $0.count }
                            forwarded.removeAll()
                            batch.encodeEvent(at: index, into: &forwarded)
                            bytes += forwarded.bytes.count
                        }
                    }
                }
                let count = scoredBatches.reduce(0) { $0 + $1.count }
                return (count, seconds, cpu, "\(alerts) alerts, \(bytes / max(count, 1)) bytes an event")
            })
        }

        // Changelog records: the runtime's pipeline keeps undo records; per transaction every
        // touched key's state is encoded and LZ4-compressed (Pipeline.withSnapshot).
        for size in transactionEvents {
            var records = 0
            let row = try measure("changelog encode (transactions of \(size) events)") {
                let pipeline = try Pipeline(topology: loaded, recordsUndo: true)
                var work = batches
                for index in work.indices { work[index].clearFeatures() }
                var encodeNanoseconds: UInt64 = 0
                var encodeCPU = 0.0
                var bytes = 0
                records = 0
                var inTransaction = 0
                pipeline.beginBatch()
                for index in work.indices {
                    var offset = 0
                    let batch = work[index]
                    while offset < batch.count {
                        // Transactions end inside a batch: split it at the boundary.
                        let take = min(size - inTransaction, batch.count - offset)
                        var part = pipeline.makeBatch(capacity: take)
                        for event in offset..<(offset + take) { part.append(event, of: batch) }
                        _ = pipeline.process(&part)
                        offset += take
                        inTransaction += take
                        if inTransaction == size || (index == work.count - 1 && offset == batch.count) {
                            let start = DispatchTime.now().uptimeNanoseconds
                            let cpuStart = Self.threadCPUSeconds()
                            for stage in pipeline.engines.indices {
                                for key in pipeline.touchedKeys(stage: stage) {
                                    bytes += pipeline.withSnapshot(stage: stage, key: key) { $0?.count ?? 0 }
                                    records += 1
                                }
                            }
                            encodeCPU += Self.threadCPUSeconds() - cpuStart
                            encodeNanoseconds += DispatchTime.now().uptimeNanoseconds - start
                            pipeline.commitBatch()
                            pipeline.beginBatch()
                            inTransaction = 0
                        }
                    }
                }
                pipeline.commitBatch()
                return (events, Double(encodeNanoseconds) / 1e9, encodeCPU, "\(String(format: "%.2f", Double(records) / Double(events))) records/event, \(bytes / max(records, 1)) bytes each")
            }
            rows.append(row)
        }
        // Outputs queued: what the runtime's record collector hands librdkafka per score record
        // (a JSON value of about 330 bytes, the event id as key, three provenance headers),
        // queued locally by a producer whose broker is not there (nothing is sent), so the row
        // is the client's own cost an output: its allocations, copies and queueing.
        let outputs = 500_000
        var quiet = Logger(label: "stagebench")
        quiet.logLevel = .critical  // the missing broker's connection errors
        for withHeaders in [true, false] {
            rows.append(try measure("outputs queued (librdkafka, \(withHeaders ? "3 provenance headers" : "no headers"), \(outputs) records)") {
                var configuration = ProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
                configuration.maxQueuedMessages = outputs + 1
                configuration.kafka.properties["queue.buffering.max.kbytes"] = "2097151"
                let producer = try Producer(configuration: configuration, logger: quiet)
                let value = Array(String(repeating: "{\"features\":[0.125,3,17.5]}", count: 12).utf8)
                let topicHeader = KafkaHeader("vigil.source.topic", "transactions")
                var key = Array("0000000".utf8)
                let (seconds, cpu) = try Self.clock {
                    for index in 0..<outputs {
                        let headers = withHeaders
                            ? [topicHeader, KafkaHeader("vigil.source.partition", "0"), KafkaHeader("vigil.source.offset", String(index))]
                            : []
                        key[6] = UInt8(48 + index % 10)
                        try key.withUnsafeBytes { keyBytes in
                            try value.withUnsafeBytes { valueBytes in
                                try producer.send(topic: "scores", partition: 0, key: keyBytes, value: valueBytes, headers: headers, timestamp: Int64(index))
                            }
                        }
                    }
                }
                return (outputs, seconds, cpu, "")
            })
        }
        let loadAfter = Self.loadAverage()

        print("StageBench: \(events) handbook transactions, topology \(loaded.name), one thread; best of \(repetitions); load average \(loadBefore) before, \(loadAfter) after")
        print()
        print("| stage | events | seconds | CPU seconds | events/s | µs per event | note |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for row in rows where row.note != "skipped" {
            let rate = Double(row.events) / row.seconds
            print("| \(row.stage) | \(row.events) | \(String(format: "%.3f", row.seconds)) | \(String(format: "%.3f", row.cpuSeconds)) | \(Int(rate)) | \(String(format: "%.3f", row.seconds * 1e6 / Double(row.events))) | \(row.note) |")
        }
        if json {
            for row in rows {
                let object: [String: Any] = ["stage": row.stage, "events": row.events, "seconds": row.seconds, "cpu_seconds": row.cpuSeconds, "note": row.note]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }

    /// Best of `repetitions` runs of `body`, which returns the events it handled (timed whole).
    func measure(_ stage: String, _ body: () throws -> Int) throws -> Row {
        try measure(stage) { () throws -> (Int, Double, Double, String) in
            var count = 0
            let (seconds, cpu) = try Self.clock { count = try body() }
            return (count, seconds, cpu, "")
        }
    }

    /// Best of `repetitions` runs of `body`, which times itself: (events, seconds, CPU seconds, note).
    func measure(_ stage: String, _ body: () throws -> (Int, Double, Double, String)) throws -> Row {
        if let only, !stage.contains(only) { return Row(stage: stage, events: 1, seconds: .nan, cpuSeconds: .nan, note: "skipped") }
        var best: Row?
        for _ in 0..<repetitions {
            let (count, seconds, cpu, note) = try body()
            if best == nil || seconds < best!.seconds { best = Row(stage: stage, events: count, seconds: seconds, cpuSeconds: cpu, note: note) }
        }
        return best!
    }

    /// Wall and thread CPU seconds of `body`.
    static func clock(_ body: () throws -> Void) rethrows -> (Double, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = threadCPUSeconds()
        try body()
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, threadCPUSeconds() - cpuStart)
    }

    static func decodeCSV(source: any ByteSource, pipeline: Pipeline, batchSize: Int, keep: UnsafeMutablePointer<[EventBatch]>?) throws -> Int {
        let decoder = pipeline.makeDecoder()
        let reader = CSVReader(source: source)
        guard try reader.next() else { throw ValidationError("empty input") }
        let binding = try decoder.bind(header: reader.strings(), file: source.name)
        var batch = pipeline.makeBatch(capacity: batchSize)
        var events = 0
        while try reader.next() {
            if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch) {
                throw ValidationError("\(source.name):\(reader.lineNumber): \(problem)")
            }
            events += 1
            if batch.count == batchSize {
                if let keep { keep.pointee.append(batch); batch = pipeline.makeBatch(capacity: batchSize) } else { batch.removeAll() }
            }
        }
        if let keep, batch.count > 0 { keep.pointee.append(batch) }
        return events
    }

    static func decodeCSV(source: any ByteSource, pipeline: Pipeline, batchSize: Int, keep: inout [EventBatch]) throws -> Int {
        try withUnsafeMutablePointer(to: &keep) { try decodeCSV(source: source, pipeline: pipeline, batchSize: batchSize, keep: $0) }
    }

    /// JSON lines as vigil replay reads a `.jsonl` file: a line at a time, each object decoded.
    static func decodeJSON(source: any ByteSource, pipeline: Pipeline, batchSize: Int) throws -> Int {
        let decoder = pipeline.makeDecoder()
        let reader = LineReader(source: source)
        var batch = pipeline.makeBatch(capacity: batchSize)
        var events = 0
        while let line = try reader.next() {
            if let problem = decoder.appendJSON(line, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch) {
                throw ValidationError("line \(reader.lineNumber): \(problem)")
            }
            events += 1
            if batch.count == batchSize { batch.removeAll() }
        }
        return events
    }

    /// The start and end of every line of `text` (without its line end).
    static func lineRanges(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in text.enumerated() where byte == 0x0A {
            ranges.append(start..<index)
            start = index + 1
        }
        if start < text.count { ranges.append(start..<text.count) }
        return ranges
    }

    static func decodeJSONRecords(_ text: [UInt8], ranges: [Range<Int>], pipeline: Pipeline, batchSize: Int) throws -> Int {
        let decoder = pipeline.makeDecoder()
        var batch = pipeline.makeBatch(capacity: batchSize)
        try text.withUnsafeBufferPointer { text in
            for (index, range) in ranges.enumerated() {
                if let problem = decoder.appendJSON(UnsafeBufferPointer(rebasing: text[range]), provenance: Provenance(partition: 0, offset: Int64(index)), to: &batch) {
                    throw ValidationError("record \(index): \(problem)")
                }
                if batch.count == batchSize { batch.removeAll() }
            }
        }
        return ranges.count
    }

    static func readAll(_ source: any ByteSource) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// The CSV's rows as JSON objects, one a line, every column a member (numbers as numbers,
    /// other text as strings), in the column order.
    static func jsonLines(fromCSV csv: [UInt8]) throws -> [UInt8] {
        let reader = CSVReader(source: MemoryByteSource(csv))
        guard try reader.next() else { return [] }
        let names = reader.strings()
        var out: [UInt8] = []
        out.reserveCapacity(csv.count * 2)
        while try reader.next() {
            out.append(UInt8(ascii: "{"))
            for (column, name) in names.enumerated() {
                if column > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: name.utf8)
                out.append(contentsOf: "\":".utf8)
                let field = reader.fieldBytes(column)
                if ASCIINumber.parseDouble(field) != nil {
                    out.append(contentsOf: field)
                } else {
                    out.append(UInt8(ascii: "\""))
                    out.append(contentsOf: field)
                    out.append(UInt8(ascii: "\""))
                }
            }
            out.append(contentsOf: "}\n".utf8)
        }
        return out
    }

    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }
}
