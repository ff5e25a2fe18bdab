import VigilCodec
import VigilPipeline

/// The replay's output rows as CSV text: each live event's ids, features and score, written
/// into memory this owns and handed to the sink a batch at a time.
///
/// Numbers go through ``DecimalText`` (the digits `description` gives, without a String per
/// number) and ids are copied as bytes; writing the handbook's 1.75M rows of 16 numbers
/// through Strings took about 4 s of the replay's 5.7 s (bench/README.md, "Replay end to end").
final class CSVRowText {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// Appends a row per live event of `batch` at or after `from`; returns how many. With
    /// `challengerScores`, each row then has the challenger's score; with `reasons`, the
    /// feature names and contributions it gives for each event.
    func append(_ batch: EventBatch, scores: [Double], challengerScores: [Double] = [], from: Int64?,
                reasons: ((Int) -> [(feature: String, contribution: Double)])? = nil) -> Int {
        let featureCount = batch.layout.width - batch.layout.derivedStart
        let idCount = batch.layout.idFields.count
        var written = 0
        for index in 0..<batch.count where batch.isLive(index) {
            if let from, batch.times[index] < from { continue }
            // Room for the row: each number at most DecimalText.maximumLength bytes and a
            // comma, each id at most twice its bytes (doubled quotes) and its quotes.
            var room = (featureCount + 3) * (DecimalText.maximumLength + 1)
            for position in 0..<idCount { room += 2 * batch.withIDBytes(of: index, at: position) { $0.count } + 3 }
            let explained = reasons?(index) ?? []
            for reason in explained { room += 2 * reason.feature.utf8.count + 4 + DecimalText.maximumLength }
            reserve(room)
            var cursor = base + count
            var first = true
            for position in 0..<idCount {
                if !first { cursor.pointee = UInt8(ascii: ","); cursor += 1 }
                cursor = batch.withIDBytes(of: index, at: position) { Self.writeField($0, to: cursor) }
                first = false
            }
            for value in batch.features(of: index) {
                if !first { cursor.pointee = UInt8(ascii: ","); cursor += 1 }
                if !value.isNaN { cursor += DecimalText.write(value, to: cursor) }
                first = false
            }
            if !scores.isEmpty {
                cursor.pointee = UInt8(ascii: ","); cursor += 1
                if !scores[index].isNaN { cursor += DecimalText.write(scores[index], to: cursor) }
            }
            if !challengerScores.isEmpty {
                cursor.pointee = UInt8(ascii: ","); cursor += 1
                if !challengerScores[index].isNaN { cursor += DecimalText.write(challengerScores[index], to: cursor) }
            }
            for reason in explained {
                cursor.pointee = UInt8(ascii: ","); cursor += 1
                cursor = Self.writeField(reason.feature.utf8, to: cursor)
                cursor.pointee = UInt8(ascii: ","); cursor += 1
                cursor += DecimalText.write(reason.contribution, to: cursor)
            }
            cursor.pointee = UInt8(ascii: "\n"); cursor += 1
            count = cursor - base
            written += 1
        }
        return written
    }

    /// Writes what was appended to `sink` and starts over.
    func write(to sink: any ByteSink) throws {
        guard count > 0 else { return }
        try sink.write(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
    }

    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity * 2, count + extra))
        larger.update(from: base, count: count)
        base.deallocate()
        base = larger
        capacity = max(capacity * 2, count + extra)
    }

    /// An id as ``CSVField/quoted(_:delimiter:)`` writes it: quoted, with doubled quotes, only
    /// when it holds a comma, a quote or a line break.
    private static func writeField<Text: Collection<UInt8>>(_ text: Text, to out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var cursor = out
        var needsQuotes = false
        for byte in text {
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { needsQuotes = true }
            cursor.pointee = byte
            cursor += 1
        }
        guard needsQuotes else { return cursor }
        cursor = out
        cursor.pointee = UInt8(ascii: "\""); cursor += 1
        for byte in text {
            if byte == UInt8(ascii: "\"") { cursor.pointee = byte; cursor += 1 }
            cursor.pointee = byte
            cursor += 1
        }
        cursor.pointee = UInt8(ascii: "\""); cursor += 1
        return cursor
    }
}
