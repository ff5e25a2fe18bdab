internal import CVigilAllocator

/// The C allocator of a process that runs a ``StreamRuntime``: which one serves `malloc`, and
/// its setting for stream processing.
///
/// The `vigil` executable links jemalloc (Package.swift). The runtime's thread allocates and
/// frees by the thousand between polls — the records it produces (freed on delivery, often on
/// another thread, with their headers), the records it consumes (allocated on librdkafka's
/// broker threads), its own small objects — which glibc's malloc serves from its free lists
/// once each thread's small cache runs over. Live at 115,329–164,210 events/s, eighteen
/// alternating pairs on fresh brokers, the runtime thread's CPU an event went from 4.21 µs on
/// average under glibc (with fastbins off) to 3.93 under jemalloc, lower in 15 pairs and equal
/// in 2; at 102,515/s glibc's malloc and free took 11.9 % of the thread's samples, jemalloc's
/// 5.0 % (bench/README, "jemalloc as `vigil`'s allocator").
///
/// Without jemalloc (a test process, a program that embeds the runtime) glibc's malloc gets
/// the setting that measured best for it: fastbins off. glibc keeps small freed chunks in
/// fastbins and, before it serves a request of about 1 KiB or more from an arena that holds
/// fast chunks, merges every one of them back (`malloc_consolidate`); the runtime's thread
/// fills its arena's fastbins between polls and every poll's batch buffers are requests of
/// kilobytes. With fastbins off `malloc_consolidate` went from 1.5–1.7 % of the runtime
/// thread's samples to none, its CPU an event about 5 % lower (bench/README, "Where the two
/// cores go at Vigil's limit", cut 3).
public enum ProcessAllocator {
    /// jemalloc's version when jemalloc serves this process's `malloc`, else nil.
    public static var jemallocVersion: String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            guard vigil_allocator_jemalloc_version(buffer.baseAddress, buffer.count) == 1 else { return nil }
            return String(cString: buffer.baseAddress!)
        }
    }

    /// Which allocator serves `malloc`: `jemalloc VERSION`, or the object that defines it
    /// (glibc's `libc.so.6`; the executable itself under a sanitizer).
    public static var name: String {
        if let version = jemallocVersion { return "jemalloc \(version)" }
        guard let object = vigil_allocator_malloc_object() else { return "unknown" }
        let path = String(cString: object)
        return "malloc of \(path.isEmpty ? "the executable" : path)"
    }

    /// Sets the allocator up for stream processing and says what it did, for the log: nothing
    /// under jemalloc; glibc's fastbins off otherwise. `vigil run` and `vigil demo` call it first
    /// thing; later is safe too (glibc merges what its fastbins hold).
    @discardableResult
    public static func prepareForStreamProcessing() -> String {
        if let version = jemallocVersion { return "allocator: jemalloc \(version)" }
        return "allocator: \(name), " + (disableFastbins() ? "fastbins off" : "as it comes (not glibc)")
    }

    /// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`; the same as
    /// `GLIBC_TUNABLES=glibc.malloc.mxfast=0`). Returns whether the setting was made: false,
    /// and nothing done, on another C library.
    @discardableResult
    public static func disableFastbins() -> Bool {
        vigil_allocator_disable_fastbins() == 1
    }
}
