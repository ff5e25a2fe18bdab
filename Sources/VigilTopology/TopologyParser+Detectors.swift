import Yams

/// The `detectors` list of a stage.
extension TopologyParser {
    /// Parses a stage's detectors with the mark of each.
    func parseDetectors(_ node: Node?, stage: String) -> ([DetectorSpec], [Mark?]) {
        guard let node else { return ([], []) }
        guard case let .sequence(sequence) = node, !sequence.isEmpty else {
            report(node.mark, "detectors of stage '\(stage)' must be a non-empty list")
            return ([], [])
        }
        var detectors: [DetectorSpec] = []
        var marks: [Mark?] = []
        for item in sequence {
            if let detector = parseDetector(item, stage: stage) {
                detectors.append(detector)
                marks.append(item.mark)
            }
        }
        return (detectors, marks)
    }

    private static let common = ["name", "kind", "fields"]
    private static let settingKeys: [String: [String]] = [
        "pca_baseline": ["baseline", "smoothing", "variance", "confidence", "limits", "average", "forgetting", "refit_every"],
        "gaussian_tail": ["window", "short_window", "historic_window", "learning_period", "estimation_samples", "reestimation_period"],
        "half_space_trees": ["trees", "height", "window", "seed", "limits"],
    ]

    private func parseDetector(_ node: Node, stage: String) -> DetectorSpec? {
        let allowed = Self.common + Set(Self.settingKeys.values.flatMap { $0 }).sorted()
        guard let pairs = mapping(node, "a detector of stage '\(stage)'", allowed: allowed) else { return nil }
        guard let name = string(required(pairs, "name", in: "a detector of stage '\(stage)'", at: node.mark), "detector name"),
              let kindNode = required(pairs, "kind", in: "detector '\(name)'", at: node.mark),
              let keyword = string(kindNode, "kind") else { return nil }
        let context = "detector '\(name)'"
        guard let keys = Self.settingKeys[keyword] else {
            report(kindNode.mark, "unknown detector kind '\(keyword)'; expected one of: \(DetectorKind.keywords.joined(separator: ", "))")
            return nil
        }
        for pair in pairs where !Self.common.contains(pair.key) && !keys.contains(pair.key) {
            report(pair.mark, "\(context) (\(keyword)) takes no '\(pair.key)'; its settings are: \(keys.joined(separator: ", "))")
        }
        let fields = strings(required(pairs, "fields", in: context, at: node.mark), "detector fields") ?? []
        if fields.isEmpty { report(node.mark, "\(context) needs at least one field") }
        if Set(fields).count != fields.count { report(lookup(pairs, "fields")?.mark, "\(context) reads a field twice") }
        func positive(_ key: String, _ value: inout Int) {
            guard let node = lookup(pairs, key), let number = int(node, key) else { return }
            if number >= 1 { value = number } else { report(node.mark, "\(key) must be at least 1") }
        }
        func fraction(_ key: String, _ value: inout Double, open: Bool) {
            guard let node = lookup(pairs, key), let number = double(node, key) else { return }
            if number > 0 && (open ? number < 1 : number <= 1) { value = number } else {
                report(node.mark, "\(key) must be in (0, 1\(open ? ")" : "]")")
            }
        }
        let kind: DetectorKind
        switch keyword {
        case "pca_baseline":
            var settings = PCABaselineSettings()
            if let baseline = lookup(pairs, "baseline") {
                if let text = baseline.scalar?.string, let count = Int(text) {
                    if count >= 2 { settings.baselineEvents = count } else { report(baseline.mark, "baseline must be at least 2 events") }
                } else if let span = duration(baseline, "baseline") {
                    settings.baselineSpan = span
                }
            }
            fraction("smoothing", &settings.smoothing, open: false)
            fraction("variance", &settings.variance, open: false)
            fraction("confidence", &settings.confidence, open: true)
            if let limits = lookup(pairs, "limits").flatMap({ oneOf($0, "limits", ControlLimits.self) }) { settings.limits = limits }
            positive("average", &settings.average)
            if let node = lookup(pairs, "forgetting"), let value = double(node, "forgetting") {
                if value >= 0 && value < 1 { settings.forgetting = value } else { report(node.mark, "forgetting must be in [0, 1)") }
            }
            positive("refit_every", &settings.refitEvery)
            if fields.count < 2 { report(node.mark, "\(context) (pca_baseline) needs at least two fields") }
            if settings.baselineSpan == nil, settings.baselineEvents <= fields.count + 1 {
                report(lookup(pairs, "baseline")?.mark ?? node.mark, "\(context): the baseline needs more events than fields + 1 (\(fields.count + 1)) to estimate a covariance")
            }
            kind = .pcaBaseline(settings)
        case "gaussian_tail":
            var settings = GaussianTailSettings()
            positive("window", &settings.window)
            positive("short_window", &settings.shortWindow)
            positive("historic_window", &settings.historicWindow)
            positive("learning_period", &settings.learningPeriod)
            positive("estimation_samples", &settings.estimationSamples)
            positive("reestimation_period", &settings.reestimationPeriod)
            if fields.count != 1 { report(node.mark, "\(context) (gaussian_tail) reads exactly one field") }
            if settings.window < 2 { report(lookup(pairs, "window")?.mark, "window must be at least 2 events") }
            kind = .gaussianTail(settings)
        default:
            var settings = HalfSpaceTreesSettings()
            positive("trees", &settings.trees)
            positive("height", &settings.height)
            positive("window", &settings.window)
            if settings.height > 20 { report(lookup(pairs, "height")?.mark, "height must be at most 20 (a tree has 2^(height+1) nodes per key)") }
            if let node = lookup(pairs, "seed"), let value = int(node, "seed") {
                if let seed = UInt32(exactly: value) { settings.seed = seed } else { report(node.mark, "seed must be in 0...\(UInt32.max)") }
            }
            if let node = lookup(pairs, "limits"), let limitPairs = mapping(node, "limits of \(context)", allowed: []) {
                for pair in limitPairs {
                    guard case let .sequence(bounds) = pair.value, bounds.count == 2,
                          let low = bounds[0].scalar.flatMap({ Double($0.string) }), let high = bounds[1].scalar.flatMap({ Double($0.string) }),
                          low.isFinite, high.isFinite, low < high else {
                        report(pair.value.mark, "limits of '\(pair.key)' must be [low, high] with low < high")
                        continue
                    }
                    settings.limits[pair.key] = low...high
                }
            }
            kind = .halfSpaceTrees(settings)
        }
        return DetectorSpec(name: name, kind: kind, fields: fields)
    }
}
