internal import CVigilAllocator

/// The C allocator's setting for a process that runs a ``StreamRuntime``.
///
/// glibc's malloc keeps small freed chunks in fastbins (behind each thread's cache of a few
/// chunks a size) and, before it serves a request of about 1 KiB or more from an arena that
/// holds fast chunks, merges every one of them back into its free lists (`malloc_consolidate`).
/// The runtime's thread fills its own arena's fastbins by the thousand between polls — the
/// records it produces, freed on delivery with their headers, and its own small objects — and
/// every poll's batch buffers are requests of kilobytes, so each of them walked the chunks
/// first. With fastbins off, a chunk is merged when it is freed, and the walk goes.
///
/// Measured live (bench/README, "Where the two cores go at Vigil's limit", cut 3): at 102,515
/// events/s `malloc_consolidate` went from 1.5-1.7 % of the runtime thread's samples to none,
/// and its CPU an event fell by about 5 %.
public enum AllocatorTuning {
    /// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`; the same as
    /// `GLIBC_TUNABLES=glibc.malloc.mxfast=0`). `vigil run` and `vigil demo` call it first
    /// thing; later is safe too (glibc merges what its fastbins hold). Returns whether the
    /// setting was made: false, and nothing done, on another C library.
    @discardableResult
    public static func disableFastbins() -> Bool {
        vigil_allocator_disable_fastbins() == 1
    }
}
