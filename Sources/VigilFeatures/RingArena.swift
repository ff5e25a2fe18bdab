import Glibc

/// Memory for an engine's ring blocks (each key's buffered events).
///
/// Each event touches a few lines of one key's ring block, and the keys' blocks are scattered
/// over the whole state: with 4 KiB pages nearly every such line is also a TLB miss, and in a
/// virtual machine a miss walks two page tables. So once an engine holds more than
/// ``hugeThreshold`` bytes of rings, new blocks come from 2 MiB chunks the kernel is asked to
/// back with transparent huge pages (`madvise(MADV_HUGEPAGE)`; the kernel's default,
/// `enabled=madvise`, gives them only to regions that ask). Measured with FeatureBench on the
/// handbook (25 MB of state, 15k keys): the feature engine's CPU time fell from 0.46–0.48 s to
/// 0.41–0.43 s (bench/README.md, "Feature engine"). Below the threshold, and for blocks larger
/// than a chunk's eighth, blocks come from `malloc`: a small engine keeps no 2 MiB chunk.
///
/// Chunks are carved in order; a freed block goes to a free list by capacity (capacities are
/// powers of two) and is reused by the next block of that capacity. Chunks are returned to
/// the kernel when the arena goes.
struct RingArena: ~Copyable {
    static let chunkBytes = 2 << 20
    /// Bytes of live ring blocks from which new blocks come from huge-page chunks.
    static let hugeThreshold = 4 << 20
    /// Carved blocks start on a cache line, so a ring's columns span as few lines as they can.
    static let alignment = 64

    private let bytesPerEvent: Int
    private var chunks: [UnsafeMutableRawPointer] = []
    /// The chunks' start addresses: whether a block came from one.
    private var chunkStarts: Set<UInt> = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    /// Freed chunk blocks by log2 of their capacity, linked through their first word.
    private var freeLists = [UnsafeMutableRawPointer?](repeating: nil, count: Int.bitWidth)
    /// Bytes of live blocks, from either source.
    private(set) var liveBytes = 0

    /// An arena for blocks of `bytesPerEvent` bytes per buffered event.
    init(bytesPerEvent: Int) {
        self.bytesPerEvent = bytesPerEvent
    }

    deinit {
        for chunk in chunks { munmap(chunk, Self.chunkBytes) }
    }

    /// A block for `capacity` events (a power of two).
    mutating func allocate(capacity: Int) -> UnsafeMutableRawPointer {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "ring capacities are powers of two")
        let bytes = capacity * bytesPerEvent
        liveBytes += bytes
        let sizeClass = capacity.trailingZeroBitCount
        if let block = freeLists[sizeClass] {
            freeLists[sizeClass] = block.load(as: UnsafeMutableRawPointer?.self)
            return block
        }
        let carved = (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
        guard liveBytes >= Self.hugeThreshold, carved <= Self.chunkBytes / 8 else {
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        }
        if remaining < carved {
            guard let chunk = Self.mapChunk() else { return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16) }
            chunks.append(chunk)
            chunkStarts.insert(UInt(bitPattern: chunk))
            cursor = chunk
            remaining = Self.chunkBytes
        }
        let block = cursor!
        cursor = block + carved
        remaining -= carved
        return block
    }

    /// Returns a block `allocate(capacity:)` gave.
    mutating func deallocate(_ block: UnsafeMutableRawPointer, capacity: Int) {
        liveBytes -= capacity * bytesPerEvent
        let start = UInt(bitPattern: block) & ~UInt(Self.chunkBytes - 1)
        if chunkStarts.contains(start) {
            let sizeClass = capacity.trailingZeroBitCount
            block.storeBytes(of: freeLists[sizeClass], as: UnsafeMutableRawPointer?.self)
            freeLists[sizeClass] = block
        } else {
            block.deallocate()
        }
    }

    /// A chunk aligned to its size, advised to be backed by huge pages; nil if the kernel has no memory for it.
    private static func mapChunk() -> UnsafeMutableRawPointer? {
        // Map twice the size and unmap what lies outside the aligned middle.
        let span = 2 * chunkBytes
        guard let mapped = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else { return nil }
        let address = UInt(bitPattern: mapped)
        let aligned = (address + UInt(chunkBytes) - 1) & ~UInt(chunkBytes - 1)
        let head = Int(aligned - address)
        if head > 0 { munmap(mapped, head) }
        let tail = span - head - chunkBytes
        if tail > 0 { munmap(mapped + head + chunkBytes, tail) }
        let chunk = mapped + head
        _ = madvise(chunk, chunkBytes, MADV_HUGEPAGE)
        return chunk
    }
}
