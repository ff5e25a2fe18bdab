internal import CVigilAllocator

/// The C allocator of a process that runs a ``StreamRuntime``: which one serves `malloc`, and
/// its setting for stream processing.
///
/// The `vigil` executable links jemalloc on Linux (Package.swift; left out of sanitizer builds,
/// whose runtime serves `malloc` itself). The runtime's thread allocates and frees by the
/// thousand between polls, much of it across threads — the records it produces are freed after
/// their delivery, the records it consumes were allocated on librdkafka's broker threads — and
/// glibc's malloc serves what overflows each thread's small cache from its arenas' lists, at a
/// cost measured in bench/README ("jemalloc as `vigil`'s allocator").
///
/// Without jemalloc (a test process, a program that embeds the runtime) glibc's malloc gets the
/// setting that measured best for it: fastbins off. glibc keeps small freed chunks in fastbins
/// and, before it serves a request of about 1 KiB or more from an arena that holds fast chunks,
/// merges every one of them back (`malloc_consolidate`); the runtime's thread fills its arena's
/// fastbins between polls, and every poll's batch buffers are requests of kilobytes
/// (bench/README, "Where the two cores go at Vigil's limit", cut 3).
public enum ProcessAllocator {
    /// What serves the process's `malloc`.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        /// jemalloc, with its version.
        case jemalloc(version: String)
        /// A sanitizer's runtime ("address" or "thread").
        case sanitizer(String)
        /// Another `malloc`: the file of the object that defines it (glibc's `libc.so.6`), when known.
        case other(object: String?)

        public var description: String {
            switch self {
            case .jemalloc(let version): "jemalloc \(version)"
            case .sanitizer(let name): "the \(name) sanitizer's malloc"
            case .other(let object): "malloc of \(object ?? "an unknown object")"
            }
        }
    }

    /// What ``prepareForStreamProcessing()`` found and did.
    public struct Preparation: Equatable, Sendable, CustomStringConvertible {
        public let allocator: Kind
        /// Whether glibc's fastbins were turned off; nil when not tried (jemalloc, a sanitizer).
        public let fastbinsOff: Bool?

        public var description: String {
            switch fastbinsOff {
            case nil: "\(allocator)"
            case true?: "\(allocator), fastbins off"
            case false?: "\(allocator), as it comes (mallopt refused: not glibc's malloc)"
            }
        }
    }

    /// What serves `malloc` in this process, asked of the allocators themselves.
    public static var current: Kind {
        let version = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            vigil_allocator_jemalloc_version(buffer.baseAddress, buffer.count) == 1 ? String(cString: buffer.baseAddress!) : nil
        }
        if let version { return .jemalloc(version: version) }
        if let sanitizer = vigil_allocator_sanitizer() { return .sanitizer(String(cString: sanitizer)) }
        return .other(object: vigil_allocator_malloc_object().map { String(cString: $0) })
    }

    /// Sets the allocator up for stream processing: glibc's fastbins off where glibc's malloc
    /// serves; nothing under jemalloc, a sanitizer or another allocator. `vigil run` and
    /// `vigil demo` call it first thing; later is safe too (glibc merges what its fastbins hold).
    @discardableResult
    public static func prepareForStreamProcessing() -> Preparation {
        let allocator = current
        guard case .other = allocator else { return Preparation(allocator: allocator, fastbinsOff: nil) }
        return Preparation(allocator: allocator, fastbinsOff: disableFastbins())
    }

    /// Turns glibc's fastbins off for the whole process (`mallopt(M_MXFAST, 0)`; the same as
    /// `GLIBC_TUNABLES=glibc.malloc.mxfast=0`). Returns whether the setting was made: false,
    /// and nothing done, where `malloc` is not glibc's (the check is the C side's, where
    /// `malloc` and `mallopt` are bound).
    @discardableResult
    public static func disableFastbins() -> Bool {
        vigil_allocator_disable_fastbins() == 1
    }
}
