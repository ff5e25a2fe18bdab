public import Foundation

/// What a window produces when it closes: its record and its alerts (possibly none).
public struct DriftEmission: Sendable, Equatable {
    /// The window's drift record.
    public var record: DriftRecord
    /// One alert per feature at or above its moderate threshold.
    public var alerts: [DriftAlert]
}

extension DriftEmission {
    /// The record, then each alert, as one-line JSON: the values to produce to the drift topic
    /// (or the lines of a drift file), in that order.
    public func jsonLines() throws -> [Data] {
        try [record.jsonLine()] + alerts.map { try $0.jsonLine() }
    }
}
