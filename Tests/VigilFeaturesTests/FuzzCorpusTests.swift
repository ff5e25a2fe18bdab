import Foundation
import Testing
import VigilFuzzHarness
import VigilTestSupport

/// The committed fuzz corpus (seeds, and every input libFuzzer found that crashed, hung or
/// allocated without bound, kept as a regression) runs through the same harness as
/// `scripts/fuzz`, without libFuzzer: none may crash.
@Suite struct FuzzCorpusTests {
    static let corpus = RepositoryFiles.root + "/Tests/Fuzz"

    @Test(arguments: FuzzTarget.allCases)
    func theCorpusRunsThroughTheHarness(target: FuzzTarget) throws {
        var count = 0
        for folder in ["corpus", "regressions"] {
            let directory = "\(Self.corpus)/\(folder)/\(target.rawValue)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)")))
                bytes.withUnsafeBufferPointer { FuzzHarness.run(target, $0) }
                count += 1
            }
        }
        #expect(count > 0, "no seeds for \(target.rawValue) in \(Self.corpus)/corpus")
    }
}
