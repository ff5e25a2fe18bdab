import Testing
import VigilTestSupport
import VigilTopology

/// The `detectors` of a stage in topology files, and the errors a bad one gets.
struct DetectorTopologyTests {
    static func yaml(_ detectors: String, model: String = "model:\n  score: D\n") -> String {
        """
        name: t
        source:
          topics: [t]
          format: csv
          key: series
          optional: [series]
          timestamp: { field: ts }
          fields: { ts: string, series: string, a: double, b: double, s: string }
        stages:
          - name: s
            key: series
            detectors:
        \(detectors)
        \(model)
        outputs:
          alerts: { rule: score >= 0.5 }
        """
    }

    @Test func shippedAnomalyTopologiesLoad() throws {
        let sensor = try TopologyLoader.load(path: RepositoryFiles.sensorAnomalyTopology)
        guard case let .pcaBaseline(settings)? = sensor.stages.first?.detectors.first?.kind else { Issue.record("not a pca_baseline"); return }
        #expect(settings.baselineEvents == 400 && settings.confidence == 0.9999 && settings.average == 5 && settings.smoothing == 0.3)
        #expect(sensor.model?.scoreFeature == "ANOMALY" && sensor.resolvedModelPath == nil)
        #expect(sensor.featureNames == ["ANOMALY", "ANOMALY_T2", "ANOMALY_Q"])
        let metric = try TopologyLoader.load(path: RepositoryFiles.metricAnomalyTopology)
        #expect(metric.source.optionalFields == ["series"])
        #expect(metric.featureNames == ["ANOMALY", "ANOMALY_RAW", "ANOMALY_LIKELIHOOD"])
    }

    @Test func settingsAreRead() throws {
        let topology = try TopologyLoader.load(yaml: Self.yaml("""
                  - { name: D, kind: half_space_trees, fields: [a, b], trees: 4, height: 5, window: 30, seed: 7, limits: { a: [0, 10] } }
                  - { name: P, kind: pca_baseline, fields: [a, b], baseline: 10m, limits: empirical, forgetting: 0.01 }
            """), file: "t.yaml")
        guard case let .halfSpaceTrees(trees) = topology.stages[0].detectors[0].kind,
              case let .pcaBaseline(pca) = topology.stages[0].detectors[1].kind else { Issue.record("kinds"); return }
        #expect(trees.trees == 4 && trees.height == 5 && trees.window == 30 && trees.seed == 7 && trees.limits == ["a": 0...10])
        #expect(pca.baselineSpan == 600_000 && pca.limits == .empirical && pca.forgetting == 0.01)
    }

    @Test func badDetectorsAreNamedWithTheirLine() {
        let cases: [(String, String)] = [
            ("      - { name: D, kind: lof, fields: [a] }", "unknown detector kind 'lof'"),
            ("      - { name: D, kind: gaussian_tail, fields: [a, b] }", "reads exactly one field"),
            ("      - { name: D, kind: gaussian_tail, fields: [s] }", "'s', which is a string field"),
            ("      - { name: D, kind: gaussian_tail, fields: [zz] }", "'zz', which is not a declared field"),
            ("      - { name: D, kind: pca_baseline, fields: [a, b], baseline: 2 }", "more events than fields + 1"),
            ("      - { name: D, kind: pca_baseline, fields: [a, b], window: 3 }", "takes no 'window'"),
            ("      - { name: D, kind: pca_baseline, fields: [a, b], confidence: 1 }", "confidence must be in (0, 1)"),
            ("      - { name: a, kind: gaussian_tail, fields: [b] }", "duplicate name 'a'"),
            ("      - { name: D, kind: half_space_trees, fields: [a], limits: { b: [0, 1] } }", "limits name 'b'"),
        ]
        for (detector, message) in cases {
            do {
                _ = try TopologyLoader.load(yaml: Self.yaml(detector), file: "t.yaml")
                Issue.record("loaded despite: \(message)")
            } catch {
                #expect(error.diagnostics.contains { $0.message.contains(message) && $0.line > 0 }, "\(message): \(error.diagnostics)")
            }
        }
    }
}
