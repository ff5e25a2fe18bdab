import Yams

extension TopologyParser {
    static let evaluationKeys = ["label", "entity", "top_k", "known_label_delay"]

    /// The `evaluation` section; its field names are checked by ``checkEvaluation(_:in:)``.
    func parseEvaluation(_ node: Node?) -> (spec: EvaluationSpec, marks: [String: Mark])? {
        guard let node, let pairs = mapping(node, "evaluation", allowed: Self.evaluationKeys) else { return nil }
        guard let labelNode = required(pairs, "label", in: "evaluation", at: node.mark), let label = string(labelNode, "evaluation label") else {
            return nil
        }
        var spec = EvaluationSpec(label: label)
        var marks: [String: Mark] = [:]
        marks["label"] = labelNode.mark
        if let entityNode = lookup(pairs, "entity") {
            spec.entity = string(entityNode, "evaluation entity")
            marks["entity"] = entityNode.mark
        }
        if let topNode = lookup(pairs, "top_k"), let top = int(topNode, "evaluation top_k") {
            if top > 0 { spec.topK = top } else { report(topNode.mark, "evaluation top_k must be at least 1") }
        }
        if let delayNode = lookup(pairs, "known_label_delay"), let delay = duration(delayNode, "evaluation known_label_delay", allowZero: true) {
            if delay % 86_400_000 == 0 { spec.knownLabelDelay = delay } else {
                report(delayNode.mark, "evaluation known_label_delay must be whole days (labels become known day by day), such as 7d")
            }
        }
        return (spec, marks)
    }

    /// The label must be a numeric source field, the entity a source field.
    func checkEvaluation(_ parsed: (spec: EvaluationSpec, marks: [String: Mark]), in topology: Topology) -> EvaluationSpec? {
        var valid = true
        let fields = Dictionary(topology.source.fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if let field = fields[parsed.spec.label] {
            if !field.type.isNumeric {
                report(parsed.marks["label"], "evaluation label '\(parsed.spec.label)' is a string field; labels are numbers (0 negative, others positive)")
                valid = false
            }
        } else {
            report(parsed.marks["label"], "evaluation label '\(parsed.spec.label)' is not a source field")
            valid = false
        }
        if let entity = parsed.spec.entity, fields[entity] == nil {
            report(parsed.marks["entity"], "evaluation entity '\(entity)' is not a source field")
            valid = false
        }
        return valid ? parsed.spec : nil
    }
}
