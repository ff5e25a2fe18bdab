/// What a window produces when it closes: its record and its alerts (possibly none).
public struct DriftEmission: Sendable, Equatable {
    /// The window's drift record.
    public var record: DriftRecord
    /// One alert per feature at or above its moderate threshold.
    public var alerts: [DriftAlert]
}
