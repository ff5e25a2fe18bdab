import Synchronization

/// The process's metrics, rendered in the Prometheus text exposition format 0.0.4.
///
/// Register each metric once, keep what registration returns, and update that on the hot
/// path: updates are atomic operations on the metric itself, never a look-up in the registry.
/// Labelled metrics come as a ``MetricFamily``; fetch a child with ``MetricFamily/labels(_:)``
/// once per partition or stage and keep it too.
public final class MetricsRegistry: Sendable {
    private let families = Mutex<[any RenderableFamily]>([])

    public init() {}

    /// Registers a counter without labels. By convention its name ends in `_total`.
    public func counter(_ name: String, help: String) -> Counter {
        counter(name, help: help, labelNames: []).labels([])
    }

    /// Registers a family of counters, one per combination of label values.
    public func counter(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Counter> {
        register(MetricFamily(name: name, help: help, type: "counter", labelNames: labelNames, make: Counter.init) { counter, name, labels, out in
            out += name + PrometheusText.labels(labels) + " " + String(counter.value) + "\n"
        })
    }

    /// Registers a gauge without labels.
    public func gauge(_ name: String, help: String) -> Gauge {
        gauge(name, help: help, labelNames: []).labels([])
    }

    /// Registers a family of gauges, one per combination of label values.
    public func gauge(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Gauge> {
        register(MetricFamily(name: name, help: help, type: "gauge", labelNames: labelNames, make: Gauge.init) { gauge, name, labels, out in
            out += name + PrometheusText.labels(labels) + " " + PrometheusText.value(gauge.value) + "\n"
        })
    }

    /// Registers a histogram without labels, with these bucket upper bounds (`+Inf` is implied).
    public func histogram(_ name: String, help: String, buckets: [Double]) -> Histogram {
        histogram(name, help: help, buckets: buckets, labelNames: []).labels([])
    }

    /// Registers a family of histograms sharing these bucket upper bounds.
    public func histogram(_ name: String, help: String, buckets: [Double], labelNames: [String]) -> MetricFamily<Histogram> {
        precondition(!labelNames.contains("le"), "metric \(name): `le` is reserved for histogram buckets")
        _ = Histogram(upperBounds: buckets)  // checks the bounds now, not at the first child
        return register(MetricFamily(name: name, help: help, type: "histogram", labelNames: labelNames, make: { Histogram(upperBounds: buckets) }) { histogram, name, labels, out in
            let (cumulative, sum, count) = histogram.snapshot
            for (index, bound) in histogram.upperBounds.enumerated() {
                out += name + "_bucket" + PrometheusText.labels(labels + [("le", PrometheusText.value(bound))]) + " " + String(cumulative[index]) + "\n"
            }
            out += name + "_bucket" + PrometheusText.labels(labels + [("le", "+Inf")]) + " " + String(count) + "\n"
            out += name + "_sum" + PrometheusText.labels(labels) + " " + PrometheusText.value(sum) + "\n"
            out += name + "_count" + PrometheusText.labels(labels) + " " + String(count) + "\n"
        })
    }

    /// Every metric, in registration order, as Prometheus text (format 0.0.4).
    public func render() -> String {
        let families = families.withLock { $0 }
        var out = ""
        out.reserveCapacity(families.count * 256)
        for family in families { family.render(into: &out) }
        return out
    }

    private func register<Metric>(_ family: MetricFamily<Metric>) -> MetricFamily<Metric> {
        families.withLock { families in
            precondition(!families.contains { $0.name == family.name }, "metric \(family.name) is registered twice")
            families.append(family)
        }
        return family
    }
}

/// What the registry needs of a family of any metric type.
protocol RenderableFamily: Sendable {
    var name: String { get }
    func render(into out: inout String)
}

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

/// The pieces of the Prometheus text exposition format 0.0.4.
enum PrometheusText {
    /// `name{a="x",b="y"}`'s braces part; empty without labels.
    static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { $0.0 + "=\"" + escapeLabelValue($0.1) + "\"" }.joined(separator: ",") + "}"
    }

    /// A sample value: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    static func value(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\n" }) else { return text }
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Label values: backslash, double quote and line feed escaped.
    static func escapeLabelValue(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\n" || $0 == "\"" }) else { return text }
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"": out += "\\\""
            default: out.append(character)
            }
        }
        return out
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
