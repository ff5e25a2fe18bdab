import VigilTopology

/// A stage compiled into the engine's layout: input columns, distinct windows, what each
/// window keeps per column, where it lives in a key's fixed-size header, and how each output
/// feature is read back.
struct StagePlan {
    /// What a window keeps for one input column.
    struct ColumnWindow {
        var group: Int
        var column: Int
        var keepsSums = false
        var keepsVariance = false
        var keepsMin = false
        var keepsMax = false
        var keepsDistinct = false
        /// Byte offsets in the header: valid count, sum, compensation.
        var validOffset = 0
        var sumOffset = 0
        /// Variance: shift, shifted sum and its compensation, shifted squares and their compensation.
        var shiftOffset = 0
        /// Deques: head and tail counters, and which deque array in the ring block.
        var minDequeOffset = 0
        var maxDequeOffset = 0
        var minDeque = -1
        var maxDeque = -1
        var distinctIndex = -1

        /// Whether the window keeps only a count and a sum (count, sum, mean, risk): the
        /// engine's short path adds and removes those without consulting the other flags.
        var keepsOnlySums: Bool { keepsSums && !keepsVariance && !keepsMin && !keepsMax && !keepsDistinct }
    }

    /// How one output feature is computed.
    struct Output {
        var aggregation: Aggregation
        var group: Int
        var column: Int
        var columnWindow: Int
        var ewmaOffset: Int
        var alpha: Double
        var halfLife: Double
        /// The column window's valid count and sum offsets in the header (for sum, mean and risk).
        var validOffset = -1
        var sumOffset = -1
    }

    let inputNames: [String]
    let groups: [WindowBounds]
    let columnWindows: [ColumnWindow]
    let outputs: [Output]
    let dequeCount: Int
    let distinctCount: Int
    let headerSize: Int
    let lastValuesOffset: Int
    let longestLookback: Int64
    /// For each detector, its fields' columns among ``inputNames``.
    let detectorColumns: [[Int]]
    /// Identifies the layout in snapshots, so a snapshot is never restored into another layout.
    let fingerprint: UInt64

    // Fixed header fields (byte offsets).
    static let baseOffset = 0
    static let endOffset = 8
    static let maxTimeOffset = 16
    static let ringOffset = 24
    static let capacityOffset = 32
    /// The bytes the engine charges the key to its byte budget (``FeatureEngine/stateBytes``):
    /// process-local, so snapshots write it as 0 (it held the recency links before they moved
    /// to FeatureEngine.links).
    static let chargedBytesOffset = 40
    static let epochOffset = 48
    static let groupsOffset = 56

    /// The plan of `stage`, whose detectors describe their settings in `detectorLayouts`.
    init(stage: StageSpec, detectorLayouts: [String] = []) {
        var inputNames: [String] = []
        func column(_ name: String) -> Int {
            if let index = inputNames.firstIndex(of: name) { return index }
            inputNames.append(name)
            return inputNames.count - 1
        }
        var groups: [WindowBounds] = []
        var columnWindows: [ColumnWindow] = []
        var outputs: [Output] = []
        var ewmaCount = 0
        for feature in stage.features {
            var output = Output(aggregation: feature.aggregation, group: -1, column: -1, columnWindow: -1, ewmaOffset: -1,
                                alpha: feature.alpha ?? 0, halfLife: Double(feature.halfLife ?? 0))
            if let field = feature.field { output.column = column(field) }
            if let window = feature.window {
                let bounds = WindowBounds(window)
                if let index = groups.firstIndex(of: bounds) { output.group = index } else { groups.append(bounds); output.group = groups.count - 1 }
                if output.column >= 0 {
                    var index = columnWindows.firstIndex { $0.group == output.group && $0.column == output.column }
                    if index == nil {
                        columnWindows.append(ColumnWindow(group: output.group, column: output.column))
                        index = columnWindows.count - 1
                    }
                    output.columnWindow = index!
                    switch feature.aggregation {
                    case .sum, .mean, .risk: columnWindows[index!].keepsSums = true
                    case .variance, .std, .zscore: columnWindows[index!].keepsSums = true; columnWindows[index!].keepsVariance = true
                    case .min: columnWindows[index!].keepsMin = true
                    case .max: columnWindows[index!].keepsMax = true
                    case .distinctCount: columnWindows[index!].keepsDistinct = true
                    default: break
                    }
                }
            }
            if feature.aggregation == .ewma { output.ewmaOffset = ewmaCount; ewmaCount += 1 }
            outputs.append(output)
        }
        detectorColumns = stage.detectors.map { $0.fields.map(column) }
        var offset = Self.groupsOffset + groups.count * 16
        var dequeCount = 0
        var distinctCount = 0
        for index in columnWindows.indices {
            columnWindows[index].validOffset = offset
            columnWindows[index].sumOffset = offset + 8
            offset += 24
            if columnWindows[index].keepsVariance { columnWindows[index].shiftOffset = offset; offset += 40 }
            if columnWindows[index].keepsMin { columnWindows[index].minDequeOffset = offset; columnWindows[index].minDeque = dequeCount; dequeCount += 1; offset += 16 }
            if columnWindows[index].keepsMax { columnWindows[index].maxDequeOffset = offset; columnWindows[index].maxDeque = dequeCount; dequeCount += 1; offset += 16 }
            if columnWindows[index].keepsDistinct { columnWindows[index].distinctIndex = distinctCount; distinctCount += 1 }
        }
        for index in outputs.indices where outputs[index].columnWindow >= 0 {
            outputs[index].validOffset = columnWindows[outputs[index].columnWindow].validOffset
            outputs[index].sumOffset = columnWindows[outputs[index].columnWindow].sumOffset
        }
        lastValuesOffset = offset
        offset += inputNames.count * 8
        for index in outputs.indices where outputs[index].ewmaOffset >= 0 {
            outputs[index].ewmaOffset = offset + outputs[index].ewmaOffset * 16
        }
        offset += ewmaCount * 16
        self.inputNames = inputNames
        self.groups = groups
        self.columnWindows = columnWindows
        self.outputs = outputs
        self.dequeCount = dequeCount
        self.distinctCount = distinctCount
        headerSize = offset
        longestLookback = groups.map(\.lookback).max() ?? 0
        // FNV-1a over the layout's description.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let text = "\(inputNames)|\(groups.map { "\($0.reach),\($0.delay),\($0.step),\($0.alignedSize)" })|"
            + columnWindows.map { "\($0.group),\($0.column),\($0.keepsSums),\($0.keepsVariance),\($0.keepsMin),\($0.keepsMax),\($0.keepsDistinct)" }.joined(separator: ";")
            + "|\(outputs.map { "\($0.aggregation.rawValue),\($0.ewmaOffset)" })"
            + (detectorLayouts.isEmpty ? "" : "|detectors:\(zip(detectorColumns, detectorLayouts).map { "\($0)=\($1)" }.joined(separator: ";"))")
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        fingerprint = hash
    }

    /// Bytes one buffered event takes in a key's ring block: time, every column, every deque.
    var bytesPerBufferedEvent: Int { 8 * (1 + inputNames.count + dequeCount) }
}
