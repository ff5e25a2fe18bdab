/// Integer keys to slots in an open-addressing table with a multiplicative hash: most stages
/// are keyed by numeric ids, and this lookup costs a fraction of hashing a ``StateKey``
/// through `Hasher`.
struct IntegerKeyIndex {
    private static let empty: Int32 = -1
    private static let deleted: Int32 = -2
    private var keys: UnsafeMutablePointer<Int64>
    private var slots: UnsafeMutablePointer<Int32>
    private var capacity: Int
    private(set) var count = 0
    private var used = 0  // live entries plus tombstones

    init() {
        capacity = 1024
        keys = .allocate(capacity: capacity)
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Self.empty, count: capacity)
    }

    /// Frees the table; call exactly once, from the owner's deinit.
    func deallocate() {
        keys.deallocate()
        slots.deallocate()
    }

    @inline(__always)
    private func home(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> 20) & (capacity - 1)
    }

    @inline(__always)
    func slot(of key: Int64) -> Int32? {
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot == Self.empty { return nil }
            if slot >= 0 && keys[index] == key { return slot }
            index = (index + 1) & (capacity - 1)
        }
    }

    mutating func insert(_ key: Int64, slot: Int32) {
        if (used + 1) * 4 > capacity * 3 { rehash(to: count * 2 + 1 > capacity / 2 ? capacity * 2 : capacity) }
        var index = home(key)
        var firstDeleted = -1
        while true {
            let existing = slots[index]
            if existing == Self.empty { break }
            if existing == Self.deleted, firstDeleted < 0 { firstDeleted = index }
            if existing >= 0 && keys[index] == key { slots[index] = slot; return }
            index = (index + 1) & (capacity - 1)
        }
        if firstDeleted >= 0 { index = firstDeleted } else { used += 1 }
        keys[index] = key
        slots[index] = slot
        count += 1
    }

    mutating func remove(_ key: Int64) {
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot == Self.empty { return }
            if slot >= 0 && keys[index] == key {
                slots[index] = Self.deleted
                count -= 1
                return
            }
            index = (index + 1) & (capacity - 1)
        }
    }

    private mutating func rehash(to newCapacity: Int) {
        let oldKeys = keys, oldSlots = slots, oldCapacity = capacity
        capacity = newCapacity
        keys = .allocate(capacity: capacity)
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Self.empty, count: capacity)
        count = 0
        used = 0
        for index in 0..<oldCapacity where oldSlots[index] >= 0 { insert(oldKeys[index], slot: oldSlots[index]) }
        oldKeys.deallocate()
        oldSlots.deallocate()
    }

    /// Bytes the table takes.
    var bytes: Int { capacity * 12 }
}
