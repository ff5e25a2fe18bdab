internal import CVigilAllocator

/// The C allocator's setting for a process that runs a ``StreamRuntime``.
///
/// glibc's malloc keeps small freed chunks in fastbins and, before it serves any request of
/// 1 KiB or more, merges every one of them back into its free lists (`malloc_consolidate`). A
/// stream processor's thread is the worst case for that: librdkafka frees its per-record memory
/// (messages, headers, fetch operations) on the thread that polls and produces, thousands of
/// chunks between polls, and each poll's batch buffers are requests of kilobytes, so those
/// requests walk the chunks first. With fastbins off, a freed chunk is merged when it is freed
/// (after the per-thread cache, which still serves small requests first), and the walk goes.
///
/// Measured live (`EndToEndBench`, Vigil alone at 102,515 events/s on a fresh broker, perf at
/// 1,999 Hz, the same binary with and without, three pairs): malloc's own functions fell from
/// 14.5-15.4 % of the runtime thread's samples to 11.1-13.5 % (`malloc_consolidate` 1.5-1.7 %
/// to nothing) and the thread's samples for the same events by 10-17 %; over eleven pairs its
/// CPU an event went from 5.04 to 4.76 µs on average, lower in eight (bench/README, "The
/// allocator's fastbins").
public enum AllocatorTuning {
    /// Turns glibc's fastbins off for the whole process. Call once at start, before the
    /// runtime's clients exist; `vigil run` and `vigil demo` do. Nothing elsewhere than glibc.
    /// Returns whether the setting was made.
    @discardableResult
    public static func applyForStreamProcessing() -> Bool {
        vigil_allocator_disable_fastbins() == 1
    }
}
