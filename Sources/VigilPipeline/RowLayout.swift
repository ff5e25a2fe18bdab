public import VigilTopology

/// Where each value of an event lives in its row: every source field (strings as NaN), then
/// the derived features, then each stage's features, in topology order. Stage keys and id
/// fields are kept beside the row in their own form.
public struct RowLayout: Sendable, Equatable {
    /// The names of the row's columns.
    public let columnNames: [String]
    /// Source fields in declaration order (the first columns of the row).
    public let sourceFields: [FieldSpec]
    /// The first column of the derived features.
    public let derivedStart: Int
    /// The first column of each stage's features.
    public let stageStarts: [Int]
    /// The fields keying the stages (each distinct field once).
    public let keyFields: [String]
    /// For each stage, its key's index in ``keyFields``.
    public let stageKeyIndex: [Int]
    /// The source's id fields.
    public let idFields: [String]
    /// The features in topology order (derived, then each stage's).
    public let featureNames: [String]
    private let indexOfName: [String: Int]

    /// The layout of `topology`'s rows.
    public init(topology: Topology) {
        var names = topology.source.fields.map(\.name)
        sourceFields = topology.source.fields
        derivedStart = names.count
        names += topology.derived.map(\.name)
        var starts: [Int] = []
        for stage in topology.stages {
            starts.append(names.count)
            names += stage.outputNames
        }
        stageStarts = starts
        columnNames = names
        var keyFields: [String] = []
        var stageKeyIndex: [Int] = []
        for stage in topology.stages {
            if let index = keyFields.firstIndex(of: stage.key) { stageKeyIndex.append(index) } else {
                keyFields.append(stage.key)
                stageKeyIndex.append(keyFields.count - 1)
            }
        }
        self.keyFields = keyFields
        self.stageKeyIndex = stageKeyIndex
        idFields = topology.source.idFields
        featureNames = topology.featureNames
        var index: [String: Int] = [:]
        for (column, name) in names.enumerated() where index[name] == nil { index[name] = column }
        indexOfName = index
    }

    /// Columns per row.
    public var width: Int { columnNames.count }

    /// The column of `name`, or nil.
    public func column(of name: String) -> Int? { indexOfName[name] }

    /// The columns of the features in topology order (derived, then stages).
    public var featureColumns: Range<Int> { derivedStart..<width }
}
