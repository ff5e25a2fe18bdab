import Dispatch

/// Runs blocking client calls (flush, commit, committed offsets, …) off Swift's cooperative
/// thread pool, so that waiting on the network never starves other tasks.
public enum BlockingCall {
    private static let queue = DispatchQueue(label: "vigil.kafka.blocking", attributes: .concurrent)

    /// Runs `body` on a thread of its own and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
