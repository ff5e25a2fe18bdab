/// Key slots: creation, the least-recently-seen list, capacity eviction (by keys and by
/// bytes), the bytes each key is charged, and TTL expiry.
extension FeatureEngine {
    /// Creates state for a new key, evicting the least recently seen key first when full.
    func createSlot(for key: StateKey) -> Int {
        if keyCount >= configuration.maxKeys, lruTail >= 0, !replayingOperations {
            evict(slot: Int(lruTail))
            statistics.keysEvictedForCapacity += 1
        }
        let slot = allocateSlot(for: key)
        let state = header(slot)
        state.epoch = batchEpoch
        if batchOpen {
            touched.append(key)
            if configuration.recordsUndo { undoLog.append((key, nil)) }
        }
        return slot
    }

    /// Takes a free slot (growing the slab if needed) and gives it an empty header.
    func allocateSlot(for key: StateKey) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
        } else {
            slot = keys.count
            if slot == slotCapacity {
                let grown = slotLimit > slotCapacity ? min(slotCapacity * 2, slotLimit) : slotCapacity * 2
                let larger = UnsafeMutableRawPointer.allocate(byteCount: grown * slotStride, alignment: Self.cacheLine)
                larger.copyMemory(from: headers, byteCount: slotCapacity * slotStride)
                headers.deallocate()
                headers = larger
                let largerLinks = UnsafeMutablePointer<RecencyLink>.allocate(capacity: grown)
                largerLinks.initialize(from: links, count: slotCapacity)
                links.deallocate()
                links = largerLinks
                slotCapacity = grown
                keys.reserveCapacity(grown)
            }
            keys.append(nil)
            if plan.distinctCount > 0 { distinctTables.append([]) }
        }
        let state = header(slot)
        state.raw.initializeMemory(as: UInt8.self, repeating: 0, count: plan.headerSize)
        state.maxTime = .min
        for output in plan.outputs where output.ewmaOffset >= 0 { state.setInt(output.ewmaOffset + 8, .min) }
        if plan.distinctCount > 0 { distinctTables[slot] = Array(repeating: [:], count: plan.distinctCount) }
        for detector in detectors { detector.reset(slot: slot) }
        keys[slot] = key
        setSlot(Int32(slot), for: key)
        links[slot] = RecencyLink(previous: -1, next: lruHead)
        if lruHead >= 0 { links[Int(lruHead)].previous = Int32(slot) }
        lruHead = Int32(slot)
        if lruTail < 0 { lruTail = Int32(slot) }
        recharge(slot: slot)
        return slot
    }

    /// Removes a key's state (recording it for rollback and as touched).
    func evict(slot: Int) {
        if loggingOperations { logRemoval(key: keys[slot]!) }
        noteTouch(slot)
        releaseSlot(slot)
    }

    /// Frees a slot without any bookkeeping.
    func releaseSlot(_ slot: Int) {
        let state = header(slot)
        stateBytes -= state.chargedBytes
        state.chargedBytes = 0
        unlink(slot)
        if let block = state.ringBlock { rings.deallocate(block, capacity: state.capacity) }
        state.ringBlock = nil
        if let key = keys[slot] { setSlot(nil, for: key) }
        keys[slot] = nil
        if plan.distinctCount > 0 { distinctTables[slot] = [] }
        for detector in detectors { detector.release(slot: slot) }
        freeSlots.append(Int32(slot))
        slotReleases &+= 1
    }

    /// Evicts the least recently seen keys while the state holds more than the byte budget,
    /// never `slot`: the key of the event just processed, the most recent, keeps its update.
    /// A key larger than the budget on its own is therefore kept, alone, until the next event of
    /// another key makes it the least recently seen (and evicts it).
    @inline(never)
    func evictOverByteBudget(keeping slot: Int) {
        while stateBytes > byteBudget, lruTail >= 0, Int(lruTail) != slot, !replayingOperations {
            evict(slot: Int(lruTail))
            statistics.keysEvictedForCapacity += 1
        }
    }

    /// Whether a key's charge can change other than by its ring block's resizing (which
    /// ``resize(slot:capacity:)`` charges itself): it has distinct-count tables or detectors.
    var chargesVariableBytes: Bool { plan.distinctCount > 0 || !detectors.isEmpty }

    /// Brings `slot`'s charge, and ``stateBytes``, to what its state holds now.
    func recharge(slot: Int) {
        let state = header(slot)
        let bytes = accountedBytes(slot: slot)
        stateBytes += bytes - state.chargedBytes
        state.chargedBytes = bytes
    }

    /// The bytes `slot`'s state holds, as ``stateBytes`` counts them, from the state itself.
    func accountedBytes(slot: Int) -> Int {
        let state = header(slot)
        var bytes = slotBytes + Self.keyBytes(keys[slot]!) + state.capacity * plan.bytesPerBufferedEvent
        if plan.distinctCount > 0 { for table in distinctTables[slot] { bytes += table.capacity * Self.distinctEntryBytes } }
        for detector in detectors { bytes += detector.byteCount(slot: slot) }
        return bytes
    }

    /// A key's entry in the key index, and a text key's bytes beyond the 15 a Swift string
    /// keeps inline.
    static func keyBytes(_ key: StateKey) -> Int {
        switch key {
        case .int: return IntegerKeyIndex.entryBytes
        case let .string(text):
            let length = text.utf8.count
            return MemoryLayout<StateKey>.stride + MemoryLayout<Int32>.stride + (length > 15 ? length : 0)
        }
    }

    /// An entry of a distinct-count table (`[UInt64: Int32]`): its key and its count.
    static let distinctEntryBytes = 12

    /// Records a key as touched in the open batch, and its prior state for rollback, once per
    /// batch; nothing without an open batch.
    @inline(__always)
    func noteTouch(_ slot: Int) {
        let state = header(slot)
        guard batchOpen, state.epoch != batchEpoch else { return }
        state.epoch = batchEpoch
        let key = keys[slot]!
        touched.append(key)
        if configuration.recordsUndo {
            let start = undoBytes.bytes.count
            encodeState(slot: slot, into: &undoBytes, layout: .raw)
            undoLog.append((key, start..<undoBytes.bytes.count))
        }
    }

    @inline(__always)
    func moveToFront(_ slot: Int) {
        guard lruHead != Int32(slot) else { return }
        unlink(slot)
        links[slot] = RecencyLink(previous: -1, next: lruHead)
        if lruHead >= 0 { links[Int(lruHead)].previous = Int32(slot) }
        lruHead = Int32(slot)
        if lruTail < 0 { lruTail = Int32(slot) }
    }

    @inline(__always)
    private func unlink(_ slot: Int) {
        let previous = links[slot].previous
        let next = links[slot].next
        if previous >= 0 { links[Int(previous)].next = next } else if lruHead == Int32(slot) { lruHead = next }
        if next >= 0 { links[Int(next)].previous = previous } else if lruTail == Int32(slot) { lruTail = previous }
        links[slot] = RecencyLink(previous: -1, next: -1)
    }

    /// Drops keys whose newest event is older than `now − stateTTL`, walking from the least
    /// recently seen; returns how many. Call with the stream's event time, e.g. once a batch.
    ///
    /// A TTL no shorter than the longest window plus the allowed lateness (the loader's rule)
    /// drops only keys whose windows are all empty, so expiry never changes a feature.
    @discardableResult
    public func expireIdleKeys(now: Int64) -> Int {
        var expired = 0
        let cutoff = now - configuration.stateTTL
        while lruTail >= 0 {
            let slot = Int(lruTail)
            let newest = header(slot).maxTime
            guard newest != .min, newest < cutoff else { break }
            evict(slot: slot)
            expired += 1
        }
        statistics.keysExpired += expired
        return expired
    }

    /// The keys from least to most recently seen (for tests and diagnostics).
    public var keysByRecency: [StateKey] {
        var result: [StateKey] = []
        var slot = lruTail
        while slot >= 0 {
            result.append(keys[Int(slot)]!)
            slot = links[Int(slot)].previous
        }
        return result
    }
}
