import VigilCodec

/// Card transactions made up in-process, as the CSV text `topologies/card-fraud.yaml` reads
/// (TRANSACTION_ID, TX_DATETIME, CUSTOMER_ID, TERMINAL_ID, TX_AMOUNT, TX_FRAUD), served as a
/// ``ByteSource`` so that a ``CSVReader`` decodes them exactly as `vigil replay` decodes a file,
/// without ten million lines ever being held in memory. Deterministic: the same options give
/// the same bytes.
///
/// Event `i` happens at `start + i × span / events`. Its customer and terminal are drawn one of
/// two ways:
/// - ``KeyDraw/population(customers:terminals:)``: a fixed population (the handbook's is 4,990
///   customers and 10,000 terminals), each event's keys hashed from `i`;
/// - ``KeyDraw/distinct(keys:)``: `keys` distinct customers and as many distinct terminals,
///   each key taking `events / keys` events at scattered places in the stream (a permutation of
///   the event numbers, taken modulo `keys`), so that every key of the range is used.
final class SyntheticTransactions: ByteSource {
    enum KeyDraw: Sendable {
        case population(customers: Int, terminals: Int)
        case distinct(keys: Int)
    }

    static let header = "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n"

    let name = "<synthetic transactions>"
    /// Events in the whole stream (times and permutations are laid out over them).
    let events: Int
    /// Events served: the first `limit` of the stream.
    let limit: Int
    private let draw: KeyDraw
    private let startMillis: Int64
    private let spanMillis: Int64
    private let customerOrder: FeistelPermutation
    private let terminalOrder: FeistelPermutation
    private var next = 0
    /// Text made but not yet read: `pending[pendingStart...]`.
    private var pending: [UInt8] = Array(header.utf8)
    private var pendingStart = 0

    init(events: Int, limit: Int? = nil, draw: KeyDraw, startMillis: Int64, spanMillis: Int64) {
        self.events = events
        self.limit = min(limit ?? events, events)
        self.draw = draw
        self.startMillis = startMillis
        self.spanMillis = spanMillis
        customerOrder = FeistelPermutation(size: events, seed: 0x5EED_C057)
        terminalOrder = FeistelPermutation(size: events, seed: 0x5EED_7E2A)
    }

    /// Event `index`'s customer and terminal.
    func keys(of index: Int) -> (customer: Int, terminal: Int) {
        switch draw {
        case let .population(customers, terminals):
            let hash = SplitMix.mix(UInt64(index))
            return (Int(hash % UInt64(customers)), Int((hash >> 32) % UInt64(terminals)))
        case let .distinct(keys):
            return (customerOrder.apply(index) % keys, terminalOrder.apply(index) % keys)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while pending.count - pendingStart < buffer.count && next < limit {
            if pendingStart > 0 {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
            // A few thousand lines at a time: the reader asks for 1 MiB.
            for _ in 0..<min(4096, limit - next) {
                appendLine(next)
                next += 1
            }
        }
        let count = min(buffer.count, pending.count - pendingStart)
        pending.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + pendingStart, byteCount: count)
        }
        pendingStart += count
        return count
    }

    private func appendLine(_ index: Int) {
        let (customer, terminal) = keys(of: index)
        let time = startMillis + Int64(Double(index) * Double(spanMillis) / Double(events))
        let hash = SplitMix.mix(UInt64(index) ^ 0xA5A5_5A5A)
        let cents = 100 + Int(hash % 20_000)
        let fraud = hash >> 56 < 3 ? 1 : 0  // about 1.2 %
        appendInteger(index)
        pending.append(UInt8(ascii: ","))
        appendDateTime(time)
        pending.append(UInt8(ascii: ","))
        appendInteger(customer)
        pending.append(UInt8(ascii: ","))
        appendInteger(terminal)
        pending.append(UInt8(ascii: ","))
        appendInteger(cents / 100)
        pending.append(UInt8(ascii: "."))
        appendDigits(cents % 100, width: 2)
        pending.append(UInt8(ascii: ","))
        appendInteger(fraud)
        pending.append(UInt8(ascii: "\n"))
    }

    private func appendInteger(_ value: Int) {
        var digits = 1
        var scale = 10
        while scale <= value { digits += 1; scale *= 10 }
        appendDigits(value, width: digits)
    }

    private func appendDigits(_ value: Int, width: Int) {
        var remaining = value
        let end = pending.count + width
        pending.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var position = end - 1
        while remaining > 0 && position >= end - width {
            pending[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            position -= 1
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` (UTC), the handbook's TX_DATETIME.
    private func appendDateTime(_ millis: Int64) {
        let seconds = millis / 1000
        let days = Int(seconds / 86_400)
        let ofDay = Int(seconds % 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        appendDigits(year, width: 4)
        pending.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2)
        pending.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2)
        pending.append(UInt8(ascii: " "))
        appendDigits(ofDay / 3600, width: 2)
        pending.append(UInt8(ascii: ":"))
        appendDigits(ofDay / 60 % 60, width: 2)
        pending.append(UInt8(ascii: ":"))
        appendDigits(ofDay % 60, width: 2)
    }
}
