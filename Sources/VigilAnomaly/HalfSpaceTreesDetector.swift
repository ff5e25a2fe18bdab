public import VigilCodec
public import VigilTopology

/// Half-Space Trees (Tan, Ting & Liu 2011) as River's `anomaly.HalfSpaceTrees` defines them:
/// `trees` random trees of depth `height` over the fields' ranges (padded by 15 %), each node
/// counting how many of the current window's events pass it (l_mass) and how many of the last
/// complete window's did (r_mass); every `window` events the counts move over. The score is
/// 1 − Σ r_mass·2^depth / (trees · window · (2^(height+1) − 1)), walking down while a node's
/// r_mass is at least a tenth of the window; 0 during the first window.
///
/// The trees' splits come from `seed` through Python's Mersenne Twister exactly as River
/// draws them, so one seed gives River's trees. They depend only on the seed, the fields and
/// their ranges, so every key shares them; a key's state is its masses (8 bytes a node).
/// Each event is scored before it is learned (River's `score_one`, then `learn_one`).
/// A missing value (NaN) follows the child with more l_mass, as River does for a missing key.
public struct HalfSpaceTreesDetector: StreamingDetector {
    public let settings: HalfSpaceTreesSettings
    /// For each tree, its nodes in heap order (children of i at 2i + 1 and 2i + 2): the field
    /// (an index into the detector's inputs) and the threshold of each branch.
    let features: [Int32]
    let thresholds: [Double]
    /// Nodes per tree.
    let nodeCount: Int

    /// Trees over `fields` (their order is the input order; River draws by sorted name).
    public init(settings: HalfSpaceTreesSettings, fields: [String]) {
        self.settings = settings
        let nodes = (1 << (settings.height + 1)) - 1
        nodeCount = nodes
        var features = [Int32](repeating: -1, count: nodes * settings.trees)
        var thresholds = [Double](repeating: .nan, count: nodes * settings.trees)
        // River builds its limits in sorted(x) order: names sorted by code point.
        let order = fields.indices.sorted { fields[$0].unicodeScalars.lexicographicallyPrecedes(fields[$1].unicodeScalars) }
        var random = PythonRandom(seed: settings.seed)
        for tree in 0..<settings.trees {
            var limits = order.map { settings.limits[fields[$0]] ?? 0...1 }.map { ($0.lowerBound, $0.upperBound) }
            func grow(node: Int, height: Int) {
                guard height > 0 else { return }
                let chosen = random.choice(weights: limits.map { $0.1 - $0.0 })
                let (a, b) = limits[chosen]
                let at = random.uniform(a + 0.15 * (b - a), b - 0.15 * (b - a))
                features[tree * nodes + node] = Int32(order[chosen])
                thresholds[tree * nodes + node] = at
                limits[chosen] = (a, at)
                grow(node: 2 * node + 1, height: height - 1)
                limits[chosen] = (at, b)
                grow(node: 2 * node + 2, height: height - 1)
                limits[chosen] = (a, b)
            }
            grow(node: 0, height: settings.height)
        }
        self.features = features
        self.thresholds = thresholds
        fieldCount = fields.count
    }

    private let fieldCount: Int

    /// One key's masses: l_mass and r_mass of every node of every tree, and the window's count.
    public struct State: Sendable, Equatable {
        var leftMass: [Int32]
        var rightMass: [Int32]
        var counter: Int64 = 0
        var firstWindow = true
    }

    public var inputCount: Int { fieldCount }
    public var outputCount: Int { 1 }
    public var layoutDescription: String { "hst:\(fieldCount),\(settings.trees),\(settings.height),\(settings.window),\(settings.seed),\(settings.limits.sorted { $0.key < $1.key })" }

    public func makeState() -> State {
        State(leftMass: Array(repeating: 0, count: nodeCount * settings.trees), rightMass: Array(repeating: 0, count: nodeCount * settings.trees))
    }

    public func process(_ state: inout State, time: Int64, inputs: UnsafePointer<Double>, outputs: UnsafeMutablePointer<Double>) {
        outputs[0] = score(state, inputs)
        learn(&state, inputs)
    }

    /// The child of `node` (heap index within a tree at `base`) that `inputs` goes to.
    @inline(__always)
    private func child(of node: Int, base: Int, _ inputs: UnsafePointer<Double>, _ leftMass: UnsafeBufferPointer<Int32>) -> Int {
        let value = inputs[Int(features[base + node])]
        if value.isNaN {
            return leftMass[base + 2 * node + 1] < leftMass[base + 2 * node + 2] ? 2 * node + 2 : 2 * node + 1
        }
        return value < thresholds[base + node] ? 2 * node + 1 : 2 * node + 2
    }

    private func score(_ state: State, _ inputs: UnsafePointer<Double>) -> Double {
        if state.firstWindow { return 0 }
        let sizeLimit = 0.1 * Double(settings.window)
        var total = 0.0
        state.leftMass.withUnsafeBufferPointer { leftMass in
            state.rightMass.withUnsafeBufferPointer { rightMass in
                for tree in 0..<settings.trees {
                    let base = tree * nodeCount
                    var node = 0
                    var weight = 1.0
                    var score = 0.0
                    var stopped = false
                    for _ in 0..<settings.height {
                        let mass = Double(rightMass[base + node])
                        score += mass * weight
                        if mass < sizeLimit { stopped = true; break }
                        node = child(of: node, base: base, inputs, leftMass)
                        weight *= 2
                    }
                    if !stopped { score += Double(rightMass[base + node]) * weight }
                    total += score
                }
            }
        }
        let maximum = Double(settings.trees) * Double(settings.window) * Double((1 << (settings.height + 1)) - 1)
        return 1 - total / maximum
    }

    private func learn(_ state: inout State, _ inputs: UnsafePointer<Double>) {
        state.leftMass.withUnsafeMutableBufferPointer { leftMass in
            for tree in 0..<settings.trees {
                let base = tree * nodeCount
                var node = 0
                for _ in 0..<settings.height {
                    leftMass[base + node] += 1
                    node = child(of: node, base: base, inputs, UnsafeBufferPointer(leftMass))
                }
                leftMass[base + node] += 1
            }
        }
        state.counter += 1
        if state.counter == Int64(settings.window) {
            swap(&state.leftMass, &state.rightMass)
            for index in state.leftMass.indices { state.leftMass[index] = 0 }
            state.firstWindow = false
            state.counter = 0
        }
    }

    public func encode(_ state: State, into writer: inout ByteWriter) {
        writer.write(state.counter)
        writer.write(UInt8(state.firstWindow ? 1 : 0))
        writer.writeInt32s(state.leftMass)
        writer.writeInt32s(state.rightMass)
    }

    public func decode(from reader: inout ByteReader) throws -> State {
        let counter = try reader.readInt64()
        let first = try reader.readUInt8() == 1
        let size = nodeCount * settings.trees
        return State(leftMass: try reader.readInt32s(count: size), rightMass: try reader.readInt32s(count: size), counter: counter, firstWindow: first)
    }

    public func byteCount(of state: State) -> Int { 8 * state.leftMass.count + 16 }
}
