import Testing
import VigilTopology
import VigilFeatures

@Suite struct TopologyTests {
    static let valid = """
    name: t
    source:
      topics: [in]
      format: json
      key: k
      timestamp: {field: ts, format: epoch_millis}
      fields: {k: string, ts: int, x: double}
    stages:
      - name: s
        key: k
        features:
          - {name: m, kind: mean, field: x, window: 1h}
    """

    @Test func shippedTopologiesLoad() throws {
        let card = try TopologyLoader.load(path: TestData.cardFraudTopology)
        #expect(card.featureNames == TestData.handbookFeatures)
        #expect(card.source.idFields == ["TRANSACTION_ID"])
        #expect(card.model?.inputs == ["TX_AMOUNT"] + TestData.handbookFeatures)
        #expect(card.outputs.scoresTopic == "card-fraud.scores" && card.outputs.deadLetterTopic == "card-fraud.dlq")
        #expect(card.stages[1].features[1].window == .delayed(size: 86_400_000, delay: 7 * 86_400_000))
        let sensor = try TopologyLoader.load(path: TestData.sensorTopology)
        #expect(sensor.stages.count == 1 && sensor.processing.allowedLateness == 5_000)
    }

    @Test func defaults() throws {
        let topology = try TopologyLoader.load(yaml: Self.valid, file: "t.yaml")
        #expect(topology.outputs.alertsTopic == "t.alerts" && topology.outputs.driftTopic == "t.drift")
        #expect(topology.processing.batchSize == 500 && topology.processing.commitInterval == 100)
        #expect(topology.processing.stateTTL == 86_400_000)  // at least a day, else the longest window plus lateness
        #expect(!topology.processing.localDelivery && topology.processing.commitWhenDrained)
        let local = try TopologyLoader.load(yaml: Self.valid + "\nprocessing:\n  local_delivery: true\n", file: "t.yaml")
        #expect(local.processing.localDelivery)
    }

    @Test func maxStateBytesTakesSizesAndNamesABadOne() throws {
        #expect(try TopologyLoader.load(yaml: Self.valid, file: "t.yaml").processing.maxStateBytes == nil)
        for (text, bytes) in [("536870912", 536_870_912), ("512MiB", 512 << 20), ("2GiB", 2 << 30), ("64MB", 64 << 20), ("100 KiB", 100 << 10)] {
            let topology = try TopologyLoader.load(yaml: Self.valid + "\nprocessing:\n  max_keys: 5000\n  max_state_bytes: \(text)\n", file: "t.yaml")
            #expect(topology.processing.maxStateBytes == bytes, "\(text)")
            #expect(topology.processing.maxKeys == 5000)
        }
        for bad in ["0", "-5", "lots", "12TiB", "1.5GiB", "99999999999999999999"] {
            let text = diagnostics(Self.valid + "\nprocessing:\n  batch_size: 100\n  max_state_bytes: \(bad)\n").map(\.description)
            #expect(text == ["bad.yaml:15:20: error: max_state_bytes must be a positive size such as 536870912, 512MiB or 2GiB"], "\(bad)")
        }
    }

    @Test func theChangelogRecordsAreKeyStatesUnlessEventsAreAskedFor() throws {
        #expect(try TopologyLoader.load(yaml: Self.valid, file: "t.yaml").processing.changelog == .keyStates)
        let events = try TopologyLoader.load(yaml: Self.valid + "\nprocessing:\n  changelog: events\n", file: "t.yaml")
        #expect(events.processing.changelog == .events)
        #expect(FeatureEngine.Configuration(processing: events.processing).logsOperations)
        #expect(!FeatureEngine.Configuration(processing: ProcessingSpec()).logsOperations)
        #expect(diagnostics(Self.valid + "\nprocessing:\n  changelog: deltas\n").map(\.description)
            == ["bad.yaml:14:14: error: changelog must be one of key_states, events, not 'deltas'"])
        #expect(diagnostics(Self.valid + "\nprocessing:\n  local_delivery: true\n  changelog: events\n").map(\.description)
            == ["bad.yaml:15:14: error: changelog: events does not combine with local_delivery: true"])
    }

    func diagnostics(_ yaml: String) -> [TopologyDiagnostic] {
        do {
            _ = try TopologyLoader.load(yaml: yaml, file: "bad.yaml")
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test func errorsNameFileLineAndColumn() {
        let yaml = """
        name: t
        source:
          topics: [in]
          format: xml
          key: k
          timestamp: {field: ts}
          fields: {k: string, ts: string, x: double}
        stages:
          - name: s
            key: k
            features:
              - {name: m, kind: mean, field: x, window: 40d}
              - {name: m, kind: mode, field: x, window: 1h}
              - {name: q, kind: sum, field: k, window: 1h}
        model: {path: m.json, inputs: [x, m, nothing]}
        processing: {state_ttl: 30d}
        """
        let found = diagnostics(yaml)
        let text = found.map(\.description)
        #expect(text.contains("bad.yaml:4:11: error: source format must be one of: json, csv"))
        #expect(text.contains { $0.hasPrefix("bad.yaml:12:9: error: the window of 'm' reaches 40d, longer than the state TTL (30d)") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:13:25: error: unknown feature kind 'mode'") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:14:9: error: feature 'q' reads 'k', which is a string field") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:15:38: error: model input 'nothing' is not produced") })
        #expect(found.allSatisfy { $0.line > 0 && $0.column > 0 })
    }

    @Test func duplicateNamesUnknownKeysAndSyntax() {
        let duplicate = Self.valid + "\n      - {name: m, kind: count, window: 1h, colour: red}"
        let text = diagnostics(duplicate).map(\.description)
        #expect(text.contains { $0.contains("unknown key 'colour'") && $0.hasPrefix("bad.yaml:13:") })
        #expect(diagnostics(Self.valid + "\n  - {name: s, key: k, features: [{name: z, kind: count, window: 1h}]}").map(\.message).contains("duplicate stage name 's'"))
        let syntax = diagnostics("name: [unclosed\n")
        #expect(syntax.count == 1 && syntax[0].message.hasPrefix("not valid YAML") && syntax[0].line > 0)
        #expect(diagnostics(Self.valid.replacingOccurrences(of: "window: 1h", with: "window: 1 hour")).map(\.message).contains { $0.hasPrefix("window must be a duration") })
    }
}
