import Foundation
import Testing
@testable import VigilDrift

@Suite struct ReferenceProfileTests {
    /// A small profile with every kind of entry: two numeric features, a categorical one, the score.
    static func sampleProfile() throws -> ReferenceProfile {
        var builder = try ProfileBuilder(
            name: "card-fraud", numericFeatures: ["TX_AMOUNT", "TX_DURING_NIGHT"], categoricalFeatures: ["channel"],
            includesScore: true, configuration: .init(bins: 10, sketchResolution: 200))
        for index in 0..<1000 {
            let amount = index % 17 == 0 ? Double.nan : Double((index * 7919) % 1000) / 10
            try builder.add(
                eventTimeMs: 1_532_476_800_000 + Int64(index) * 60_000,
                numeric: [amount, index % 4 == 0 ? 1 : 0],
                categorical: [index % 50 == 0 ? nil : ["web", "pos", "atm"][index % 3]],
                score: Double(index % 100) / 100)
        }
        return try builder.build()
    }

    @Test func jsonRoundTripIsExact() throws {
        let profile = try Self.sampleProfile()
        let decoded = try ReferenceProfile.decode(from: profile.encodedJSON())
        #expect(decoded == profile)
        let start: Int64 = 1_532_476_800_000
        let end: Int64 = start + 999 * 60_000
        #expect(decoded.periodStartMs == start)
        #expect(decoded.periodEndMs == end)
        #expect(decoded.eventCount == 1000)
        #expect(decoded.numericFeatures == ["TX_AMOUNT", "TX_DURING_NIGHT"])
        #expect(decoded.score?.feature == "score")
    }

    @Test func summariesDescribeTheData() throws {
        let profile = try Self.sampleProfile()
        let amount = profile.numeric[0]
        #expect(amount.missingCount == 59)
        #expect(isClose(amount.missingShare, 59.0 / 1000))
        #expect(amount.binEdges.count == 9)
        #expect(isClose(amount.binProportions.reduce(0, +), 1))
        #expect(amount.sketch.knots.count == 201)
        #expect(amount.sketch.knots.first == amount.min && amount.sketch.knots.last == amount.max)
        // A 0/1 flag with 25 % ones has two distinct deciles, so three bins rather than ten
        // mostly empty ones; the last holds values above the reference maximum.
        let night = profile.numeric[1]
        #expect(night.binEdges == [0, 1])
        #expect(night.binProportions == [0.75, 0.25, 0])
        let channel = profile.categorical[0]
        #expect(channel.categories == ["atm", "pos", "web"])
        #expect(channel.missingCount == 20)
    }

    @Test func unknownFormatVersionIsRejectedFirst() throws {
        let data = Data(#"{"formatVersion": 2, "somethingNew": true}"#.utf8)
        #expect(throws: DriftError.unsupportedFormatVersion(2)) { try ReferenceProfile.decode(from: data) }
    }

    @Test func brokenInvariantNamesTheField() throws {
        var profile = try Self.sampleProfile()
        profile.numeric[0].binEdges[3] = profile.numeric[0].binEdges[2]
        let data = try profile.encodedJSON()
        let error = #expect(throws: DriftError.self) { try ReferenceProfile.decode(from: data) }
        #expect(error?.description.contains("numeric[0] (TX_AMOUNT).binEdges[3]") == true, "\(String(describing: error))")

        var unsorted = try Self.sampleProfile()
        unsorted.score?.sketch.knots[5] = -1
        let error2 = #expect(throws: DriftError.self) { try ReferenceProfile.decode(from: unsorted.encodedJSON()) }
        #expect(error2?.description.contains("score (score).sketch.knots[5]") == true, "\(String(describing: error2))")
    }

    @Test func builderRejectsBadInput() throws {
        #expect(throws: DriftError.duplicateFeature("a")) { try ProfileBuilder(name: "p", numericFeatures: ["a", "a"]) }
        #expect(throws: DriftError.duplicateFeature("score")) {
            try ProfileBuilder(name: "p", numericFeatures: ["score"], includesScore: true)
        }
        #expect(throws: DriftError.self) { try ProfileBuilder(name: "p", numericFeatures: ["a"], configuration: .init(bins: 1)) }
        #expect(throws: DriftError.self) {
            try ProfileBuilder(name: "p", numericFeatures: ["a"], configuration: .init(bins: 10, sketchResolution: 5))
        }
        var builder = try ProfileBuilder(name: "p", numericFeatures: ["a", "b"])
        #expect(throws: DriftError.rowShape(kind: "numeric", expected: 2, got: 1)) { try builder.add(numeric: [1]) }
        try builder.add(numeric: [1, .nan])
        #expect(throws: DriftError.emptyFeature("b")) { try builder.build() }
    }
}
