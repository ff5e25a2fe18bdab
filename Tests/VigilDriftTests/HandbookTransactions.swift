import CLZ4
import Foundation

/// Streams the handbook's `transactions.csv.lz4` through liblz4's frame API, a chunk at a time,
/// and hands each data line's day index, event time and amount to a closure. Only what the
/// drift tests need: the feature pipeline (issue 3) is the real reader.
enum HandbookTransactions {
    /// `../shared/data/fraud-handbook/transactions.csv.lz4`, beside the repository.
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/fraud-handbook/transactions.csv.lz4").standardizedFileURL

    static var isAvailable: Bool { FileManager.default.isReadableFile(atPath: url.path) }

    struct Transaction {
        /// `TX_TIME_DAYS`: days since 2018-04-01.
        var day: Int
        /// Event time in milliseconds since the Unix epoch (UTC).
        var timeMs: Int64
        /// Hour of day, 0..23.
        var hour: Int
        var amount: Double
    }

    enum ReadError: Error { case lz4(String), malformed(line: Int) }

    /// 2018-04-01T00:00:00Z, the origin of `TX_TIME_SECONDS`.
    static let originMs: Int64 = 1_522_540_800_000

    /// Calls `body` for every transaction until it returns false.
    static func forEach(_ body: (Transaction) throws -> Bool) throws {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw ReadError.lz4("cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var output = [UInt8](repeating: 0, count: 1 << 20)
        var pending = [UInt8]()
        var lineNumber = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            var consumed = 0
            while consumed < chunk.count {
                var sourceSize = chunk.count - consumed
                var destinationSize = output.count
                let status = chunk.withUnsafeBytes { source in
                    output.withUnsafeMutableBytes { destination in
                        LZ4F_decompress(
                            context, destination.baseAddress, &destinationSize,
                            source.baseAddress! + consumed, &sourceSize, nil)
                    }
                }
                if LZ4F_isError(status) != 0 { throw ReadError.lz4(String(cString: LZ4F_getErrorName(status))) }
                consumed += sourceSize
                pending.append(contentsOf: output[0..<destinationSize])
                var lineStart = 0
                while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                    lineNumber += 1
                    if lineNumber > 1 {
                        let transaction = try parse(pending[lineStart..<newline], lineNumber: lineNumber)
                        guard try body(transaction) else { return }
                    }
                    lineStart = newline + 1
                }
                pending.removeFirst(lineStart)
            }
        }
    }

    /// Columns: TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT,
    /// TX_TIME_SECONDS, TX_TIME_DAYS, TX_FRAUD, TX_FRAUD_SCENARIO.
    private static func parse(_ line: ArraySlice<UInt8>, lineNumber: Int) throws -> Transaction {
        let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == 9, fields[1].count == 19,
            let amount = Double(String(decoding: fields[4], as: UTF8.self)),
            let seconds = Int64(String(decoding: fields[5], as: UTF8.self)),
            let day = Int(String(decoding: fields[6], as: UTF8.self))
        else { throw ReadError.malformed(line: lineNumber) }
        let datetime = fields[1]
        let hourStart = datetime.startIndex + 11
        let hour = Int(datetime[hourStart] - UInt8(ascii: "0")) * 10 + Int(datetime[hourStart + 1] - UInt8(ascii: "0"))
        return Transaction(day: day, timeMs: originMs + seconds * 1000, hour: hour, amount: amount)
    }
}
