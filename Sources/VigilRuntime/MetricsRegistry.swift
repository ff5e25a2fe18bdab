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
