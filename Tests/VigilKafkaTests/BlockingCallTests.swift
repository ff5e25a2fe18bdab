import Foundation
import Testing
import VigilKafka

/// Blocking calls run off the cooperative pool but inside the calling task.
struct BlockingCallTests {
    @TaskLocal static var marker: String?

    @Test func theBodyRunsInTheCallingTaskOnAThreadOfItsOwn() async throws {
        let seen = try await Self.$marker.withValue("outer") {
            try await BlockingCall.run { (Self.marker, Test.current?.name, Thread.isMainThread) }
        }
        // The task's locals reach the body: an #expect inside it is attributed to this test.
        #expect(seen.0 == "outer")
        #expect(seen.1 == Test.current?.name && seen.1 != nil)
        #expect(!seen.2)
    }

    @Test func manyBodiesMayBlockAtOnce() async throws {
        // More blocking bodies than cooperative threads: each waits for all to have started,
        // which only works if none of them holds a cooperative thread.
        let count = 16
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let timedOut = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await BlockingCall.run {
                        started.signal()
                        return release.wait(timeout: .now() + 30) == .timedOut
                    }
                }
            }
            group.addTask {
                try await BlockingCall.run {
                    let all = (0..<count).allSatisfy { _ in started.wait(timeout: .now() + 30) == .success }
                    for _ in 0..<count { release.signal() }
                    return !all
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(timedOut == 0)
    }
}
