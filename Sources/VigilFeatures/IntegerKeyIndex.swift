import CVigilKernels

/// Integer keys to slots in an open-addressing table with a multiplicative hash: most stages
/// are keyed by numeric ids, and this lookup costs a fraction of hashing a ``StateKey``
/// through `Hasher`. Each key sits beside its slot, so a lookup reads one cache line.
struct IntegerKeyIndex {
    private static let empty: Int32 = -1
    private static let deleted: Int32 = -2
    private struct Entry {
        var key: Int64
        var slot: Int32
    }
    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private(set) var count = 0
    private var used = 0  // live entries plus tombstones

    init() {
        capacity = 1024
        entries = Self.allocateEntries(capacity)
    }

    private static func allocateEntries(_ capacity: Int) -> UnsafeMutablePointer<Entry> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Entry>.stride, alignment: 64)
        return raw.initializeMemory(as: Entry.self, repeating: Entry(key: 0, slot: Self.empty), count: capacity)
    }

    /// Frees the table; call exactly once, from the owner's deinit.
    func deallocate() {
        entries.deallocate()
    }

    /// Asks the cache for the line where a lookup of `key` starts.
    @inline(__always)
    func prefetch(_ key: Int64) {
        vigil_prefetch(entries + home(key))
    }

    @inline(__always)
    private func home(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> 20) & (capacity - 1)
    }

    @inline(__always)
    func slot(of key: Int64) -> Int32? {
        var index = home(key)
        while true {
            let entry = entries[index]
            if entry.slot == Self.empty { return nil }
            if entry.slot >= 0 && entry.key == key { return entry.slot }
            index = (index + 1) & (capacity - 1)
        }
    }

    mutating func insert(_ key: Int64, slot: Int32) {
        if (used + 1) * 4 > capacity * 3 { rehash(to: count * 2 + 1 > capacity / 2 ? capacity * 2 : capacity) }
        var index = home(key)
        var firstDeleted = -1
        while true {
            let existing = entries[index].slot
            if existing == Self.empty { break }
            if existing == Self.deleted, firstDeleted < 0 { firstDeleted = index }
            if existing >= 0 && entries[index].key == key { entries[index].slot = slot; return }
            index = (index + 1) & (capacity - 1)
        }
        if firstDeleted >= 0 { index = firstDeleted } else { used += 1 }
        entries[index] = Entry(key: key, slot: slot)
        count += 1
    }

    mutating func remove(_ key: Int64) {
        var index = home(key)
        while true {
            let slot = entries[index].slot
            if slot == Self.empty { return }
            if slot >= 0 && entries[index].key == key {
                entries[index].slot = Self.deleted
                count -= 1
                return
            }
            index = (index + 1) & (capacity - 1)
        }
    }

    private mutating func rehash(to newCapacity: Int) {
        let old = entries, oldCapacity = capacity
        capacity = newCapacity
        entries = Self.allocateEntries(capacity)
        count = 0
        used = 0
        for index in 0..<oldCapacity where old[index].slot >= 0 { insert(old[index].key, slot: old[index].slot) }
        old.deallocate()
    }

    /// Bytes the table takes.
    var bytes: Int { capacity * MemoryLayout<Entry>.stride }
}
