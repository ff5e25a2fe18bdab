// KeyExplosionBench: bounded memory under a key explosion (issue 15). Synthetic card
// transactions, generated in-process, go through topologies/card-fraud.yaml by the path
// `vigil replay` takes (CSV text → EventDecoder → Pipeline: derived features, the customer and
// terminal stages, the XGBoost model, the drift monitor), three ways, each in a child process
// of its own so that each resident size is its own:
//   steady     the same number of events over a fixed population (the handbook's ~5k
//              customers and 10k terminals): the throughput peer;
//   explosion  ten million distinct customers and ten million distinct terminals, with
//              processing.max_keys as the state budget (least recently seen keys evicted);
//   byte-budget the same explosion with processing.max_state_bytes as the budget and no
//              max_keys: resident memory against the bytes the budget allows;
//   unbounded  the start of the explosion with no key budget: what the budget saves, and the
//              bytes a key costs (the slope of resident memory against keys held).
// Resident memory (/proc/self/statm) is sampled while each runs; the bench prints a Markdown
// table and writes an SVG of RSS, keys held and events processed against time.
//
//   cd bench && swift build -c release --product KeyExplosionBench && .build/release/KeyExplosionBench
import ArgumentParser
import BenchSupport
import Foundation
import VigilCodec
import VigilModels
import VigilPipeline
import VigilTopology

@main
struct KeyExplosionBench: ParsableCommand {
    @Option(help: "The card-fraud topology.")
    var topology = "../topologies/card-fraud.yaml"

    @Option(help: "Events in the steady and the explosion runs.")
    var events = 20_000_000

    @Option(help: "Distinct customers, and distinct terminals, of the explosion run.")
    var keys = 10_000_000

    @Option(help: "processing.max_keys of the explosion run (keys per stage).")
    var maxKeys = 1_000_000

    @Option(help: "processing.max_state_bytes of the byte-budget run, in MiB per stage (0: skip the run).")
    var maxStateMib = 256

    @Option(help: "Customers of the steady run (the handbook has 4,990).")
    var customers = 5_000

    @Option(help: "Terminals of the steady run (the handbook has 10,000).")
    var terminals = 10_000

    @Option(help: "Events a day of event time (the handbook's: 1,754,155 transactions over 183 days).")
    var eventsPerDay = 9_585

    /// Days of event time `count` events span at ``eventsPerDay`` (20M: 2,087 days).
    func days(_ count: Int) -> Int { max(1, count / eventsPerDay) }

    @Option(help: "processing.state_ttl in days; long, so that only max_keys bounds the state.")
    var stateTTLDays = 3_650

    @Option(help: "Events of the unbounded run (0: skip it).")
    var unboundedEvents = 3_000_000

    @Option(help: "Events per micro-batch (vigil replay's default).")
    var batchSize = 4096

    @Option(help: "Seconds between resident-memory samples.")
    var sampleInterval = 0.25

    @Option(help: "Where to write the SVG chart.")
    var svg = "key-explosion.svg"

    @Option(help: "Events of the runs through `vigil run` against a broker (0: skip them).")
    var runtimeEvents = 0

    @Option(help: "Distinct customers, and terminals, of the `vigil run` explosion.")
    var runtimeKeys = 1_000_000

    @Option(help: "processing.max_keys of the `vigil run` runs.")
    var runtimeMaxKeys = 100_000

    @Option(help: "processing.max_state_bytes of the `vigil run` runs, in MiB per stage (0: none).")
    var runtimeMaxStateMib = 0

    @Option(help: "The broker of the `vigil run` runs.")
    var bootstrap = "127.0.0.1:19720"

    @Option(help: "The vigil executable.")
    var vigil = "../.build/release/vigil"

    @Option(help: "Where vigil serves /metrics.")
    var metricsAddress = "127.0.0.1:19726"

    @Option(help: "Where to write the SVG chart of the `vigil run` runs.")
    var runtimeSvg = "figures/key-explosion-runtime.svg"

    @Option(help: "Only this run (steady, explosion or unbounded; steady or explosion of the `vigil run` runs).")
    var only: String?

    @Option(help: .hidden)
    var child: String?

    func run() throws {
        if let child {
            guard let mode = Mode(rawValue: child) else { throw ValidationError("unknown mode \(child)") }
            try runChild(mode)
            return
        }
        let before = ResidentMemory.uptime()
        var results: [RunResult] = []
        var samples: [Mode: [Sample]] = [:]
        for mode in Mode.allCases where (mode != .unbounded || unboundedEvents > 0) && (mode != .byteBudget || maxStateMib > 0) && events > 0
            && (only == nil || only == mode.rawValue) {
            let (result, series) = try spawn(mode)
            results.append(result)
            samples[mode] = series
        }
        var outcomes: [RuntimeKeyExplosion.Outcome] = []
        if runtimeEvents > 0 {
            for (label, draw) in [("steady", SyntheticTransactions.KeyDraw.population(customers: customers, terminals: terminals)),
                                  ("explosion", .distinct(keys: runtimeKeys))] where only == nil || only == label {
                let run = RuntimeKeyExplosion(
                    bootstrap: bootstrap, vigil: vigil, metricsAddress: metricsAddress, events: runtimeEvents, keys: runtimeKeys,
                    maxKeys: runtimeMaxKeys, maxStateMib: runtimeMaxStateMib, draw: draw, label: label, days: days(runtimeEvents),
                    stateTTLDays: stateTTLDays, sampleInterval: sampleInterval)
                outcomes.append(try run.run())
            }
        }
        let after = ResidentMemory.uptime()
        if !results.isEmpty {
            printReport(results, before: before, after: outcomes.isEmpty ? after : "(below)")
            try writeChart(results, samples: samples)
        }
        if !outcomes.isEmpty {
            printRuntimeReport(outcomes, before: results.isEmpty ? before : "(above)", after: after)
            try writeRuntimeChart(outcomes)
        }
    }

    func printRuntimeReport(_ outcomes: [RuntimeKeyExplosion.Outcome], before: String, after: String) {
        print()
        let byteBudget = runtimeMaxStateMib > 0 ? ", max_state_bytes \(runtimeMaxStateMib) MiB" : ""
        print("Through `vigil run` against \(bootstrap) (1 source partition, exactly-once, changelogs; max_keys \(runtimeMaxKeys)\(byteBudget) per stage, state_ttl \(stateTTLDays) d), \(runtimeEvents) events; RSS of the vigil process")
        print()
        print("uptime before: \(before)")
        print()
        print("| run | customers / terminals | events | seconds (first score to last) | events/s | keys held, most seen (vigil_state_keys) | evicted (vigil_keys_evicted_total) | RSS at first score (MiB) | RSS peak (MiB) | transactions |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for outcome in outcomes {
            let keys = outcome.label == "steady" ? "\(customers) / \(terminals)" : "\(runtimeKeys) / \(runtimeKeys)"
            let metrics = outcome.metrics
            print("| \(outcome.label) | \(keys) | \(runtimeEvents) | \(String(format: "%.1f", outcome.seconds)) | \(outcome.seconds > 0 ? String(Int(Double(runtimeEvents) / outcome.seconds)) : "–") | \(Int(outcome.samples.map(\.keys).max() ?? 0)) | \(Int(metrics["vigil_keys_evicted_total"] ?? 0)) | \(Self.mib(outcome.rssAtFirstScore)) | \(Self.mib(outcome.rssPeak)) | \(Int(metrics["vigil_transactions_committed_total"] ?? 0)) |")
        }
        print()
        print("uptime after: \(after)")
    }

    func writeRuntimeChart(_ outcomes: [RuntimeKeyExplosion.Outcome]) throws {
        let colours = [TimeSeriesChart.palette[0], TimeSeriesChart.palette[1]]
        func series(_ value: (RuntimeKeyExplosion.Sample) -> Double) -> [TimeSeriesChart.Series] {
            outcomes.enumerated().map { index, outcome in
                TimeSeriesChart.Series(name: outcome.label, colour: colours[index % 2], points: outcome.samples.map { ($0.seconds, value($0)) })
            }
        }
        let chart = TimeSeriesChart(
            title: "vigil run, \(Self.count(runtimeEvents)) events: \(Self.count(runtimeKeys)) customers and terminals (max_keys \(Self.count(runtimeMaxKeys))\(runtimeMaxStateMib > 0 ? ", max_state_bytes \(runtimeMaxStateMib) MiB" : "")) against \(Self.count(customers))",
            xLabel: "seconds since vigil started", panels: [
                .init(title: "Resident memory of the vigil process (MiB)", yLabel: "MiB", series: series { Double($0.rss) / 1_048_576 }),
                .init(title: "Keys held (vigil_state_keys, thousands)", yLabel: "keys (k)", series: series { $0.keys / 1000 }),
                .init(title: "Events scored (vigil_events_out_total, thousands)", yLabel: "events (k)", series: series { $0.scored / 1000 }),
            ])
        try chart.svg().write(toFile: runtimeSvg, atomically: true, encoding: .utf8)
        print("Chart: \(runtimeSvg)")
    }

    // MARK: The child: one run, sampled

    enum Mode: String, CaseIterable, Codable {
        case steady, explosion
        case byteBudget = "byte-budget"
        case unbounded
    }

    /// One resident-memory sample.
    struct Sample: Codable {
        var seconds: Double
        var events: Int
        var rss: Int
        var heap: Int
        var keys: [Int]
        var evicted: [Int]
        /// Each engine's ``FeatureEngine/stateBytes``: what the byte budget counts.
        var budgeted: [Int]
    }

    /// What one run measured.
    struct RunResult: Codable {
        var mode: Mode
        var events: Int
        var distinctKeys: String
        var maxKeys: Int
        var maxStateBytes: Int?
        var seconds: Double
        var pipelineSeconds: Double
        var rssBefore: Int
        var rssPeak: Int
        var rssEnd: Int
        var heapEnd: Int
        var keys: [Int]
        var evicted: [Int]
        var stateBytes: [Int]
        var budgetedPeak: [Int]
        var bufferedEvents: Int
        var rejected: Int
        var scoreSum: Double
    }

    func runChild(_ mode: Mode) throws {
        var loaded = try TopologyLoader.load(path: topology)
        let count = mode == .unbounded ? min(unboundedEvents, events) : events
        loaded.processing.maxKeys = mode == .unbounded || mode == .byteBudget ? count + 1 : maxKeys
        if mode == .byteBudget { loaded.processing.maxStateBytes = maxStateMib << 20 }
        loaded.processing.stateTTL = Int64(stateTTLDays) * 86_400_000
        guard let modelPath = loaded.resolvedModelPath else { throw ValidationError("the topology has no model") }
        let pipeline = try Pipeline(topology: loaded, kernel: try ModelLoader.load(path: modelPath), recordsUndo: false)
        var drift = try PipelineDriftMonitor.load(topology: loaded)
        let draw: SyntheticTransactions.KeyDraw = mode == .steady ? .population(customers: customers, terminals: terminals) : .distinct(keys: keys)
        let source = SyntheticTransactions(events: events, limit: count, draw: draw, startMillis: 1_522_540_800_000,  // 2018-04-01
                                           spanMillis: Int64(days(events)) * 86_400_000)
        let decoder = pipeline.makeDecoder()
        let reader = CSVReader(source: source)
        guard try reader.next() else { throw ValidationError("no header") }
        let binding = try decoder.bind(header: reader.strings(), file: source.name)
        var batch = pipeline.makeBatch(capacity: batchSize)
        let rssBefore = ResidentMemory.current()
        ResidentMemory.resetPeak()
        let start = ContinuousClock.now
        var pipelineTime = Duration.zero
        var processed = 0
        var rejected = 0
        var scoreSum = 0.0
        var lastSample = start - .seconds(sampleInterval)
        var budgetedPeak = pipeline.engines.map { _ in 0 }
        let encoder = JSONEncoder()
        func emit<Value: Encodable>(_ prefix: String, _ value: Value) throws {
            // Unbuffered, so that the parent sees each sample when it is taken.
            FileHandle.standardOutput.write(Data(prefix.utf8) + (try encoder.encode(value)) + Data("\n".utf8))
        }
        func sample() throws {
            lastSample = .now
            try emit("S ", Sample(seconds: (ContinuousClock.now - start).seconds, events: processed, rss: ResidentMemory.current(), heap: ResidentMemory.heapInUse(),
                                  keys: pipeline.engines.map(\.keyCount), evicted: pipeline.engines.map(\.statistics.keysEvictedForCapacity),
                                  budgeted: pipeline.engines.map(\.stateBytes)))
        }
        func flush() throws {
            let began = ContinuousClock.now
            let output = pipeline.process(&batch)
            if drift != nil { _ = drift!.observe(batch, scores: output.scores) }
            pipelineTime += ContinuousClock.now - began
            for index in 0..<batch.count {
                if !batch.isLive(index) { rejected += 1 } else { scoreSum += output.scores[index] }
            }
            processed += batch.count
            batch.removeAll()
            for (index, engine) in pipeline.engines.enumerated() { budgetedPeak[index] = max(budgetedPeak[index], engine.stateBytes) }
            if ContinuousClock.now - lastSample >= .seconds(sampleInterval) { try sample() }
        }
        try sample()
        while try reader.next() {
            if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch) {
                throw ValidationError("line \(reader.lineNumber): \(problem)")
            }
            if batch.count == batchSize { try flush() }
        }
        if batch.count > 0 { try flush() }
        let seconds = (ContinuousClock.now - start).seconds
        try sample()
        let footprints = pipeline.engines.map(\.footprint)
        let distinct = mode == .steady ? "\(customers) / \(terminals)" : "\(keys) / \(keys)"
        try emit("R ", RunResult(
            mode: mode, events: processed, distinctKeys: distinct, maxKeys: loaded.processing.maxKeys, maxStateBytes: loaded.processing.maxStateBytes, seconds: seconds,
            pipelineSeconds: pipelineTime.seconds, rssBefore: rssBefore, rssPeak: ResidentMemory.peak(), rssEnd: ResidentMemory.current(), heapEnd: ResidentMemory.heapInUse(),
            keys: footprints.map(\.keyCount), evicted: pipeline.engines.map(\.statistics.keysEvictedForCapacity),
            stateBytes: footprints.map(\.bytes), budgetedPeak: budgetedPeak, bufferedEvents: footprints.map(\.bufferedEvents).reduce(0, +), rejected: rejected,
            scoreSum: scoreSum))
    }

    // MARK: The parent: three children, a table and a chart

    /// Runs this executable again with `--child mode` and reads its samples and result.
    func spawn(_ mode: Mode) throws -> (RunResult, [Sample]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = [
            "--child", mode.rawValue, "--topology", topology, "--events", String(events), "--keys", String(keys),
            "--max-keys", String(maxKeys), "--max-state-mib", String(maxStateMib), "--customers", String(customers), "--terminals", String(terminals), "--events-per-day", String(eventsPerDay),
            "--state-ttl-days", String(stateTTLDays), "--unbounded-events", String(unboundedEvents), "--batch-size", String(batchSize),
            "--sample-interval", String(sampleInterval),
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        FileHandle.standardError.write(Data("\(mode.rawValue): running (pid \(process.processIdentifier))\n".utf8))
        var samples: [Sample] = []
        var result: RunResult?
        let decoder = JSONDecoder()
        var pending = Data()
        func take(_ line: Data) throws {
            guard line.count > 2 else { return }
            let body = line.dropFirst(2)
            if line.starts(with: Data("S ".utf8)) {
                let sample = try decoder.decode(Sample.self, from: body)
                samples.append(sample)
                if samples.count % 40 == 0 {
                    FileHandle.standardError.write(Data("\(mode.rawValue): \(String(format: "%.0f", sample.seconds)) s, \(sample.events) events, RSS \(sample.rss >> 20) MiB, heap in use \(sample.heap >> 20) MiB, keys \(sample.keys)\n".utf8))
                }
            } else if line.starts(with: Data("R ".utf8)) {
                result = try decoder.decode(RunResult.self, from: body)
            }
        }
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                try take(pending[pending.startIndex..<newline])
                pending = pending[(newline + 1)...]
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let result else { throw ValidationError("the \(mode.rawValue) run failed (status \(process.terminationStatus))") }
        return (result, samples)
    }

    /// 20M, 5k, 300: counts as the chart's titles say them.
    static func count(_ value: Int) -> String {
        if value >= 1_000_000 && value % 100_000 == 0 { return String(format: value % 1_000_000 == 0 ? "%.0fM" : "%.1fM", Double(value) / 1e6) }
        if value >= 1000 && value % 100 == 0 { return String(format: value % 1000 == 0 ? "%.0fk" : "%.1fk", Double(value) / 1e3) }
        return String(value)
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1_048_576) }

    func printReport(_ results: [RunResult], before: String, after: String) {
        print("KeyExplosionBench: \(topology) through Pipeline (CSV decode, 2 stages, XGBoost, drift), \(events) events over \(days(events)) days of event time, batches of \(batchSize), state_ttl \(stateTTLDays) d")
        print()
        print("uptime before: \(before)")
        print()
        print("| run | customers / terminals | max_keys (per stage) | max_state_bytes (per stage, MiB) | events | seconds | events/s (whole loop) | events/s (pipeline) | keys held (customer + terminal) | evicted | state bytes (engines) | state bytes/key | budgeted bytes, peak (MiB, customer + terminal) | RSS before (MiB) | RSS peak (MiB) | RSS end (MiB) | malloc in use at the end (MiB) | rejected |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for result in results {
            let held = result.keys.reduce(0, +)
            let bytes = result.stateBytes.reduce(0, +)
            let keyBound = result.mode == .unbounded || result.mode == .byteBudget ? "none" : String(result.maxKeys)
            let byteBound = result.maxStateBytes.map { Self.mib($0) } ?? "none"
            let budgetedPeak = result.budgetedPeak.map { String(format: "%.1f", Double($0) / 1_048_576) }.joined(separator: " + ")
            print("| \(result.mode.rawValue) | \(result.distinctKeys) | \(keyBound) | \(byteBound) | \(result.events) | \(String(format: "%.1f", result.seconds)) | \(Int(Double(result.events) / result.seconds)) | \(Int(Double(result.events) / result.pipelineSeconds)) | \(result.keys.map(String.init).joined(separator: " + ")) | \(result.evicted.map(String.init).joined(separator: " + ")) | \(bytes) | \(String(format: "%.0f", Double(bytes) / Double(max(held, 1)))) | \(budgetedPeak) | \(Self.mib(result.rssBefore)) | \(Self.mib(result.rssPeak)) | \(Self.mib(result.rssEnd)) | \(Self.mib(result.heapEnd)) | \(result.rejected) |")
        }
        print()
        if let steady = results.first(where: { $0.mode == .steady }), let explosion = results.first(where: { $0.mode == .explosion }) {
            let whole = (Double(steady.events) / steady.seconds) / (Double(explosion.events) / explosion.seconds)
            let pipeline = (Double(steady.events) / steady.pipelineSeconds) / (Double(explosion.events) / explosion.pipelineSeconds)
            print("Steady over explosion throughput: \(String(format: "%.2f", whole))x (whole loop), \(String(format: "%.2f", pipeline))x (pipeline alone); target: at most 2x.")
            let grown = explosion.rssPeak - explosion.rssBefore
            let held = explosion.keys.reduce(0, +)
            print("Explosion: RSS grew \(Self.mib(grown)) MiB over its start for \(held) keys held: \(grown / max(held, 1)) bytes of RSS per key (engines' own count: \(explosion.stateBytes.reduce(0, +) / max(held, 1))).")
            if let unbounded = results.first(where: { $0.mode == .unbounded }) {
                let unboundedHeld = unbounded.keys.reduce(0, +)
                let perKey = Double(unbounded.rssPeak - unbounded.rssBefore) / Double(max(unboundedHeld, 1))
                print("Unbounded: RSS grew \(Self.mib(unbounded.rssPeak - unbounded.rssBefore)) MiB for \(unboundedHeld) keys: \(String(format: "%.0f", perKey)) bytes per key; at that rate the explosion's \(2 * keys) keys would take \(Self.mib(Int(perKey * Double(2 * keys)))) MiB, and the budget of 2 × \(maxKeys) keys \(Self.mib(Int(perKey * Double(2 * maxKeys)))) MiB.")
            }
        }
        if let bounded = results.first(where: { $0.mode == .byteBudget }), let limit = bounded.maxStateBytes {
            let budgets = limit * bounded.budgetedPeak.count
            let overhead = bounded.rssPeak - bounded.rssBefore - budgets
            print("Byte budget: \(Self.mib(limit)) MiB per stage, \(Self.mib(budgets)) MiB for the \(bounded.budgetedPeak.count) stages; the budgeted bytes peaked at \(bounded.budgetedPeak.map { Self.mib($0) }.joined(separator: " + ")) MiB; RSS peaked at \(Self.mib(bounded.rssPeak)) MiB = \(Self.mib(bounded.rssBefore)) MiB at the start + the budgets + \(Self.mib(overhead)) MiB (\(String(format: "%.0f", 100 * Double(overhead) / Double(budgets))) % of the budgets; the engines' own count of their tables, slack included, at the end: \(Self.mib(bounded.stateBytes.reduce(0, +))) MiB); \(bounded.keys.reduce(0, +)) keys held at the end, \(bounded.evicted.reduce(0, +)) evicted.")
        }
        print()
        print("uptime after: \(after)")
    }

    func writeChart(_ results: [RunResult], samples: [Mode: [Sample]]) throws {
        let colours: [Mode: String] = [.steady: TimeSeriesChart.palette[0], .explosion: TimeSeriesChart.palette[1], .byteBudget: TimeSeriesChart.palette[2],
                                       .unbounded: TimeSeriesChart.palette[3]]
        func label(_ mode: Mode) -> String {
            switch mode {
            case .steady: return "steady (\(Self.count(customers)) customers)"
            case .explosion: return "explosion (max_keys \(Self.count(maxKeys)))"
            case .byteBudget: return "explosion (max_state_bytes \(maxStateMib) MiB)"
            case .unbounded: return "no budget"
            }
        }
        let modes = Mode.allCases.filter { samples[$0] != nil }
        func series(_ value: (Sample) -> Double) -> [TimeSeriesChart.Series] {
            modes.map { mode in
                TimeSeriesChart.Series(name: label(mode), colour: colours[mode]!, points: samples[mode]!.map { ($0.seconds, value($0)) }, dashed: mode == .unbounded)
            }
        }
        var budget: [TimeSeriesChart.Series] = []
        if let explosion = results.first(where: { $0.mode == .explosion }), let unbounded = results.first(where: { $0.mode == .unbounded }),
           let end = samples[.explosion]?.last?.seconds {
            // The budget in bytes: the explosion's starting RSS plus 2 × max_keys keys at the
            // unbounded run's measured bytes per key.
            let perKey = Double(unbounded.rssPeak - unbounded.rssBefore) / Double(max(unbounded.keys.reduce(0, +), 1))
            let line = (Double(explosion.rssBefore) + perKey * Double(2 * maxKeys)) / 1_048_576
            budget = [TimeSeriesChart.Series(name: "budget (2 × max_keys)", colour: "#555555", points: [(0, line), (end, line)], dashed: true)]
        }
        if let bounded = results.first(where: { $0.mode == .byteBudget }), let limit = bounded.maxStateBytes, let end = samples[.byteBudget]?.last?.seconds {
            // The byte budgets of the two stages over the run's starting RSS.
            let line = Double(bounded.rssBefore + limit * bounded.budgetedPeak.count) / 1_048_576
            budget.append(TimeSeriesChart.Series(name: "start + 2 × max_state_bytes", colour: "#999999", points: [(0, line), (end, line)], dashed: true))
        }
        // What malloc holds for the explosion: flat where RSS creeps up (freed chunks glibc keeps).
        let heap = samples[.explosion].map { explosion in
            [TimeSeriesChart.Series(name: "explosion: malloc in use", colour: TimeSeriesChart.palette[4],
                                    points: explosion.map { ($0.seconds, Double($0.heap) / 1_048_576) }, dashed: true)]
        } ?? []
        let chart = TimeSeriesChart(
            title: "card-fraud, \(Self.count(events)) events: \(Self.count(keys)) distinct customers and terminals against \(Self.count(customers))",
            xLabel: "seconds", panels: [
                .init(title: "Resident memory (MiB)", yLabel: "MiB", series: series { Double($0.rss) / 1_048_576 } + heap + budget),
                .init(title: "Bytes the byte budget counts (FeatureEngine.stateBytes, both stages, MiB)", yLabel: "MiB",
                      series: series { Double($0.budgeted.reduce(0, +)) / 1_048_576 }),
                .init(title: "Keys held (customer + terminal stages, millions)", yLabel: "keys (M)", series: series { Double($0.keys.reduce(0, +)) / 1e6 }),
                .init(title: "Events processed (millions)", yLabel: "events (M)", series: series { Double($0.events) / 1e6 }),
            ])
        try chart.svg().write(toFile: svg, atomically: true, encoding: .utf8)
        print("Chart: \(svg)")
    }
}
