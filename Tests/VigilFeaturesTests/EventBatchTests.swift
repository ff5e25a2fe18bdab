import Testing
import VigilCodec
import VigilFeatures
import VigilPipeline
import VigilTopology

/// EventBatch keeps ids as bytes, rejections in integer slots and keys in slots reused after
/// `removeAll()` (so that emptying a batch destroys nothing element by element): what it
/// shows must be what a fresh batch of the same events shows, whatever the batch held before.
@Suite struct EventBatchTests {
    static let topologyText = """
    name: ids-and-keys
    source:
      topics: [in]
      format: json
      key: [user, shop]
      id: [id, note]
      timestamp: {field: ts}
      fields: {id: int, note: string, ts: string, user: string, shop: int, amount: double}
    stages:
      - name: user
        key: user
        features:
          - {name: USER_N, kind: count, window: 1h}
      - name: shop
        key: shop
        features:
          - {name: SHOP_N, kind: count, window: 1h}
    """

    static func line(_ index: Int, user: String, note: String) -> String {
        let time = TimestampParser.format(Int64(index) * 1000 + 1_600_000_000_000)
        return #"{"id": \#(index), "note": "\#(note)", "ts": "\#(time)", "user": "\#(user)", "shop": \#(index % 3), "amount": \#(index)}"#
    }

    static func decode(_ lines: [String], into batch: inout EventBatch, _ decoder: EventDecoder) {
        for (index, line) in lines.enumerated() {
            var text = line
            let problem = text.withUTF8 { decoder.appendJSON($0, provenance: Provenance(partition: 1, offset: Int64(index)), to: &batch) }
            #expect(problem == nil)
        }
    }

    /// A pipeline of the topology above and a batch of `lines` it decoded.
    static func decoded(_ lines: [String]) throws -> (Pipeline, EventBatch) {
        let pipeline = try Pipeline(topology: TopologyLoader.load(yaml: topologyText, file: "ids-and-keys.yaml"))
        var batch = pipeline.makeBatch()
        decode(lines, into: &batch, pipeline.makeDecoder())
        return (pipeline, batch)
    }

    /// Everything a batch shows of its events, to compare two batches.
    static func contents(_ batch: EventBatch) -> [String] {
        (0..<batch.count).map { index in
            let keys = (0..<2).map { batch.key(index, stage: $0).description }
            let ids = Array(batch.ids(of: index))
            let bytes = (0..<2).map { position in batch.withIDBytes(of: index, at: position) { String(decoding: $0, as: UTF8.self) } }
            return "\(batch.times[index]) \(keys) \(ids) \(bytes) \(String(describing: batch.rejection(index))) \(batch.isLate(index))"
        }
    }

    @Test func aRefilledBatchShowsOnlyItsNewEvents() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "ids-and-keys.yaml")
        let pipeline = try Pipeline(topology: topology)
        let decoder = pipeline.makeDecoder()
        // Long text keys and ids first (Strings with storage of their own), then fewer, shorter ones.
        let first = (0..<40).map { Self.line($0, user: "customer-with-a-long-name-\($0)", note: "a note longer than fifteen bytes, \($0)") }
        let second = (0..<7).map { Self.line(100 + $0, user: "u\($0)", note: $0 == 3 ? "é,ü" : "") }
        var reused = pipeline.makeBatch()
        Self.decode(first, into: &reused, decoder)
        reused.reject(5, Rejection(stage: "user", reason: "late"))
        reused.markLate(6)
        reused.removeAll()
        #expect(reused.count == 0 && reused.keys.isEmpty && reused.ids.isEmpty && reused.rejections.isEmpty)
        Self.decode(second, into: &reused, pipeline.makeDecoder())
        var fresh = pipeline.makeBatch()
        Self.decode(second, into: &fresh, pipeline.makeDecoder())
        #expect(Self.contents(reused) == Self.contents(fresh))
        #expect(reused.keys == fresh.keys && reused.ids == fresh.ids && reused.times == fresh.times)
        #expect(reused.keys.count == 14 && reused.ids.count == 14)
        #expect(Array(reused.ids(of: 3)) == ["103", "é,ü"] && Array(reused.ids(of: 0)) == ["100", ""])
        #expect(reused.key(2, stage: 0) == .string("u2") && reused.key(2, stage: 1) == .int(102 % 3))
        #expect(reused.rejections.allSatisfy { $0 == nil } && reused.lateEvents.isEmpty)
        // The stages read the reused key slots in place: the same features as the fresh batch.
        _ = pipeline.process(&reused)
        let other = try Pipeline(topology: topology)
        _ = other.process(&fresh)
        #expect(reused.rows.elementsEqual(fresh.rows) { $0.bitPattern == $1.bitPattern })
    }

    @Test func rejectionsBelongToTheirEvents() throws {
        let (pipeline, decoded) = try Self.decoded((0..<6).map { Self.line($0, user: "u", note: "n\($0)") })
        var batch = decoded
        batch.reject(1, Rejection(stage: "user", reason: "first"))
        batch.reject(4, Rejection(stage: "shop", reason: "other"))
        batch.reject(1, Rejection(stage: "user", reason: "second"))
        #expect(batch.rejections.map { $0?.reason } == [nil, "second", nil, nil, "other", nil])
        #expect(batch.isLive(0) && !batch.isLive(1) && batch.rejection(4) == Rejection(stage: "shop", reason: "other"))
        // The last event rejected, then dropped: the next one appended is live.
        batch.reject(5, Rejection(stage: "user", reason: "dropped"))
        batch.dropLast()
        #expect(batch.count == 5 && batch.ids.count == 10 && batch.keys.count == 10)
        #expect(Array(batch.ids(of: 4)) == ["4", "n4"])
        Self.decode([Self.line(9, user: "v", note: "n9")], into: &batch, pipeline.makeDecoder())
        #expect(batch.isLive(5) && Array(batch.ids(of: 5)) == ["9", "n9"] && batch.key(5, stage: 0) == .string("v"))
        #expect(batch.rejections.map { $0?.reason } == [nil, "second", nil, nil, "other", nil])
        batch.clearFeatures()
        #expect(batch.rejections.allSatisfy { $0 == nil } && (0..<batch.count).allSatisfy(batch.isLive))
    }

    /// Rejection slots reach only as far as the last rejected event: the stages must still see
    /// every event after it as live, and skip the rejected one.
    @Test func stagesSkipRejectedEventsAndReadTheRestAsLive() throws {
        let (pipeline, decoded) = try Self.decoded((0..<8).map { Self.line($0, user: "same", note: "") })
        var batch = decoded
        batch.reject(2, Rejection(stage: "test", reason: "refused"))
        _ = pipeline.process(&batch)
        let column = batch.layout.column(of: "USER_N")!
        // Events 0, 1 and 3...7 of one user, one second apart: counts 1, 2, then 3...7; event 2 untouched.
        #expect((0..<8).map { batch.value($0, column: column) }.map { $0.isNaN ? -1 : $0 } == [1, 2, -1, 3, 4, 5, 6, 7])
        #expect((0..<8).filter { !batch.isLive($0) } == [2])
    }

    @Test func idsKeepTheirBytesThroughEncodingAndHandOver() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "ids-and-keys.yaml")
        let pipeline = try Pipeline(topology: topology)
        var batch = pipeline.makeBatch()
        let values = [7, .nan, .nan, .nan, 2, 3.5]
        values.withUnsafeBufferPointer { values in
            batch.append(time: 1_600_000_000_000, sourceValues: values, keys: [.string("ü"), .int(2)],
                         ids: ["7", "comma, \"quote\" and ∂"], provenance: Provenance(partition: 0, offset: 9))
            batch.append(time: 1_600_000_000_001, sourceValues: values, keys: [.string("x"), .int(2)],
                         ids: ["", "8"], provenance: Provenance(partition: 0, offset: 10))
        }
        var moved = pipeline.makeBatch()
        var handed = pipeline.makeBatch()
        for index in 0..<batch.count {
            try moved.appendEncoded(batch.encodeEvent(at: index))
            handed.append(index, of: batch)
        }
        #expect(batch.ids == ["7", "comma, \"quote\" and ∂", "", "8"])
        #expect(moved.ids == batch.ids && handed.ids == batch.ids && moved.keys == batch.keys && handed.keys == batch.keys)
        #expect(Self.contents(moved) == Self.contents(batch) && Self.contents(handed) == Self.contents(batch))
        #expect(batch.withIDBytes(of: 0, at: 1) { Array($0) } == Array("comma, \"quote\" and ∂".utf8))
        #expect(batch.ids(of: 1).withUTF8(at: 0) { $0.isEmpty })
        // Ids of 15 bytes and less are kept inline, longer ones apart: one dropped gives its room back.
        var edited = batch
        values.withUnsafeBufferPointer { values in
            edited.append(time: 1_600_000_000_002, sourceValues: values, keys: [.string("y"), .int(1)],
                          ids: ["fifteen bytes!!", "sixteen bytes!!!"], provenance: Provenance(partition: 0, offset: 11))
            edited.dropLast()
            edited.append(time: 1_600_000_000_003, sourceValues: values, keys: [.string("z"), .int(1)],
                          ids: ["a long id, longer than fifteen bytes", "123456789012345"], provenance: Provenance(partition: 0, offset: 12))
        }
        #expect(edited.ids == ["7", "comma, \"quote\" and ∂", "", "8", "a long id, longer than fifteen bytes", "123456789012345"])
        #expect(Array(edited.ids(of: 2)) == ["a long id, longer than fifteen bytes", "123456789012345"] && edited.count == 3)
        #expect(batch.ids.count == 4)
        // An id is written as a String holding it would be: the encoding did not change.
        var writer = ByteWriter()
        writer.write(UInt8(1))
        writer.writeVarint(UInt64(batch.layout.width))
        writer.write(Int64(1_600_000_000_000))
        writer.write(UInt32(0))
        writer.write(Int64(9))
        for column in 0..<batch.layout.width { writer.write(batch.value(0, column: column)) }
        writer.write(UInt8(1)); writer.write("ü")
        writer.write(UInt8(0)); writer.write(Int64(2))
        writer.write("7"); writer.write("comma, \"quote\" and ∂")
        #expect(batch.encodeEvent(at: 0) == writer.bytes)
    }
}
