// The broker pipe's ceiling on this machine: how fast raw records go in, come out, and go
// through a transactional consume→produce loop with no processing. Every later throughput
// figure (the end-to-end runtime) is compared with the last row.
import ArgumentParser
import Foundation
import BenchSupport
import Logging
import VigilKafka

@main
struct PipeBench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Raw throughput of the Kafka pipe (produce, consume, transactional loop).")

    @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:19092"
    @Option(help: "Records per phase.") var messages = 500_000
    @Option(help: "Partitions of each topic.") var partitions: Int32 = 4
    @Option(help: "Records per transaction in the transactional loop.") var transactionSize = 1000

    func run() throws {
        var logger = Logger(label: "pipe-bench")
        logger.logLevel = .error
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "pipe-bench")
        let admin = try Admin(configuration: kafka, logger: logger)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let input = "pipe-in-\(suffix)", output = "pipe-out-\(suffix)"
        try admin.createTopics([NewTopic(name: input, partitions: partitions), NewTopic(name: output, partitions: partitions)])
        let clock = ContinuousClock()
        var rows: [(String, Int, Duration)] = []

        // 1. Produce: ~100-byte values, keyed, idempotent, acks=all.
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        var value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        let produceTime = try clock.measure {
            for index in 0..<messages {
                let key = Array("card-\(index % 5000)".utf8)
                value.withUnsafeMutableBytes { bytes in
                    var index = index
                    for position in 0..<8 { bytes[position] = UInt8(ascii: "0") + UInt8(index % 10); index /= 10 }
                }
                try key.withUnsafeBytes { key in
                    try value.withUnsafeBytes { value in try producer.send(topic: input, key: key, value: value) }
                }
            }
            try producer.flush(timeout: .seconds(120))
        }
        rows.append(("produce (idempotent, acks=all, lz4)", messages, produceTime))

        // 2. Consume them all (read_committed, batch poll).
        let consumer = try Consumer(configuration: groupConfiguration(kafka, group: "pipe-consume-\(suffix)"), logger: logger)
        try consumer.subscribe([input])
        _ = try consumer.poll(maxRecords: 1, timeout: .seconds(10))  // the group join is not part of the pipe
        try consumer.seek(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(input, $0), KafkaOffset.beginning) }))
        var consumed = 0
        let consumeTime = try clock.measure {
            while consumed < messages {
                consumed += try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(500)) { $0.messages.count }
            }
        }
        try consumer.close()
        rows.append(("consume (read_committed, batches of 10,000)", consumed, consumeTime))

        // 3. Transactional consume→produce, offsets in the transaction (shared with EndToEndBench).
        let pipe = TransactionalPipe(kafka: kafka, transactionSize: transactionSize, logger: logger)
        let loop = try pipe.run(input: input, output: output, partitions: partitions, messages: messages,
                                group: "pipe-loop-\(suffix)", transactionalID: "pipe-bench-\(suffix)")
        rows.append(("transactional consume→produce (\(transactionSize)/txn, \(loop.transactions) txns)", loop.records, loop.time))
        try? admin.deleteTopics([input, output])

        print("Broker: Tansu at \(bootstrap), \(partitions) partitions, ~100-byte values, librdkafka \(LibrdkafkaVersion.string)\n")
        print("| phase | records | seconds | records/s |")
        print("|---|---:|---:|---:|")
        for (name, count, time) in rows {
            let seconds = time.seconds
            print("| \(name) | \(count) | \(String(format: "%.2f", seconds)) | \(Int(Double(count) / seconds)) |")
        }
    }

    func groupConfiguration(_ kafka: KafkaConfiguration, group: String) -> ConsumerConfiguration {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: group)
        configuration.sessionTimeout = .seconds(6)
        return configuration
    }
}
