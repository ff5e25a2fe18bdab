import VigilCodec

/// Per-key state snapshots: a versioned binary form, LZ4-compressed, that restores exactly
/// (every running sum and its compensation bit for bit, every buffered event, every deque).
extension FeatureEngine {
    static let snapshotMagic: UInt32 = 0x5647_4B53  // "VGKS"
    /// The snapshot format version this build writes (3: compact buffered events, amounts as
    /// hundredths); it also reads versions 1 (every buffered value as its 8 bytes) and 2 (compact
    /// without hundredths) and rejects any other.
    public static let snapshotVersion: UInt8 = SnapshotLayout.compact.rawValue

    /// LZ4's acceleration for snapshots: a live transaction writes one per key it touched, and at
    /// the end of the handbook 4 takes 20 % less time than 1 for 5 % more bytes (FeatureBench).
    static let snapshotAcceleration: Int32 = 4

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
        encodeState(slot: Int(slot), into: &writer, layout: .compact)
        let length = writer.bytes.withUnsafeBytes { LZ4Block.compress($0, into: &compressed, acceleration: Self.snapshotAcceleration) }
        let result: Result<R, E> = compressed.withUnsafeBytes { block in
            do throws(E) { return .success(try body(UnsafeRawBufferPointer(rebasing: block[..<length]))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Installs a snapshot made by ``snapshot(key:)`` of an engine with the same stage layout,
    /// replacing the key's current state; returns the key. Not recorded in the open batch.
    ///
    /// A snapshot that does not decode (corrupt, truncated, of another stage layout or format
    /// version) throws ``StateSnapshotError`` saying what is wrong, and leaves the engine as it
    /// was: the key's previous state, if any, is kept.
    @discardableResult
    public func restore(snapshot: [UInt8]) throws(StateSnapshotError) -> StateKey {
        let encoded: [UInt8]
        do {
            encoded = try LZ4Block.decompress(snapshot)
            // Checked before anything is released, so that a bad record changes nothing.
            try validate(encoded: encoded)
        } catch let error as StateSnapshotError {
            throw error
        } catch {
            throw StateSnapshotError(problem: "\(error)", bytes: snapshot.count)
        }
        // The record is installed beside the key's current state, which is released only once
        // the install succeeded: the install can still refuse what validation does not walk
        // (column and sequence layouts, truncated values, detectors' states, trailing bytes).
        let previous = (try? Self.decodeKey(encoded)).flatMap { key in slotOf(key).map { (key: key, slot: Int($0)) } }
        if let previous { setSlot(nil, for: previous.key) }
        let key: StateKey
        do {
            key = try install(encoded: encoded)
        } catch {
            if let previous { setSlot(Int32(previous.slot), for: previous.key) }
            throw StateSnapshotError(problem: "\(error)", bytes: snapshot.count)
        }
        if let previous {
            keys[previous.slot] = nil  // its key is the new slot's now
            releaseSlot(previous.slot)
        }
        if keyCount > configuration.maxKeys, lruTail >= 0 {
            releaseSlot(Int(lruTail))
            statistics.keysEvictedForCapacity += 1
        }
        // The restored key is the most recent; the least recent go while over the byte budget,
        // so a restore never holds more than processing would (a key larger than the budget
        // on its own stays, alone, as in processing).
        while stateBytes > byteBudget, keyCount > 1, lruTail >= 0 {
            releaseSlot(Int(lruTail))
            statistics.keysEvictedForCapacity += 1
        }
        return key
    }

    /// Checks a decompressed snapshot's envelope and cursors without installing it: magic,
    /// version, stage layout, and that every cursor lies within the buffered events it claims
    /// (a corrupt cursor would otherwise send the window scans far outside them). What it does
    /// not walk (layouts, values, detectors' states) the install checks, beside the key's
    /// current state (``restore(snapshot:)``).
    func validate(encoded: [UInt8]) throws {
        var reader = ByteReader(encoded)
        guard try reader.readUInt32() == Self.snapshotMagic else { throw StateSnapshotError(problem: "not a Vigil state snapshot (wrong magic number)", bytes: encoded.count) }
        let version = try reader.readUInt8()
        guard SnapshotLayout(rawValue: version) != nil else {
            throw StateSnapshotError(problem: "state snapshot version \(version); this build reads versions 1 to \(Self.snapshotVersion)", bytes: encoded.count)
        }
        guard try reader.readUInt64() == plan.fingerprint else {
            throw StateSnapshotError(problem: "a state snapshot of a different stage layout (the topology's features changed since it was written)", bytes: encoded.count)
        }
        _ = try Self.readKey(&reader)
        guard try reader.readCount() == plan.headerSize else { throw StateSnapshotError(problem: "the state header's size differs from this stage's", bytes: encoded.count) }
        var words: [Int64] = []
        for _ in stride(from: 0, to: plan.headerSize, by: 8) { words.append(try reader.readInt64()) }
        let count = try reader.readCount(limit: 1 << 28)
        let base = words[StagePlan.baseOffset / 8], end = words[StagePlan.endOffset / 8]
        // Every buffered event takes at least one byte further on (its time or a column value).
        guard base >= 0, end >= base, end - base == Int64(count), count <= encoded.count - reader.offset else {
            throw StateSnapshotError(problem: "the buffered-event cursors (\(base)..<\(end)) do not match the \(count) events the snapshot holds", bytes: encoded.count)
        }
        for group in plan.groups.indices {
            let enter = words[(StagePlan.groupsOffset + group * 16) / 8], evict = words[(StagePlan.groupsOffset + group * 16 + 8) / 8]
            guard base <= evict, evict <= enter, enter <= end else {
                throw StateSnapshotError(problem: "window \(group)'s cursors (\(evict)..<\(enter)) lie outside the buffered events (\(base)..<\(end))", bytes: encoded.count)
            }
        }
        for window in plan.columnWindows {
            for (keeps, offset) in [(window.keepsMin, window.minDequeOffset), (window.keepsMax, window.maxDequeOffset)] where keeps {
                let from = words[offset / 8], to = words[(offset + 8) / 8]
                guard from >= 0, to >= from, to - from <= Int64(count) else {
                    throw StateSnapshotError(problem: "a min/max deque's cursors (\(from)..<\(to)) are not within the \(count) buffered events", bytes: encoded.count)
                }
            }
        }
    }

    /// Drops a key's state (a changelog tombstone); not recorded in the open batch.
    public func removeState(key: StateKey) {
        if let slot = slotOf(key) { releaseSlot(Int(slot)) }
    }

    /// A slot's state appended to `writer`, in `layout` (`.raw`: what an undo record holds, a
    /// copy as fast as it can be taken that never leaves the process).
    func encodeState(slot: Int, into writer: inout ByteWriter, layout: SnapshotLayout) {
        let state = header(slot)
        let count = Int(state.end - state.base)
        writer.write(Self.snapshotMagic)
        writer.write(layout.rawValue)
        writer.write(plan.fingerprint)
        switch keys[slot]! {
        case let .int(value): writer.write(UInt8(0)); writer.write(value)
        case let .string(text): writer.write(UInt8(1)); writer.write(text)
        }
        writer.writeVarint(UInt64(plan.headerSize))
        // The header in one copy, with the words that only mean something in this process
        // (ring address, capacity, byte charge, epoch) written as zero.
        let headerStart = writer.bytes.count
        writer.write(contentsOf: UnsafePointer(state.raw.assumingMemoryBound(to: UInt64.self)), count: plan.headerSize / 8)
        writer.overwrite(0, at: headerStart + StagePlan.ringOffset)
        // An undo record keeps the capacity, for ``install(encoded:keepingCapacity:)``.
        if layout.isCompact { writer.overwrite(0, at: headerStart + StagePlan.capacityOffset) }
        writer.overwrite(0, at: headerStart + StagePlan.chargedBytesOffset)
        writer.overwrite(0, at: headerStart + StagePlan.epochOffset)
        writer.writeVarint(UInt64(count))
        // The detectors' states come after the windows' (nothing is written without detectors).
        defer { for detector in detectors { detector.encode(slot: slot, into: &writer) } }
        guard let block = state.ringBlock else { return }
        let ring = RingBlock(raw: block, capacity: state.capacity, columns: plan.inputNames.count)
        let mask = ring.capacity - 1
        func writeRun(_ start: UnsafeMutableRawPointer, from: Int64, to: Int64) {
            Self.writeWords(start, mask: mask, from: from, to: to, into: &writer)
        }
        func writeSequence(_ values: UnsafeMutablePointer<Int64>, from: Int64, to: Int64) {
            switch layout {
            case .raw: writeRun(UnsafeMutableRawPointer(values), from: from, to: to)
            case .compactWithoutHundredths, .compact: Self.writeDifferences(values, mask: mask, from: from, to: to, into: &writer)
            }
        }
        writeSequence(ring.times, from: state.base, to: state.end)
        for column in 0..<plan.inputNames.count {
            let values = ring.column(column)
            // Like a sequence, an empty column writes nothing (not even its layout): whether a
            // reader makes a ring for a key without events depends on its own configuration.
            if layout.isCompact, state.base < state.end {
                if Self.allBytes(values, mask: mask, from: state.base, to: state.end) {
                    writer.write(ColumnLayout.bytes.rawValue)
                    Self.writeBytes(values, mask: mask, from: state.base, to: state.end, into: &writer)
                    continue
                }
                if layout == .compact, Self.writeHundredths(values, mask: mask, from: state.base, to: state.end, into: &writer) { continue }
                writer.write(ColumnLayout.bitPatterns.rawValue)
            }
            writeRun(UnsafeMutableRawPointer(values), from: state.base, to: state.end)
        }
        for window in plan.columnWindows {
            if window.keepsMin {
                writeSequence(ring.deque(window.minDeque), from: state.int(window.minDequeOffset), to: state.int(window.minDequeOffset + 8))
            }
            if window.keepsMax {
                writeSequence(ring.deque(window.maxDeque), from: state.int(window.maxDequeOffset), to: state.int(window.maxDequeOffset + 8))
            }
        }
    }

    /// How a snapshot lays out a key's buffered events (its version byte).
    enum SnapshotLayout: UInt8 {
        /// Every buffered value as its 8 bytes: what undo records use, and version 1 snapshots.
        case raw = 1
        /// Event times and deque positions as 4-byte differences, and columns that hold only
        /// small integers (fraud labels, flags) as bytes: a delayed window of a terminal is a
        /// third of its raw size, so LZ4 has a third of the bytes to go through. Read, no
        /// longer written.
        case compactWithoutHundredths = 2
        /// The same, with columns of decimals of at most two places (amounts) as 4-byte counts
        /// of hundredths: a customer's 30 days of amounts were 8 bytes each, which LZ4 cannot
        /// shrink, and made most of the bytes a live transaction writes to the changelog.
        case compact = 3

        /// Whether buffered events are laid out compactly (versions 2 and 3).
        var isCompact: Bool { self != .raw }
    }

    /// How a compact snapshot writes one input column.
    enum ColumnLayout: UInt8 {
        /// Each value's 8-byte bit pattern.
        case bitPatterns = 0
        /// One byte per value: every value is an integer from 0 to 255 (flags, labels).
        case bytes = 1
        /// A signed 4-byte count of hundredths per value: every value is the double nearest a
        /// decimal of at most two places, which `Double(count) / 100` gives back bit for bit
        /// (IEEE division is correctly rounded), checked value by value when written.
        case hundredths = 2
    }

    /// How a compact snapshot writes a sequence of integers.
    enum SequenceLayout: UInt8 {
        /// Each value's 8 bytes.
        case words = 0
        /// The first value's 8 bytes, then each difference from the one before in 4 bytes.
        case differences = 1
    }

    /// Whether every value is an integer from 0 to 255 that a byte gives back bit for bit (not
    /// -0.0, NaN or a fraction).
    private static func allBytes(_ values: UnsafeMutablePointer<Double>, mask: Int, from: Int64, to: Int64) -> Bool {
        var sequence = from
        while sequence < to {
            let value = values[Int(sequence) & mask]
            guard let byte = UInt8(exactly: value), Double(byte).bitPattern == value.bitPattern else { return false }
            sequence += 1
        }
        return true
    }

    /// Writes a sequence (ascending, mostly: event times, deque positions) as a layout byte and
    /// either its first value and 4-byte differences, when every difference fits, or raw words.
    private static func writeDifferences(_ values: UnsafeMutablePointer<Int64>, mask: Int, from: Int64, to: Int64, into writer: inout ByteWriter) {
        guard from < to else { return }
        var fits = true, previous = values[Int(from) & mask], sequence = from + 1
        while sequence < to {
            let value = values[Int(sequence) & mask]
            if value &- previous < 0 || value &- previous > Int64(UInt32.max) { fits = false; break }
            previous = value
            sequence += 1
        }
        writer.write(fits ? SequenceLayout.differences.rawValue : SequenceLayout.words.rawValue)
        guard fits else {
            writeWords(UnsafeMutableRawPointer(values), mask: mask, from: from, to: to, into: &writer)
            return
        }
        writer.write(values[Int(from) & mask])
        writer.append(capacity: Int(to - from - 1) * 4) { out in
            var at = 0, previous = values[Int(from) & mask], sequence = from + 1
            while sequence < to {
                let value = values[Int(sequence) & mask]
                out.storeBytes(of: UInt32(truncatingIfNeeded: value &- previous).littleEndian, toByteOffset: at, as: UInt32.self)
                previous = value
                at += 4
                sequence += 1
            }
            return at
        }
    }

    /// Writes the 8-byte values of a ring's sequences `from..<to` in one or two copies: a ring's
    /// live range is at most two contiguous runs (before and after the wrap).
    private static func writeWords(_ start: UnsafeMutableRawPointer, mask: Int, from: Int64, to: Int64, into writer: inout ByteWriter) {
        guard from < to else { return }
        let words = start.assumingMemoryBound(to: UInt64.self)
        let first = Int(from) & mask
        let count = Int(to - from)
        let head = min(count, mask + 1 - first)
        writer.write(contentsOf: words + first, count: head)
        if head < count { writer.write(contentsOf: words, count: count - head) }
    }

    /// Writes the column as its layout byte and hundredths when every value comes back bit for
    /// bit from its count of hundredths (not -0.0, NaN, or a value with more places); otherwise
    /// writes nothing and returns false. One pass: the check and the write share the count.
    private static func writeHundredths(_ values: UnsafeMutablePointer<Double>, mask: Int, from: Int64, to: Int64, into writer: inout ByteWriter) -> Bool {
        var exact = true
        writer.append(capacity: 1 + Int(to - from) * 4) { out in
            out.storeBytes(of: ColumnLayout.hundredths.rawValue, toByteOffset: 0, as: UInt8.self)
            var at = 1, sequence = from
            while sequence < to {
                let value = values[Int(sequence) & mask]
                // Any nearby integer will do, as the round trip decides: adding a half and
                // truncating stays inline, where `rounded()` was a call to libm's round (4 % of
                // the live changelog's samples at 20,000 events/s). NaN fails the range check.
                let scaled = value * 100
                guard scaled.magnitude < 2_147_483_647 else {
                    exact = false
                    return 0
                }
                let count = Int32(scaled + (scaled < 0 ? -0.5 : 0.5))
                guard (Double(count) / 100).bitPattern == value.bitPattern else {
                    exact = false
                    return 0
                }
                out.storeBytes(of: count.littleEndian, toByteOffset: at, as: Int32.self)
                at += 4
                sequence += 1
            }
            return at
        }
        return exact
    }

    private static func writeBytes(_ values: UnsafeMutablePointer<Double>, mask: Int, from: Int64, to: Int64, into writer: inout ByteWriter) {
        guard from < to else { return }
        writer.append(capacity: Int(to - from)) { out in
            var at = 0, sequence = from
            while sequence < to {
                out.storeBytes(of: UInt8(values[Int(sequence) & mask]), toByteOffset: at, as: UInt8.self)
                at += 1
                sequence += 1
            }
            return at
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

    /// Decodes an uncompressed state into a fresh slot (the key must have none). With
    /// `keepingCapacity` (an undo record of this engine), the ring block gets the capacity the
    /// key had, so that a rolled-back key is charged to the byte budget what it was before.
    func install(encoded: [UInt8], keepingCapacity: Bool = false) throws -> StateKey {
        var reader = ByteReader(encoded)
        guard try reader.readUInt32() == Self.snapshotMagic else { throw CodecError.binary(detail: "not a Vigil state snapshot") }
        let version = try reader.readUInt8()
        guard let layout = SnapshotLayout(rawValue: version) else {
            throw CodecError.binary(detail: "state snapshot version \(version); this build reads versions 1 to \(Self.snapshotVersion)")
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
        let charged = state.chargedBytes
        for (index, word) in words.enumerated() { state.setInt(index * 8, word) }
        state.ringBlock = nil
        state.capacity = 0
        state.epoch = 0
        state.chargedBytes = charged
        guard state.end - state.base == Int64(count) else {
            releaseSlot(slot)
            throw CodecError.binary(detail: "state snapshot event count does not match its cursors")
        }
        if count > 0 || !plan.groups.isEmpty || configuration.allowedLateness > 0 {
            var capacity = 4
            while capacity < count { capacity *= 2 }
            let recorded = Int(words[StagePlan.capacityOffset / 8])
            if keepingCapacity, layout == .raw, recorded > capacity, recorded & (recorded - 1) == 0 { capacity = recorded }
            resize(slot: slot, capacity: capacity)
            let ring = RingBlock(raw: state.ringBlock!, capacity: capacity, columns: plan.inputNames.count)
            let mask = capacity - 1
            do {
                func readSequence(into values: UnsafeMutablePointer<Int64>, from: Int64, to: Int64) throws {
                    guard from < to else { return }
                    var sequenceLayout = SequenceLayout.words
                    if layout.isCompact {
                        let tag = try reader.readUInt8()
                        guard let known = SequenceLayout(rawValue: tag) else { throw CodecError.binary(detail: "unknown sequence layout \(tag) in a state snapshot") }
                        sequenceLayout = known
                    }
                    var sequence = from, previous: Int64 = 0
                    while sequence < to {
                        if sequenceLayout == .differences, sequence > from {
                            previous &+= Int64(try reader.readUInt32())
                        } else {
                            previous = try reader.readInt64()
                        }
                        values[Int(sequence) & mask] = previous
                        sequence += 1
                    }
                }
                try readSequence(into: ring.times, from: state.base, to: state.end)
                for column in 0..<plan.inputNames.count {
                    var columnLayout = ColumnLayout.bitPatterns
                    if layout.isCompact, state.base < state.end {
                        let tag = try reader.readUInt8()
                        guard let known = ColumnLayout(rawValue: tag), known != .hundredths || layout == .compact else {
                            throw CodecError.binary(detail: "unknown column layout \(tag) in a version \(version) state snapshot")
                        }
                        columnLayout = known
                    }
                    var sequence = state.base
                    while sequence < state.end {
                        let value: Double
                        switch columnLayout {
                        case .bitPatterns: value = try reader.readDouble()
                        case .bytes: value = Double(try reader.readUInt8())
                        case .hundredths: value = Double(Int32(bitPattern: try reader.readUInt32())) / 100
                        }
                        ring.column(column)[Int(sequence) & mask] = value
                        sequence += 1
                    }
                }
                for window in plan.columnWindows {
                    for (keeps, deque, offset) in [(window.keepsMin, window.minDeque, window.minDequeOffset), (window.keepsMax, window.maxDeque, window.maxDequeOffset)] where keeps {
                        guard state.int(offset + 8) - state.int(offset) <= Int64(capacity) else { throw CodecError.binary(detail: "deque longer than the buffer") }
                        try readSequence(into: ring.deque(deque), from: state.int(offset), to: state.int(offset + 8))
                    }
                }
                for detector in detectors { try detector.decode(slot: slot, from: &reader) }
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
            if chargesVariableBytes { recharge(slot: slot) }
        } else {
            do {
                for detector in detectors { try detector.decode(slot: slot, from: &reader) }
            } catch {
                releaseSlot(slot)
                throw error
            }
            if !reader.isAtEnd {
                releaseSlot(slot)
                throw CodecError.binary(detail: "trailing bytes after a state snapshot")
            }
            if chargesVariableBytes { recharge(slot: slot) }
        }
        return key
    }
}
