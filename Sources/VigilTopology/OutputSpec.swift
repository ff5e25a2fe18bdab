/// Where a topology's results go. Every topic defaults to `<name>.<kind>`.
public struct OutputSpec: Sendable, Equatable {
    /// Score records (default `<name>.scores`).
    public var scoresTopic: String
    /// Alert records (default `<name>.alerts`).
    public var alertsTopic: String
    /// Which events raise an alert; nil raises none.
    public var alertRule: AlertRule?
    /// Drift statistics (default `<name>.drift`).
    public var driftTopic: String
    /// Dead-lettered events (default `<name>.dlq`).
    public var deadLetterTopic: String
    /// Whether score records carry the feature row too.
    public var includeFeatures: Bool
    /// How many reasons (the model inputs with the largest TreeSHAP contributions) each alert
    /// record carries; 0 for none. Needs a tree-ensemble model.
    public var alertExplain = 0

    /// The defaults for a topology called `name`.
    public init(defaultsFor name: String) {
        scoresTopic = "\(name).scores"
        alertsTopic = "\(name).alerts"
        alertRule = nil
        driftTopic = "\(name).drift"
        deadLetterTopic = "\(name).dlq"
        includeFeatures = false
    }
}

/// A conjunction of comparisons on the score or on features, such as `score >= 0.8 and TX_AMOUNT > 100`.
public struct AlertRule: Sendable, Equatable, CustomStringConvertible {
    /// One comparison.
    public struct Condition: Sendable, Equatable {
        /// `score` or a feature or field name.
        public var subject: String
        public var comparison: Comparison
        public var threshold: Double
    }

    /// A comparison operator.
    public enum Comparison: String, Sendable, Equatable, CaseIterable {
        case greaterOrEqual = ">="
        case greater = ">"
        case lessOrEqual = "<="
        case less = "<"
        case equal = "=="
        case notEqual = "!="

        /// Whether `value` compares to `threshold` this way (false for NaN).
        public func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .greaterOrEqual: value >= threshold
            case .greater: value > threshold
            case .lessOrEqual: value <= threshold
            case .less: value < threshold
            case .equal: value == threshold
            case .notEqual: value != threshold && !value.isNaN
            }
        }
    }

    /// All must hold.
    public var conditions: [Condition]

    /// Parses `subject op number [and subject op number ...]`; nil with a reason if malformed.
    public static func parse(_ text: String) -> Result<AlertRule, RuleSyntaxError> {
        var conditions: [Condition] = []
        let clauses = text.split(separator: " and ", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        for clause in clauses {
            guard let comparison = Comparison.allCases.first(where: { clause.contains($0.rawValue) }) else {
                return .failure(RuleSyntaxError(detail: "expected `subject op number` with op one of >=, >, <=, <, ==, != in '\(clause)'"))
            }
            let parts = clause.split(separator: comparison.rawValue, maxSplits: 1, omittingEmptySubsequences: false)
            let subject = String(parts[0]).trimmingSpaces
            guard !subject.isEmpty, parts.count == 2, let threshold = Double(String(parts[1]).trimmingSpaces) else {
                return .failure(RuleSyntaxError(detail: "expected `subject \(comparison.rawValue) number` in '\(clause)'"))
            }
            conditions.append(Condition(subject: subject, comparison: comparison, threshold: threshold))
        }
        return .success(AlertRule(conditions: conditions))
    }

    public var description: String {
        conditions.map { "\($0.subject) \($0.comparison.rawValue) \($0.threshold)" }.joined(separator: " and ")
    }
}

/// Why an alert rule did not parse.
public struct RuleSyntaxError: Error, Equatable {
    public var detail: String
}
