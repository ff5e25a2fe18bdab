import Synchronization

/// Metrics of one name and type, one per combination of label values (a partition, a stage,
/// a dead-letter reason). Keep label values few: every combination is a time series.
public final class MetricFamily<Metric: AnyObject & Sendable>: RenderableFamily, Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    let type: String
    private let make: @Sendable () -> Metric
    private let renderSample: @Sendable (Metric, String, [(String, String)], inout String) -> Void
    private let children = Mutex<[[String]: Metric]>([:])

    init(
        name: String, help: String, type: String, labelNames: [String], make: @escaping @Sendable () -> Metric,
        render: @escaping @Sendable (Metric, String, [(String, String)], inout String) -> Void
    ) {
        precondition(PrometheusText.isValidMetricName(name), "invalid metric name \(name)")
        for label in labelNames {
            precondition(PrometheusText.isValidLabelName(label), "metric \(name): invalid label name \(label)")
        }
        precondition(Set(labelNames).count == labelNames.count, "metric \(name): duplicate label names")
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.make = make
        renderSample = render
        // A metric without labels exists (at zero) from the start.
        if labelNames.isEmpty { children.withLock { $0[[]] = make() } }
    }

    /// The metric for these label values (in the order of ``labelNames``), created at zero
    /// the first time.
    public func labels(_ values: [String]) -> Metric {
        precondition(values.count == labelNames.count, "metric \(name) takes \(labelNames.count) label values, got \(values.count)")
        return children.withLock { children in
            if let metric = children[values] { return metric }
            let metric = make()
            children[values] = metric
            return metric
        }
    }

    /// The metric for these label values (in the order of ``labelNames``).
    public func labels(_ values: String...) -> Metric { labels(values) }

    /// Stops exporting the metric for these label values (a revoked partition's lag).
    public func remove(_ values: String...) {
        _ = children.withLock { $0.removeValue(forKey: values) }
    }

    /// Stops exporting every labelled metric of this family.
    public func removeAll() {
        guard !labelNames.isEmpty else { return }
        children.withLock { $0.removeAll() }
    }

    func render(into out: inout String) {
        let children = children.withLock { $0 }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        out += "# HELP " + name + " " + PrometheusText.escapeHelp(help) + "\n"
        out += "# TYPE " + name + " " + type + "\n"
        for (values, metric) in children {
            renderSample(metric, name, Array(zip(labelNames, values)), &out)
        }
    }
}
