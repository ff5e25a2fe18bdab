/// Compares tumbling event-time windows of traffic with a reference profile and emits a
/// ``DriftRecord`` (plus ``DriftAlert``s) for each window as it closes. No I/O.
///
/// Feed one call per scored event, in arrival order. A window `[start, start + length)` closes
/// when an event of a later window arrives (that call returns its emission) or at ``flush()``.
/// Windows with no events produce no record. An event whose window has already closed is
/// counted as late in the open window and left out of its distributions, because its own
/// record has been emitted.
///
/// Rolling back: the monitor is a value type, and ``checkpoint()`` / ``restore(_:)`` save and
/// put back its mutable state cheaply. The runtime takes a checkpoint before a batch and
/// restores it when the batch's Kafka transaction aborts, discarding the emissions the batch
/// produced (they were part of that transaction).
public struct DriftMonitor: Sendable {
    /// Window layout, thresholds and smoothing. Checked by ``DriftMonitor/init(profile:configuration:)``.
    public struct Configuration: Sendable, Equatable {
        /// Name put in records and alerts (usually the topology name).
        public var name: String
        /// Window length in milliseconds (for example 3_600_000 for an hour, 86_400_000 for a day).
        public var windowLengthMs: Int64
        /// Windows start at `windowOffsetMs + k · windowLengthMs` since the epoch (default 0:
        /// day windows from UTC midnight).
        public var windowOffsetMs: Int64
        /// PSI thresholds and the minimum count for judging a window.
        public var thresholds: DriftThresholdPolicy
        /// Floor for proportions in PSI (default 1e-4; see
        /// ``DriftStatistics/populationStabilityIndex(expected:actual:floor:)``), also used to
        /// smooth reference shares for the chi-square test.
        public var psiFloor: Double

        /// A configuration with default thresholds and smoothing.
        public init(
            name: String,
            windowLengthMs: Int64,
            windowOffsetMs: Int64 = 0,
            thresholds: DriftThresholdPolicy = DriftThresholdPolicy(),
            psiFloor: Double = DriftStatistics.defaultPSIFloor
        ) {
            self.name = name
            self.windowLengthMs = windowLengthMs
            self.windowOffsetMs = windowOffsetMs
            self.thresholds = thresholds
            self.psiFloor = psiFloor
        }

        func validate() throws {
            guard windowLengthMs > 0 else {
                throw DriftError.invalidConfiguration("windowLengthMs must be positive, got \(windowLengthMs)")
            }
            guard thresholds.minimumCount >= 0 else {
                throw DriftError.invalidConfiguration("minimumCount must not be negative, got \(thresholds.minimumCount)")
            }
            guard psiFloor > 0, psiFloor < 1 else {
                throw DriftError.invalidConfiguration("psiFloor must be in (0, 1), got \(psiFloor)")
            }
        }
    }

    /// The monitor's mutable state, as saved by ``checkpoint()``.
    public struct Checkpoint: Sendable, Equatable {
        fileprivate var window: DriftWindow?
        fileprivate var severities: [String: DriftSeverity]
    }

    /// The reference every window is compared with.
    public var profile: ReferenceProfile { reference.profile }
    /// The configuration the monitor was made with.
    public let configuration: Configuration
    private let reference: MonitoredReference
    private var state = Checkpoint(window: nil, severities: [:])

    /// A monitor for rows shaped like `profile` (its numeric, then categorical features in
    /// profile order). Throws when the configuration or the profile is invalid.
    public init(profile: ReferenceProfile, configuration: Configuration) throws {
        try configuration.validate()
        try profile.validate()
        self.configuration = configuration
        reference = MonitoredReference(profile)
    }

    /// The window being accumulated, if any.
    public var currentWindow: DriftWindow? { state.window }

    /// Adds one event. `numeric` and `categorical` follow the profile's feature order
    /// (``ReferenceProfile/numericFeatures``); NaN or infinite numbers, nil categories and a
    /// nil score are missing values. Returns the emission of the window this event closed.
    public mutating func observe(
        eventTimeMs: Int64, numeric: [Double], categorical: [String?] = [], score: Double? = nil
    ) throws -> DriftEmission? {
        guard numeric.count == reference.numericBins.count else {
            throw DriftError.rowShape(kind: "numeric", expected: reference.numericBins.count, got: numeric.count)
        }
        guard categorical.count == reference.categoryIndices.count else {
            throw DriftError.rowShape(kind: "categorical", expected: reference.categoryIndices.count, got: categorical.count)
        }
        // One event is a batch of one: the same path as the runtime's columns.
        var columns = DriftEventColumns()
        columns.count = 1
        columns.times = [eventTimeMs]
        columns.numeric = numeric
        columns.categorical = categorical.map { [$0] }
        columns.scores = [score ?? .nan]
        return try observe(columns).first
    }

    /// Adds the events of `columns` in order: the same windows, late counts, emissions and sums,
    /// to the bit, as ``observe(eventTimeMs:numeric:categorical:score:)`` called for each in
    /// turn, with each run of events in one window added column by column. Returns the
    /// emissions of the windows these events closed, oldest first.
    public mutating func observe(_ columns: DriftEventColumns) throws -> [DriftEmission] {
        let count = columns.count
        guard columns.times.count == count, columns.numeric.count == reference.numericBins.count * count else {
            throw DriftError.rowShape(kind: "numeric", expected: reference.numericBins.count * count, got: columns.numeric.count)
        }
        guard columns.categorical.count == reference.categoryIndices.count, columns.categorical.allSatisfy({ $0.count == count }) else {
            throw DriftError.rowShape(kind: "categorical", expected: reference.categoryIndices.count, got: columns.categorical.count)
        }
        guard columns.scores.isEmpty || columns.scores.count == count else {
            throw DriftError.rowShape(kind: "score", expected: count, got: columns.scores.count)
        }
        var emissions: [DriftEmission] = []
        var first = 0
        while first < count {
            let start = windowStart(containing: columns.times[first])
            var end = first + 1
            while end < count, windowStart(containing: columns.times[end]) == start { end += 1 }
            // The run's first event decides for all of them, as it would one at a time.
            if let openStart = state.window?.startMs {
                if start < openStart {
                    state.window?.noteLateEvents(end - first)
                    first = end
                    continue
                }
                if start > openStart, let emission = flush() { emissions.append(emission) }
            }
            if state.window == nil {
                state.window = DriftWindow(startMs: start, endMs: start + configuration.windowLengthMs, profile: reference.profile)
            }
            state.window?.add(columns, range: first..<end, reference: reference)
            first = end
        }
        return emissions
    }

    /// Closes the open window, if any, and returns its emission: at the end of the input, or
    /// when the runtime knows no more events of that window will come.
    public mutating func flush() -> DriftEmission? {
        guard let window = state.window else { return nil }
        state.window = nil
        let record = window.record(
            name: configuration.name, reference: reference, policy: configuration.thresholds,
            psiFloor: configuration.psiFloor)
        return DriftEmission(record: record, alerts: alerts(for: record))
    }

    /// The current mutable state; O(1).
    public func checkpoint() -> Checkpoint { state }

    /// Puts back a state taken from this monitor by ``checkpoint()``.
    public mutating func restore(_ checkpoint: Checkpoint) { state = checkpoint }

    private func windowStart(containing time: Int64) -> Int64 {
        let length = configuration.windowLengthMs
        let shifted = time - configuration.windowOffsetMs
        // Floor division, so that times before the offset fall in the window that contains them.
        let index = shifted >= 0 ? shifted / length : -((-shifted + length - 1) / length)
        return index * length + configuration.windowOffsetMs
    }

    private mutating func alerts(for record: DriftRecord) -> [DriftAlert] {
        var alerts = [DriftAlert]()
        func consider(feature: String, role: String, count: Int, psi: Double?, severity: DriftSeverity) {
            let previous = state.severities[feature] ?? .none
            state.severities[feature] = severity
            guard let psi, let threshold = configuration.thresholds.thresholds(for: feature).threshold(for: severity) else {
                return
            }
            alerts.append(
                DriftAlert(
                    formatVersion: DriftAlert.currentFormatVersion, type: "drift_alert", name: record.name,
                    profile: record.profile, windowStartMs: record.windowStartMs, windowEndMs: record.windowEndMs,
                    feature: feature, role: role, statistic: "psi", value: psi, threshold: threshold,
                    severity: severity, previousSeverity: previous, count: count))
        }
        for drift in record.numeric {
            consider(feature: drift.feature, role: "numeric", count: drift.count, psi: drift.psi, severity: drift.severity)
        }
        for drift in record.categorical {
            consider(feature: drift.feature, role: "categorical", count: drift.count, psi: drift.psi, severity: drift.severity)
        }
        if let drift = record.score {
            consider(feature: drift.feature, role: "score", count: drift.count, psi: drift.psi, severity: drift.severity)
        }
        return alerts
    }
}
