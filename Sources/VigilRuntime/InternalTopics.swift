import VigilKafka

/// The topics Vigil creates for a topology, with the configurations Kafka Streams gives its
/// internal topics rather than the broker's defaults: a changelog or checkpoint topic that
/// expired records by age would lose the state of any partition idle longer than the
/// retention, and a repartition topic could drop records before they were consumed.
enum InternalTopics {
    /// Changelogs and checkpoints: compacted (every record is keyed), kept however old.
    static let compacted: [String: String] = ["cleanup.policy": "compact"]
    /// Repartition topics: nothing expires by age (the runtime purges what the group has
    /// committed, where the broker supports DeleteRecords).
    static let repartition: [String: String] = ["cleanup.policy": "delete", "retention.ms": "-1"]

    /// Every topic `plan` needs, with `partitions` partitions (the source's). Output topics
    /// (scores, alerts, drift, dead letters) take the broker's defaults: they are the users'.
    static func newTopics(_ plan: TopicPlan, partitions: Int32) -> [NewTopic] {
        var topics = plan.segments.dropFirst().map { NewTopic(name: $0.inputTopic, partitions: partitions, configs: repartition) }
        topics += plan.changelogTopics.map { NewTopic(name: $0, partitions: partitions, configs: compacted) }
        topics.append(NewTopic(name: plan.checkpointTopic, partitions: partitions, configs: compacted))
        topics += [plan.scoresTopic, plan.alertsTopic, plan.driftTopic, plan.deadLetterTopic].map { NewTopic(name: $0, partitions: partitions) }
        return topics
    }

    /// What is wrong with the configurations of existing internal topics (`configs` by topic, as
    /// the broker describes them): one line per topic and setting, empty when all is well.
    static func problems(_ plan: TopicPlan, partitions: Int32, configs: [String: [String: String]]) -> [String] {
        var problems: [String] = []
        for topic in newTopics(plan, partitions: partitions) where !topic.configs.isEmpty {
            guard let actual = configs[topic.name] else { continue }
            for (name, expected) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let value = actual[name] ?? "(unset)"
                let matches = name == "cleanup.policy" ? Set(value.split(separator: ",")) == Set(expected.split(separator: ",")) : value == expected
                if !matches { problems.append("topic '\(topic.name)' has \(name)=\(value), expected \(expected)") }
            }
        }
        return problems
    }
}
