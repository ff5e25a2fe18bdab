// End-to-end throughput and latency of the card-fraud topology under exactly-once commits,
// beside the raw transactional pipe (PipeBench's last row, over the same input records) and a
// Quix Streams app computing the same features with the same model (python/quix_card_fraud.py).
import ArgumentParser
import BenchSupport
import Foundation
import Logging
import VigilKafka
import VigilRuntime
import VigilTopology

@main
struct EndToEndBench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "End-to-end events/s and latency of the card-fraud topology, beside the raw pipe and Quix Streams.")

    @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:19092"
    @Option(help: "Events preloaded for Vigil and the raw pipe.") var events = 200_000
    @Option(help: "Events preloaded for the Quix Streams app (0: skip it).") var quixEvents = 20_000
    @Option(help: "Partitions of the source topics (more than 1: see README, the terminal stage then dead-letters events of a backlog as late).") var partitions: Int32 = 1
    @Option(help: "Seconds of paced input in each latency run (0: no latency runs).") var latencySeconds = 20
    @Option(help: "Events/s of the latency runs (default: these fractions of Vigil's measured events/s).") var latencyRate: Int?
    @Option(parsing: .upToNextOption, help: "Fractions of Vigil's measured events/s the latency runs go at (without --latency-rate).")
    var latencyFractions: [Double] = [0.5, 0.15, 0.02]
    @Option(parsing: .upToNextOption, help: "Latency runs: shipped (the topology's commit interval), COMMIT_MS or COMMIT_MS/FETCH_WAIT_MS (fetch.wait.max.ms of Vigil's consumer; librdkafka's default is 500).")
    var latencyVariant: [String] = ["shipped"]
    @Option(help: "Allowed lateness of the topology's stages, hours (the terminal stage merges source partitions).") var latenessHours = 144
    @Option(name: .customLong("property"), help: "A librdkafka property for Vigil's clients, name=value (repeatable).")
    var properties: [String] = []
    @Option(help: "The Python with quixstreams and xgboost.") var python = "../.venv/bin/python"
    @Option(help: "linger.ms of the latency runs' paced producer (librdkafka's default is 5).") var producerLingerMs = 5
    @Flag(inversion: .prefixedNo, help: "Also run the raw transactional pipe live at each latency rate (the broker's floor).") var latencyPipe = true
    @Option(help: "First rate (events/s) of the sustained-rate ladder (0: no ladder; the latency rates are then fractions of the backlog rate). The ladder stops after two rates in a row not sustained.") var sustainedStart = 0
    @Option(help: "Each step of the ladder goes this many times faster.") var sustainedFactor = 1.5
    @Option(help: "Seconds of paced input in each step of the ladder.") var sustainedSeconds = 10
    @Option(help: "The ladder stops at this rate (events/s).") var sustainedMax = 200_000
    @Option(help: "What Vigil's live transactions write to the changelogs in every run (processing.changelog: key_states or events; default: the topology's).") var changelog: String?
    @Flag(inversion: .prefixedNo, help: "Commit as soon as every fetched event is processed (processing.commit_when_drained, the topology's default), in Vigil's latency and ladder runs and in the pipes beside them; without it, every commit interval.") var commitWhenDrained = true
    @Flag(help: "Wait for each commit before processing the next batch (RuntimeOptions.overlapsCommit off), as before 2026-12-06: the A/B of the commit in the background.") var serialCommit = false
    @Flag(help: "Turn on local delivery (processing.local_delivery) in Vigil's latency and sustained-rate runs: an event's two stages in one transaction where this instance owns its repartition partition (sound on a broker that hides aborted records; README, Local delivery).") var localDelivery = false
    @Flag(help: "Vigil's latency and sustained-rate runs without the topology's drift monitor: what drift costs live.") var vigilWithoutDrift = false
    @Option(help: "Vigil instances in one consumer group in the latency and sustained-rate runs, each a runtime on a thread of its own (Kafka Streams' stream threads): with one source partition, two put the source's stage and the repartition topic's stage on different threads.") var vigilInstances = 1
    @Flag(inversion: .prefixedNo, help: "Also run Vigil without drift and without local delivery (every event through the repartition topic, as Kafka Streams does).") var throughTopic = true
    @Option(parsing: .upToNextOption, help: "Also climb the ladder with pipes writing side records, as Vigil's stages write changelog records: hops separated by '/', each a '+'-separated list of side-record sizes in bytes, one side topic each. 300/145: two hops with one side record each (Vigil's four partitions a transaction, as shipped); 300+145: one hop with two (three partitions: local delivery); 445: one hop with one (two partitions); 0: a hop without (8/0: three partitions, two hops).")
    var statePipeBytes: [String] = []
    @Option(parsing: .upToNextOption, help: "Only these climb the ladder: pipe, two-hops, sides (the pipes of --state-pipe-bytes), vigil (default: all), so that each can have a fresh broker of its own.")
    var ladderSubjects: [String] = []
    @Option(help: "CPU nanoseconds the live two-hop pipe (ladder and latency runs) spends per event besides copying it, split evenly over its hops: a stand-in for a processor's work, to judge a rate against the write pattern plus that cost on the same cores (0: none).") var pipeWorkNs = 0
    @Flag(help: "The live two-hop pipe runs each hop on a thread of its own, with its own consumer group, producer and transactions (as two Vigil instances of one group split the topology's two stages, --vigil-instances 2), instead of both hops in one loop.") var pipeHopThreads = false
    @Flag(help: "The live pipes commit on a thread of their own while their loop polls and works on, holding what it polls meanwhile for the next transaction (as the runtime's commit in the background does); not with --state-pipe-bytes.") var pipeOverlapsCommit = false
    @Option(help: "The live two-hop pipe's copies as Vigil's records: each hop's values of these bytes, 'A/B' (the repartitioned event, the score record; 0: the input's value as is), the input's text repeated or cut to that length; with two-hops as a ladder subject.") var pipeHopBytes: String?
    @Flag(help: "The live two-hop pipe's last hop puts the three provenance headers Vigil puts on a score record on each copy.") var pipeProvenanceHeaders = false
    @Option(help: "The live two-hop pipe writes a changelog as Vigil's `changelog: events` does: each hop one record a transaction and partition of these bytes times the records it copied there, 'A/B'.") var pipeChangelogBytes: String?
    @Flag(help: "After each of Vigil's latency and ladder runs, print the mean size of the records in its repartition, scores and changelog topics (the first 20,000 of each), for --pipe-hop-bytes and --pipe-changelog-bytes.") var recordSizes = false
    @Flag(help: "The pipes of --state-pipe-bytes write each side record once a transaction and partition, of the given bytes times the records copied there (the pattern of changelog: events), instead of one beside each record.") var sideRecordsPerTransaction = false

    func validate() throws {
        guard vigilInstances >= 1 else { throw ValidationError("--vigil-instances must be 1 or more") }
        guard pipeWorkNs >= 0 else { throw ValidationError("--pipe-work-ns must be 0 or more") }
        if pipeOverlapsCommit, !statePipeBytes.isEmpty {
            throw ValidationError("--pipe-overlaps-commit does not go with --state-pipe-bytes: a pipe that commits in the background writes side records only once a transaction (--pipe-changelog-bytes)")
        }
        _ = try Self.perHop(pipeHopBytes, option: "--pipe-hop-bytes")
        _ = try Self.perHop(pipeChangelogBytes, option: "--pipe-changelog-bytes")
    }

    func run() throws {
        // As `vigil run` starts, for every subject in this process (peers and Vigil alike): the
        // bench links jemalloc as `vigil` does (Package.swift); under LD_PRELOAD or without it,
        // the allocator line says what ran.
        let allocator = ProcessAllocator.prepareForStreamProcessing()
        var logger = Logger(label: "e2e-bench")
        logger.logLevel = .error
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "e2e-bench")
        var vigilKafka = kafka
        for property in properties {
            guard let equals = property.firstIndex(of: "=") else { throw ValidationError("--property takes name=value") }
            vigilKafka.properties[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        let admin = try Admin(configuration: kafka, logger: logger)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        // Enough events for the latency runs at up to 40k events/s (a run is cut short where the
        // data ends, and says so in its events column), and for every step of the ladder to last
        // its seconds: past the handbook's 1.75M events, its rows again a cycle later (before
        // 2026-12-06's eighth session the ladder's steps stopped at 800,000 events, so that a
        // step at 345,985/s lasted 2.3 s).
        let latencyEventsNeeded = max(latencyRate.map { $0 * latencySeconds + 1 } ?? latencySeconds * 40_000,
                                      sustainedStart > 0 ? sustainedMax * sustainedSeconds + 1 : 0)
        let data = try Handbook.transactions(max(events, quixEvents, latencyEventsNeeded), repeating: true)
        print("loaded \(data.count) handbook transactions", to: &standardError)

        // 1. Vigil, preloaded: from the first commit (the group join and restore are before it) to the last.
        let name = "e2e-\(suffix)"
        var topology = try Handbook.topology(name: name, lateness: Int64(latenessHours) * 3_600_000)
        topology.processing.changelog = try changelogRecords() ?? topology.processing.changelog
        let source = topology.source.topics[0]
        try admin.createTopics([NewTopic(name: source, partitions: partitions)])
        try Handbook.produce(data[0..<events], to: source, kafka: kafka, logger: logger)
        print("preloaded \(events) events to \(source)", to: &standardError)
        func runVigil(_ topology: Topology, label: String) throws -> (scored: Int, seconds: Double, rate: Double) {
            let instance = try RunningInstance(topology: topology, options: Handbook.options(for: topology, kafka: vigilKafka, instanceID: "bench", overlapsCommit: !serialCommit), logger: logger)
            let allCommitted = instance.waitUntilCommitted(events, timeout: .seconds(600))
            instance.stop()
            if let failure = instance.failure { throw BenchError("Vigil failed: \(failure)") }
            guard allCommitted else { throw BenchError("Vigil did not score \(events) events within 600 s") }
            let commits = instance.commits
            let first = commits[0], last = commits.first { $0.statistics.scored + $0.statistics.deadLettered >= events }!
            let seconds = (last.time - first.time).seconds
            let scored = last.statistics.scored + last.statistics.deadLettered - first.statistics.scored - first.statistics.deadLettered
            let statistics = last.statistics
            let cpuPerEvent = (last.cpuSeconds - first.cpuSeconds) / Double(scored) * 1e6
            print("Vigil (\(label)): \(scored) events (scored or dead-lettered) in \(String(format: "%.2f", seconds)) s = \(Int(Double(scored) / seconds))/s; runtime thread \(String(format: "%.1f", cpuPerEvent)) µs CPU per event; \(statistics.transactionsCommitted) transactions, dead-lettered \(statistics.deadLettered), changelog records \(statistics.changelogRecords), snapshots \(statistics.snapshotsWritten); \(Self.phaseShares(from: first, to: last))", to: &standardError)
            return (scored, seconds, Double(scored) / seconds)
        }
        let shipped = try runVigil(topology, label: "as shipped")
        let (vigilScored, vigilSeconds, vigilRate) = shipped
        // The same work as the Quix app: features, model and scores, without the topology's drift
        // monitor (which the Quix app does not do). Over the same preloaded records.
        var sameWork = topology.renamed("\(name)-nodrift", sourceTopics: [source])
        sameWork.drift = nil
        let withoutDrift = try runVigil(sameWork, label: "without drift")
        // What local delivery buys: the same work with every event through the repartition topic.
        var topicOnly = topology.renamed("\(name)-topic", sourceTopics: [source])
        topicOnly.drift = nil
        topicOnly.processing.localDelivery = false
        let throughTopicRun = throughTopic ? try runVigil(topicOnly, label: "without drift, through the repartition topic") : nil

        // 2. The raw transactional pipe over the same records (its outputs made with the source's partitions).
        try admin.createTopics(["pipe-out", "pipe-policy-out", "pipe-policy-middle", "pipe-policy2-out"].map { NewTopic(name: "\(name).\($0)", partitions: partitions) })
        let pipe = try TransactionalPipe(kafka: kafka, transactionSize: 1000, logger: logger)
            .run(input: source, output: "\(name).pipe-out", partitions: partitions, messages: events, group: "pipe-\(suffix)", transactionalID: "pipe-\(suffix)")
        print("raw pipe: \(pipe.records) in \(String(format: "%.2f", pipe.time.seconds)) s = \(Int(pipe.recordsPerSecond))/s", to: &standardError)
        // The same pipe with the runtime's commit policy (its commit interval, commit when
        // drained): the peer of the partitions target; one hop, and two as the topology's events take.
        let policyPipe = try TransactionalPipe(kafka: kafka, logger: logger)
            .runBacklog(input: source, output: "\(name).pipe-policy-out", messages: events, group: "pipe-policy-\(suffix)", transactionalID: "pipe-policy-\(suffix)",
                        commitInterval: .milliseconds(Int(topology.processing.commitInterval)))
        print("raw pipe, the runtime's commit policy: \(policyPipe.records) in \(String(format: "%.2f", policyPipe.time.seconds)) s = \(Int(policyPipe.recordsPerSecond))/s, \(policyPipe.transactions) transactions", to: &standardError)
        let policyPipeTwoHops = try TransactionalPipe(kafka: kafka, logger: logger)
            .runBacklog(input: source, middle: "\(name).pipe-policy-middle", output: "\(name).pipe-policy2-out", messages: events, group: "pipe-policy2-\(suffix)",
                        transactionalID: "pipe-policy2-\(suffix)", commitInterval: .milliseconds(Int(topology.processing.commitInterval)))
        print("raw pipe, two hops, the runtime's commit policy: \(policyPipeTwoHops.records) in \(String(format: "%.2f", policyPipeTwoHops.time.seconds)) s = \(Int(policyPipeTwoHops.recordsPerSecond))/s, \(policyPipeTwoHops.transactions) transactions", to: &standardError)

        // 3. Quix Streams.
        var quix: (rate: Double, seconds: Double, events: Int, maxDifference: Double, compared: Int)?
        if quixEvents > 0 {
            quix = try runQuix(data: data, kafka: kafka, admin: admin, logger: logger, suffix: String(suffix), vigilScores: topology.outputs.scoresTopic)
        }

        // 4. Latency at half the maximum rate (and lower), per commit interval and fetch wait.
        // 4. The sustained live rate of each (a ladder of paced rates), then latency at fractions of Vigil's.
        var sustained: [(subject: LatencySubject, rate: Int, steps: [String])] = []
        if sustainedStart > 0 {
            // The three climb together, a rate at a time, so that each step of each runs on a
            // broker about as used as the others' (Tansu slows with every topic and batch).
            // Each keeps the highest rate it held, and stops after two rates in a row that it
            // did not (on this broker one step's p50 can creep past 1.5x at any rate).
            let statePipes = try statePipeBytes.map { text -> LatencySubject in
                let hops = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.split(separator: "+", omittingEmptySubsequences: false).map { Int($0) } }
                // A hop of 0 writes no side record (8/0: two hops, a side record in the first only).
                guard (1...2).contains(hops.count), hops.allSatisfy({ !$0.isEmpty && $0.allSatisfy { ($0 ?? -1) >= 0 } }) else {
                    throw ValidationError("--state-pipe-bytes takes sizes in bytes, '+' between a hop's side records and '/' between two hops (300/145, 300+145, 445, 8/0), got \(text)")
                }
                return .pipeWithSideRecords(hops.map { $0.compactMap { $0 == 0 ? nil : $0 } }, perTransaction: sideRecordsPerTransaction)
            }
            sustained = ([.pipe, .pipeTwoHops] + statePipes + [.vigil]).filter { subject in
                guard !ladderSubjects.isEmpty else { return true }
                switch subject {
                case .pipe: return ladderSubjects.contains("pipe")
                case .pipeTwoHops: return ladderSubjects.contains("two-hops")
                case .pipeWithSideRecords: return ladderSubjects.contains("sides")
                case .vigil: return ladderSubjects.contains("vigil")
                }
            }.map { ($0, 0, []) }
            var missed = [Int](repeating: 0, count: sustained.count)
            var rate = sustainedStart, number = 0
            while rate <= sustainedMax, missed.contains(where: { $0 < 2 }) {
                for index in sustained.indices where missed[index] < 2 {
                    let subject = sustained[index].subject
                    let result = try measureLatency(subject, data: data, rate: rate, seconds: sustainedSeconds, interval: Int(topology.processing.commitInterval), kafka: kafka,
                                                    vigilKafka: vigilKafka, admin: admin, logger: logger, suffix: "\(suffix)-s\(subject)\(number)")
                    let held = result.matched == result.produced && Double(result.lastP50) <= 1.5 * Double(max(1, result.firstP50))
                    sustained[index].steps.append("\(rate): \(result.trend)\(held ? "" : " ✗")")
                    print("\(described(subject)) at \(rate)/s: p50 first → last second \(result.trend), p99 \(f1(result.p99)) ms: \(held ? "sustained" : "not sustained")", to: &standardError)
                    if held { sustained[index].rate = rate }
                    missed[index] = held ? 0 : missed[index] + 1
                }
                rate = Int(Double(rate) * sustainedFactor)
                number += 1
            }
        }
        let vigilSustained = sustained.first { $0.subject == .vigil }?.rate ?? 0
        // Fractions of Vigil's sustained rate; of the ladder's first rate when not even that held
        // (said in the output); of the backlog rate without a ladder.
        let base = sustainedStart > 0 ? Double(vigilSustained > 0 ? vigilSustained : sustainedStart) : vigilRate
        if sustainedStart > 0, vigilSustained == 0 {
            print("Vigil sustained no rate of the ladder: the latency rates are fractions of its first rate, \(sustainedStart)/s", to: &standardError)
        }
        let rates = latencyRate.map { [$0] } ?? latencyFractions.map { Int(base * $0) }
        var latencies: [(rate: Int, interval: Int, fetchWait: Int?, result: LatencyResult)] = []
        var pipeLatencies: [(rate: Int, hops: Int, result: LatencyResult)] = []
        let shippedInterval = Int(topology.processing.commitInterval)
        // Per rate, the pipes and then Vigil, so that each pair runs on a broker about as used.
        for (number, rate) in rates.enumerated() where latencySeconds > 0 {
            for subject in [LatencySubject.pipe, .pipeTwoHops] where latencyPipe {
                let result = try measureLatency(subject, data: data, rate: rate, interval: shippedInterval, kafka: kafka, vigilKafka: vigilKafka, admin: admin, logger: logger,
                                                suffix: "\(suffix)-\(subject)\(number)")
                print("\(subject) latency at \(rate)/s: p50 \(result.p50) p99 \(result.p99) p99.9 \(result.p999) ms (\(result.matched)/\(result.produced) matched)", to: &standardError)
                pipeLatencies.append((rate, subject == .pipe ? 1 : 2, result))
            }
            for (variantNumber, variant) in latencyVariant.enumerated() {
                let parts = variant == "shipped" ? [shippedInterval] : variant.split(separator: "/").map { Int($0) }
                guard let interval = parts.first ?? nil, parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--latency-variant takes COMMIT_MS or COMMIT_MS/FETCH_WAIT_MS, got \(variant)") }
                var variantKafka = vigilKafka
                let fetchWait = parts.count > 1 ? parts[1] : nil
                if let fetchWait { variantKafka.properties["fetch.wait.max.ms"] = String(fetchWait) }
                let result = try measureLatency(data: data, rate: rate, interval: interval, kafka: kafka, vigilKafka: variantKafka, admin: admin, logger: logger,
                                                suffix: "\(suffix)-\(number)-\(variantNumber)")
                print("latency at \(rate)/s, variant \(variant): p50 \(result.p50) p99 \(result.p99) p99.9 \(result.p999) ms (\(result.matched)/\(result.produced) matched)", to: &standardError)
                latencies.append((rate, interval, fetchWait, result))
            }
        }
        let commitCosts = latencySeconds == 0 ? [] : try measureCommitCost(kafka: kafka, admin: admin, logger: logger, suffix: String(suffix))

        /// A pipe's row: records, seconds, records/s and Vigil's share ("-" when one transaction held the backlog: nothing was timed).
        func rateColumns(_ result: TransactionalPipe.Result) -> String {
            guard result.records > 0, result.time > .zero else { return "| \(events) | - | - (one transaction: give more --events) | |" }
            return "| \(result.records) | \(f2(result.time.seconds)) | \(Int(result.recordsPerSecond)) | \(f2(vigilRate / result.recordsPerSecond))x (\(Int(100 * vigilRate / result.recordsPerSecond)) %)"
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("""
        Broker: Tansu at \(bootstrap), \(partitions) partitions; librdkafka \(LibrdkafkaVersion.string); allocator: \(allocator); topology card-fraud \
        (2 stages through a repartition topic, XGBoost); load average at the end: \(load)

        | system | events | seconds | events/s | Vigil / system | target |
        |---|---:|---:|---:|---:|---|
        | Vigil, card-fraud as shipped (with its drift monitor), exactly-once | \(vigilScored) | \(f2(vigilSeconds)) | \(Int(vigilRate)) | 1.00x | |
        | Vigil, card-fraud without drift (the Quix app's work), exactly-once | \(withoutDrift.scored) | \(f2(withoutDrift.seconds)) | \(Int(withoutDrift.rate)) | | |
        \(throughTopicRun.map { "| Vigil, card-fraud without drift, every event through the repartition topic (local delivery off) | \($0.scored) | \(f2($0.seconds)) | \(Int($0.rate)) | | |\n" } ?? "")| raw transactional pipe (1000/txn) | \(pipe.records) | \(f2(pipe.time.seconds)) | \(Int(pipe.recordsPerSecond)) | \(f2(vigilRate / pipe.recordsPerSecond))x (\(Int(100 * vigilRate / pipe.recordsPerSecond)) %) | |
        | raw transactional pipe, Vigil's commit policy (\(Int(topology.processing.commitInterval)) ms, commit when drained; \(policyPipe.transactions) transactions) \(rateColumns(policyPipe)) | ≥ 60 %: \(vigilRate >= 0.6 * policyPipe.recordsPerSecond ? "met" : "missed") |
        | raw transactional pipe, two hops (through a middle topic, as the repartition), Vigil's commit policy (\(policyPipeTwoHops.transactions) transactions) \(rateColumns(policyPipeTwoHops)) | ≥ 60 %: \(vigilRate >= 0.6 * policyPipeTwoHops.recordsPerSecond ? "met" : "missed") |
        """)
        if let quix {
            let ratio = withoutDrift.rate / quix.rate
            print("| Quix Streams \(QuixInfo.version(python)), exactly-once | \(quix.events) | \(f2(quix.seconds)) | \(Int(quix.rate)) | \(f2(ratio))x without drift (\(f2(vigilRate / quix.rate))x with it) | ≥ 30x: \(ratio >= 30 ? "met" : "missed") |")
        }
        print("""

        | latency (produce → score read, read_committed) | rate events/s | commit interval | consumer fetch.wait.max.ms | events | transactions/s | p50 ms | p99 ms | p99.9 ms | max ms | p50 first → last second | target p99 < 50 ms |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|
        """)
        for (rate, interval, fetchWait, result) in latencies {
            print("| Vigil, card-fraud | \(rate) | \(interval) ms | \(fetchWait.map(String.init) ?? "20 (the batch delay)") | \(result.matched) | \(f1(result.transactionsPerSecond)) | \(f1(result.p50)) | \(f1(result.p99)) | \(f1(result.p999)) | \(f1(result.max)) | \(result.trend) | \(result.p99 < 50 ? "met" : "missed") |")
        }
        for (rate, hops, result) in pipeLatencies {
            let label = hops == 1 ? "raw transactional pipe, live (copies each record, commits \(commitWhenDrained ? "when drained" : "every interval"))" : "raw transactional pipe, live, two hops (source → middle → output, one transaction per hop, as the topology's repartition)"
            print("| \(label) | \(rate) | \(shippedInterval) ms | 20 | \(result.matched) | \(f1(result.transactionsPerSecond)) | \(f1(result.p50)) | \(f1(result.p99)) | \(f1(result.p999)) | \(f1(result.max)) | \(result.trend) | \(result.p99 < 50 ? "under 50" : "over 50") |")
        }
        if !latencies.isEmpty, !pipeLatencies.isEmpty {
            print("""

            | Vigil p99 / the pipe's p99 at the same rate | rate events/s | vs one hop | vs two hops | target ≤ 1.5x (two hops) |
            |---|---:|---:|---:|---|
            """)
            for (rate, _, _, result) in latencies {
                let one = pipeLatencies.first { $0.rate == rate && $0.hops == 1 }?.result.p99 ?? .nan
                let two = pipeLatencies.first { $0.rate == rate && $0.hops == 2 }?.result.p99 ?? .nan
                print("| Vigil, card-fraud | \(rate) | \(f2(result.p99 / one))x | \(f2(result.p99 / two))x | \(result.p99 <= 1.5 * two ? "met" : "missed") |")
            }
        }
        if !sustained.isEmpty {
            print("""

            | sustained live rate (last second's p50 ≤ 1.5x the first's; \(sustainedSeconds) s a step) | events/s | steps: rate: p50 first → last second (ms) | Vigil / system | target ≥ 50 % |
            |---|---:|---|---:|---|
            """)
            for (subject, rate, steps) in sustained {
                let ratio = Double(vigilSustained) / Double(rate)
                let share = subject == .vigil || rate == 0 ? "" : "\(Int(100 * ratio)) %"
                // The pipes with side records are the floor of Vigil's own writes, not the target's peer.
                let target = switch subject {
                case .vigil: ""
                case .pipeWithSideRecords: "(a write pattern of Vigil's: not the target's peer)"
                case .pipe, .pipeTwoHops: ratio >= 0.5 ? "met" : "missed"
                }
                print("| \(subject.label) | \(rate > 0 ? "\(rate)" : "none from \(sustainedStart)") | \(steps.joined(separator: "; ")) | \(share) | \(target) |")
            }
        }
        print("""

        | one transaction on this broker: partitions written | send offsets ms | commit ms |
        |---:|---:|---:|
        """)
        for cost in commitCosts { print("| \(cost.partitions) | \(f1(cost.offsets * 1000)) | \(f1(cost.commit * 1000)) |") }
        if let quix {
            print("\nQuix scores compared with Vigil's for the same \(quix.compared) transactions: largest difference \(quix.maxDifference)")
        }
        try? admin.deleteTopics([source, "\(name).pipe-out", "\(name).pipe-policy-out", "\(name).pipe-policy-middle", "\(name).pipe-policy2-out"], ignoreMissing: true)
    }

    // MARK: Quix Streams

    func runQuix(data: [Handbook.Transaction], kafka: KafkaConfiguration, admin: Admin, logger: Logger, suffix: String, vigilScores: String) throws
        -> (rate: Double, seconds: Double, events: Int, maxDifference: Double, compared: Int)
    {
        let input = "quix-\(suffix).transactions", output = "quix-\(suffix).scores"
        // Quix reads its topics' configuration and fails on this broker unless retention.ms is set.
        let configs = ["retention.ms": "604800000", "cleanup.policy": "delete"]
        try admin.createTopics([NewTopic(name: input, partitions: partitions, configs: configs), NewTopic(name: output, partitions: partitions, configs: configs)])
        try Handbook.produce(data[0..<quixEvents], to: input, kafka: kafka, logger: logger)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/quix_card_fraud.py").path
        let model = Handbook.repository.appendingPathComponent("topologies/models/card-fraud-xgboost.json").path
        process.arguments = [script, "--broker", bootstrap, "--input", input, "--output", output, "--group", "quix-\(suffix)", "--model", model]
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }

        // Read its committed scores: the first commit to the last, as for Vigil.
        let scores = try readScores(topic: output, partitions: partitions, kafka: kafka, logger: logger, count: quixEvents,
                                    timeout: .seconds(max(300, quixEvents / 50))) { process.isRunning }
        guard scores.values.count >= quixEvents else { throw BenchError("Quix scored \(scores.values.count) of \(quixEvents) events (running: \(process.isRunning))") }
        let firstVisible = scores.firstBatch
        let seconds = (scores.lastTime - firstVisible.time).seconds
        let rate = Double(quixEvents - firstVisible.count) / seconds
        print("Quix: \(quixEvents - firstVisible.count) events in \(f2(seconds)) s = \(Int(rate))/s", to: &standardError)

        // Same scores as Vigil's?
        let vigil = try readScores(topic: vigilScores, partitions: partitions, kafka: kafka, logger: logger, count: events, timeout: .seconds(120)) { true }
        var maxDifference = 0.0, compared = 0
        for (id, score) in scores.values {
            guard let other = vigil.values[id] else { continue }
            maxDifference = max(maxDifference, abs(score - other))
            compared += 1
        }
        try? admin.deleteTopics([input, output], ignoreMissing: true)
        return (rate, seconds, quixEvents - firstVisible.count, maxDifference, compared)
    }

    struct ReadScores {
        var values: [Int: Double] = [:]
        var firstBatch: (time: ContinuousClock.Instant, count: Int) = (.now, 0)
        var lastTime: ContinuousClock.Instant = .now
    }

    /// Reads a scores topic (read_committed) from the start until `count` distinct ids.
    func readScores(topic: String, partitions: Int32, kafka: KafkaConfiguration, logger: Logger, count: Int, timeout: Duration, alive: () -> Bool) throws -> ReadScores {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "score-reader-\(UUID().uuidString.prefix(8))")
        configuration.kafka.properties["fetch.wait.max.ms"] = "10"
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), KafkaOffset.beginning) }))
        var result = ReadScores()
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while result.values.count < count, clock.now < end, alive() {
            try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(100)) { batch in
                guard !batch.messages.isEmpty else { return }
                let now = clock.now
                for message in batch.messages {
                    let score: Double? = message.withValue { value in
                        guard let value, let text = String(bytes: value, encoding: .utf8), let range = text.range(of: #""score":"#) else { return nil }
                        let rest = text[range.upperBound...].drop { $0 == " " }
                        return Double(rest.prefix { "0123456789.eE+-".contains($0) })
                    }
                    if let id = message.withValue({ Handbook.scoreID($0) }), let score { result.values[id] = score }
                }
                if result.firstBatch.count == 0 { result.firstBatch = (now, result.values.count) }
                result.lastTime = now
            }
        }
        return result
    }

    // MARK: Latency

    struct LatencyResult {
        var produced: Int, matched: Int
        var p50: Double, p99: Double, p999: Double, max: Double
        var transactionsPerSecond: Double
        /// p50 of the first and the last second of the run: a growing latency means the rate is not sustained.
        var trend: String
        /// Where Vigil's runtime thread spent the run (nil for the pipe).
        var phases: String? = nil
        var firstP50 = 0, lastP50 = 0
    }

    /// The runtime thread's wall time between two commits by phase of its loop (shares of the
    /// time, ms per transaction), its CPU per event, the changelog records per event, and the
    /// share of events that crossed the repartition topic.
    static func phaseShares(from first: (time: ContinuousClock.Instant, statistics: RuntimeStatistics, cpuSeconds: Double),
                            to last: (time: ContinuousClock.Instant, statistics: RuntimeStatistics, cpuSeconds: Double)) -> String {
        let wall = (last.time - first.time).seconds
        let transactions = Double(last.statistics.transactionsCommitted - first.statistics.transactionsCommitted)
        // Source events in, or (an instance owning only the repartition topic's partitions,
        // --vigil-instances) the events it scored or dead-lettered.
        let finished = { (statistics: RuntimeStatistics) in statistics.scored + statistics.deadLettered }
        let events = Double(max(last.statistics.eventsIn - first.statistics.eventsIn, finished(last.statistics) - finished(first.statistics)))
        let (a, b) = (first.statistics.phases, last.statistics.phases)
        func share(_ label: String, _ duration: Duration) -> String {
            "\(label) \(Int((100 * duration.seconds / wall).rounded())) % (\(f1(duration.seconds * 1000 / transactions)) ms/txn)"
        }
        let cpu = (last.cpuSeconds - first.cpuSeconds) / events * 1e6
        let changelog = Double(last.statistics.changelogRecords - first.statistics.changelogRecords) / events
        let changelogBytes = Double(last.statistics.changelogBytes - first.statistics.changelogBytes) / events
        // The rest go to the next segment in memory (local delivery).
        let throughTopicShare = 100 * Double(last.statistics.forwarded - first.statistics.forwarded) / events
        // The live path's cost per event by stage: wall time of the runtime's thread (its CPU
        // when the machine has a core to spare for it; compare with the CPU per event).
        let (s, t) = (first.statistics.stages, last.statistics.stages)
        func perEvent(_ label: String, _ duration: Duration) -> String { "\(label) \(f2(duration.seconds * 1e6 / events))" }
        let stages = [perEvent("decode", t.decoding - s.decoding), perEvent("features", t.features - s.features),
                      perEvent("score", t.scoring - s.scoring), perEvent("drift", t.drift - s.drift),
                      perEvent("outputs queued", t.output - s.output), perEvent("changelog", b.changelog - a.changelog),
                      perEvent("commit", b.committing - a.committing), perEvent("poll", b.polling - a.polling)]
        return [share("polling", b.polling - a.polling), share("processing", b.processing - a.processing),
                share("changelog", b.changelog - a.changelog), share("committing", b.committing - a.committing)].joined(separator: ", ")
            + "; \(f1(events / transactions)) events/txn, \(f1(Double(last.statistics.batchesBehindCommit - first.statistics.batchesBehindCommit) / transactions)) batches/txn behind a commit, \(f1(cpu)) µs CPU/event, \(f2(changelog)) changelog records/event (\(f1(changelogBytes)) bytes), \(f1(throughTopicShare)) % of events through the repartition topic"
            + "; µs per event by stage: \(stages.joined(separator: ", "))"
    }

    /// A subject as the ladder's lines name it, with the flags that change what it does.
    func described(_ subject: LatencySubject) -> String {
        var flags: [String] = []
        if subject == .vigil, vigilWithoutDrift { flags.append("without drift") }
        if subject == .pipeTwoHops {
            if let pipeHopBytes { flags.append("values of \(pipeHopBytes) bytes") }
            if pipeProvenanceHeaders { flags.append("provenance headers") }
            if let pipeChangelogBytes { flags.append("changelog \(pipeChangelogBytes) bytes a record") }
        }
        return flags.isEmpty ? "\(subject)" : "\(subject) (\(flags.joined(separator: ", ")))"
    }

    /// The two values of a per-hop option, `A/B` (none: `[]`).
    static func perHop(_ text: String?, option: String) throws -> [Int] {
        guard let text else { return [] }
        let values = text.split(separator: "/").map { Int($0) }
        guard values.count == 2, let first = values[0], let second = values[1], first >= 0, second >= 0 else {
            throw ValidationError("\(option) takes two sizes in bytes, 'A/B', got \(text)")
        }
        return [first, second]
    }

    /// The mean key, value and header bytes of the first 20,000 records of `topic` (uncommitted
    /// ones too: what the producers wrote).
    static func meanRecordSize(topic: String, partitions: Int32, kafka: KafkaConfiguration, logger: Logger) throws -> String {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "sizes-\(UUID().uuidString.prefix(8))")
        configuration.isolationLevel = .readUncommitted
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), KafkaOffset.beginning) }))
        var (records, keys, values, headers) = (0, 0, 0, 0)
        var idle = 0
        while records < 20_000, idle < 10 {
            let count = try consumer.withBatch(maxRecords: 5_000, timeout: .milliseconds(100), fill: false) { batch in
                for message in batch.messages {
                    keys += message.withKey { $0?.count ?? 0 }
                    values += message.withValue { $0?.count ?? 0 }
                    headers += message.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
                }
                return batch.messages.count
            }
            records += count
            idle = count == 0 ? idle + 1 : 0
        }
        guard records > 0 else { return "none read" }
        let mean = { (total: Int) in String(format: "%.1f", Double(total) / Double(records)) }
        return "\(records) read, mean key \(mean(keys)) bytes, value \(mean(values)), header names and values \(mean(headers))"
    }

    /// What a latency run measures: Vigil, or the raw transactional pipe run live (its floor).
    /// (`pipeTwoHops`: the pipe copying source → middle → output in one instance's
    /// transactions, the floor of a two-stage topology whose events cross a repartition topic.)
    /// (`pipeWithSideRecords`: the pipe over one or two hops, each hop also writing a side
    /// record of each given size per record to a topic of its own, as stages write their
    /// changelogs: the floor of a write pattern of Vigil's.)
    enum LatencySubject: Equatable {
        case vigil, pipe, pipeTwoHops
        case pipeWithSideRecords([[Int]], perTransaction: Bool)

        var label: String {
            switch self {
            case .vigil: "Vigil, card-fraud"
            case .pipe: "raw transactional pipe, live, one hop"
            case .pipeTwoHops: "raw transactional pipe, live, two hops"
            case let .pipeWithSideRecords(hops, perTransaction):
                "raw transactional pipe, live, \(hops.count == 1 ? "one hop" : "two hops"), writing \(perTransaction ? "once a transaction and partition, for each record," : "beside each record") \(hops.map { $0.isEmpty ? "no" : $0.map { "\($0)" }.joined(separator: " + ") + " bytes" }.joined(separator: ", then ")) of side records (\(hops.count + hops.joined().count) partitions a transaction)"
            }
        }
    }

    /// `--changelog` as the topology's setting.
    func changelogRecords() throws -> ChangelogRecords? {
        guard let changelog else { return nil }
        guard let records = ChangelogRecords(rawValue: changelog) else {
            throw ValidationError("--changelog must be one of \(ChangelogRecords.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return records
    }

    /// Produces at `rate` for `latencySeconds` into a fresh topology's source, each record stamped
    /// with its produce time; a read_committed reader notes when each score arrives (or, for the
    /// pipe, each copied record).
    func measureLatency(_ subject: LatencySubject = .vigil, data: [Handbook.Transaction], rate: Int, seconds: Int? = nil, interval: Int, kafka: KafkaConfiguration,
                        vigilKafka: KafkaConfiguration, admin: Admin, logger: Logger, suffix: String) throws -> LatencyResult {
        let latencySeconds = seconds ?? latencySeconds
        let name = "lat-\(suffix)"
        var topology = try Handbook.topology(name: name)
        topology.processing.commitInterval = Int64(interval)
        if localDelivery {
            topology.processing.localDelivery = true
            topology.processing.changelog = .keyStates  // events records are chained by input offsets
        }
        topology.processing.changelog = try changelogRecords() ?? topology.processing.changelog
        topology.processing.commitWhenDrained = commitWhenDrained
        if vigilWithoutDrift { topology.drift = nil }
        let source = topology.source.topics[0]
        try admin.createTopics([NewTopic(name: source, partitions: partitions)])
        let total = min(rate * latencySeconds, data.count - 1)
        var idToIndex: [Int: Int] = [:]
        idToIndex.reserveCapacity(total + 1)
        for index in 0...total { idToIndex[Int(data[index].id)!] = index }
        let reader: ScoreReader
        var instances: [RunningInstance] = []
        let pipeStop = Locked(false)
        let pipeDone = DispatchSemaphore(value: 0)
        let pipeTransactions = Locked(0)
        let pipeCommitting = Locked(Duration.zero)
        let pipeThreadCPU = Locked(0.0)
        var pipeThreads = 0
        switch subject {
        case .vigil:
            for number in 0..<vigilInstances {
                instances.append(try RunningInstance(topology: topology, options: Handbook.options(for: topology, kafka: vigilKafka, instanceID: vigilInstances == 1 ? "bench" : "bench-\(number)",
                                                                                                   overlapsCommit: !serialCommit), logger: logger))
            }
            let scoresPartitions = try Handbook.waitForTopic(topology.outputs.scoresTopic, admin: admin)
            if vigilInstances > 1 {
                // Every input partition (the source's and the repartition topic's) restored and
                // processed by some instance, each instance with its share, before the clock starts.
                let inputs = Int(partitions) * instances[0].runtime.plan.segments.count
                let settled = Handbook.waitUntil(within: .seconds(60)) {
                    instances.allSatisfy { $0.runtime.statistics.activePartitions >= min(1, inputs / instances.count) }
                        && instances.reduce(0) { $0 + $1.runtime.statistics.activePartitions } == inputs
                }
                guard settled else { throw BenchError("the \(vigilInstances) instances did not share the \(inputs) input partitions within 60 s") }
                print("instances' input partitions: \(instances.map { "\($0.runtime.statistics.activePartitions)" }.joined(separator: " + "))", to: &standardError)
            }
            reader = ScoreReader(topic: topology.outputs.scoresTopic, partitions: scoresPartitions, kafka: kafka, logger: logger, indices: idToIndex, capacity: total + 1,
                                 identify: Handbook.scoreID)
        case .pipe, .pipeTwoHops, .pipeWithSideRecords:
            // The same hop with nothing in it: consume the source, copy each record, commit the
            // offsets with it — as the runtime commits (when drained, at most `interval`), with
            // its fetch wait (the batch delay) and linger. Two hops: through a middle topic too.
            let output = "\(name).pipe-out"
            let oneHop: Bool
            if case let .pipeWithSideRecords(sides, _) = subject { oneHop = sides.count == 1 } else { oneHop = subject == .pipe }
            var hops = oneHop ? [TransactionalPipe.Hop(input: source, output: output)]
                : [TransactionalPipe.Hop(input: source, output: "\(name).pipe-middle"), TransactionalPipe.Hop(input: "\(name).pipe-middle", output: output)]
            if case let .pipeWithSideRecords(sides, perTransaction) = subject {
                for (hop, sizes) in sides.enumerated() {
                    hops[hop].sides = sizes.enumerated().map { ("\(name).pipe-side-\(hop)-\($0.offset)", $0.element) }
                    hops[hop].sidesPerTransaction = perTransaction
                }
            }
            // The stand-in for a processor's work goes to the two-hop pipe only: the one-hop
            // pipe is the reference the sustained target is a share of.
            if subject == .pipeTwoHops {
                for index in hops.indices { hops[index].workPerRecord = .nanoseconds(pipeWorkNs) / hops.count }
                // Vigil's writes (--pipe-hop-bytes, --pipe-provenance-headers, --pipe-changelog-bytes).
                for (index, bytes) in try Self.perHop(pipeHopBytes, option: "--pipe-hop-bytes").enumerated() { hops[index].outputBytes = bytes }
                hops[hops.count - 1].provenanceHeaders = pipeProvenanceHeaders
                for (index, bytes) in try Self.perHop(pipeChangelogBytes, option: "--pipe-changelog-bytes").enumerated() where bytes > 0 {
                    hops[index].sides = [("\(name).pipe-changelog-\(index)", bytes)]
                    hops[index].sidesPerTransaction = true
                }
            }
            try admin.createTopics((hops.map(\.output) + hops.flatMap { $0.sides.map(\.topic) }).map { NewTopic(name: $0, partitions: partitions) })
            let pipe = TransactionalPipe(kafka: vigilKafka, logger: logger)
            let fetchWait = Int(vigilKafka.properties["fetch.wait.max.ms"] ?? "20") ?? 20
            // Each hop on a thread of its own (--pipe-hop-threads), in a group and with
            // transactions of its own, as two Vigil instances split a topology's two stages.
            let threadsHops = pipeHopThreads && subject == .pipeTwoHops ? hops.map { [$0] } : [hops]
            pipeThreads = threadsHops.count
            for (number, pipeHops) in threadsHops.enumerated() {
                let id = threadsHops.count == 1 ? "\(name).pipe" : "\(name).pipe-\(number)"
                Thread {
                    let cpuStart = ThreadCPU.seconds()
                    do {
                        let transactions = try pipe.runLive(hops: pipeHops, group: id, transactionalID: id,
                                                            fetchWait: .milliseconds(fetchWait), commitInterval: .milliseconds(interval),
                                                            commitsWhenDrained: commitWhenDrained, overlapsCommit: pipeOverlapsCommit,
                                                            onCommitted: { duration in pipeCommitting.update { $0 += duration } }, stop: { _ in pipeStop.value })
                        pipeTransactions.update { $0 += transactions }
                    } catch {
                        print("pipe failed: \(error)", to: &standardError)
                    }
                    let cpu = ThreadCPU.seconds() - cpuStart
                    pipeThreadCPU.update { $0 += cpu }
                    pipeDone.signal()
                }.start()
            }
            reader = ScoreReader(topic: output, partitions: partitions, kafka: kafka, logger: logger, indices: idToIndex, capacity: total + 1, identify: Handbook.lineID)
        }
        func stopPipe() -> Int {
            guard subject != .vigil, !pipeStop.value else { return pipeTransactions.value }
            pipeStop.value = true
            for _ in 0..<pipeThreads { pipeDone.wait() }
            return pipeTransactions.value
        }
        defer {
            for instance in instances { instance.stop() }
            _ = stopPipe()
        }
        reader.start()
        defer { reader.stop() }

        var producerConfiguration = ProducerConfiguration(kafka: kafka)
        producerConfiguration.linger = .milliseconds(producerLingerMs)
        let producer = try Producer(configuration: producerConfiguration, logger: logger)
        let clock = ContinuousClock()
        let origin = clock.now
        var producedAt = [Duration](repeating: .zero, count: total + 1)
        // Keys and values as bytes before the clock starts: the paced producer shares the two
        // cores with Vigil and the broker, and should cost as little as it can.
        let keys = data[0...total].map { Array($0.customer.utf8) }
        let values = data[0...total].map { Array($0.line.utf8) }
        func send(_ index: Int) throws {
            let now = clock.now
            producedAt[index] = now - origin
            let timestamp = Int64(Date().timeIntervalSince1970 * 1000)
            try keys[index].withUnsafeBytes { key in
                try values[index].withUnsafeBytes { value in
                    try producer.send(topic: source, key: key, value: value, timestamp: timestamp)
                }
            }
        }
        // Warm-up: one event, through once the group has joined and the partitions are restored.
        try send(0)
        guard reader.waitFor(index: 0, timeout: .seconds(60)) else { throw BenchError("the warm-up event was not scored within 60 s") }
        let start = clock.now
        var next = 1
        while next <= total {
            let due = min(total, Int((clock.now - start).seconds * Double(rate)) + 1)
            while next <= due { try send(next); next += 1 }
            Thread.sleep(forTimeInterval: 0.001)
        }
        try producer.flush()
        _ = reader.waitForAll(timeout: .seconds(60))
        if recordSizes, let plan = instances.first?.runtime.plan {
            for topic in [plan.segments[1].inputTopic, plan.scoresTopic] + plan.changelogTopics {
                print("records of \(topic): \(try Self.meanRecordSize(topic: topic, partitions: partitions, kafka: kafka, logger: logger))", to: &standardError)
            }
        }
        let transactionsPerSecond: Double
        var phases: String?
        if let instance = instances.first {
            let commits = instance.commits.filter { $0.time >= start }
            transactionsPerSecond = commits.count > 1 ? Double(commits.count - 1) / (commits.last!.time - commits.first!.time).seconds : .nan
            if commits.count > 1 { phases = Self.phaseShares(from: commits.first!, to: commits.last!) }
            for (number, other) in instances.enumerated().dropFirst() {
                let commits = other.commits.filter { $0.time >= start }
                if commits.count > 1 { phases = (phases ?? "") + "\n  instance \(number): " + Self.phaseShares(from: commits.first!, to: commits.last!) }
            }
            // The commit's cost and the transactions' size by second: whether the runtime's own
            // cycle slows as the run goes on (the broker ageing) or its input outgrows it.
            var bySecond: [String] = []
            var previous = commits.first
            for second in 1...max(1, Int((commits.last.map { ($0.time - start).seconds } ?? 0).rounded(.up))) {
                guard let first = previous, let last = commits.last(where: { $0.time - start <= .seconds(second) }), last.time > first.time else { continue }
                let transactions = Double(last.statistics.transactionsCommitted - first.statistics.transactionsCommitted)
                let committing = (last.statistics.phases.committing - first.statistics.phases.committing).seconds * 1000
                let events = Double(last.statistics.eventsIn - first.statistics.eventsIn)
                if transactions > 0 { bySecond.append("\(f1(committing / transactions))/\(Int(events / transactions))") }
                previous = last
            }
            print("commit ms/txn / events per txn by second of the run: \(bySecond.joined(separator: " "))", to: &standardError)
        } else {
            // Counted when the pipe stops (after the last record is read): the whole run, warm-up included.
            let transactions = stopPipe()
            transactionsPerSecond = Double(transactions) / (clock.now - origin).seconds
            phases = "committing (offsets and commit) \(f1(pipeCommitting.value.seconds * 1000 / Double(max(1, transactions)))) ms/txn; "
                + "its thread\(pipeThreads > 1 ? "s" : "") \(f1(pipeThreadCPU.value * 1e6 / Double(max(1, total)))) µs CPU per event (the whole run, work included)"
                + (subject == .pipeTwoHops && pipeWorkNs > 0 ? "; work \(f1(Double(pipeWorkNs) / 1000)) µs an event" : "")
                + (pipeOverlapsCommit ? "; commit in the background" : "")
                + (pipeThreads > 1 ? "; each hop on a thread of its own" : "")
        }
        let readAt = reader.readTimes(origin: origin)
        var latencies: [Double] = []
        for index in 1...total { if let read = readAt[index] { latencies.append((read - producedAt[index]).seconds * 1000) } }
        // Latency by second of the run (in produce order, before sorting): whether it holds or grows.
        let bySecond = (0..<latencySeconds).compactMap { second -> String? in
            let slice = latencies[min(latencies.count, second * rate)..<min(latencies.count, (second + 1) * rate)].sorted()
            return slice.isEmpty ? nil : "\(Int(slice[slice.count / 2]))"
        }
        print("p50 ms by second of the run: \(bySecond.joined(separator: " "))", to: &standardError)
        let trend = "\(bySecond.first ?? "-") → \(bySecond.last ?? "-")"
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
        if let phases { print("\(described(subject)) at \(rate)/s: \(phases)", to: &standardError) }
        return LatencyResult(produced: total, matched: latencies.count, p50: percentile(0.5), p99: percentile(0.99), p999: percentile(0.999), max: latencies.last ?? .nan,
                             transactionsPerSecond: transactionsPerSecond, trend: trend, phases: phases,
                             firstP50: bySecond.first.flatMap { Int($0) } ?? 0, lastP50: bySecond.last.flatMap { Int($0) } ?? Int.max)
    }
}

extension EndToEndBench {
    /// What one transaction costs on this broker, by how many partitions it writes (one record
    /// each) — Vigil's transactions write scores, repartitioned events and two changelogs.
    func measureCommitCost(kafka: KafkaConfiguration, admin: Admin, logger: Logger, suffix: String) throws -> [(partitions: Int, offsets: Double, commit: Double)] {
        let topics = (0..<5).map { "commit-cost-\(suffix)-\($0)" }
        try admin.createTopics(topics.map { NewTopic(name: $0, partitions: 4) })
        defer { try? admin.deleteTopics(topics, ignoreMissing: true) }
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "commit-cost-\(suffix)")
        configuration.sessionTimeout = .seconds(2)
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.subscribe([topics[4]])
        _ = try consumer.withBatch(maxRecords: 1, timeout: .seconds(5)) { _ in 0 }
        var producerConfiguration = ProducerConfiguration(kafka: kafka, transactionalID: "commit-cost-\(suffix)")
        producerConfiguration.linger = .milliseconds(1)
        let producer = try TransactionalProducer(configuration: producerConfiguration, logger: logger)
        try producer.initTransactions()
        let clock = ContinuousClock()
        let value = Array("x".utf8)
        var result: [(Int, Double, Double)] = []
        for partitions in [1, 4, 8, 16] {
            var offsets = Duration.zero, commit = Duration.zero
            let rounds = 20
            for _ in 0..<rounds {
                try producer.beginTransaction()
                for index in 0..<partitions {
                    try value.withUnsafeBytes { try producer.send(topic: topics[index / 4], partition: Int32(index % 4), key: nil, value: $0) }
                }
                let sent = clock.now
                try producer.sendOffsetsToTransaction([TopicPartition(topics[4], 0): 0], groupMetadata: consumer.groupMetadata())
                let offsetsSent = clock.now
                try producer.commitTransaction()
                offsets += offsetsSent - sent
                commit += clock.now - offsetsSent
            }
            result.append((partitions, (offsets / rounds).seconds, (commit / rounds).seconds))
        }
        return result
    }
}

/// A read_committed reader of a scores topic on a thread of its own, noting when each id's score arrives.
final class ScoreReader: @unchecked Sendable {
    let topic: String, partitions: Int32, kafka: KafkaConfiguration, logger: Logger
    let indices: [Int: Int]
    private let lock = NSLock()
    private var readAt: [ContinuousClock.Instant?]
    private var seen = 0
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    /// The transaction id in a record's value.
    let identify: @Sendable (UnsafeRawBufferPointer?) -> Int?

    init(topic: String, partitions: Int32, kafka: KafkaConfiguration, logger: Logger, indices: [Int: Int], capacity: Int,
         identify: @escaping @Sendable (UnsafeRawBufferPointer?) -> Int?) {
        (self.topic, self.partitions, self.kafka, self.logger, self.indices, self.identify) = (topic, partitions, kafka, logger, indices, identify)
        readAt = Array(repeating: nil, count: capacity)
    }

    func start() {
        Thread { [self] in
            defer { done.signal() }
            do {
                var configuration = ConsumerConfiguration(kafka: kafka, groupID: "latency-reader-\(UUID().uuidString.prefix(8))")
                configuration.kafka.properties["fetch.wait.max.ms"] = "5"
                let consumer = try Consumer(configuration: configuration, logger: logger)
                defer { try? consumer.close() }
                try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), KafkaOffset.beginning) }))
                while !lock.withLock({ stopping }) {
                    try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(20), fill: false) { batch in
                        let now = ContinuousClock.now
                        lock.withLock {
                            for message in batch.messages {
                                guard let id = message.withValue({ identify($0) }), let index = indices[id], readAt[index] == nil else { continue }
                                readAt[index] = now
                                seen += 1
                            }
                        }
                    }
                }
            } catch {
                print("score reader failed: \(error)", to: &standardError)
            }
        }.start()
    }

    func waitFor(index: Int, timeout: Duration) -> Bool {
        Handbook.waitUntil(within: timeout, every: .milliseconds(10)) { lock.withLock { readAt[index] != nil } }
    }

    func waitForAll(timeout: Duration) -> Bool {
        Handbook.waitUntil(within: timeout) { lock.withLock { seen >= readAt.count } }
    }

    func readTimes(origin: ContinuousClock.Instant) -> [Duration?] { lock.withLock { readAt.map { $0.map { $0 - origin } } } }

    func stop() {
        lock.withLock { stopping = true }
        done.wait()
    }
}

enum QuixInfo {
    static func version(_ python: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import quixstreams, xgboost; print(quixstreams.__version__, '/ xgboost', xgboost.__version__)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A value shared with a thread, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    /// Changes the value under the lock (`value += x` would read and write it in two steps).
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}

func f1(_ value: Double) -> String { String(format: "%.1f", value) }
func f2(_ value: Double) -> String { String(format: "%.2f", value) }

nonisolated(unsafe) var standardError = FileHandleOutputStream(FileHandle.standardError)
struct FileHandleOutputStream: TextOutputStream {
    let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }
    mutating func write(_ string: String) { handle.write(Data(string.utf8)) }
}
