import Foundation
import Testing
import VigilCodec
import VigilKafka
import VigilModels
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// The collector's records byte for byte as they were before numbers, ids and keys were written
/// without Strings: every number against the old formulation (`String(Int64(value))` for
/// integral values below 1e15, else `description`), the keys and headers against their Strings,
/// and whole score and alert records against the old encoder (``LegacyScoreRecord``).
@Suite struct ScoreRecordEncoderTests {
    /// The old spelling of a number in a record.
    static func legacyNumber(_ value: Double) -> String {
        if !value.isFinite { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    @Test func numbersAreSpelledAsBefore() {
        var random = SeededRandom(seed: 16)
        var values: [Double] = [0, -0.0, 1, -1, 0.5, -0.5, 0.1, 1.0 / 3, .nan, -.nan, .infinity, -.infinity,
                                .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e-300, 1e300, 1e-5, 1e-4, 9.999e-5,
                                9_007_199_254_740_992, 9_007_199_254_740_994, 4_503_599_627_370_495.5, 1e16, 1e17, 1e22, 1e23]
        // Integers near 1e15, where the integer spelling hands over to `description`.
        for offset in -3...3 {
            values.append(1e15 + Double(offset))
            values.append(-1e15 + Double(offset))
            values.append((1e15 + Double(offset)).nextUp)
            values.append((1e15 + Double(offset)).nextDown)
        }
        for exponent in -1074...1023 {
            let power = Double(sign: .plus, exponent: exponent, significand: 1)
            values += [power, power.nextDown, -power]
        }
        // Random bit patterns (every magnitude, subnormals, NaNs), subnormals alone, and the
        // shapes records carry: shares, sigmoid scores, means of cent amounts, counts.
        for _ in 0..<1_000_000 { values.append(Double(bitPattern: random.next())) }
        for _ in 0..<100_000 { values.append(Double(bitPattern: random.next() & 0x800F_FFFF_FFFF_FFFF)) }
        for _ in 0..<200_000 {
            values.append(random.uniform())
            values.append(1 / (1 + exp(-random.normal() * 4)))
            values.append(Double(random.next() % 10_000_000) / 100 / Double(random.next() % 60 + 1))
            values.append(Double(Int64(bitPattern: random.next()) % 2_000_000_000_000_000))
        }
        var mismatches: [String] = []
        var out: [UInt8] = []
        for value in values {
            out.removeAll()
            ScoreRecordEncoder.appendNumber(value, to: &out)
            let expected = Self.legacyNumber(value)
            if out != Array(expected.utf8), mismatches.count < 10 { mismatches.append("\(expected) written as \(String(decoding: out, as: UTF8.self))") }
        }
        #expect(values.count > 1_500_000)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func integersAreSpelledAsStringDoes() {
        var random = SeededRandom(seed: 61)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, .max, .min, .max - 1, .min + 1, 1_544_000_000_000, 1_700_000_000_123]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power, -(power - 1)]
        }
        for _ in 0..<200_000 { values += [Int64(bitPattern: random.next()), Int64(bitPattern: random.next() >> (random.next() % 64))] }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: DecimalText.maximumIntegerLength)
        defer { out.deallocate() }
        for value in values {
            let count = DecimalText.write(integer: value, to: out)
            #expect(Array(UnsafeBufferPointer(start: out, count: count)) == Array(String(value).utf8), "\(value)")
        }
    }

    @Test func provenanceHeadersAreTheirStrings() {
        var headers = ProvenanceHeaders(topic: "transactions")
        for (partition, offset) in [(0, 0), (0, 9), (0, 10), (3, 123_456_789), (3, 7), (-1, 42), (11, Int64.max), (2, 1_000_000)] as [(Int32, Int64)] {
            #expect(headers.headers(partition: partition, offset: offset) == RecordHeaders.provenance(topic: "transactions", partition: partition, offset: offset))
        }
    }

    /// Events through card-fraud with the ids given (JSON values: numbers, or strings of every
    /// kind: with quotes and a backslash, control characters, not ASCII, a comma, empty).
    static func batch(_ pipeline: Pipeline, ids: [String]) throws -> EventBatch {
        var batch = pipeline.makeBatch()
        let decoder = pipeline.makeDecoder()
        let amounts = [25.0, 31.5, 480.0, 512.25, 18.0, 730.0, 0.01, 1e6 / 3]
        for (index, id) in ids.enumerated() {
            let line = "{\"TRANSACTION_ID\":\(id),\"TX_DATETIME\":\"2018-08-08 0\(index % 10):15:00\",\"CUSTOMER_ID\":\(7 + index % 2),\"TERMINAL_ID\":\(40 + index),\"TX_AMOUNT\":\(amounts[index % amounts.count]),\"TX_FRAUD\":0}"
            let rejection = Array(line.utf8).withUnsafeBufferPointer { decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: Int64(index)), to: &batch) }
            #expect(rejection == nil, "\(line)")
        }
        return batch
    }

    static let numericIDs = ["0", "17", "-5", "123456789012345678"]
    static let textIDs = ["a\"b\\c", "tab\there", "é-ü", "日本", "x,y", "", "line\nbreak", "plain-42"].map { JSONText.quoted($0) }

    /// Keys and whole records as the old encoder wrote them: card-fraud as shipped (numeric
    /// ids), with text ids, and with two id fields; with and without the features, late and
    /// not, with and without a score, alerts with and without reasons.
    @Test(arguments: [0, 1, 2]) func recordsAreByteIdenticalToTheOldEncoder(variant: Int) throws {
        var topology = try TopologyLoader.load(path: RepositoryFiles.cardFraudTopology)
        if variant > 0, let field = topology.source.fields.firstIndex(where: { $0.name == "TRANSACTION_ID" }) {
            topology.source.fields[field].type = .string
        }
        if variant == 2 { topology.source.idFields = ["TRANSACTION_ID", "CUSTOMER_ID"] }
        let ids = variant == 0 ? Self.numericIDs : Self.textIDs
        let path = try #require(topology.resolvedModelPath)
        let explainer = try ModelLoader.loadExplainer(path: path)
        let pipeline = try Pipeline(topology: topology, kernel: ExplainingKernel(scorer: try ModelLoader.load(path: path), explainer: explainer))
        var batch = try Self.batch(pipeline, ids: ids)
        let output = pipeline.process(&batch)
        var checked = 0
        for includeFeatures in [false, true] {
            topology.outputs.includeFeatures = includeFeatures
            let encoder = ScoreRecordEncoder(topology: topology, layout: pipeline.layout)
            let legacy = LegacyScoreRecord(topology: topology, layout: pipeline.layout)
            var key: [UInt8] = []
            var record: [UInt8] = []
            var expected: [UInt8] = []
            for index in 0..<batch.count {
                let oldKey = legacy.key(batch, index)
                encoder.writeKey(batch, index, into: &key)
                #expect(key == Array(oldKey.utf8))
                #expect(encoder.key(batch, index) == oldKey)
                let reasons = pipeline.reasons(batch, index: index)
                for score in [output.scores[index], nil, 0.5, 1, .nan] as [Double?] {
                    for alert in [false, true] {
                        for late in [false, true] {
                            for withReasons in [false, true] where alert || !withReasons {
                                let given = withReasons ? reasons : []
                                legacy.encode(batch, index, id: oldKey, score: score, alert: alert, late: late, reasons: given, into: &expected)
                                key.withUnsafeBufferPointer { encoder.encode(batch, index, id: $0, score: score, alert: alert, late: late, reasons: given, into: &record) }
                                #expect(record == expected, "\(String(decoding: record, as: UTF8.self)) != \(String(decoding: expected, as: UTF8.self))")
                                encoder.encode(batch, index, id: oldKey, score: score, alert: alert, late: late, reasons: given, into: &record)
                                #expect(record == expected)
                                checked += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(checked == 2 * ids.count * 5 * 6)
    }
}

/// The score record encoder as it was before this change (its Strings per number, id and key),
/// kept here as the reference the new one is held to byte for byte.
struct LegacyScoreRecord {
    private let featureKeys: [[UInt8]]
    private let fieldKeys: [(key: [UInt8], column: Int)]
    private let modelVersion: [UInt8]
    private let rule: [UInt8]
    let includeFeatures: Bool

    init(topology: Topology, layout: RowLayout) {
        featureKeys = layout.featureNames.map { Array((JSONText.quoted($0) + ":").utf8) }
        fieldKeys = layout.sourceFields.filter(\.type.isNumeric).compactMap { field in
            layout.column(of: field.name).map { (Array((JSONText.quoted(field.name) + ":").utf8), $0) }
        }
        modelVersion = Array(JSONText.quoted(topology.model?.version ?? "").utf8)
        rule = Array(JSONText.quoted(topology.outputs.alertRule?.description ?? "").utf8)
        includeFeatures = topology.outputs.includeFeatures
    }

    func key(_ events: EventBatch, _ index: Int) -> String {
        let ids = events.ids(of: index)
        return ids.count == 1 ? ids[ids.startIndex] : ids.joined(separator: ",")
    }

    func encode(_ events: EventBatch, _ index: Int, id: String, score: Double?, alert: Bool, late: Bool = false,
               reasons: [ReasonCode] = [], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        append("{\"id\":", to: &out)
        appendQuoted(id, to: &out)
        if let score {
            append(",\"score\":", to: &out)
            appendNumber(score, to: &out)
            append(",\"model_version\":", to: &out)
            out.append(contentsOf: modelVersion)
        }
        append(",\"event_time\":", to: &out)
        append(String(events.times[index]), to: &out)
        if late { append(",\"late\":true", to: &out) }
        if includeFeatures || alert {
            append(",\"features\":{", to: &out)
            for (position, value) in events.features(of: index).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: featureKeys[position])
                appendNumber(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        if alert {
            append(",\"event\":{", to: &out)
            for (position, field) in fieldKeys.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: field.key)
                appendNumber(events.value(index, column: field.column), to: &out)
            }
            append("},\"rule\":", to: &out)
            out.append(contentsOf: rule)
            if !reasons.isEmpty {
                append(",\"reasons\":[", to: &out)
                for (position, reason) in reasons.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    append("{\"feature\":", to: &out)
                    appendQuoted(reason.feature, to: &out)
                    append(",\"value\":", to: &out)
                    appendNumber(reason.value, to: &out)
                    append(",\"contribution\":", to: &out)
                    appendNumber(reason.contribution, to: &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private func append(_ text: String, to out: inout [UInt8]) { out.append(contentsOf: text.utf8) }

    /// Ids are nearly always plain ASCII: copied as they are; anything else goes through the escaper.
    private func appendQuoted(_ text: String, to out: inout [UInt8]) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            append(JSONText.quoted(text), to: &out)
        }
    }

    /// The shortest text that reads back as the same Double; NaN and infinities (not JSON) as null.
    private func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if !value.isFinite {
            append("null", to: &out)
        } else if value == value.rounded(), abs(value) < 1e15 {
            append(String(Int64(value)), to: &out)
        } else {
            append(value.description, to: &out)
        }
    }
}
