import Foundation
import Testing
import VigilTestSupport

/// The README's first quick-start command ends in `vigil demo`: it must score every sample event
/// exactly once and show the alerts, against the real broker, with no reference data.
@Suite(.serialized)
struct DemoCommandTests {
    @Test func demoScoresEverySampleEventAndShowsTheAlerts() throws {
        let (status, text, _) = try RuntimeFixture.runVigil([
            "demo", "--events", "4000", "--rate", "8000", "--bootstrap", TestBroker.bootstrap,
            "--topology", RuntimeFixture.repository.appendingPathComponent("topologies/card-fraud.yaml").path,
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("4000 transactions scored exactly once"), "\(text)")
        #expect(text.contains(", 0 dead letters"), "\(text)")
        // The sample data's fraud scenarios include amounts over 220, which the model flags.
        #expect(text.contains("ALERT  tx "), "\(text)")
    }
}
