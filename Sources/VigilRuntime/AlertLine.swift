import VigilCodec
import VigilPipeline
public import VigilKafka

/// A score or alert record of Vigil as a person reads it on a terminal (`vigil tail` on an
/// alert topic): event time, key, score, model version and the reasons with their
/// contributions, on one line, coloured by score (red from 0.9, yellow from 0.5).
///
/// `2018-08-08 12:29:05  1241953  score 0.998  v1  TX_AMOUNT=512.25 (+2.31)  TERMINAL_ID_RISK_7DAY_WINDOW=0.5 (+1.20)`
///
/// Records that are not Vigil score or alert records (no JSON object with a `score`) are
/// shown as ``TopicTail/Format/text`` shows them.
public struct AlertLine: Sendable, Equatable {
    /// The event time (ms), from the record's `event_time`, else its Kafka timestamp.
    public var eventTime: Int64?
    /// The record key (the event id).
    public var key: String
    public var score: Double
    public var modelVersion: String?
    /// (feature, value, contribution), largest contribution first.
    public var reasons: [(feature: String, value: Double?, contribution: Double)]

    public static func == (lhs: AlertLine, rhs: AlertLine) -> Bool {
        lhs.eventTime == rhs.eventTime && lhs.key == rhs.key && lhs.score == rhs.score && lhs.modelVersion == rhs.modelVersion
            && lhs.reasons.map(\.feature) == rhs.reasons.map(\.feature) && lhs.reasons.map(\.contribution) == rhs.reasons.map(\.contribution)
    }

    /// The record read as a Vigil score or alert record, nil when it is not one.
    public init?(_ record: ConsumerRecord) {
        guard let value = record.value, case let .object(fields)? = try? JSONParser.parse(value),
              let score = fields["score"]?.doubleValue
        else { return nil }
        self.score = score
        eventTime = fields["event_time"]?.intValue ?? record.timestamp
        key = record.key.flatMap { String(validating: $0, as: UTF8.self) } ?? fields["id"]?.stringValue ?? ""
        modelVersion = fields["model_version"]?.stringValue
        var reasons: [(feature: String, value: Double?, contribution: Double)] = []
        if case let .array(items)? = fields["reasons"] {
            for item in items {
                guard case let .object(reason) = item, let feature = reason["feature"]?.stringValue,
                      let contribution = reason["contribution"]?.doubleValue else { continue }
                reasons.append((feature, reason["value"]?.doubleValue, contribution))
            }
        }
        self.reasons = reasons
    }

    /// The line, with ANSI colours when `colour` is set.
    public func text(colour: Bool) -> String {
        var line = eventTime.map(TimestampParser.format) ?? "-"
        line += "  \(key)  "
        let scoreText = "score \(Self.fixed(score, digits: 3))"
        if colour {
            let code = score >= 0.9 ? "1;31" : score >= 0.5 ? "1;33" : "0"
            line += "\u{1B}[\(code)m\(scoreText)\u{1B}[0m"
        } else {
            line += scoreText
        }
        if let modelVersion, !modelVersion.isEmpty { line += "  v\(modelVersion)" }
        for reason in reasons {
            line += "  \(reason.feature)=\(reason.value.map(Self.compact) ?? "?") (\(reason.contribution >= 0 ? "+" : "")\(Self.fixed(reason.contribution, digits: 2)))"
        }
        return line
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.description }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int64(rounded / scale)
        var fraction = String(Int64(rounded) - whole * Int64(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return "\(value < 0 && rounded != 0 ? "-" : "")\(whole).\(fraction)"
    }

    /// Integers without a fraction, others with up to four decimals.
    static func compact(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = fixed(value, digits: 4)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
