import Testing
import VigilRuntime

/// `vigil run` turns glibc's fastbins off; on glibc the setting must take. (It changes the
/// allocator of the whole test process, beside the tests running with it: harmless, as for
/// `vigil run`, where librdkafka's threads are up when it is called later than first.)
@Suite struct AllocatorTuningTests {
    @Test func fastbinsAreTurnedOffOnGlibc() {
        #if canImport(Glibc)
        #expect(AllocatorTuning.disableFastbins())
        #else
        #expect(!AllocatorTuning.disableFastbins())
        #endif
    }
}
