internal import CRdKafka

/// A change of a consumer's partitions, told to its rebalance handler on the polling thread.
public enum RebalanceEvent: Sendable, Equatable {
    /// These partitions were added to the assignment (incrementally under cooperative-sticky).
    /// The consumer has already been assigned them; the handler may restore state and seek.
    case assigned([TopicPartition])
    /// These partitions are being taken away. The handler runs before they are released, so it
    /// can still commit the open transaction that covers them.
    case revoked([TopicPartition])
    /// These partitions were lost (the member was dropped from the group): another member may
    /// already own them, so committing for them would be wrong. Drop their state.
    case lost([TopicPartition])
}

/// librdkafka's rebalance callback: tells the Swift handler, and assigns or unassigns with the
/// call that fits the group's protocol (incremental for cooperative, full for eager).
let rebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = {
    handle, error, partitions, opaque in
    guard let handle, let partitions, let context = ClientContext.from(opaque) else { return }
    let list = TopicPartitionList.entries(of: partitions).map(\.0)
    let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
    let handler = context.rebalanceHandler.withLock { $0 }

    func check(_ failure: OpaquePointer?, _ what: String) {
        guard let failure else { return }
        let error = KafkaError(consuming: failure, what)
        context.logger.error("rebalance: \(error)")
        context.lastError.withLock { $0 = error }
    }

    switch error {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            check(rd_kafka_incremental_assign(handle, partitions), "incremental assign")
        } else {
            let result = rd_kafka_assign(handle, partitions)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { context.logger.error("rebalance: assign failed: \(KafkaError(result, ""))") }
        }
        context.logger.info("partitions assigned: \(list.map(\.description).joined(separator: ", "))")
        handler?(.assigned(list))
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        let lost = rd_kafka_assignment_lost(handle) != 0
        context.logger.info("partitions \(lost ? "lost" : "revoked"): \(list.map(\.description).joined(separator: ", "))")
        handler?(lost ? .lost(list) : .revoked(list))
        if cooperative {
            check(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign")
        } else {
            _ = rd_kafka_assign(handle, nil)
        }
    default:
        context.logger.error("rebalance failed: \(KafkaError(error, ""))")
        _ = rd_kafka_assign(handle, nil)
    }
}
