import Foundation

/// Synthetic card transactions for the demo, after the simulator of the Fraud Detection
/// Handbook (customers and terminals on a 100×100 grid, each customer using the terminals
/// within a radius, Poisson transactions per day, normal amounts), with two of its fraud
/// scenarios: amounts over 220, and compromised terminals whose transactions are all fraud for
/// 28 days. Deterministic for a seed, so a demo run can be repeated.
struct SampleTransactions: Sequence, IteratorProtocol {
    struct Customer {
        var x: Double, y: Double
        var meanAmount: Double, stdAmount: Double, transactionsPerDay: Double
        var terminals: [Int]
    }

    /// The CSV header of the events, as the card-fraud topology reads them.
    static let header = "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD"

    private var random: SplitMix64
    private let customers: [Customer]
    private let start: Date
    private var day = 0
    private var pending: [(seconds: Int, line: (Int, Int, Double, Int))] = []
    private var nextID = 0
    private var compromisedUntil: [Int: Int] = [:]
    private let terminalCount: Int

    init(customers customerCount: Int = 500, terminals: Int = 1000, seed: UInt64 = 2018, start: Date = Date(timeIntervalSince1970: 1_522_540_800)) {
        var random = SplitMix64(seed: seed)
        let terminalPoints = (0..<terminals).map { _ in (random.uniform(0, 100), random.uniform(0, 100)) }
        customers = (0..<customerCount).map { _ in
            let (x, y) = (random.uniform(0, 100), random.uniform(0, 100))
            let mean = random.uniform(5, 100)
            let near = terminalPoints.indices.filter { index in
                let (tx, ty) = terminalPoints[index]
                return (tx - x) * (tx - x) + (ty - y) * (ty - y) < 25 * 25 / 4  // radius 12.5 keeps a few terminals each
            }
            return Customer(x: x, y: y, meanAmount: mean, stdAmount: mean / 2, transactionsPerDay: random.uniform(0, 4), terminals: near)
        }
        self.random = random
        self.terminalCount = terminals
        self.start = start
    }

    mutating func next() -> String? {
        while pending.isEmpty { simulateDay() }
        let (seconds, (customer, terminal, amount, fraud)) = pending.removeFirst()
        let time = Date(timeInterval: TimeInterval(seconds), since: start)
        defer { nextID += 1 }
        return "\(nextID),\(Self.format(time)),\(customer),\(terminal),\(String(format: "%.2f", amount)),\(fraud)"
    }

    private mutating func simulateDay() {
        // Two terminals a day become compromised for 28 days.
        for _ in 0..<2 { compromisedUntil[random.int(below: terminalCount)] = day + 28 }
        var events: [(Int, (Int, Int, Double, Int))] = []
        for (id, customer) in customers.enumerated() where !customer.terminals.isEmpty {
            for _ in 0..<random.poisson(customer.transactionsPerDay) {
                let second = Int(random.normal(mean: 43_200, std: 20_000))
                guard (0..<86_400).contains(second) else { continue }
                var amount = random.normal(mean: customer.meanAmount, std: customer.stdAmount)
                if amount <= 0 { amount = random.uniform(0, customer.meanAmount * 2) }
                let terminal = customer.terminals[random.int(below: customer.terminals.count)]
                let fraud = amount > 220 || (compromisedUntil[terminal].map { day < $0 } ?? false) ? 1 : 0
                events.append((day * 86_400 + second, (id, terminal, amount, fraud)))
            }
        }
        pending = events.sorted { $0.0 < $1.0 }.map { (seconds: $0.0, line: $0.1) }
        day += 1
    }

    private static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

/// A small, fast, seedable generator (SplitMix64), so that demo data is the same on every machine.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(nextUInt64() >> 11) / Double(1 << 53) }
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }
    mutating func int(below bound: Int) -> Int { Int(nextUInt64() % UInt64(bound)) }

    mutating func normal(mean: Double, std: Double) -> Double {
        let u1 = max(unit(), .leastNonzeroMagnitude)
        return mean + std * (-2 * log(u1)).squareRoot() * cos(2 * .pi * unit())
    }

    mutating func poisson(_ lambda: Double) -> Int {
        let limit = exp(-lambda)
        var product = unit()
        var count = 0
        while product > limit {
            count += 1
            product *= unit()
        }
        return count
    }
}
