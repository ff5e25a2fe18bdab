import VigilCodec

/// Per-key state snapshots: a versioned binary form, LZ4-compressed, that restores exactly
/// (every running sum and its compensation bit for bit, every buffered event, every deque).
extension FeatureEngine {
    static let snapshotMagic: UInt32 = 0x5647_4B53  // "VGKS"
    /// The snapshot format version; a reader rejects any other.
    public static let snapshotVersion: UInt8 = 1

    /// Every key with state, in no particular order.
    public var allKeys: [StateKey] { keys.compactMap { $0 } }

    /// The key's state as a compressed snapshot, or nil if the key has none.
    public func snapshot(key: StateKey) -> [UInt8]? {
        withSnapshot(key: key) { $0.map { Array($0) } }
    }

    /// The same snapshot, lent to `body` from buffers the engine keeps (nil if the key has no
    /// state): a changelog writes one per key a transaction touched, without allocating.
    public func withSnapshot<R, E: Error>(key: StateKey, _ body: (UnsafeRawBufferPointer?) throws(E) -> R) throws(E) -> R {
        guard let slot = slotOf(key) else { return try body(nil) }
        var writer = snapshotScratch
        snapshotScratch = ByteWriter(capacity: 0)
        var compressed = compressedScratch
        compressedScratch = []
        defer {
            snapshotScratch = writer
            compressedScratch = compressed
        }
        writer.removeAll()
        encodeState(slot: Int(slot), into: &writer)
        let length = writer.bytes.withUnsafeBytes { LZ4Block.compress($0, into: &compressed) }
        let result: Result<R, E> = compressed.withUnsafeBytes { block in
            do throws(E) { return .success(try body(UnsafeRawBufferPointer(rebasing: block[..<length]))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Installs a snapshot made by ``snapshot(key:)`` of an engine with the same stage layout,
    /// replacing the key's current state; returns the key. Not recorded in the open batch.
    @discardableResult
    public func restore(snapshot: [UInt8]) throws -> StateKey {
        let encoded = try LZ4Block.decompress(snapshot)
        if let key = try? Self.decodeKey(encoded), let slot = slotOf(key) { releaseSlot(Int(slot)) }
        if keyCount >= configuration.maxKeys, lruTail >= 0 {
            releaseSlot(Int(lruTail))
            statistics.keysEvictedForCapacity += 1
        }
        return try install(encoded: encoded)
    }

    /// Drops a key's state (a changelog tombstone); not recorded in the open batch.
    public func removeState(key: StateKey) {
        if let slot = slotOf(key) { releaseSlot(Int(slot)) }
    }

    /// The uncompressed binary form of a slot's state.
    func encodeState(slot: Int) -> [UInt8] {
        let state = header(slot)
        var writer = ByteWriter(capacity: 64 + plan.headerSize + Int(state.end - state.base) * plan.bytesPerBufferedEvent)
        encodeState(slot: slot, into: &writer)
        return writer.bytes
    }

    /// The same, appended to `writer`.
    func encodeState(slot: Int, into writer: inout ByteWriter) {
        let state = header(slot)
        let count = Int(state.end - state.base)
        writer.write(Self.snapshotMagic)
        writer.write(Self.snapshotVersion)
        writer.write(plan.fingerprint)
        switch keys[slot]! {
        case let .int(value): writer.write(UInt8(0)); writer.write(value)
        case let .string(text): writer.write(UInt8(1)); writer.write(text)
        }
        writer.writeVarint(UInt64(plan.headerSize))
        // The header in one copy, with the words that only mean something in this process
        // (ring address, capacity, LRU links, epoch) written as zero.
        let headerStart = writer.bytes.count
        writer.write(contentsOf: UnsafePointer(state.raw.assumingMemoryBound(to: UInt64.self)), count: plan.headerSize / 8)
        writer.overwrite(0, at: headerStart + StagePlan.ringOffset)
        writer.overwrite(0, at: headerStart + StagePlan.capacityOffset)
        writer.overwrite(0, at: headerStart + StagePlan.lruOffset)
        writer.overwrite(0, at: headerStart + StagePlan.epochOffset)
        writer.writeVarint(UInt64(count))
        if let block = state.ringBlock {
            let ring = RingBlock(raw: block, capacity: state.capacity, columns: plan.inputNames.count)
            // A ring's live range is at most two contiguous runs (before and after the wrap).
            func writeRun(_ start: UnsafeMutableRawPointer, from: Int64, to: Int64) {
                guard from < to else { return }
                let words = start.assumingMemoryBound(to: UInt64.self)
                let first = Int(from) & (ring.capacity - 1)
                let count = Int(to - from)
                let head = min(count, ring.capacity - first)
                writer.write(contentsOf: words + first, count: head)
                if head < count { writer.write(contentsOf: words, count: count - head) }
            }
            writeRun(UnsafeMutableRawPointer(ring.times), from: state.base, to: state.end)
            for column in 0..<plan.inputNames.count {
                writeRun(UnsafeMutableRawPointer(ring.column(column)), from: state.base, to: state.end)
            }
            for window in plan.columnWindows {
                if window.keepsMin {
                    writeRun(UnsafeMutableRawPointer(ring.deque(window.minDeque)), from: state.int(window.minDequeOffset), to: state.int(window.minDequeOffset + 8))
                }
                if window.keepsMax {
                    writeRun(UnsafeMutableRawPointer(ring.deque(window.maxDeque)), from: state.int(window.maxDequeOffset), to: state.int(window.maxDequeOffset + 8))
                }
            }
        }
    }

    static func decodeKey(_ encoded: [UInt8]) throws -> StateKey {
        var reader = ByteReader(encoded)
        _ = try reader.readUInt32()
        _ = try reader.readUInt8()
        _ = try reader.readUInt64()
        return try readKey(&reader)
    }

    private static func readKey(_ reader: inout ByteReader) throws -> StateKey {
        switch try reader.readUInt8() {
        case 0: return .int(try reader.readInt64())
        case 1: return .string(try reader.readString())
        case let tag: throw CodecError.binary(detail: "unknown key tag \(tag) in a state snapshot")
        }
    }

    /// Decodes an uncompressed state into a fresh slot (the key must have none).
    func install(encoded: [UInt8]) throws -> StateKey {
        var reader = ByteReader(encoded)
        guard try reader.readUInt32() == Self.snapshotMagic else { throw CodecError.binary(detail: "not a Vigil state snapshot") }
        let version = try reader.readUInt8()
        guard version == Self.snapshotVersion else {
            throw CodecError.binary(detail: "state snapshot version \(version); this build reads version \(Self.snapshotVersion)")
        }
        guard try reader.readUInt64() == plan.fingerprint else {
            throw CodecError.binary(detail: "state snapshot of a different stage layout (the topology's features changed)")
        }
        let key = try Self.readKey(&reader)
        guard try reader.readCount() == plan.headerSize else { throw CodecError.binary(detail: "state snapshot header size differs") }
        var words: [Int64] = []
        for _ in stride(from: 0, to: plan.headerSize, by: 8) { words.append(try reader.readInt64()) }
        let count = try reader.readCount(limit: 1 << 28)
        precondition(slotOf(key) == nil, "install(encoded:) needs a key without state")
        let slot = allocateSlot(for: key)
        let state = header(slot)
        for (index, word) in words.enumerated() { state.setInt(index * 8, word) }
        state.ringBlock = nil
        state.capacity = 0
        state.epoch = 0
        guard state.end - state.base == Int64(count) else {
            releaseSlot(slot)
            throw CodecError.binary(detail: "state snapshot event count does not match its cursors")
        }
        if count > 0 || !plan.groups.isEmpty || configuration.allowedLateness > 0 {
            var capacity = 4
            while capacity < count { capacity *= 2 }
            resize(slot: slot, capacity: capacity)
            let ring = RingBlock(raw: state.ringBlock!, capacity: capacity, columns: plan.inputNames.count)
            let mask = capacity - 1
            do {
                var sequence = state.base
                while sequence < state.end { ring.times[Int(sequence) & mask] = try reader.readInt64(); sequence += 1 }
                for column in 0..<plan.inputNames.count {
                    sequence = state.base
                    while sequence < state.end { ring.column(column)[Int(sequence) & mask] = try reader.readDouble(); sequence += 1 }
                }
                for window in plan.columnWindows {
                    for (keeps, deque, offset) in [(window.keepsMin, window.minDeque, window.minDequeOffset), (window.keepsMax, window.maxDeque, window.maxDequeOffset)] where keeps {
                        var position = state.int(offset)
                        guard state.int(offset + 8) - position <= Int64(capacity) else { throw CodecError.binary(detail: "deque longer than the buffer") }
                        while position < state.int(offset + 8) { ring.deque(deque)[Int(position) & mask] = try reader.readInt64(); position += 1 }
                    }
                }
                guard reader.isAtEnd else { throw CodecError.binary(detail: "trailing bytes after a state snapshot") }
            } catch {
                releaseSlot(slot)
                throw error
            }
            // Distinct tables are a function of the window contents; rebuild rather than store.
            for window in plan.columnWindows where window.keepsDistinct {
                var sequence = state.evict(window.group)
                while sequence < state.enter(window.group) {
                    let value = ring.column(window.column)[Int(sequence) & mask]
                    if !value.isNaN { distinctTables[slot][window.distinctIndex][Self.distinctBits(value), default: 0] += 1 }
                    sequence += 1
                }
            }
        }
        return key
    }
}
