import CVigilKernels

/// Integer keys to slots. Most stages are keyed by numeric ids, and most ids are small and
/// dense (customer and terminal numbers): those index an array of slots directly (4 bytes a
/// key, so the array of a few thousand keys stays in cache); the others go to an
/// open-addressing table with a multiplicative hash, each key beside its slot so a lookup reads
/// one cache line. Either costs a fraction of hashing a ``StateKey`` through `Hasher`.
struct IntegerKeyIndex {
    private static let empty: Int32 = -1
    private static let deleted: Int32 = -2
    private struct Entry {
        var key: Int64
        var slot: Int32
    }
    /// Slots of keys 0..<directCapacity (`empty` where a key has none).
    private var direct: UnsafeMutablePointer<Int32>
    private var directCapacity: Int
    private var directCount = 0
    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var hashedCount = 0
    private var used = 0  // live entries plus tombstones

    /// Keys held.
    var count: Int { directCount + hashedCount }

    /// What a key is charged for its place in the index: a hash-table entry (a key in the
    /// direct array takes 4 bytes of it, but the array spans unused keys too).
    static let entryBytes = MemoryLayout<Entry>.stride

    init() {
        capacity = 1024
        entries = Self.allocateEntries(capacity)
        directCapacity = 1024
        direct = Self.allocateDirect(directCapacity)
    }

    private static func allocateEntries(_ capacity: Int) -> UnsafeMutablePointer<Entry> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Entry>.stride, alignment: 64)
        return raw.initializeMemory(as: Entry.self, repeating: Entry(key: 0, slot: Self.empty), count: capacity)
    }

    private static func allocateDirect(_ capacity: Int) -> UnsafeMutablePointer<Int32> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        return raw.initializeMemory(as: Int32.self, repeating: Self.empty, count: capacity)
    }

    /// Frees the table; call exactly once, from the owner's deinit.
    func deallocate() {
        entries.deallocate()
        direct.deallocate()
    }

    /// Asks the cache for the line where a lookup of `key` starts.
    @inline(__always)
    func prefetch(_ key: Int64) {
        if UInt64(bitPattern: key) < UInt64(directCapacity) {
            vigil_prefetch(direct + Int(key))
        } else {
            vigil_prefetch(entries + home(key))
        }
    }

    @inline(__always)
    private func home(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> 20) & (capacity - 1)
    }

    @inline(__always)
    func slot(of key: Int64) -> Int32? {
        if UInt64(bitPattern: key) < UInt64(directCapacity) {
            let slot = direct[Int(key)]
            return slot >= 0 ? slot : nil
        }
        var index = home(key)
        while true {
            let entry = entries[index]
            if entry.slot == Self.empty { return nil }
            if entry.slot >= 0 && entry.key == key { return entry.slot }
            index = (index + 1) & (capacity - 1)
        }
    }

    mutating func insert(_ key: Int64, slot: Int32) {
        if key >= directCapacity, key < Int64(Self.directLimit(keys: count + 1)) { growDirect(toCover: Int(key)) }
        if UInt64(bitPattern: key) < UInt64(directCapacity) {
            if direct[Int(key)] < 0 { directCount += 1 }
            direct[Int(key)] = slot
            return
        }
        insertHashed(key, slot: slot)
    }

    /// The largest direct array worth its memory for `keys` keys: at most 8 entries a key
    /// (32 bytes, about what the hash table spends on one), and never less than 4096.
    private static func directLimit(keys: Int) -> Int { max(4096, 8 * keys) }

    private mutating func growDirect(toCover key: Int) {
        var newCapacity = directCapacity
        while newCapacity <= key { newCapacity *= 2 }
        let old = direct
        direct = Self.allocateDirect(newCapacity)
        direct.update(from: old, count: directCapacity)
        old.deallocate()
        directCapacity = newCapacity
        // Keys of the hash table now in the direct range move there.
        let oldEntries = entries, oldCapacity = capacity
        entries = Self.allocateEntries(capacity)
        hashedCount = 0
        used = 0
        for index in 0..<oldCapacity where oldEntries[index].slot >= 0 {
            let entry = oldEntries[index]
            if UInt64(bitPattern: entry.key) < UInt64(directCapacity) {
                direct[Int(entry.key)] = entry.slot
                directCount += 1
            } else {
                insertHashed(entry.key, slot: entry.slot)
            }
        }
        oldEntries.deallocate()
    }

    private mutating func insertHashed(_ key: Int64, slot: Int32) {
        if (used + 1) * 4 > capacity * 3 { rehash(to: hashedCount * 2 + 1 > capacity / 2 ? capacity * 2 : capacity) }
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
        hashedCount += 1
    }

    mutating func remove(_ key: Int64) {
        if UInt64(bitPattern: key) < UInt64(directCapacity) {
            if direct[Int(key)] >= 0 { directCount -= 1 }
            direct[Int(key)] = Self.empty
            return
        }
        var index = home(key)
        while true {
            let slot = entries[index].slot
            if slot == Self.empty { return }
            if slot >= 0 && entries[index].key == key {
                entries[index].slot = Self.deleted
                hashedCount -= 1
                return
            }
            index = (index + 1) & (capacity - 1)
        }
    }

    private mutating func rehash(to newCapacity: Int) {
        let old = entries, oldCapacity = capacity
        capacity = newCapacity
        entries = Self.allocateEntries(capacity)
        hashedCount = 0
        used = 0
        for index in 0..<oldCapacity where old[index].slot >= 0 { insertHashed(old[index].key, slot: old[index].slot) }
        old.deallocate()
    }

    /// Bytes the table takes.
    var bytes: Int { capacity * MemoryLayout<Entry>.stride + directCapacity * 4 }
}
