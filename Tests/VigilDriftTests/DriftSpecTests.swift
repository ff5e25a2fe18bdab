import Foundation
import Testing
import VigilDrift
import VigilPipeline
import VigilTopology

/// The topology's `drift` section: defaults, the shipped card-fraud section, and every
/// mistake reported with file, line and column.
@Suite struct DriftSpecTests {
    /// A topology with a model over `x` and `y`; `drift` is appended as the last section.
    static func yaml(drift: String) -> String {
        """
        name: t
        source:
          topics: [in]
          format: json
          key: k
          timestamp: {field: ts, format: epoch_millis}
          fields: {k: string, ts: int, x: double, c: int}
        stages:
          - name: s
            key: k
            features:
              - {name: m, kind: mean, field: x, window: 1h}
              - {name: n, kind: count, window: 1h}
        model:
          path: model.json
          inputs: [x, m]
        drift:
        \(drift)
        """
    }

    /// A folder holding an (empty) `profile.json`, for the existence check.
    static func folderWithProfile() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-drift-spec-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/profile.json"))
        return folder
    }

    func diagnostics(_ drift: String, directory: String? = nil) -> [String] {
        do {
            _ = try TopologyLoader.load(yaml: Self.yaml(drift: drift), file: "bad.yaml", directory: directory)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func defaultsWatchTheModelInputsAndTheScore() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let topology = try TopologyLoader.load(yaml: Self.yaml(drift: "  profile: profile.json\n  window: 1d"), file: "t.yaml", directory: folder)
        let drift = try #require(topology.drift)
        #expect(drift.features == ["x", "m"] && drift.categorical.isEmpty && drift.monitorsScore)
        #expect(drift.windowLength == 86_400_000 && drift.minimumCount == 100)
        #expect(drift.thresholds == .standard && drift.featureThresholds.isEmpty)
        #expect(topology.resolvedDriftProfilePath == folder + "/profile.json")
        #expect(drift.profileLocation == DriftSpec.Location(file: "t.yaml", line: 18, column: 12))
    }

    @Test func explicitFeaturesCategoricalAndOverrides() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let section = """
              profile: profile.json
              window: 6h
              thresholds: {moderate: 0.2, major: 0.4}
              feature_thresholds:
                c: {major: 1.0}
                score: {moderate: 0.05, major: 0.1}
              min_count: 0
              features: [x, c, m, n]
              exclude: n
              categorical: [c]
              score: true
            """
        let drift = try #require(try TopologyLoader.load(yaml: Self.yaml(drift: section), file: "t.yaml", directory: folder).drift)
        #expect(drift.features == ["x", "c", "m"] && drift.categorical == ["c"] && drift.numericFeatures == ["x", "m"])
        #expect(drift.windowLength == 6 * 3_600_000 && drift.minimumCount == 0)
        #expect(drift.thresholds == .init(moderate: 0.2, major: 0.4))
        // A bound left out comes from the section's thresholds.
        #expect(drift.featureThresholds == ["c": .init(moderate: 0.2, major: 1.0), "score": .init(moderate: 0.05, major: 0.1)])
    }

    @Test func withoutAModelEveryFeatureAndNoScore() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let yaml = Self.yaml(drift: "  profile: profile.json\n  window: 1h")
            .replacingOccurrences(of: "model:\n  path: model.json\n  inputs: [x, m]\n", with: "")
        let drift = try #require(try TopologyLoader.load(yaml: yaml, file: "t.yaml", directory: folder).drift)
        #expect(drift.features == ["m", "n"] && !drift.monitorsScore)
    }

    @Test func shippedCardFraudSection() throws {
        let topology = try TopologyLoader.load(path: CardFraudData.topology)
        let drift = try #require(topology.drift)
        #expect(drift.features == ["TX_AMOUNT"] + CardFraudData.features.filter { $0 != "TX_DURING_WEEKEND" })
        #expect(drift.features.count == 14 && drift.monitorsScore && drift.categorical.isEmpty)
        #expect(drift.windowLength == 86_400_000 && drift.thresholds == .standard)
        #expect(topology.resolvedDriftProfilePath == CardFraudData.repositoryRoot + "/topologies/profiles/card-fraud.json")
        // The committed profile matches the section.
        let monitor = try #require(try PipelineDriftMonitor.load(topology: topology))
        #expect(monitor.profile.numericFeatures == drift.features && monitor.profile.score != nil)
        #expect(monitor.topic == "card-fraud.drift")
    }

    @Test func badWindow() {
        #expect(diagnostics("  profile: profile.json\n  window: 0d") == ["bad.yaml:19:11: error: drift window must be longer than zero"])
        #expect(diagnostics("  profile: profile.json\n  window: daily") == [
            "bad.yaml:19:11: error: drift window must be a duration such as 250ms, 30s, 15m, 2h, 7d or 1w",
        ])
        #expect(diagnostics("  profile: profile.json\n  window: {size: 1d}") == [
            "bad.yaml:19:11: error: drift window must be a duration such as 1h or 1d (drift windows tumble in event time)",
        ])
        #expect(diagnostics("  profile: profile.json") == ["bad.yaml:18:3: error: drift needs 'window'"])
    }

    @Test func unknownFeatures() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let section = """
              profile: profile.json
              window: 1d
              features: [x, amount, k]
              exclude: [nope]
              categorical: [n]
              feature_thresholds: {mm: {moderate: 0.2}}
            """
        #expect(diagnostics(section, directory: folder) == [
            "bad.yaml:20:17: error: drift feature 'amount' is not a numeric field or feature of the topology",
            "bad.yaml:20:25: error: drift feature 'k' is a string field; drift watches numeric fields and features (a categorical feature is compared by its values' text)",
            "bad.yaml:21:13: error: drift exclude 'nope' is not a numeric field or feature of the topology",
            "bad.yaml:22:17: error: drift categorical feature 'n' is not among the watched features",
            "bad.yaml:23:24: error: drift feature_thresholds names 'mm', which is not among the watched features or 'score'",
        ])
    }

    @Test func missingProfileFile() {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-no-profile-\(UUID().uuidString)").path
        #expect(diagnostics("  profile: profiles/none.json\n  window: 1d", directory: folder) == [
            "bad.yaml:18:12: error: drift profile 'profiles/none.json' not found (looked for \(folder)/profiles/none.json); build it with `vigil profile`",
        ])
        // `vigil profile` loads the topology before the profile exists.
        #expect(throws: Never.self) {
            try TopologyLoader.load(yaml: Self.yaml(drift: "  profile: profiles/none.json\n  window: 1d"), file: "t.yaml",
                                    directory: folder, requireDriftProfile: false)
        }
    }

    @Test func badThresholdsAndKeys() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let section = """
              profile: profile.json
              window: 1d
              thresholds: {moderate: 0.3, major: 0.2}
              feature_thresholds: {x: {moderate: -1}}
              min_count: -5
              score: maybe
              windw: 1d
            """
        #expect(diagnostics(section, directory: folder) == [
            "bad.yaml:20:15: error: drift thresholds need 0 < moderate ≤ major (PSI), got moderate 0.3, major 0.2",
            "bad.yaml:21:27: error: drift thresholds of 'x' need 0 < moderate ≤ major (PSI), got moderate -1.0, major 0.25",
            "bad.yaml:22:14: error: drift min_count must be zero or more",
            "bad.yaml:23:10: error: drift score must be true or false",
            "bad.yaml:24:3: error: unknown key 'windw' in drift; expected one of: profile, window, thresholds, feature_thresholds, min_count, categorical, features, exclude, score",
        ])
    }

    /// A profile that does not match the section is reported at the section's `profile` line.
    @Test func profileThatDoesNotMatchTheSection() throws {
        let folder = try Self.folderWithProfile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var builder = try ProfileBuilder(name: "t", numericFeatures: ["x", "n"])
        for value in 0..<50 { try builder.add(numeric: [Double(value), Double(value % 3)]) }
        try builder.build().encodedJSON().write(to: URL(fileURLWithPath: folder + "/profile.json"))
        let topology = try TopologyLoader.load(yaml: Self.yaml(drift: "  profile: profile.json\n  window: 1d"), file: "t.yaml", directory: folder)
        do {
            _ = try PipelineDriftMonitor.load(topology: topology)
            Issue.record("a mismatched profile loaded")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "t.yaml:18:12: error: drift profile 'profile.json': numeric features watched but not in the profile: m; numeric features in the profile but not watched: n; the section watches the score, the profile has none; rebuild it with `vigil profile`",
            ])
        }
        try Data("{\"formatVersion\": 7}".utf8).write(to: URL(fileURLWithPath: folder + "/profile.json"))
        do {
            _ = try PipelineDriftMonitor.load(topology: topology)
            Issue.record("a profile of an unknown version loaded")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "t.yaml:18:12: error: drift profile 'profile.json': profile formatVersion 7 is not supported (this build reads 1)",
            ])
        }
    }
}
