import Foundation
import Testing
import VigilCodec
import VigilFeatures
import VigilModels
import VigilPipeline
import VigilReplay
import VigilTopology

/// A kernel that sums its inputs, to check the pipeline orders the model matrix by input name.
struct SumKernel: ScoringKernel {
    let inputNames: [String]
    mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        for row in 0..<rowCount {
            var weighted = 0.0
            for (column, _) in inputNames.enumerated() { weighted += rows[row * inputNames.count + column] * Double(column + 1) }
            scores[row] = weighted
        }
    }
}

@Suite struct PipelineTests {
    static let topologyText = """
    name: two-stage
    source:
      topics: [in]
      format: json
      key: user
      id: id
      timestamp: {field: ts}
      fields: {id: int, ts: string, user: string, shop: int, amount: double}
    derived:
      - {name: HOUR, kind: hour}
      - {name: LOG_AMOUNT, kind: log, field: amount}
    stages:
      - name: user
        key: user
        features:
          - {name: USER_N, kind: count, window: 1h}
          - {name: USER_SUM, kind: sum, field: amount, window: 1h}
      - name: shop
        key: shop
        features:
          - {name: SHOP_MAX, kind: max, field: amount, window: 1h}
          - {name: SHOP_USER_SUM_MEAN, kind: mean, field: USER_SUM, window: 1h}
    model: {path: none.json, inputs: [SHOP_MAX, amount, USER_N]}
    outputs:
      alerts: {rule: "score > 100 and USER_N >= 2"}
    """

    static func events() -> [String] {
        var generator = SplitMix(seed: 5)
        return (0..<500).map { index in
            let seconds = index * 37
            let time = TimestampParser.format(Int64(seconds) * 1000 + 1_600_000_000_000)
            return #"{"id": \#(index), "ts": "\#(time)", "user": "u\#(generator.next() % 7)", "shop": \#(generator.next() % 3), "amount": \#(Double(generator.next() % 10_000) / 100)}"#
        }
    }

    func decode(_ pipeline: Pipeline, _ lines: [String]) -> EventBatch {
        var batch = pipeline.makeBatch()
        let decoder = pipeline.makeDecoder()
        for (index, line) in lines.enumerated() {
            var text = line
            let problem = text.withUTF8 { decoder.appendJSON($0, provenance: Provenance(partition: 3, offset: Int64(index)), to: &batch) }
            #expect(problem == nil)
        }
        return batch
    }

    @Test func stageByStageThroughBytesEqualsTheWholeBatch() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let kernel = SumKernel(inputNames: topology.model!.inputs)
        let whole = try Pipeline(topology: topology, kernel: kernel)
        var batch = decode(whole, Self.events())
        let output = whole.process(&batch)

        // Stage 1 in one pipeline, events serialised (as to a repartition topic), stage 2 in another.
        let first = try Pipeline(topology: topology, kernel: kernel)
        let second = try Pipeline(topology: topology, kernel: kernel)
        var staged = decode(first, Self.events())
        first.computeDerived(&staged)
        first.runStage(0, on: &staged)
        var moved = second.makeBatch()
        for index in 0..<staged.count { try moved.appendEncoded(staged.encodeEvent(at: index)) }
        // Handed over in memory (local delivery), an event is what its bytes give.
        var handedOver = second.makeBatch()
        for index in 0..<staged.count { handedOver.append(index, of: staged) }
        #expect(handedOver.rows.elementsEqual(moved.rows) { $0.bitPattern == $1.bitPattern })
        #expect(handedOver.times == moved.times && handedOver.keys == moved.keys && handedOver.ids == moved.ids)
        #expect(handedOver.provenance == moved.provenance && handedOver.rejections.allSatisfy { $0 == nil })
        second.runStage(1, on: &moved)
        let scores = second.score(moved)
        #expect(moved.rows.elementsEqual(batch.rows) { $0.bitPattern == $1.bitPattern })
        #expect(moved.provenance == batch.provenance)
        #expect(scores == output.scores)
        #expect(second.alerts(moved, scores: scores) == output.alerts)
        #expect(!output.alerts.isEmpty)
        // The model matrix follows the model's input order.
        let column = { (name: String) in batch.layout.column(of: name)! }
        let expected = batch.value(0, column: column("SHOP_MAX")) + 2 * batch.value(0, column: column("amount")) + 3 * batch.value(0, column: column("USER_N"))
        #expect(output.scores[0] == expected)
    }

    @Test func aMalformedStagedEventLeavesTheBatchAsItWas() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let pipeline = try Pipeline(topology: topology, kernel: SumKernel(inputNames: topology.model!.inputs))
        var staged = decode(pipeline, Self.events())
        pipeline.computeDerived(&staged)
        pipeline.runStage(0, on: &staged)
        let good = staged.encodeEvent(at: 1)
        var batch = pipeline.makeBatch()
        try batch.appendEncoded(staged.encodeEvent(at: 0))
        let before = (batch.rows, batch.keys, batch.ids, batch.times)
        // Cut in the keys, then in the ids, then one byte short: each is refused and takes back what it read.
        for length in [good.count - 1, good.count - 4, 40] {
            #expect(throws: (any Error).self) { try batch.appendEncoded(Array(good.prefix(length))) }
            #expect(batch.count == 1)
            #expect(batch.rows.elementsEqual(before.0) { $0.bitPattern == $1.bitPattern })
            #expect(batch.keys == before.1 && batch.ids == before.2 && batch.times == before.3)
        }
        try batch.appendEncoded(good)
        #expect(batch.count == 2)
        #expect(batch.features(of: 1).elementsEqual(staged.features(of: 1)) { $0.bitPattern == $1.bitPattern })
        #expect(batch.ids(of: 1) == staged.ids(of: 1))
    }

    @Test func modelInputsTheTopologyLacksAreRefused() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        #expect(throws: PipelineError.self) { try Pipeline(topology: topology, kernel: SumKernel(inputNames: ["USER_N", "NOPE"])) }
    }

    @Test func batchRollbackRestoresEveryStage() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let pipeline = try Pipeline(topology: topology)
        let lines = Self.events()
        var head = decode(pipeline, Array(lines.prefix(300)))
        pipeline.beginBatch()
        _ = pipeline.process(&head)
        pipeline.commitBatch()
        let snapshot = { (stage: Int) in
            Dictionary(uniqueKeysWithValues: pipeline.engines[stage].allKeys.map { ($0, pipeline.snapshot(stage: stage, key: $0)!) })
        }
        let before = [snapshot(0), snapshot(1)]
        pipeline.beginBatch()
        var tail = decode(pipeline, Array(lines.suffix(200)))
        _ = pipeline.process(&tail)
        #expect(!pipeline.touchedKeys(stage: 0).isEmpty && !pipeline.touchedKeys(stage: 1).isEmpty)
        pipeline.rollbackBatch()
        #expect([snapshot(0), snapshot(1)] == before)
    }

    /// A batch sealed for its commit while the next one runs: a failed commit rolls both
    /// back (every key, the stream time, the counters as before the sealed batch); a
    /// successful one keeps the sealed batch, and a rollback then undoes only the batch behind
    /// it. The buffers go round: the same again a second time.
    @Test func aSealedBatchRollsBackWithTheBatchBehindItOrCommitsAlone() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let pipeline = try Pipeline(topology: topology)
        let lines = Self.events()
        #expect(lines.count >= 500)
        let state = {
            [0, 1].map { stage in
                Dictionary(uniqueKeysWithValues: pipeline.engines[stage].allKeys.map { ($0, pipeline.snapshot(stage: stage, key: $0)!) })
            }
        }
        let counters = { pipeline.engines.map { ($0.keyCount, $0.statistics.eventsProcessed) } }
        var head = decode(pipeline, Array(lines.prefix(100)))
        pipeline.beginBatch()
        _ = pipeline.process(&head)
        pipeline.commitBatch()
        for round in 0..<2 {
            let before = state()
            let countersBefore = counters().map { "\($0)" }
            let timeBefore = pipeline.streamTime
            // Failed: the sealed batch and the one behind it go.
            pipeline.beginBatch()
            var sealed = decode(pipeline, Array(lines[(100 + round * 200)..<(200 + round * 200)]))
            _ = pipeline.process(&sealed)
            pipeline.sealBatch()
            let afterSealed = state()
            let timeAfterSealed = pipeline.streamTime
            #expect(afterSealed != before)
            pipeline.beginBatch()
            var behind = decode(pipeline, Array(lines[(200 + round * 200)..<(300 + round * 200)]))
            _ = pipeline.process(&behind)
            #expect(!pipeline.touchedKeys(stage: 0).isEmpty)
            pipeline.rollbackBatch()
            #expect(state() == before)
            #expect(counters().map { "\($0)" } == countersBefore)
            #expect(pipeline.streamTime == timeBefore)
            // Committed: the sealed batch stays, the one behind it alone goes.
            pipeline.beginBatch()
            sealed = decode(pipeline, Array(lines[(100 + round * 200)..<(200 + round * 200)]))
            _ = pipeline.process(&sealed)
            pipeline.sealBatch()
            pipeline.beginBatch()
            behind = decode(pipeline, Array(lines[(200 + round * 200)..<(300 + round * 200)]))
            _ = pipeline.process(&behind)
            pipeline.commitSealedBatch()
            pipeline.rollbackBatch()
            #expect(state() == afterSealed)
            #expect(pipeline.streamTime == timeAfterSealed)
            // And kept for the next round.
            pipeline.beginBatch()
            behind = decode(pipeline, Array(lines[(200 + round * 200)..<(300 + round * 200)]))
            _ = pipeline.process(&behind)
            pipeline.commitBatch()
        }
    }

    /// Batches discarded for a restore (the runtime's abort, which keeps no undo records): the
    /// state stays as they left it, for the restore to clear, but the stream time goes back to
    /// where it stood before the sealed batch (an expiry at the time the discarded events reached
    /// would drop keys their retry still needs); a sealed batch alone goes back to its start.
    @Test func discardedBatchesPutTheStreamTimeBack() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let pipeline = try Pipeline(topology: topology, recordsUndo: false)
        let lines = Self.events()
        var head = decode(pipeline, Array(lines.prefix(100)))
        pipeline.beginBatch()
        _ = pipeline.process(&head)
        pipeline.commitBatch()
        let timeBefore = pipeline.streamTime
        pipeline.beginBatch()
        var sealed = decode(pipeline, Array(lines[100..<200]))
        _ = pipeline.process(&sealed)
        pipeline.sealBatch()
        pipeline.beginBatch()
        var behind = decode(pipeline, Array(lines[200..<300]))
        _ = pipeline.process(&behind)
        let keysAfter = pipeline.engines[0].keyCount
        #expect(pipeline.streamTime > timeBefore)
        pipeline.discardBatches()
        #expect(pipeline.streamTime == timeBefore)
        #expect(pipeline.engines[0].keyCount == keysAfter, "discarding changes no state")
        // A batch open on its own.
        pipeline.beginBatch()
        behind = decode(pipeline, Array(lines[300..<400]))
        _ = pipeline.process(&behind)
        #expect(pipeline.streamTime > timeBefore)
        pipeline.discardBatches()
        #expect(pipeline.streamTime == timeBefore)
    }

    /// JSON records decode member by member as they decode through the parsed tree: the
    /// same events (values, keys, ids, times) or the same reason, whatever the members' types,
    /// order, repetitions, escapes and bytes.
    @Test func jsonRecordsDecodeAsTheirParsedTrees() throws {
        let topology = try TopologyLoader.load(yaml: """
        name: typed
        source:
          topics: [in]
          format: json
          key: user
          id: [id, tag]
          timestamp: {field: ts, format: epoch_millis}
          fields: {id: int, tag: string, ts: double, user: int, shop: string, flag: bool, amount: double}
        stages:
          - name: user
            key: user
            features: [{name: N, kind: count, window: 1h}]
          - name: shop
            key: shop
            features: [{name: S, kind: count, window: 1h}]
        """, file: "typed.yaml")
        let pipeline = try Pipeline(topology: topology)
        let records = [
            #"{"id": 1, "tag": "a", "ts": 1600000000000, "user": 7, "shop": "s1", "flag": true, "amount": 2.5}"#,
            #"{"amount": 1e2, "flag": 0, "shop": 12, "user": "8", "ts": 1600000000001.4, "tag": 3.5, "id": -12}"#,
            #"{"id": 2, "id": 3, "tag": null, "ts": "1600000000002", "user": 9.0, "shop": false, "extra": [1, {"x": 2}]}"#,
            #"{"\u0069d": 4, "tag": "caf\u00e9 \ud83d\ude00", "ts": 1600000000003, "user": 123456789012345678, "shop": "ß", "flag": "TRUE"}"#,
            #"{"id": 5, "tag": "x", "ts": 1600000000004, "user": 1.5, "shop": "s"}"#,
            #"{"id": 6, "tag": "x", "ts": 1600000000005, "shop": "s"}"#,
            #"{"id": 7, "tag": "x", "ts": true, "user": 1, "shop": "s"}"#,
            #"{"id": 8, "tag": "x", "ts": 1600000000006, "user": 1, "shop": "s", "flag": [true]}"#,
            #"{"id": 9, "tag": "x", "ts": 1600000000007, "user": 1, "shop": "s", "amount": "1,5"}"#,
            #"{"id": 10, "tag": "x", "ts": 1600000000008, "user": 1e30, "shop": "s"}"#,
            "{\"id\": 11, \"tag\": \"bad \u{FF}\u{FE} bytes\", \"ts\": 1600000000009, \"user\": 1, \"shop\": \"s\"}",
            #"{"id": 12, "tag": "x", "ts": 1600000000010, "user": -9223372036854775808, "shop": "s", "amount": -0.0}"#,
            #"{"id": 13, "ts": 1600000000011, "user": 1, "shop": "s"} trailing"#,
            #"[{"id": 14}]"#,
            #"{"id": 15, "tag": "x", "ts": 1600000000012, "user": 1, "shop": "s", "amount": 99999999999999999999}"#,
            #"{"id": 16, "tag": "x", "ts": 1600000000013, "user": 1, "shop": "s", "amount": 12345678}"#,
            #"{ "id" : 17 , "tag" : "y" , "ts" : 1600000000014 , "user" : 2 , "shop" : "t" }"#,
            #"{"id": 18, "t\u0061g": "z", "ts": 1600000000015, "user": 3, "shop": "u", "flag": false}"#,
            #"{"id": 19, "tag": "w", "ts": 1600000000016, "us": 4, "user": 5, "shop": "v"}"#,
            #"{"id": 20, "ts": 1600000000017, "tag": "v", "user": 6, "shop": "w", "id": 21}"#,
            // Integers whose text is not what String writes for them (ids keep the integer's
            // spelling); leading zeros are refused by both readers (RFC 8259).
            #"{"id": 007, "tag": 0099, "ts": 1600000000018, "user": 0012, "shop": -0, "amount": 57.16}"#,
            #"{"id": -0, "tag": -7, "ts": 1600000000019, "user": -0, "shop": 0, "amount": -0.5}"#,
            #"{"id": 0, "tag": -10, "ts": 1600000000020, "user": 9223372036854775807, "shop": 1000000000000000000000, "amount": 123456789012.345}"#,
            #"{"id": 0000000000000000000042, "tag": 12, "ts": 1600000000021.25, "user": 1, "shop": "s", "amount": 1234567890123.456}"#,
            #"{"id": 42, "tag": 12, "ts": 1600000000022, "user": 1, "shop": "s", "amount": 00.5}"#,
        ]
        // One decoder for every record, twice over: it remembers the members of the record
        // before (same names, other order, escaped, missing), which must change nothing.
        let streamDecoder = pipeline.makeDecoder()
        for record in records + records + records.reversed() {
            var streamed = pipeline.makeBatch()
            var tree = pipeline.makeBatch()
            let decoder = pipeline.makeDecoder()
            let bytes = Array(record.utf8)
            let streamedProblem = bytes.withUnsafeBufferPointer { streamDecoder.appendJSON($0, provenance: Provenance(partition: 0, offset: 1), to: &streamed) }
            let treeProblem: Rejection?
            switch Result(catching: { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(bytes) }) {
            case let .success(.object(object)): treeProblem = decoder.appendJSON(object: object, provenance: Provenance(partition: 0, offset: 1), to: &tree)
            case .success: treeProblem = Rejection(stage: "decode", reason: "expected a JSON object")
            case let .failure(error): treeProblem = Rejection(stage: "decode", reason: "not valid JSON: \(error)")
            }
            #expect(streamedProblem == treeProblem, "\(record)")
            #expect(streamed.count == tree.count, "\(record)")
            guard streamed.count == 1, tree.count == 1 else { continue }
            #expect(streamed.times == tree.times, "\(record)")
            #expect(streamed.keys == tree.keys, "\(record)")
            #expect(streamed.ids == tree.ids, "\(record)")
            #expect(streamed.rows.map(\.bitPattern) == tree.rows.map(\.bitPattern), "\(record)")
        }
        // The spellings a JSON number leaves in ids and text keys.
        var batch = pipeline.makeBatch()
        let decoder = pipeline.makeDecoder()
        var text = #"{"id": -42, "tag": 2.50, "ts": 1600000000000, "user": 3, "shop": 17}"#
        #expect(text.withUTF8 { decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: 0), to: &batch) } == nil)
        #expect(batch.ids == ["-42", "2.5"])
        #expect(batch.keys == [.int(3), .string("17")])
    }

    /// A datetime reads the same whether its date is taken from the last one parsed or read
    /// again: dates that repeat, change, come with spaces, zones, no time, or do not parse.
    @Test func datetimesReadTheSameAfterTheLastDate() {
        let texts = ["2018-04-01 00:00:31", "2018-04-01 00:02:10", "2018-04-01T23:59:59.999Z", " 2018-04-01 01:00 ", "2018-04-01",
                     "2018-04-01+02:00", "2018-04-01 12:00:00-0130", "2018-04-02 00:00:00", "2018-04-01 00:00:00", "2018-13-01 00:00:00",
                     "2018-13-01 00:00:00", "2018-04-01x", "2018-04-0", "2018-04-01 25:00:00", "2018-04-01 10:00:00", "1969-12-31 23:59:59",
                     "1969-12-31 00:00:01", "0000-03-01", "9999-12-31 23:59:59", "2018-04-32 00:00:00", "", "2018-04-01 10:00:00"]
        var lastDate = TimestampParser.LastDate()
        for text in texts + texts.reversed() {
            let fresh = TimestampParser.parse(text, format: .datetime)
            var copy = text
            let remembered = copy.withUTF8 { TimestampParser.parse($0, format: .datetime, lastDate: &lastDate) }
            #expect(remembered == fresh, "\(text)")
        }
        #expect(TimestampParser.parse("2018-04-01 00:00:31", format: .datetime) == 1_522_540_831_000)
    }

    @Test func decoderRejectsBadEventsWithTheField() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "two-stage.yaml")
        let pipeline = try Pipeline(topology: topology)
        let decoder = pipeline.makeDecoder()
        var batch = pipeline.makeBatch()
        for (line, expected) in [
            (#"{"id": 1, "ts": "2020-01-01 00:00:00", "shop": 1, "amount": 2}"#, "field user is missing"),
            (#"{"id": 1, "ts": "yesterday", "user": "a", "shop": 1, "amount": 2}"#, "field ts: 'yesterday' is not a datetime timestamp"),
            (#"{"id": 1, "ts": "2020-01-01 00:00:00", "user": "a", "shop": 1, "amount": "lots"}"#, "field amount: expected double"),
            (#"{"id": 1, "ts": "#, "not valid JSON"),
        ] {
            var text = line
            let problem = text.withUTF8 { decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: 0), to: &batch) }
            #expect(problem?.reason.contains(expected) == true, "\(String(describing: problem))")
        }
        #expect(batch.count == 0)
    }
}
