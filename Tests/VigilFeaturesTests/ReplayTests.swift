import Foundation
import Testing
import VigilCodec
import VigilPipeline
import VigilReplay
import VigilTopology

@Suite struct ReplayTests {
    static let sensors = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature", "Thermocouple", "Voltage", "Volume Flow RateRMS"]

    /// Melts a SKAB file (one row a second, one column per sensor) into one JSON event per reading.
    static func meltSKAB(_ path: String, into output: String) throws -> Int {
        let reader = CSVReader(source: try EncodedFile.openForReading(path), delimiter: UInt8(ascii: ";"))
        #expect(try reader.next())
        let header = reader.strings()
        let time = try #require(header.firstIndex(of: "datetime"))
        let anomaly = try #require(header.firstIndex(of: "anomaly"))
        let sink = try EncodedFile.createForWriting(output)
        var count = 0
        while try reader.next() {
            for sensor in sensors {
                let column = try #require(header.firstIndex(of: sensor))
                try sink.write(#"{"SENSOR": "\#(sensor)", "datetime": "\#(reader.string(time))", "VALUE": \#(reader.string(column)), "anomaly": \#(reader.string(anomaly))}"# + "\n")
                count += 1
            }
        }
        try sink.write("this line is not JSON\n")
        try sink.close()
        return count
    }

    @Test func sensorTopologyReplaysSKABReadings() throws {
        let skab = try TestData.require(TestData.sharedData + "/skab/valve1/0.csv")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-skab-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/readings.jsonl.lz4"
        let readings = try Self.meltSKAB(skab, into: input)
        let topology = try TopologyLoader.load(path: TestData.sensorTopology)
        let summary = try EventReplay(topology: topology).run(inputPath: input, outputPath: directory + "/features.csv")
        #expect(summary.eventsRead == readings + 1)
        #expect(summary.malformedCount == 1)
        #expect(summary.malformed.first?.place == .line(readings + 1))
        #expect(summary.rowsWritten == readings)
        #expect(summary.keysPerStage == [8])
        // Spot-check against a direct computation for one sensor.
        let rows = try String(contentsOfFile: directory + "/features.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        #expect(header == ["SENSOR", "datetime"] + topology.featureNames)
        let pressure = rows.dropFirst().filter { $0[0] == "Pressure" }
        let mean = try #require(header.firstIndex(of: "VALUE_MEAN_60S"))
        let since = try #require(header.firstIndex(of: "SECONDS_SINCE_LAST_READING"))
        #expect(pressure[1][since] == "1.0")
        #expect(Double(pressure[70][mean])!.isFinite)
    }
}
