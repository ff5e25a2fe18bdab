import Testing
@testable import VigilRuntime

struct MetricsRegistryTests {
    @Test func rendersCountersGaugesAndHistogramsInExpositionFormat() {
        let registry = MetricsRegistry()
        let events = registry.counter("test_events_total", help: "Events seen.")
        let lag = registry.gauge("test_lag_records", help: "Lag.", labelNames: ["topic", "partition"])
        let sizes = registry.histogram("test_batch_size", help: "Batch sizes.", buckets: [1, 10, 100])
        events.increment()
        events.increment(by: 41)
        lag.labels("in", "1").set(7)
        lag.labels("in", "0").set(2.5)
        for value in [0.5, 1, 5, 10, 50, 500] { sizes.observe(value) }

        #expect(registry.render() == """
            # HELP test_events_total Events seen.
            # TYPE test_events_total counter
            test_events_total 42
            # HELP test_lag_records Lag.
            # TYPE test_lag_records gauge
            test_lag_records{topic="in",partition="0"} 2.5
            test_lag_records{topic="in",partition="1"} 7
            # HELP test_batch_size Batch sizes.
            # TYPE test_batch_size histogram
            test_batch_size_bucket{le="1"} 2
            test_batch_size_bucket{le="10"} 4
            test_batch_size_bucket{le="100"} 5
            test_batch_size_bucket{le="+Inf"} 6
            test_batch_size_sum 566.5
            test_batch_size_count 6

            """)
    }

    @Test func escapesHelpAndLabelValues() {
        let registry = MetricsRegistry()
        let family = registry.counter("test_dead_total", help: "Back\\slash and\nnewline.", labelNames: ["reason"])
        family.labels("quote \" back \\ line\nend").increment()
        let text = registry.render()
        #expect(text.contains("# HELP test_dead_total Back\\\\slash and\\nnewline.\n"))
        #expect(text.contains("test_dead_total{reason=\"quote \\\" back \\\\ line\\nend\"} 1\n"))
    }

    @Test func labelledHistogramsAndRemoval() {
        let registry = MetricsRegistry()
        let family = registry.histogram("test_seconds", help: "Durations.", buckets: [0.001, 0.01], labelNames: ["stage"])
        family.labels("a").observe(.milliseconds(5))
        family.labels("b").observe(contentsOf: [0.0005, 0.02, .nan])
        var text = registry.render()
        #expect(text.contains("test_seconds_bucket{stage=\"a\",le=\"0.001\"} 0\n"))
        #expect(text.contains("test_seconds_bucket{stage=\"a\",le=\"0.01\"} 1\n"))
        #expect(text.contains("test_seconds_sum{stage=\"a\"} 0.005\n"))
        #expect(text.contains("test_seconds_bucket{stage=\"b\",le=\"0.001\"} 1\n"))
        #expect(text.contains("test_seconds_bucket{stage=\"b\",le=\"+Inf\"} 2\n"))
        #expect(text.contains("test_seconds_count{stage=\"b\"} 2\n"))
        family.remove("a")
        text = registry.render()
        #expect(!text.contains("stage=\"a\""))
        #expect(text.contains("stage=\"b\""))
    }

    @Test func specialValues() {
        #expect(PrometheusText.value(.infinity) == "+Inf")
        #expect(PrometheusText.value(-.infinity) == "-Inf")
        #expect(PrometheusText.value(.nan) == "NaN")
        #expect(PrometheusText.value(3) == "3")
        #expect(PrometheusText.value(-2) == "-2")
        #expect(PrometheusText.value(1e20) == "1e+20")
        #expect(PrometheusText.value(0.25) == "0.25")
    }

    @Test func validatesNames() {
        #expect(PrometheusText.isValidMetricName("vigil_events_in_total"))
        #expect(PrometheusText.isValidMetricName("a:b_c"))
        #expect(!PrometheusText.isValidMetricName("1abc"))
        #expect(!PrometheusText.isValidMetricName("with-dash"))
        #expect(PrometheusText.isValidLabelName("partition"))
        #expect(!PrometheusText.isValidLabelName("__reserved"))
        #expect(!PrometheusText.isValidLabelName("a:b"))
    }

    @Test func concurrentUpdatesAreAllCounted() async {
        let registry = MetricsRegistry()
        let counter = registry.counter("test_total", help: "c")
        let gauge = registry.gauge("test_gauge", help: "g")
        let histogram = registry.histogram("test_hist", help: "h", buckets: [1, 2])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for index in 0..<10_000 {
                        counter.increment()
                        gauge.add(1)
                        histogram.observe(Double(index % 3))
                    }
                }
            }
        }
        #expect(counter.value == 40_000)
        #expect(gauge.value == 40_000)
        let snapshot = histogram.snapshot
        #expect(snapshot.count == 40_000)
        // index % 3 over 0..<10000: 3334 zeros, 3333 ones, 3333 twos per task.
        let expected: [UInt64] = [26_668, 40_000, 40_000]
        #expect(snapshot.cumulativeCounts == expected)
        #expect(snapshot.sum == 39_996)
    }

    @Test func runtimeMetricsHaveTheDocumentedNames() {
        let metrics = RuntimeMetrics()
        metrics.eventsIn.increment(by: 3)
        metrics.deadLettered.labels("decode").increment()
        metrics.consumerLag(topic: "events", partition: 2).set(17)
        metrics.stateKeys.labels("card").set(1000)
        metrics.stateBudgetedBytes.labels("card").set(345_000)
        metrics.rebalances.labels("assigned").increment()
        metrics.keysEvicted.increment(by: 5)
        metrics.recordCommitted(eventTimesMillis: [1_000, 1_500], ingestTimesMillis: [1_900], committedAtMillis: 2_000)
        metrics.health.markUnhealthy("producer fenced")
        let text = metrics.registry.render()
        for name in [
            "vigil_events_in_total 3", "vigil_events_out_total 0", "vigil_events_dead_lettered_total{reason=\"decode\"} 1",
            "# TYPE vigil_batch_size_events histogram", "# TYPE vigil_scoring_duration_seconds histogram",
            "vigil_event_time_latency_seconds_count 2", "vigil_event_time_latency_seconds_sum 1.5",
            "vigil_ingest_latency_seconds_bucket{le=\"0.1\"} 1", "# TYPE vigil_commit_duration_seconds histogram",
            "vigil_consumer_lag_records{topic=\"events\",partition=\"2\"} 17", "vigil_state_keys{stage=\"card\"} 1000",
            "# TYPE vigil_state_bytes gauge", "vigil_state_budgeted_bytes{stage=\"card\"} 345000", "vigil_restore_records_total 0", "vigil_restore_partitions 0",
            "vigil_active_partitions 0",
            "vigil_transactions_committed_total 0", "vigil_transactions_aborted_total 0",
            "vigil_rebalances_total{kind=\"assigned\"} 1", "vigil_healthy 0", "vigil_keys_evicted_total 5", "vigil_keys_expired_total 0",
        ] {
            #expect(text.contains(name + "\n"), "missing \(name)")
        }
    }
}
