/// How a replay's events are judged (`vigil replay --report`): the ground-truth label and the
/// protocol around it. The fraud report follows the Fraud Detection Handbook (Le Borgne et
/// al.): card precision@k groups events by ``entity``, and ``knownLabelDelay`` leaves out the
/// events of cards already known to be compromised.
public struct EvaluationSpec: Sendable, Equatable {
    /// The numeric source field holding the label: 0 is negative, any other number positive,
    /// a missing value unlabelled (left out and counted).
    public var label: String
    /// The source field naming the entity (card, customer, account) that card precision@k
    /// ranks; nil leaves card precision out.
    public var entity: String?
    /// How many entities a day card precision@k checks (default 100, the handbook's).
    public var topK: Int
    /// When set, a label becomes known this long after its day: an event on day T is left out
    /// when its entity had a positive event on a day before T − delay (the handbook's removal
    /// of cards already known to be compromised, with its 7-day delay). Whole days.
    public var knownLabelDelay: Int64?

    public init(label: String, entity: String? = nil, topK: Int = 100, knownLabelDelay: Int64? = nil) {
        self.label = label
        self.entity = entity
        self.topK = topK
        self.knownLabelDelay = knownLabelDelay
    }
}
