import Foundation
import Testing
import VigilRuntime
import VigilTestSupport

/// The test process runs on the C library's malloc (only the `vigil` executable links jemalloc),
/// or on a sanitizer's: there the allocator is named for what it is, and glibc's fastbins are
/// turned off as `vigil run` does without jemalloc. The executable itself must run on jemalloc
/// unless it was built with a sanitizer (which leaves jemalloc out).
@Suite struct ProcessAllocatorTests {
    @Test func withoutJemallocGlibcsFastbinsAreTurnedOff() {
        let preparation = ProcessAllocator.prepareForStreamProcessing()
        #expect(preparation.allocator == ProcessAllocator.current)
        switch ProcessAllocator.current {
        case .jemalloc(let version):
            Issue.record("the test process runs on jemalloc \(version): is it preloaded?")
        case .sanitizer(let name):
            #expect(["address", "thread"].contains(name))
            #expect(preparation.fastbinsOff == nil)
            #expect("\(preparation)" == "the \(name) sanitizer's malloc")
        case .other(let object):
            #if canImport(Glibc)
            #expect(object?.hasSuffix("/libc.so.6") == true, "\(String(describing: object))")
            #expect(preparation.fastbinsOff == true)
            #expect("\(preparation)" == "malloc of \(object ?? ""), fastbins off")
            #expect(ProcessAllocator.disableFastbins())
            #endif
        }
    }

    /// `vigil --version` names the allocator the executable runs on.
    @Test func theVigilExecutableRunsOnJemalloc() throws {
        let result = try RuntimeFixture.runVigil(["--version"])
        #expect(result.status == 0, "\(result.errors)")
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("allocator: ") }.map(String.init)
        if case .sanitizer(let name) = ProcessAllocator.current {
            // Built with the same sanitizer as this test process, and without jemalloc.
            #expect(line == "allocator: the \(name) sanitizer's malloc", "\(result.output)")
        } else {
            #expect(line?.hasPrefix("allocator: jemalloc 5.") == true, "\(result.output)")
        }
    }
}
