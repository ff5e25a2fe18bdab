import Dispatch

/// Runs blocking client calls (flush, commit, committed offsets, …) off Swift's cooperative
/// thread pool, so that waiting on the network never starves other tasks.
public enum BlockingCall {
    /// Runs `body` on a thread free to block and returns its result. It runs as part of the
    /// calling task (a task executor preference, not a continuation resumed from a queue), so
    /// the task's locals — a test's context, a logger's metadata — reach it.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withTaskExecutorPreference(BlockingExecutor.shared) { try body() }
    }
}

/// A task executor whose jobs run on a concurrent dispatch queue, where each may block its
/// thread for as long as a network call takes.
final class BlockingExecutor: TaskExecutor {
    static let shared = BlockingExecutor()
    private let queue = DispatchQueue(label: "vigil.kafka.blocking", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
