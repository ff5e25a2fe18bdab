import Foundation

/// The calling thread's CPU time (user and system), from `CLOCK_THREAD_CPUTIME_ID`. On Linux
/// this clock is a system call, not a vDSO read: call it per batch, not per record.
public enum ThreadCPU {
    /// Nanoseconds of CPU this thread has used since it started.
    public static func nanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The same in seconds.
    public static func seconds() -> Double { Double(nanoseconds()) / 1e9 }
}
