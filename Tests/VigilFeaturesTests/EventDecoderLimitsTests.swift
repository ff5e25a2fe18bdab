import Testing
import VigilCodec
import VigilPipeline
import VigilTopology

/// Poison JSON events are refused with a reason naming the field or the limit (the runtime
/// dead-letters them with it; the broker test covers the same kinds in CSV end to end), and the
/// topology's `limits` and categorical fields parse and are checked.
@Suite struct EventDecoderLimitsTests {
    static let topologyText = """
    name: limits
    source:
      topics: [in]
      format: json
      key: sensor
      id: id
      timestamp: {field: ts, format: epoch_millis}
      fields:
        id: int
        ts: int
        sensor: {type: string, values: [pump, valve]}
        level: {type: int, values: [1, 2, 3]}
        value: double
      limits:
        max_record_bytes: 1KiB
        max_fields: 8
        max_json_depth: 4
        max_ahead: 1h
        not_before: 2010-01-01
    stages:
      - name: sensor
        key: sensor
        features:
          - {name: N, kind: count, window: 1h}
    """

    static func decode(_ json: [UInt8]) throws -> String? {
        let topology = try TopologyLoader.load(yaml: topologyText, file: "limits.yaml")
        let pipeline = try Pipeline(topology: topology)
        let decoder = pipeline.makeDecoder()
        var batch = pipeline.makeBatch()
        let rejection = json.withUnsafeBufferPointer { decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: 0), to: &batch) }
        return rejection?.reason
    }

    static func decode(_ json: String) throws -> String? { try decode(Array(json.utf8)) }

    @Test func theLimitsAndCategoricalFieldsParse() throws {
        let topology = try TopologyLoader.load(yaml: Self.topologyText, file: "limits.yaml")
        #expect(topology.source.limits.maxRecordBytes == 1024)
        #expect(topology.source.limits.maxFields == 8)
        #expect(topology.source.limits.maxJSONDepth == 4)
        #expect(topology.source.limits.maxAhead == 3_600_000)
        #expect(topology.source.limits.notBefore == 1_262_304_000_000)
        #expect(topology.source.field(named: "sensor")?.allowedValues == ["pump", "valve"])
        #expect(topology.source.field(named: "level")?.type == .int)
        // Defaults.
        #expect(SourceLimits().maxRecordBytes == 1 << 20 && SourceLimits().notBefore == 946_684_800_000)
        let bad = Self.topologyText
            .replacingOccurrences(of: "max_record_bytes: 1KiB", with: "max_record_bytes: lots")
            .replacingOccurrences(of: "not_before: 2010-01-01", with: "not_before: 2010-13-01")
            .replacingOccurrences(of: "values: [1, 2, 3]", with: "values: [1, two]")
        #expect {
            try TopologyLoader.load(yaml: bad, file: "limits.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("limits.yaml:15:23: error: max_record_bytes must be a positive size")
                && text.contains("not_before must be a date written YYYY-MM-DD")
                && text.contains("value 'two' of field 'level' is not a number")
        }
    }

    @Test func aGoodEventDecodes() throws {
        #expect(try Self.decode(#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "level": 2, "value": 0.5}"#) == nil)
        // Numbers compare by value.
        #expect(try Self.decode(#"{"id": 1, "ts": 1600000000000, "sensor": "valve", "level": 3.0, "value": 1e3}"#) == nil)
    }

    @Test(arguments: [
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 0.5"#, "not valid JSON: column 62: expected ',' or '}', found the end of the text"),
        (#"[1, 2]"#, "expected a JSON object"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": {"a": 1}}"#, "field value: expected double, found an array or object"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": "high"}"#, "field value: expected double, found 'high'"),
        (#"{"id": 1, "ts": 1600000000000, "value": 0.5}"#, "field sensor is missing (it is the key)"),
        (#"{"id": 1, "sensor": "pump", "value": 0.5}"#, "field ts is missing (it is the timestamp)"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 1e999}"#, "field value: inf is not a finite number"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": "NaN"}"#, "field value: 'NaN' is not a finite number"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pmup", "value": 0.5}"#, "field sensor: 'pmup' is not one of its declared values (pump, valve)"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "level": 4, "value": 0.5}"#, "field level: '4' is not one of its declared values (1, 2, 3)"),
        // A boolean in a text field is its text, checked as the CSV's `true` would be.
        (#"{"id": 1, "ts": 1600000000000, "sensor": true, "value": 0.5}"#, "field sensor: 'true' is not one of its declared values (pump, valve)"),
        // Microseconds where milliseconds belong: year 52,000.
        (#"{"id": 1, "ts": 1600000000000000, "sensor": "pump", "value": 0.5}"#, "field ts: 1600000000000000 ms since the epoch is more than 1h ahead of the wall clock (source.limits.max_ahead)"),
        // Seconds where milliseconds belong: January 1970.
        (#"{"id": 1, "ts": 1600000000, "sensor": "pump", "value": 0.5}"#, "field ts: 1970-01-19T12:26:40Z is before 2010-01-01T00:00:00Z (source.limits.not_before)"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 0.5, "a": [[[[1]]]]}"#, "not valid JSON: column 72 (member a): nesting deeper than 4 levels"),
        // RFC 8259 numbers have no leading zeros: refused with the field and the column, as any malformed number.
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 007}"#, "not valid JSON: column 59 (member value): a number with a leading zero (007): JSON allows none"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": -00.5}"#, "not valid JSON: column 59 (member value): a number with a leading zero (-00.5): JSON allows none"),
        (#"{"id": 01, "ts": 1600000000000, "sensor": "pump", "value": 0.5}"#, "not valid JSON: column 8 (member id): a number with a leading zero (01): JSON allows none"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 1.}"#, "not valid JSON: column 61 (member value): expected digits after '.'"),
        (#"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 0.5, "a": 1, "b": 2, "c": 3, "d": 4, "e": 5}"#, "the event has 9 fields, more than the limit of 8 (source.limits.max_fields)"),
    ])
    func poisonEventsAreRefusedWithTheirReason(json: String, reason: String) throws {
        let actual = try Self.decode(json)
        #expect(actual == reason, "\(actual ?? "accepted")")
    }

    @Test func invalidUTF8AndOversizedRecordsAreRefused() throws {
        let invalid = Array(#"{"id": 1, "ts": 1600000000000, "sensor": "pu"#.utf8) + [0xFF] + Array(#"mp", "value": 0.5}"#.utf8)
        let invalidReason = try Self.decode(invalid)
        #expect(invalidReason == "not valid JSON: column 48 (member sensor): a string is not valid UTF-8", "\(invalidReason ?? "accepted")")
        let escaped = Array(#"{"id": 1, "ts": 1600000000000, "sensor": "p\u00e9"#.utf8) + [0xC3] + Array(#"", "value": 0.5}"#.utf8)
        #expect(try Self.decode(escaped)?.contains("a string is not valid UTF-8") == true)
        let big = #"{"id": 1, "ts": 1600000000000, "sensor": "pump", "value": 0.5, "note": ""# + String(repeating: "x", count: 1000) + #""}"#
        let bigReason = try Self.decode(big)
        #expect(bigReason == "the record is 1074 bytes, more than the limit of 1024 (source.limits.max_record_bytes)", "\(bigReason ?? "accepted")")
    }
}
