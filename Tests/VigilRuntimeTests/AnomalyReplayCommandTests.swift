import Foundation
import Testing
import VigilTestSupport

/// `vigil replay` itself with the anomaly paths: an Isolation Forest model named in a topology
/// scores as scikit-learn does, and `--report` writes the anomaly report of a labelled stream.
struct AnomalyReplayCommandTests {
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-anomaly-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func anIsolationForestTopologyReplaysWithScikitLearnsScores() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixtures = RepositoryFiles.root + "/Tests/VigilModelsTests/Fixtures"
        let topology = folder.appendingPathComponent("iforest.yaml").path
        // Model paths must stay inside the topology's folder: the model goes beside it.
        try FileManager.default.copyItem(atPath: fixtures + "/iforest.json", toPath: folder.appendingPathComponent("iforest.json").path)
        try """
        name: iforest
        source:
          topics: [rows]
          format: csv
          key: k
          id: [n]
          timestamp: { field: t, format: epoch_seconds }
          fields: { n: int, k: string, t: int, a: double, b: double, c: double, d: double, expected: double }
        stages:
          - name: rows
            key: k
            features:
              - { name: SEEN, kind: count, window: 1d }
        model:
          path: iforest.json
          inputs: [a, b, c, d]
        outputs:
          alerts: { rule: score >= 0.6 }
        """.write(toFile: topology, atomically: true, encoding: .utf8)
        let expected = try String(contentsOfFile: fixtures + "/iforest.expected.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let input = folder.appendingPathComponent("rows.csv").path
        let lines = expected.enumerated().map { "\($0.offset),k,\(1_600_000_000 + $0.offset),\($0.element)" }
        try ("n,k,t,a,b,c,d,expected\n" + lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("scores.csv").path
        let run = try RuntimeFixture.runVigil(["replay", "--topology", topology, "--input", input, "--output", output])
        #expect(run.status == 0, "\(run.errors)")
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(rows.count == expected.count)
        let worst = zip(rows, expected).map { abs(Double($0.0.last!)! - Double($0.1.split(separator: ",").last!)!) }.max() ?? .infinity
        #expect(worst <= 1e-12, "largest difference from scikit-learn's score_samples: \(worst)")
    }

    @Test func aReportOfALabelledSKABReplay() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Two experiment files as two keys, in SKAB's own ';' layout with an experiment column.
        var lines: [String] = []
        for file in ["valve1/2", "other/9"] {
            let text = try String(contentsOfFile: RepositoryFiles.skab + "/\(file).csv", encoding: .utf8).split(whereSeparator: \.isNewline)  // CRLF files
            if lines.isEmpty { lines.append("experiment;" + text[0]) }
            lines += text.dropFirst().map { "\(file);\($0)" }
        }
        let input = folder.appendingPathComponent("skab.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let report = folder.appendingPathComponent("report").path
        let run = try RuntimeFixture.runVigil(["replay", "--topology", RepositoryFiles.sensorAnomalyTopology, "--input", input,
                                               "--output", folder.appendingPathComponent("scores.csv").path, "--report", report,
                                               "--changepoint-label", "changepoint", "--nab-window", "60s"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.errors.contains("anomaly report in \(report): F1 "), "\(run.errors)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report + "/anomaly-report.json"))) as? [String: Any]
        #expect(json?["series"] as? Int == 2 && json?["rows"] as? Int == lines.count - 1)
        let f1 = json?["f1"] as? Double ?? 0
        #expect(f1 > 0.5 && f1 <= 1, "F1 \(f1)")
        let nab = json?["nab"] as? [String: [String: Double]]
        #expect(Set(nab?.keys.map { $0 } ?? []) == ["standard", "reward_low_FP", "reward_low_FN"])
        let html = try String(contentsOfFile: report + "/anomaly-report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("valve1/2") && html.contains("other/9"))
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""), "nothing fetched")
        #expect(!html.contains("<script") && !html.contains("src="))
        // A topology without detectors needs --anomaly-label to be reported on.
        let plain = try RuntimeFixture.runVigil(["replay", "--topology", RepositoryFiles.sensorTopology, "--input", input,
                                                 "--output", folder.appendingPathComponent("plain.csv").path, "--report", report])
        #expect(plain.status != 0 && plain.errors.contains("--anomaly-label"), "\(plain.errors)")
    }
}
