import Foundation
import Testing
@testable import VigilDrift

@Suite struct DriftMonitorTests {
    static let hour: Int64 = 3_600_000

    /// One numeric feature uniform on 0..<1000, one categorical, and a score uniform on [0, 1).
    static func profile() throws -> ReferenceProfile {
        var builder = try ProfileBuilder(
            name: "reference", numericFeatures: ["x"], categoricalFeatures: ["c"], includesScore: true,
            configuration: .init(sketchResolution: 100))
        for index in 0..<1000 {
            try builder.add(numeric: [Double(index)], categorical: [index % 2 == 0 ? "even" : "odd"], score: Double(index) / 1000)
        }
        return try builder.build()
    }

    static func monitor(thresholds: DriftThresholdPolicy = DriftThresholdPolicy(minimumCount: 10)) throws -> DriftMonitor {
        try DriftMonitor(profile: profile(), configuration: .init(name: "test", windowLengthMs: hour, thresholds: thresholds))
    }

    /// `count` events spread over hour `hour`, with x drawn like the reference (shifted by `shift`).
    static func feed(
        _ monitor: inout DriftMonitor, hour index: Int64, count: Int, shift: Double = 0, scoreShift: Double = 0
    ) throws -> [DriftEmission] {
        var emissions = [DriftEmission]()
        for event in 0..<count {
            let value = Double((event * 1000) / count)
            if let emission = try monitor.observe(
                eventTimeMs: index * hour + Int64(event) * (hour / Int64(count)),
                numeric: [value + shift], categorical: [event % 2 == 0 ? "even" : "odd"],
                score: Swift.min(value / 1000 + scoreShift, 0.999))
            {
                emissions.append(emission)
            }
        }
        return emissions
    }

    /// Flushes, requiring an open window.
    static func close(_ monitor: inout DriftMonitor) throws -> DriftEmission {
        let emission = monitor.flush()
        return try #require(emission)
    }

    @Test func windowClosesWhenALaterWindowStartsAndOnFlush() throws {
        var monitor = try Self.monitor()
        #expect(try Self.feed(&monitor, hour: 400_000, count: 500).isEmpty)
        #expect(monitor.currentWindow?.startMs == 400_000 * Self.hour)
        let closing = try Self.feed(&monitor, hour: 400_001, count: 200)
        #expect(closing.count == 1)
        let record = try #require(closing.first?.record)
        #expect(record.windowStartMs == 400_000 * Self.hour && record.windowEndMs == 400_001 * Self.hour)
        #expect(record.count == 500 && record.lateCount == 0)
        #expect(record.numeric[0].count == 500 && record.categorical[0].count == 500 && record.score?.count == 500)
        #expect(record.severity == .none && closing[0].alerts.isEmpty)

        // Hours 400_002..400_004 have no events: they produce no record.
        let afterGap = try Self.feed(&monitor, hour: 400_005, count: 100)
        #expect(afterGap.map(\.record.windowStartMs) == [400_001 * Self.hour])
        let last = monitor.flush()
        #expect(last?.record.windowStartMs == 400_005 * Self.hour && last?.record.count == 100)
        let nothing = monitor.flush()
        #expect(nothing == nil && monitor.currentWindow == nil)
    }

    @Test func lateEventsAreCountedButNotMixedIn() throws {
        var monitor = try Self.monitor()
        _ = try Self.feed(&monitor, hour: 10, count: 100)
        _ = try Self.feed(&monitor, hour: 11, count: 100)
        let late = try monitor.observe(eventTimeMs: 10 * Self.hour + 5, numeric: [1e9], categorical: ["odd"], score: 0.5)
        #expect(late == nil)
        let record = try Self.close(&monitor).record
        #expect(record.count == 100 && record.lateCount == 1)
        #expect(record.numeric[0].max == 990)
    }

    @Test func windowsAlignToTheOffsetAndFloorNegativeTimes() throws {
        var monitor = try DriftMonitor(
            profile: Self.profile(),
            configuration: .init(name: "test", windowLengthMs: 86_400_000, windowOffsetMs: -7_200_000))
        _ = try monitor.observe(eventTimeMs: -1, numeric: [1], categorical: ["odd"], score: 0.1)
        let start: Int64 = -7_200_000
        let end: Int64 = 86_400_000 - 7_200_000
        #expect(monitor.currentWindow?.startMs == start)
        #expect(monitor.currentWindow?.endMs == end)
        let emission = try monitor.observe(eventTimeMs: end, numeric: [1], categorical: ["odd"], score: 0.1)
        #expect(emission?.record.windowStartMs == start)
    }

    @Test func shiftRaisesMajorAlertsAndTheyCarryThePreviousSeverity() throws {
        var monitor = try Self.monitor()
        _ = try Self.feed(&monitor, hour: 0, count: 500)
        // x moves up by 300 (PSI well above 0.25); the score moves up by 0.08 (moderate).
        let first = try Self.feed(&monitor, hour: 1, count: 500, shift: 300, scoreShift: 0.08)
        #expect(first.count == 1 && first[0].alerts.isEmpty)
        let second = try #require(try Self.feed(&monitor, hour: 2, count: 500, shift: 300).first)
        let xDrift = second.record.numeric[0]
        let psi = try #require(xDrift.psi)
        #expect(psi >= 0.25 && xDrift.severity == .major)
        #expect(second.record.severity == .major)
        let scoreDrift = try #require(second.record.score)
        let scorePSI = try #require(scoreDrift.psi)
        #expect(scorePSI >= 0.1 && scorePSI < 0.25 && scoreDrift.severity == .moderate, "score PSI \(scorePSI)")
        #expect(second.record.categorical[0].severity == .none)

        let alerts = second.alerts
        try #require(alerts.map(\.feature) == ["x", "score"])
        let xAlert = alerts[0]
        #expect(xAlert.role == "numeric" && xAlert.statistic == "psi" && xAlert.value == psi)
        #expect(xAlert.threshold == 0.25 && xAlert.severity == .major && xAlert.previousSeverity == .none)
        let hour = Self.hour
        #expect(xAlert.windowStartMs == hour && xAlert.count == 500 && xAlert.name == "test" && xAlert.profile == "reference")
        #expect(alerts[1].role == "score" && alerts[1].threshold == 0.1 && alerts[1].severity == .moderate)

        let third = try Self.close(&monitor)
        #expect(third.alerts.map(\.feature) == ["x"])
        #expect(third.alerts.first?.previousSeverity == .major)
    }

    @Test func perFeatureThresholdsAndMinimumCountApply() throws {
        let lenient = try DriftThresholds(moderate: 5, major: 10)
        var monitor = try Self.monitor(thresholds: DriftThresholdPolicy(perFeature: ["x": lenient], minimumCount: 10))
        _ = try Self.feed(&monitor, hour: 0, count: 500, shift: 300)
        let emission = try Self.close(&monitor)
        #expect(emission.record.numeric[0].severity == .none && emission.alerts.isEmpty)

        var sparse = try Self.monitor(thresholds: DriftThresholdPolicy(minimumCount: 100))
        _ = try Self.feed(&sparse, hour: 0, count: 20, shift: 600)
        let small = try Self.close(&sparse)
        #expect((small.record.numeric[0].psi ?? 0) > 1, "statistics are still reported")
        #expect(small.record.numeric[0].severity == .none && small.alerts.isEmpty)

        #expect(throws: DriftError.self) { try DriftThresholds(moderate: 0.3, major: 0.2) }
        #expect(throws: DriftError.self) {
            try DriftMonitor(profile: Self.profile(), configuration: .init(name: "t", windowLengthMs: 0))
        }
    }

    @Test func restoringACheckpointUndoesABatch() throws {
        var monitor = try Self.monitor()
        _ = try Self.feed(&monitor, hour: 0, count: 300)
        let checkpoint = monitor.checkpoint()
        // The aborted batch closes hour 0, shifts severity state and opens hour 1.
        let aborted = try Self.feed(&monitor, hour: 1, count: 300, shift: 500)
        _ = monitor.flush()
        #expect(aborted.count == 1)
        monitor.restore(checkpoint)
        #expect(monitor.checkpoint() == checkpoint)

        var untouched = try Self.monitor()
        _ = try Self.feed(&untouched, hour: 0, count: 300)
        #expect(untouched.checkpoint() == checkpoint)

        let replayed = try Self.feed(&monitor, hour: 1, count: 300, shift: 400)
        let expected = try Self.feed(&untouched, hour: 1, count: 300, shift: 400)
        #expect(replayed == expected)
        let (restoredLast, untouchedLast) = (monitor.flush(), untouched.flush())
        #expect(restoredLast == untouchedLast)
    }

    @Test func checkpointIsNotAliasedByLaterChanges() throws {
        var monitor = try Self.monitor()
        _ = try Self.feed(&monitor, hour: 0, count: 10)
        let checkpoint = monitor.checkpoint()
        _ = try Self.feed(&monitor, hour: 0, count: 10)
        #expect(monitor.currentWindow?.count == 20)
        monitor.restore(checkpoint)
        #expect(monitor.currentWindow?.count == 10)
    }

    @Test func recordsAreOneLineJSONThatRoundTrips() throws {
        var monitor = try Self.monitor()
        _ = try Self.feed(&monitor, hour: 0, count: 200, shift: 300)
        // A window where x is always missing: its statistics are absent, not NaN.
        let closed = try monitor.observe(eventTimeMs: Self.hour, numeric: [.nan], categorical: [nil], score: nil)
        let shifted = try #require(closed)
        let missingOnlyEmission = try #require(try Self.feed(&monitor, hour: 2, count: 1).first)
        let line = try shifted.record.jsonLine()
        let text = try #require(String(data: line, encoding: .utf8))
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix(#"{"categorical":[{"chiSquare":"#))
        #expect(try JSONDecoder().decode(DriftRecord.self, from: line) == shifted.record)
        let alertLine = try #require(shifted.alerts.first, "a 300 shift alerts").jsonLine()
        #expect(try JSONDecoder().decode(DriftAlert.self, from: alertLine) == shifted.alerts.first)
        #expect(String(data: alertLine, encoding: .utf8)?.contains(#""type":"drift_alert""#) == true)

        let empty = try Self.feed(&monitor, hour: 3, count: 0) // nothing to close
        #expect(empty.isEmpty)
        let missingOnly = missingOnlyEmission.record
        let hour = Self.hour
        #expect(missingOnly.windowStartMs == hour && missingOnly.count == 1)
        #expect(missingOnly.numeric[0].count == 0 && missingOnly.numeric[0].missingShare == 1)
        let missingText = try #require(String(data: try missingOnly.jsonLine(), encoding: .utf8))
        #expect(!missingText.contains("psi") && !missingText.contains("NaN"))
    }

    @Test func rowsOfTheWrongShapeAreRejected() throws {
        var monitor = try Self.monitor()
        #expect(throws: DriftError.rowShape(kind: "numeric", expected: 1, got: 2)) {
            try monitor.observe(eventTimeMs: 0, numeric: [1, 2], categorical: ["odd"])
        }
        #expect(throws: DriftError.rowShape(kind: "categorical", expected: 1, got: 0)) {
            try monitor.observe(eventTimeMs: 0, numeric: [1])
        }
    }

    /// Events as columns, in chunks of any size, give the monitor the same windows, late counts,
    /// emissions and sums, to the bit, as the same events one at a time: across window changes,
    /// late events, missing numbers, categories and scores.
    @Test func columnsGiveTheSameResultsAsEventsOneAtATime() throws {
        var oneByOne = try Self.monitor()
        var byColumns = try Self.monitor()
        var generator = SystemRandomNumberGenerator()
        var time = 500_000 * Self.hour
        var emittedOne: [DriftEmission] = []
        var emittedColumns: [DriftEmission] = []
        for _ in 0..<40 {
            let count = Int.random(in: 0...300, using: &generator)
            var columns = DriftEventColumns()
            columns.count = count
            columns.categorical = [[]]
            var xs: [Double] = []
            for _ in 0..<count {
                // Mostly forward in time, crossing hours; now and then an hour or two back (late).
                time += Int64.random(in: 0...(Self.hour / 40), using: &generator)
                let eventTime = Int.random(in: 0..<50, using: &generator) == 0 ? time - Int64.random(in: 1...2, using: &generator) * Self.hour : time
                let x = Int.random(in: 0..<20, using: &generator) == 0 ? Double.nan : Double.random(in: -100...1100, using: &generator)
                let category: String? = Int.random(in: 0..<20, using: &generator) == 0 ? nil : ["even", "odd", "new"].randomElement(using: &generator)
                let score = Int.random(in: 0..<20, using: &generator) == 0 ? Double.nan : Double.random(in: 0..<1, using: &generator)
                if let emission = try oneByOne.observe(eventTimeMs: eventTime, numeric: [x], categorical: [category], score: score.isNaN ? nil : score) {
                    emittedOne.append(emission)
                }
                columns.times.append(eventTime)
                xs.append(x)
                columns.categorical[0].append(category)
                columns.scores.append(score)
            }
            columns.numeric = xs
            emittedColumns += try byColumns.observe(columns)
            #expect(byColumns.checkpoint() == oneByOne.checkpoint())
        }
        #expect(emittedOne.count > 5)
        #expect(emittedColumns == emittedOne)
        #expect(byColumns.flush() == oneByOne.flush())
    }
}
