import Foundation
import Yams

/// The `drift` section as written, before its names are checked against the rest of the topology.
struct DriftDraft {
    var node: Node
    var profile: String?
    var profileMark: Mark?
    var window: Int64?
    var thresholds = DriftSpec.Thresholds.standard
    var featureThresholds: [(name: String, thresholds: DriftSpec.Thresholds, mark: Mark?)] = []
    var minimumCount = 100
    var features: [(name: String, mark: Mark?)]?
    var exclude: [(name: String, mark: Mark?)] = []
    var categorical: [(name: String, mark: Mark?)] = []
    var score: Bool?
    var scoreMark: Mark?
}

extension TopologyParser {
    static let driftKeys = ["profile", "window", "thresholds", "feature_thresholds", "min_count", "categorical", "features", "exclude", "score"]

    func parseDrift(_ node: Node?) -> DriftDraft? {
        guard let node, let pairs = mapping(node, "drift", allowed: Self.driftKeys) else { return nil }
        var draft = DriftDraft(node: node)
        if let profileNode = required(pairs, "profile", in: "drift", at: node.mark) {
            draft.profile = string(profileNode, "drift profile")
            draft.profileMark = profileNode.mark
        }
        if let windowNode = required(pairs, "window", in: "drift", at: node.mark) {
            if windowNode.scalar == nil {
                report(windowNode.mark, "drift window must be a duration such as 1h or 1d (drift windows tumble in event time)")
            } else {
                draft.window = duration(windowNode, "drift window")
            }
        }
        if let thresholdsNode = lookup(pairs, "thresholds"),
           let thresholds = parseThresholds(thresholdsNode, "drift thresholds", defaults: .standard) {
            draft.thresholds = thresholds
        }
        if let overridesNode = lookup(pairs, "feature_thresholds"),
           let overrides = mapping(overridesNode, "drift feature_thresholds", allowed: []) {
            for pair in overrides {
                if let thresholds = parseThresholds(pair.value, "drift thresholds of '\(pair.key)'", defaults: draft.thresholds) {
                    draft.featureThresholds.append((pair.key, thresholds, pair.mark))
                }
            }
        }
        if let countNode = lookup(pairs, "min_count"), let count = int(countNode, "drift min_count") {
            if count >= 0 { draft.minimumCount = count } else { report(countNode.mark, "drift min_count must be zero or more") }
        }
        draft.features = lookup(pairs, "features").flatMap { names($0, "drift features") }
        draft.exclude = lookup(pairs, "exclude").flatMap { names($0, "drift exclude") } ?? []
        draft.categorical = lookup(pairs, "categorical").flatMap { names($0, "drift categorical") } ?? []
        if let scoreNode = lookup(pairs, "score") {
            draft.score = bool(scoreNode, "drift score")
            draft.scoreMark = scoreNode.mark
        }
        return draft
    }

    /// `{moderate: X, major: Y}`, either left out taking its value from `defaults`.
    private func parseThresholds(_ node: Node, _ what: String, defaults: DriftSpec.Thresholds) -> DriftSpec.Thresholds? {
        guard let pairs = mapping(node, what, allowed: ["moderate", "major"]) else { return nil }
        let moderate = lookup(pairs, "moderate").map { double($0, "\(what): moderate") } ?? defaults.moderate
        let major = lookup(pairs, "major").map { double($0, "\(what): major") } ?? defaults.major
        guard let moderate, let major else { return nil }
        guard moderate > 0, moderate <= major else {
            report(node.mark, "\(what) need 0 < moderate ≤ major (PSI), got moderate \(moderate), major \(major)")
            return nil
        }
        return DriftSpec.Thresholds(moderate: moderate, major: major)
    }

    /// A list of names with their marks, duplicates reported.
    private func names(_ node: Node, _ what: String) -> [(name: String, mark: Mark?)]? {
        let items: [Node]
        switch node {
        case .scalar: items = [node]
        case let .sequence(sequence): items = Array(sequence)
        default: report(node.mark, "\(what) must be a name or a list of names"); return nil
        }
        var result: [(name: String, mark: Mark?)] = []
        for item in items {
            guard let name = string(item, what) else { continue }
            if result.contains(where: { $0.name == name }) { report(item.mark, "\(what) lists '\(name)' twice"); continue }
            result.append((name, item.mark))
        }
        return result
    }

    /// Resolves the watched features against the topology and, when `requireProfile`, checks
    /// that the profile file exists.
    func resolveDrift(_ draft: DriftDraft, in topology: Topology, requireProfile: Bool) -> DriftSpec? {
        var numeric = Set(topology.featureNames)
        var text = Set<String>()
        for field in topology.source.fields {
            if field.type.isNumeric { numeric.insert(field.name) } else { text.insert(field.name) }
        }
        func check(_ name: String, _ mark: Mark?, _ what: String) -> Bool {
            if numeric.contains(name) { return true }
            if text.contains(name) {
                report(mark, "\(what) '\(name)' is a string field; drift watches numeric fields and features (a categorical feature is compared by its values' text)")
            } else {
                report(mark, "\(what) '\(name)' is not a numeric field or feature of the topology")
            }
            return false
        }
        var features: [String]
        if let listed = draft.features {
            features = listed.filter { check($0.name, $0.mark, "drift feature") }.map(\.name)
        } else {
            features = topology.model?.inputs ?? topology.featureNames
        }
        for (name, mark) in draft.exclude {
            if let index = features.firstIndex(of: name) { features.remove(at: index) } else if check(name, mark, "drift exclude") {
                report(mark, "drift exclude names '\(name)', which is not among the watched features")
            }
        }
        var categorical: [String] = []
        for (name, mark) in draft.categorical {
            if features.contains(name) { categorical.append(name) } else if check(name, mark, "drift categorical feature") {
                report(mark, "drift categorical feature '\(name)' is not among the watched features")
            }
        }
        let monitorsScore = draft.score ?? (topology.model != nil)
        if monitorsScore && topology.model == nil {
            report(draft.scoreMark, "drift watches the score, but the topology has no model")
        }
        if monitorsScore, features.contains(DriftSpec.scoreName) {
            report(draft.node.mark, "drift cannot watch both the score and a feature named '\(DriftSpec.scoreName)'")
        }
        var overrides: [String: DriftSpec.Thresholds] = [:]
        for (name, thresholds, mark) in draft.featureThresholds {
            if features.contains(name) || (monitorsScore && name == DriftSpec.scoreName) {
                overrides[name] = thresholds
            } else {
                report(mark, "drift feature_thresholds names '\(name)', which is not among the watched features\(monitorsScore ? " or 'score'" : "")")
            }
        }
        if features.isEmpty && !monitorsScore { report(draft.node.mark, "drift watches nothing: no features and no score") }
        guard let profile = draft.profile, let window = draft.window else { return nil }
        let location = DriftSpec.Location(file: file, line: draft.profileMark?.line ?? 0, column: draft.profileMark?.column ?? 0)
        if requireProfile {
            let path = topology.resolve(profile)
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue {
                report(draft.profileMark, "drift profile '\(profile)' not found (looked for \(path)); build it with `vigil profile`")
            }
        }
        return DriftSpec(profilePath: profile, windowLength: window, thresholds: draft.thresholds, featureThresholds: overrides,
                         minimumCount: draft.minimumCount, features: features, categorical: categorical,
                         monitorsScore: monitorsScore, profileLocation: location)
    }
}
