import Foundation
import Testing
import VigilReplay
import VigilTestSupport
import VigilTopology

/// topologies/metric-anomaly.yaml on `timestamp,value` files, the layout of public anomaly
/// benchmarks: a score in [0, 1] per row, learnt from the stream itself; a `series` column,
/// when there is one, keys the series apart.
struct MetricTopologyTests {
    /// A slow cycle with noise, one value a minute, and a level shift of +40 for 30 rows from row `shift`.
    static func series(rows: Int, shift: Int, phase: Double = 0) -> [(String, Double)] {
        var generator = SeededRandom(seed: 3)
        let start = Date(timeIntervalSince1970: 1_600_000_000)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return (0..<rows).map { row in
            var value = 50 + 10 * sin(Double(row) / 60 + phase) + generator.normal()
            if row >= shift && row < shift + 30 { value += 40 }
            return (formatter.string(from: start.addingTimeInterval(Double(row) * 60)), value)
        }
    }

    static func replay(_ csv: String, name: String = "metric.csv") throws -> [[String]] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-metric-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent(name).path, output = folder.appendingPathComponent("scores.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let topology = try TopologyLoader.load(path: RepositoryFiles.metricAnomalyTopology)
        let summary = try EventReplay(topology: topology).run(inputPath: input, outputPath: output)
        #expect(summary.malformedCount == 0 && summary.rejectedCount == 0)
        return try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func aTimestampValueFileGetsAScorePerRow() throws {
        let rows = Self.series(rows: 1500, shift: 1200)
        let table = try Self.replay("timestamp,value\n" + rows.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n")
        #expect(table[0] == ["timestamp", "series", "ANOMALY", "ANOMALY_RAW", "ANOMALY_LIKELIHOOD", "score"])
        #expect(table.count == 1 + rows.count)
        #expect(zip(table.dropFirst(), rows).allSatisfy { $0[0] == $1.0 }, "each row carries its timestamp, in order")
        let scores = table.dropFirst().map { Double($0.last!)! }
        #expect(scores.allSatisfy { (0...1).contains($0) })
        // Warm-up: the likelihood stays 0.5 for the first 388 rows (NAB's learning period and samples).
        #expect(scores.prefix(388).allSatisfy { abs($0 - log(0.5000000001) / log(1.0 - 0.9999999999)) < 1e-12 })
        // The shift raises the alarm within its first ten rows; elsewhere it stays quiet.
        let firstAlarm = scores.indices.first { $0 >= 388 && scores[$0] >= 0.5 }
        #expect(firstAlarm.map { (1200..<1210).contains($0) } == true, "first alarm at row \(String(describing: firstAlarm))")
        #expect(scores[388..<1200].allSatisfy { $0 < 0.5 } && scores[1240...].filter { $0 >= 0.5 }.count <= 3)
    }

    @Test func aSeriesColumnKeysSeriesApart() throws {
        let a = Self.series(rows: 500, shift: 450), b = Self.series(rows: 500, shift: -100, phase: 1)
        var lines = ["series,timestamp,value"]
        for index in 0..<500 { lines += ["a,\(a[index].0),\(a[index].1)", "b,\(b[index].0),\(b[index].1)"] }
        let table = try Self.replay(lines.joined(separator: "\n") + "\n")
        #expect(table.count == 1001)
        // Series a alone, through the same topology without the column, scores the same.
        let alone = try Self.replay("timestamp,value\n" + a.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n")
        #expect(stride(from: 1, to: 1001, by: 2).allSatisfy { table[$0][1] == "a" && table[$0 + 1][1] == "b" }, "each row names its series")
        let fromBoth = stride(from: 1, to: 1001, by: 2).map { table[$0].last! }
        #expect(fromBoth == alone.dropFirst().map { $0.last! })
    }

    @Test func jsonLinesScoreAsCSVRows() throws {
        let rows = Self.series(rows: 600, shift: 500)
        let csv = try Self.replay("timestamp,value\n" + rows.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n")
        let json = try Self.replay(rows.map { #"{"timestamp": "\#($0.0)", "value": \#($0.1)}"# }.joined(separator: "\n") + "\n", name: "metric.jsonl")
        #expect(json.count == 601 && json.dropFirst().map { $0.last! } == csv.dropFirst().map { $0.last! })
    }
}
