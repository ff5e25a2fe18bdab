internal import CRdKafka

/// A consumer's group membership (group, generation, member id) as a transaction needs it to
/// commit offsets on the group's behalf (KIP-447): offsets sent with stale metadata are refused,
/// so a zombie instance cannot commit after a rebalance.
public final class ConsumerGroupMetadata: @unchecked Sendable {
    private let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { rd_kafka_consumer_group_metadata_destroy(pointer) }

    func withPointer<R, E: Error>(_ body: (OpaquePointer) throws(E) -> R) throws(E) -> R { try body(pointer) }
}
