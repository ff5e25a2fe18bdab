import Foundation
import Testing
import VigilRuntime
import VigilTestSupport

/// The test process runs on the C library's malloc (only the `vigil` executable links jemalloc):
/// there the allocator is named for its object and glibc's fastbins are turned off, as `vigil
/// run` does when it finds no jemalloc. The executable itself must run on jemalloc.
@Suite struct ProcessAllocatorTests {
    @Test func withoutJemallocGlibcsFastbinsAreTurnedOff() {
        #expect(ProcessAllocator.jemallocVersion == nil)
        let line = ProcessAllocator.prepareForStreamProcessing()
        #if canImport(Glibc)
        // Under a sanitizer its interceptors in the test executable define malloc.
        #expect(ProcessAllocator.name.hasPrefix("malloc of "))
        #expect(line == "allocator: \(ProcessAllocator.name), fastbins off")
        #expect(ProcessAllocator.disableFastbins())
        #else
        #expect(!ProcessAllocator.disableFastbins())
        #endif
    }
}

extension ProcessAllocatorTests {
    /// `vigil --version` names the allocator the executable runs on: jemalloc, which it links
    /// (Package.swift), unless a sanitizer's malloc comes first (then this test process has
    /// the sanitizer's too, and the executable names its own malloc).
    @Test func theVigilExecutableRunsOnJemalloc() throws {
        let result = try RuntimeFixture.runVigil(["--version"])
        #expect(result.status == 0, "\(result.errors)")
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("allocator: ") }.map(String.init)
        let sanitized = !ProcessAllocator.name.contains("libc.so")
        if sanitized {
            #expect(line?.hasPrefix("allocator: malloc of ") == true, "\(result.output)")
        } else {
            #expect(line?.hasPrefix("allocator: jemalloc 5.") == true, "\(result.output)")
        }
    }
}
