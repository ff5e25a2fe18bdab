/// Where the newest full snapshot of one segment's state for one partition starts in its
/// changelogs, written to the checkpoint topic in the same transaction as the snapshot.
/// Restore reads the newest checkpoint whose offset is committed, then only the changelog
/// from there on: restore time follows the state's size, not the length of its history.
public struct Checkpoint: Sendable, Equatable {
    static let version = 1
    /// The segment whose stages the snapshot covers.
    public var segment: Int
    /// The input offset the snapshot reflects.
    public var stateOffset: Int64
    /// Per stage (topology index): the changelog offset where the snapshot starts.
    public var changelogOffsets: [Int: Int64]
    /// When the snapshot's transaction also took events handed over inside the instance: the
    /// source offsets it consumed up to (see ``RecordHeaders/sourceOffsets``); empty otherwise.
    public var sourceOffsets: [Int32: Int64]

    public init(segment: Int, stateOffset: Int64, changelogOffsets: [Int: Int64], sourceOffsets: [Int32: Int64] = [:]) {
        self.segment = segment
        self.stateOffset = stateOffset
        self.changelogOffsets = changelogOffsets
        self.sourceOffsets = sourceOffsets
    }

    /// `v1 segment=0 offset=1234 0:567 1:890`, with ` sources=0:150,1:72` when there are source offsets.
    public var encoded: [UInt8] {
        let stages = changelogOffsets.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        let sources = sourceOffsets.isEmpty ? [] : ["sources=" + RecordHeaders.encodeOffsets(sourceOffsets)]
        return Array((["v\(Self.version)", "segment=\(segment)", "offset=\(stateOffset)"] + stages + sources).joined(separator: " ").utf8)
    }

    public init?(decoding bytes: [UInt8]) {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: " ")
        guard parts.count >= 3, parts[0] == "v\(Self.version)",
              parts[1].hasPrefix("segment="), let segment = Int(parts[1].dropFirst(8)),
              parts[2].hasPrefix("offset="), let offset = Int64(parts[2].dropFirst(7))
        else { return nil }
        var offsets: [Int: Int64] = [:]
        var sources: [Int32: Int64] = [:]
        for part in parts.dropFirst(3) {
            if part.hasPrefix("sources=") {
                guard let decoded = RecordHeaders.decodeOffsets(part.dropFirst(8)) else { return nil }
                sources = decoded
                continue
            }
            let pair = part.split(separator: ":")
            guard pair.count == 2, let stage = Int(pair[0]), let start = Int64(pair[1]) else { return nil }
            offsets[stage] = start
        }
        self.init(segment: segment, stateOffset: offset, changelogOffsets: offsets, sourceOffsets: sources)
    }
}
