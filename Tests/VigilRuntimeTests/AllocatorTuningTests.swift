import Testing
import VigilRuntime

/// `vigil run` turns glibc's fastbins off; on glibc the setting must take.
@Suite struct AllocatorTuningTests {
    @Test func fastbinsAreTurnedOffOnGlibc() {
        #if canImport(Glibc)
        #expect(AllocatorTuning.applyForStreamProcessing())
        #else
        #expect(!AllocatorTuning.applyForStreamProcessing())
        #endif
    }
}
