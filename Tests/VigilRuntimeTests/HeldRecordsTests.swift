import Logging
import Testing
@testable import VigilRuntime
import VigilKafka

/// What the driver holds back while a commit runs. Creates a Kafka client (a producer that
/// never connects), so ThreadSanitizer's run leaves it out (scripts/test).
struct HeldRecordsTests {
    /// The held records' size check refuses exactly what librdkafka refuses: records one byte
    /// either side of the limit, with and without key and headers, against a producer that
    /// never connects.
    @Test func theHeldSizeCheckIsTheProducers() throws {
        var configuration = ProducerConfiguration(kafka: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"))
        configuration.maxMessageBytes = 1_000
        let producer = try Producer(configuration: configuration, logger: Logger(label: "test"))
        var held = HeldRecords(maxRecordBytes: 1_000)
        let shapes: [(key: [UInt8]?, headers: [KafkaHeader])] = [
            (nil, []), (Array(repeating: 7, count: 20), []),
            (Array(repeating: 7, count: 3), [KafkaHeader("vigil.source.topic", "transactions"), KafkaHeader("n", nil), KafkaHeader("long", Array(repeating: 1, count: 70))]),
        ]
        for shape in shapes {
            let limit = 1_000 - HeldRecords.wireSize(key: shape.key?.count ?? 0, value: 0, headers: shape.headers)
            for length in [limit - 1, limit, limit + 1] {
                let record = ProducerRecord(topic: "t", key: shape.key, value: Array(repeating: 1, count: length), headers: shape.headers)
                let producerTakes = Result { () throws(KafkaError) in try producer.send(record) }
                let key = record.key ?? []
                let heldTakes = key.withUnsafeBytes { key in
                    record.value!.withUnsafeBytes { value in
                        Result { () throws(KafkaError) in
                            try held.append(topic: "t", partition: nil, key: record.key == nil ? nil : key, value: value, headers: shape.headers,
                                            timestamp: nil, tracked: false)
                        }
                    }
                }
                let heldWithKey = (try? heldTakes.get()) != nil
                switch producerTakes {
                case .success: #expect(heldWithKey, "length \(length): the producer took it")
                case .failure(let error):
                    #expect(error.code == .messageSizeTooLarge)
                    #expect(!heldWithKey, "length \(length): the producer refused it")
                }
            }
        }
    }

}
