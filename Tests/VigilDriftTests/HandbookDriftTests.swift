import Testing
@testable import VigilDrift

let handbookDriftTestsRun: Bool = {
    #if DEBUG
    false
    #else
    HandbookTransactions.isAvailable
    #endif
}()

/// The end-to-end scenario on the card-fraud handbook data, over the raw columns the
/// drift monitor can see without the feature pipeline: `TX_AMOUNT` and the night flag
/// (`TX_DURING_NIGHT`, hour 0..6). Profile: the handbook's training week 2018-07-25..31 (days
/// 115..121); monitoring: the 30 days after (2018-08-01..30, days 122..151) in daily windows.
/// Streams 1.5 million rows, so it runs in release builds only (the project's test command).
@Suite(.enabled(if: handbookDriftTestsRun, "needs a release build and ../shared/data/fraud-handbook"))
struct HandbookDriftTests {
    static let features = ["TX_AMOUNT", "TX_DURING_NIGHT"]
    static let day: Int64 = 86_400_000

    struct Run {
        var records: [DriftRecord] = []
        var alerts: [DriftAlert] = []
    }

    /// Builds the profile, then monitors days 122..151 with amounts multiplied by 1.5 from
    /// `shiftFromDay` on.
    static func run(shiftFromDay: Int?) throws -> Run {
        var builder = try ProfileBuilder(name: "card-fraud 2018-07-25..31", numericFeatures: features)
        var monitor: DriftMonitor?
        var run = Run()
        try HandbookTransactions.forEach { transaction in
            guard transaction.day <= 151 else { return false }
            guard transaction.day >= 115 else { return true }
            let night: Double = transaction.hour <= 6 ? 1 : 0
            if transaction.day <= 121 {
                try builder.add(eventTimeMs: transaction.timeMs, numeric: [transaction.amount, night])
                return true
            }
            if monitor == nil {
                monitor = try DriftMonitor(
                    profile: builder.build(), configuration: .init(name: "card-fraud", windowLengthMs: day))
            }
            let shifted = shiftFromDay.map { transaction.day >= $0 } ?? false
            let amount = shifted ? transaction.amount * 1.5 : transaction.amount
            if let emission = try monitor?.observe(eventTimeMs: transaction.timeMs, numeric: [amount, night]) {
                run.records.append(emission.record)
                run.alerts += emission.alerts
            }
            return true
        }
        if let emission = monitor?.flush() {
            run.records.append(emission.record)
            run.alerts += emission.alerts
        }
        return run
    }

    @Test func unshiftedMonthAfterTheProfileRaisesNoAlert() throws {
        let run = try Self.run(shiftFromDay: nil)
        #expect(run.records.count == 30)
        #expect(run.records.allSatisfy { $0.count > 9000 && $0.lateCount == 0 })
        #expect(run.alerts.isEmpty, "\(run.alerts)")
        // Observed: daily amount PSI at most ~0.003, two orders of magnitude below 0.1.
        let worst = run.records.compactMap { $0.numeric[0].psi }.max() ?? .infinity
        #expect(worst < 0.01, "largest daily amount PSI \(worst)")
    }

    @Test func amountsTimesOnePointFiveAlertInTheFirstFullWindow() throws {
        // 2018-08-15 is day 136; day windows start at UTC midnight, so its window is the first
        // full one after the shift.
        let run = try Self.run(shiftFromDay: 136)
        let shiftStart = HandbookTransactions.originMs + 136 * Self.day
        let before = run.alerts.filter { $0.windowStartMs < shiftStart }
        #expect(before.isEmpty, "\(before)")
        let first = try #require(run.alerts.first)
        #expect(first.windowStartMs == shiftStart)
        #expect(first.feature == "TX_AMOUNT" && first.severity >= .moderate && first.value >= 0.1)
        // Every shifted day alerts on the amount and only on the amount.
        let shiftedDays = run.records.filter { $0.windowStartMs >= shiftStart }
        #expect(shiftedDays.count == 16)
        #expect(Set(run.alerts.map(\.windowStartMs)) == Set(shiftedDays.map(\.windowStartMs)))
        #expect(run.alerts.allSatisfy { $0.feature == "TX_AMOUNT" })
        let record = try #require(shiftedDays.first)
        #expect((record.numeric[0].wassersteinNormalized ?? 0) > 0.2)
        #expect((record.numeric[0].ks ?? 0) > 0.1)
    }
}
