import VigilCodec

/// The operation log (`processing.changelog: events`): inside an open batch the engine logs
/// every event it is given (key, time, inputs) and every key it removes (capacity eviction,
/// TTL expiry), in the order they happen. Replayed into an engine holding the state the batch
/// began from, the log gives back the state the batch ended with, bit for bit: each key's state
/// is a function of its events in order, and removals are logged rather than decided again
/// (which key is least recently seen depends on history a restore does not have).
///
/// Format (LZ4 block of): magic "VGOP", version, the stage layout's fingerprint, the count of
/// operations, then each operation: a tag (0 event of an integer key, 1 event of a text key,
/// 2 removal of an integer key, 3 removal of a text key), the key (zigzag varint, or length and
/// UTF-8), and for an event its time as a zigzag varint difference from the previous event's
/// and its inputs as 8-byte doubles.
extension FeatureEngine {
    static let operationsMagic: UInt32 = 0x5647_4F50  // "VGOP"
    /// The operation log format version this build writes and reads.
    public static let operationsVersion: UInt8 = 1
    /// Where the operation count is patched in, after magic, version and fingerprint.
    static let operationCountOffset = 13

    /// Operations the open batch logged.
    public var loggedOperations: Int { operationCount }

    /// Opens the batch's log (``beginBatch()``).
    func startOperationLog() {
        loggingOperations = configuration.logsOperations && !replayingOperations
        guard loggingOperations else { return }
        operationLog.removeAll()
        operationLog.write(Self.operationsMagic)
        operationLog.write(Self.operationsVersion)
        operationLog.write(plan.fingerprint)
        operationLog.write(UInt64(0))
        operationCount = 0
        lastLoggedTime = 0
    }

    /// Closes it (``commitBatch()``, ``rollbackBatch()``).
    func stopOperationLog() {
        loggingOperations = false
        operationCount = 0
    }

    @inline(never)
    func logEvent(key: StateKey, time: Int64, inputs: UnsafeBufferPointer<Double>) {
        writeKey(key, removal: false)
        operationLog.writeVarint(Self.zigzag(time &- lastLoggedTime))
        lastLoggedTime = time
        operationLog.write(contentsOf: UnsafeBufferPointer(rebasing: inputs[..<inputCount]))
        operationCount += 1
    }

    @inline(never)
    func logRemoval(key: StateKey) {
        writeKey(key, removal: true)
        operationCount += 1
    }

    private func writeKey(_ key: StateKey, removal: Bool) {
        let base: UInt8 = removal ? 2 : 0
        switch key {
        case let .int(value):
            operationLog.write(base)
            operationLog.writeVarint(Self.zigzag(value))
        case let .string(text):
            operationLog.write(base + 1)
            operationLog.write(text)
        }
    }

    /// The open batch's operations as one LZ4 block, lent to `body` from buffers the engine
    /// keeps (the value of a changelog record).
    public func withOperations<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(loggingOperations, "withOperations(_:) needs an open batch of an engine that logs operations")
        operationLog.overwrite(UInt64(operationCount), at: Self.operationCountOffset)
        var compressed = compressedScratch
        compressedScratch = []
        defer { compressedScratch = compressed }
        let length = operationLog.bytes.withUnsafeBytes { LZ4Block.compress($0, into: &compressed, acceleration: Self.snapshotAcceleration) }
        let result: Result<R, E> = compressed.withUnsafeBytes { block in
            do throws(E) { return .success(try body(UnsafeRawBufferPointer(rebasing: block[..<length]))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Applies a log made by ``withOperations(_:)`` of an engine with the same stage layout and
    /// processing settings, in order; returns the operations applied. Capacity eviction of the
    /// engine's own is off meanwhile: the log's removals are the evictions that happened.
    ///
    /// A log that does not decode (corrupt, truncated, of another stage layout or version)
    /// throws ``StateSnapshotError``; the operations before the fault stay applied (a restore
    /// that fails starts over from an empty state).
    @discardableResult
    public func replay(operations block: [UInt8]) throws(StateSnapshotError) -> Int {
        let encoded: [UInt8]
        do {
            encoded = try LZ4Block.decompress(block)
        } catch {
            throw StateSnapshotError(problem: "an operation log that does not decompress: \(error)", bytes: block.count)
        }
        let wasLogging = loggingOperations
        loggingOperations = false
        replayingOperations = true
        defer {
            replayingOperations = false
            loggingOperations = wasLogging
        }
        do {
            return try applyOperations(encoded)
        } catch let error as StateSnapshotError {
            throw error
        } catch {
            throw StateSnapshotError(problem: "\(error)", bytes: block.count)
        }
    }

    private func applyOperations(_ encoded: [UInt8]) throws -> Int {
        var reader = ByteReader(encoded)
        guard try reader.readUInt32() == Self.operationsMagic else {
            throw StateSnapshotError(problem: "not a Vigil operation log (wrong magic number)", bytes: encoded.count)
        }
        let version = try reader.readUInt8()
        guard version == Self.operationsVersion else {
            throw StateSnapshotError(problem: "operation log version \(version); this build reads version \(Self.operationsVersion)", bytes: encoded.count)
        }
        guard try reader.readUInt64() == plan.fingerprint else {
            throw StateSnapshotError(problem: "an operation log of a different stage layout (the topology's features changed since it was written)", bytes: encoded.count)
        }
        let count = try reader.readUInt64()
        // Every operation takes at least two bytes (tag and key).
        guard count <= UInt64(encoded.count) else {
            throw StateSnapshotError(problem: "an operation log claiming \(count) operations in \(encoded.count) bytes", bytes: encoded.count)
        }
        var time: Int64 = 0
        var inputs = [Double](repeating: .nan, count: max(1, inputCount))
        var features = [Double](repeating: .nan, count: max(1, outputCount))
        for _ in 0..<count {
            let tag = try reader.readUInt8()
            let key: StateKey
            switch tag & 1 {
            case 0: key = .int(Self.unzigzag(try reader.readVarint()))
            default: key = .string(try reader.readString())
            }
            switch tag {
            case 0, 1:
                time = time &+ Self.unzigzag(try reader.readVarint())
                for column in 0..<inputCount { inputs[column] = try reader.readDouble() }
                inputs.withUnsafeBufferPointer { inputs in
                    features.withUnsafeMutableBufferPointer { features in
                        _ = processEvent(key: key, time: time, inputs: inputs, features: features)
                    }
                }
            case 2, 3:
                if let slot = slotOf(key) { evict(slot: Int(slot)) }
            default:
                throw StateSnapshotError(problem: "unknown operation tag \(tag) in an operation log", bytes: encoded.count)
            }
        }
        guard reader.offset == encoded.count else {
            throw StateSnapshotError(problem: "\(encoded.count - reader.offset) bytes after the last operation of an operation log", bytes: encoded.count)
        }
        return Int(count)
    }

    @inline(__always) static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    @inline(__always) static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }
}
