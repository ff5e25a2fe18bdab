import Foundation
import Yams

/// Loads topology files: YAML through Yams, then checks every rule below and reports each
/// violation with its file, line and column (all of them, not just the first).
///
/// Rules: known keys and kinds only; names unique across fields, derived and stage features;
/// timestamp, key, id and stage-key fields declared; feature inputs numeric and produced
/// earlier (a source field, a derived feature or a feature of an earlier stage); windows
/// positive and, with the allowed lateness, no longer than the state TTL; model inputs produced
/// by the source, a derived feature or a stage; alert rules well-formed; drift windows positive,
/// drift features numeric fields or features of the topology, the drift profile file present.
public enum TopologyLoader {
    /// Reads and loads the topology file at `path`. `requireDriftProfile` (default true) checks
    /// that the drift section's profile file exists; `vigil profile`, which writes it, turns it off.
    ///
    /// The model and drift profile must resolve (following `..` and symbolic links) inside the
    /// topology's folder or one of `allowedDirectories` (default: those of
    /// `VIGIL_ALLOWED_DIRECTORIES`); see ``PathConfinement``.
    public static func load(
        path: String, requireDriftProfile: Bool = true, allowedDirectories: [String] = PathConfinement.environmentDirectories()
    ) throws(TopologyLoadError) -> Topology {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyLoadError(diagnostics: [TopologyDiagnostic(file: path, line: 0, column: 0, message: "cannot read the file: \(error.localizedDescription)")])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try load(yaml: text, file: path, directory: directory.isEmpty ? "." : directory, requireDriftProfile: requireDriftProfile,
                        allowedDirectories: allowedDirectories)
    }

    /// Loads a topology from YAML text; `file` names it in diagnostics, `directory` resolves
    /// the model and drift profile paths (the working directory when nil) and, when given,
    /// confines them to itself and `allowedDirectories`.
    public static func load(yaml: String, file: String, directory: String? = nil,
                            requireDriftProfile: Bool = true, allowedDirectories: [String] = []) throws(TopologyLoadError) -> Topology {
        let parser = TopologyParser(file: file)
        let confinement = directory.map { PathConfinement(directory: $0, extra: allowedDirectories) }
        let topology = parser.parse(yaml: yaml, directory: directory, requireDriftProfile: requireDriftProfile, confinement: confinement)
        if let topology, parser.diagnostics.isEmpty { return topology }
        let sorted = parser.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        throw TopologyLoadError(diagnostics: sorted)
    }
}

/// The single-use parser behind ``TopologyLoader``; it collects diagnostics as it goes.
final class TopologyParser {
    let file: String
    private(set) var diagnostics: [TopologyDiagnostic] = []

    init(file: String) { self.file = file }

    func report(_ mark: Mark?, _ message: String) {
        diagnostics.append(TopologyDiagnostic(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message))
    }

    // MARK: Node access

    /// The pairs of a mapping with unknown and duplicate keys reported.
    func mapping(_ node: Node?, _ context: String, allowed: [String]) -> [(key: String, value: Node, mark: Mark?)]? {
        guard let node else { return nil }
        guard case let .mapping(mapping) = node else {
            report(node.mark, "\(context) must be a mapping with keys: \(allowed.joined(separator: ", "))")
            return nil
        }
        var seen = Set<String>()
        var pairs: [(key: String, value: Node, mark: Mark?)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { report(keyNode.mark, "\(context): keys must be plain names"); continue }
            if !seen.insert(key).inserted { report(keyNode.mark, "duplicate key '\(key)' in \(context)"); continue }
            if !allowed.isEmpty && !allowed.contains(key) {
                report(keyNode.mark, "unknown key '\(key)' in \(context); expected one of: \(allowed.joined(separator: ", "))")
                continue
            }
            pairs.append((key, value, keyNode.mark))
        }
        return pairs
    }

    func lookup(_ pairs: [(key: String, value: Node, mark: Mark?)], _ key: String) -> Node? {
        pairs.first { $0.key == key }?.value
    }

    func required(_ pairs: [(key: String, value: Node, mark: Mark?)], _ key: String, in context: String, at mark: Mark?) -> Node? {
        if let node = lookup(pairs, key) { return node }
        report(mark, "\(context) needs '\(key)'")
        return nil
    }

    func string(_ node: Node?, _ what: String) -> String? {
        guard let node else { return nil }
        guard let scalar = node.scalar, !scalar.string.isEmpty else {
            report(node.mark, "\(what) must be a non-empty text")
            return nil
        }
        return scalar.string
    }

    func strings(_ node: Node?, _ what: String) -> [String]? {
        guard let node else { return nil }
        if node.scalar != nil { return string(node, what).map { [$0] } }
        guard case let .sequence(sequence) = node else { report(node.mark, "\(what) must be a name or a list of names"); return nil }
        return sequence.compactMap { string($0, what) }
    }

    func int(_ node: Node?, _ what: String) -> Int? {
        guard let node else { return nil }
        guard let text = node.scalar?.string, let value = Int(text) else { report(node.mark, "\(what) must be a whole number"); return nil }
        return value
    }

    func double(_ node: Node?, _ what: String) -> Double? {
        guard let node else { return nil }
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite else { report(node.mark, "\(what) must be a number"); return nil }
        return value
    }

    func bool(_ node: Node?, _ what: String) -> Bool? {
        guard let node else { return nil }
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: report(node.mark, "\(what) must be true or false"); return nil
        }
    }

    func duration(_ node: Node?, _ what: String, allowZero: Bool = false) -> Int64? {
        guard let node else { return nil }
        guard let text = node.scalar?.string, let value = DurationText.milliseconds(text) else {
            report(node.mark, "\(what) must be a duration such as 250ms, 30s, 15m, 2h, 7d or 1w")
            return nil
        }
        if value < 0 || (value == 0 && !allowZero) {
            report(node.mark, "\(what) must be \(allowZero ? "zero or more" : "longer than zero")")
            return nil
        }
        return value
    }

    func oneOf<Value: RawRepresentable & CaseIterable>(_ node: Node?, _ what: String, _ type: Value.Type) -> Value? where Value.RawValue == String {
        guard let node else { return nil }
        guard let text = node.scalar?.string, let value = Value(rawValue: text) else {
            report(node.mark, "\(what) must be one of: \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    // MARK: Topology

    /// Marks of names, for diagnostics raised after parsing.
    private var nameMarks: [String: Mark] = [:]
    /// Marks of each derived feature and each stage's features, by position.
    private var derivedMarks: [Mark?] = []
    private var featureMarks: [[Mark?]] = []
    /// Marks of each stage's detectors, by position.
    private var detectorMarks: [[Mark?]] = []
    /// Names of features that failed to parse: known to exist, so later checks do not cascade.
    private var unparsedNames = Set<String>()

    /// Where the model path was written, for the confinement check.
    private var modelPathMark: Mark?

    func parse(yaml: String, directory: String?, requireDriftProfile: Bool = true, confinement: PathConfinement? = nil) -> Topology? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            report(Self.mark(of: error), "not valid YAML: \(Self.problem(of: error))")
            return nil
        } catch {
            report(nil, "not valid YAML: \(error)")
            return nil
        }
        guard let root else { report(nil, "the file is empty; expected a topology mapping"); return nil }
        let topLevel = ["name", "source", "derived", "stages", "model", "outputs", "processing", "drift", "evaluation"]
        guard let pairs = mapping(root, "the topology", allowed: topLevel) else { return nil }
        let name = string(required(pairs, "name", in: "the topology", at: root.mark), "name")
        if let name, let nameNode = lookup(pairs, "name"), !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            report(nameNode.mark, "name must use letters, digits, '-', '_' and '.' only (it names Kafka topics)")
        }
        let source = parseSource(required(pairs, "source", in: "the topology", at: root.mark))
        let derived = parseDerived(lookup(pairs, "derived"))
        let stages = parseStages(required(pairs, "stages", in: "the topology", at: root.mark))
        let model = parseModel(lookup(pairs, "model"))
        var outputs = OutputSpec(defaultsFor: name ?? "topology")
        parseOutputs(lookup(pairs, "outputs"), into: &outputs)
        let (processing, ttlGiven, ttlMark) = parseProcessing(lookup(pairs, "processing"))
        let drift = parseDrift(lookup(pairs, "drift"))
        let evaluation = parseEvaluation(lookup(pairs, "evaluation"))
        guard let name, let source, let stages else { return nil }
        var topology = Topology(name: name, source: source, derived: derived, stages: stages, model: model,
                                outputs: outputs, processing: processing, directory: directory)
        check(&topology, ttlGiven: ttlGiven, ttlMark: ttlMark, root: root)
        if let confinement {
            // Before the drift profile is looked for: a path outside is refused, not probed.
            if let model = topology.model, let resolved = topology.resolvedModelPath,
               let problem = confinement.problem(with: model.path, resolved: resolved) {
                report(modelPathMark, "model path \(problem)")
            }
            if let drift, let profile = drift.profile, let problem = confinement.problem(with: profile, resolved: topology.resolve(profile)) {
                report(drift.profileMark, "drift profile \(problem)")
                return topology
            }
        }
        if let drift { topology.drift = resolveDrift(drift, in: topology, requireProfile: requireDriftProfile) }
        if let evaluation { topology.evaluation = checkEvaluation(evaluation, in: topology) }
        return topology
    }

    private func parseSource(_ node: Node?) -> SourceSpec? {
        let allowed = ["topics", "format", "delimiter", "key", "id", "timestamp", "fields", "optional", "limits"]
        guard let node, let pairs = mapping(node, "source", allowed: allowed) else { return nil }
        let topics = strings(required(pairs, "topics", in: "source", at: node.mark), "source topics") ?? []
        let format = oneOf(required(pairs, "format", in: "source", at: node.mark), "source format", EventFormat.self)
        var delimiter = UInt8(ascii: ",")
        if let delimiterNode = lookup(pairs, "delimiter") {
            if let text = string(delimiterNode, "delimiter"), text.utf8.count == 1 { delimiter = text.utf8.first! } else {
                report(delimiterNode.mark, "delimiter must be one ASCII character such as ',' or ';'")
            }
        }
        let keyFields = strings(lookup(pairs, "key"), "source key") ?? []
        let idFields = strings(lookup(pairs, "id"), "source id") ?? []
        var timestamp: TimestampSpec?
        if let timestampNode = required(pairs, "timestamp", in: "source", at: node.mark),
           let timestampPairs = mapping(timestampNode, "source timestamp", allowed: ["field", "format"]) {
            let field = string(required(timestampPairs, "field", in: "source timestamp", at: timestampNode.mark), "timestamp field")
            let format = lookup(timestampPairs, "format").map { oneOf($0, "timestamp format", TimestampFormat.self) } ?? .datetime
            if let field, let format { timestamp = TimestampSpec(field: field, format: format) }
        }
        var fields: [FieldSpec] = []
        if let fieldsNode = required(pairs, "fields", in: "source", at: node.mark),
           let fieldPairs = mapping(fieldsNode, "source fields", allowed: []) {
            for pair in fieldPairs {
                if let field = parseField(pair.key, pair.value) {
                    fields.append(field)
                    if let mark = pair.mark { nameMarks["field:" + pair.key] = mark }
                }
            }
            if fieldPairs.isEmpty { report(fieldsNode.mark, "source fields must declare at least one field") }
        }
        if topics.isEmpty { report(node.mark, "source topics must name at least one topic") }
        // An unknown format is already reported; go on so that the other checks still run.
        guard let timestamp else { return nil }
        var source = SourceSpec(topics: topics, format: format ?? .json, delimiter: delimiter, keyFields: keyFields, idFields: idFields,
                                timestamp: timestamp, fields: fields)
        source.optionalFields = strings(lookup(pairs, "optional"), "source optional") ?? []
        for field in source.optionalFields where source.field(named: field) == nil || field == timestamp.field {
            report(lookup(pairs, "optional")?.mark, field == timestamp.field ? "the timestamp field '\(field)' cannot be optional"
                                                                              : "source optional field '\(field)' is not declared under source fields")
        }
        if let limitsNode = lookup(pairs, "limits") { source.limits = parseLimits(limitsNode) }
        for (list, what, listNode) in [(keyFields, "key", lookup(pairs, "key")), (idFields, "id", lookup(pairs, "id"))] {
            for field in list where source.field(named: field) == nil {
                report(listNode?.mark, "source \(what) field '\(field)' is not declared under source fields")
            }
        }
        if source.field(named: timestamp.field) == nil {
            report(lookup(pairs, "timestamp")?.mark, "timestamp field '\(timestamp.field)' is not declared under source fields")
        }
        return source
    }

    /// A field written `NAME: type`, or `NAME: { type: string, values: [a, b] }` for a
    /// categorical field whose other values are refused.
    private func parseField(_ name: String, _ node: Node) -> FieldSpec? {
        guard case .mapping = node else {
            return oneOf(node, "the type of field '\(name)'", FieldType.self).map { FieldSpec(name: name, type: $0) }
        }
        guard let pairs = mapping(node, "field '\(name)'", allowed: ["type", "values"]),
              let type = oneOf(required(pairs, "type", in: "field '\(name)'", at: node.mark), "the type of field '\(name)'", FieldType.self) else { return nil }
        var field = FieldSpec(name: name, type: type)
        if let valuesNode = lookup(pairs, "values") {
            guard case let .sequence(sequence) = valuesNode, !sequence.isEmpty else {
                report(valuesNode.mark, "values of field '\(name)' must be a non-empty list")
                return field
            }
            var values: [String] = []
            for item in sequence {
                guard let text = item.scalar?.string else { report(item.mark, "values of field '\(name)' must be plain values"); continue }
                if type != .string, Double(text) == nil { report(item.mark, "value '\(text)' of field '\(name)' is not a number"); continue }
                values.append(text)
            }
            field.allowedValues = values
        }
        return field
    }

    private func parseLimits(_ node: Node) -> SourceLimits {
        var limits = SourceLimits()
        guard let pairs = mapping(node, "source limits", allowed: ["max_record_bytes", "max_fields", "max_json_depth", "max_ahead", "not_before"]) else { return limits }
        if let valueNode = lookup(pairs, "max_record_bytes") {
            if let text = valueNode.scalar?.string, let bytes = ByteCountText.bytes(text), bytes > 0 { limits.maxRecordBytes = bytes } else {
                report(valueNode.mark, "max_record_bytes must be a positive size such as 65536, 64KiB or 1MiB")
            }
        }
        for (key, minimum) in [("max_fields", 1), ("max_json_depth", 1)] {
            guard let valueNode = lookup(pairs, key), let value = int(valueNode, key) else { continue }
            guard value >= minimum else { report(valueNode.mark, "\(key) must be at least \(minimum)"); continue }
            if key == "max_fields" { limits.maxFields = value } else { limits.maxJSONDepth = min(value, 128) }
        }
        if let value = lookup(pairs, "max_ahead").flatMap({ duration($0, "max_ahead") }) { limits.maxAhead = value }
        if let valueNode = lookup(pairs, "not_before") {
            let text = valueNode.scalar?.string ?? ""
            if text == "none" { limits.notBefore = nil } else if let time = DateText.milliseconds(text) { limits.notBefore = time } else {
                report(valueNode.mark, "not_before must be a date written YYYY-MM-DD (UTC), or none")
            }
        }
        return limits
    }

    private func parseDerived(_ node: Node?) -> [DerivedFeature] {
        guard let node else { return [] }
        guard case let .sequence(sequence) = node else { report(node.mark, "derived must be a list of features"); return [] }
        var result: [DerivedFeature] = []
        for item in sequence {
            let allowed = ["name", "kind", "field", "numerator", "denominator", "from_hour", "to_hour"]
            guard let pairs = mapping(item, "a derived feature", allowed: allowed) else { continue }
            guard let name = string(required(pairs, "name", in: "a derived feature", at: item.mark), "name"),
                  let kindNode = required(pairs, "kind", in: "derived feature '\(name)'", at: item.mark),
                  let keyword = string(kindNode, "kind") else { continue }
            let context = "derived feature '\(name)'"
            let kind: DerivedKind?
            switch keyword {
            case "hour": kind = .hour
            case "weekday": kind = .weekday
            case "weekend": kind = .weekend
            case "night":
                let from = lookup(pairs, "from_hour").flatMap { int($0, "from_hour") } ?? 0
                let to = lookup(pairs, "to_hour").flatMap { int($0, "to_hour") } ?? 6
                if !(0...23).contains(from) || !(0...23).contains(to) { report(item.mark, "\(context): from_hour and to_hour must be within 0...23") }
                kind = .night(fromHour: from, toHour: to)
            case "log":
                kind = string(required(pairs, "field", in: context, at: item.mark), "field").map { .log1p(field: $0) }
            case "ratio":
                let numerator = string(required(pairs, "numerator", in: context, at: item.mark), "numerator")
                let denominator = string(required(pairs, "denominator", in: context, at: item.mark), "denominator")
                kind = numerator.flatMap { n in denominator.map { .ratio(numerator: n, denominator: $0) } }
            default:
                report(kindNode.mark, "unknown derived feature kind '\(keyword)'; expected one of: hour, weekday, weekend, night, log, ratio")
                kind = nil
            }
            if let kind {
                result.append(DerivedFeature(name: name, kind: kind))
                derivedMarks.append(item.mark)
            } else {
                unparsedNames.insert(name)
            }
        }
        return result
    }

    private func parseStages(_ node: Node?) -> [StageSpec]? {
        guard let node else { return nil }
        guard case let .sequence(sequence) = node, !sequence.isEmpty else {
            report(node.mark, "stages must be a non-empty list of stages")
            return nil
        }
        var stages: [StageSpec] = []
        for item in sequence {
            guard let pairs = mapping(item, "a stage", allowed: ["name", "key", "features", "detectors"]) else { continue }
            guard let name = string(required(pairs, "name", in: "a stage", at: item.mark), "stage name") else { continue }
            nameMarks["stage:" + name] = item.mark
            let key = string(required(pairs, "key", in: "stage '\(name)'", at: item.mark), "stage key")
            var features: [FeatureSpec] = []
            var marks: [Mark?] = []
            let detectorsNode = lookup(pairs, "detectors")
            let (detectors, detectorMarks) = parseDetectors(detectorsNode, stage: name)
            // A stage of detectors alone needs no features.
            if let featuresNode = detectorsNode == nil ? required(pairs, "features", in: "stage '\(name)'", at: item.mark) : lookup(pairs, "features") {
                if case let .sequence(list) = featuresNode, !list.isEmpty {
                    for featureNode in list {
                        if let feature = parseFeature(featureNode, stage: name) {
                            features.append(feature)
                            marks.append(featureNode.mark)
                        }
                    }
                } else {
                    report(featuresNode.mark, "features of stage '\(name)' must be a non-empty list")
                }
            }
            if let key {
                stages.append(StageSpec(name: name, key: key, features: features, detectors: detectors))
                featureMarks.append(marks)
                self.detectorMarks.append(detectorMarks)
            }
        }
        return stages
    }

    private func parseFeature(_ node: Node, stage: String) -> FeatureSpec? {
        let allowed = ["name", "kind", "field", "window", "delay", "alpha", "half_life"]
        guard let pairs = mapping(node, "a feature of stage '\(stage)'", allowed: allowed) else { return nil }
        guard let name = string(required(pairs, "name", in: "a feature of stage '\(stage)'", at: node.mark), "feature name"),
              let kindNode = required(pairs, "kind", in: "feature '\(name)'", at: node.mark),
              let keyword = string(kindNode, "kind") else { return nil }
        let context = "feature '\(name)'"
        guard let aggregation = Aggregation(rawValue: keyword) else {
            unparsedNames.insert(name)
            report(kindNode.mark, "unknown feature kind '\(keyword)'; expected one of: \(Aggregation.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        var feature = FeatureSpec(name: name, aggregation: aggregation)
        feature.field = lookup(pairs, "field").flatMap { string($0, "field") }
        if aggregation.needsField && feature.field == nil { report(node.mark, "\(context) (\(keyword)) needs 'field'") }
        if !aggregation.needsField, let fieldNode = lookup(pairs, "field") { report(fieldNode.mark, "\(context) (\(keyword)) takes no 'field'") }
        let delay = lookup(pairs, "delay").flatMap { duration($0, "delay", allowZero: true) }
        if let windowNode = lookup(pairs, "window") {
            if !aggregation.isWindowed { report(windowNode.mark, "\(context) (\(keyword)) is sequential and takes no 'window'") }
            feature.window = parseWindow(windowNode, context: context, delay: delay)
        } else if aggregation.isWindowed {
            report(node.mark, "\(context) (\(keyword)) needs a 'window'")
        } else if let delayNode = lookup(pairs, "delay") {
            report(delayNode.mark, "\(context): 'delay' applies to sliding windows only")
        }
        feature.alpha = lookup(pairs, "alpha").flatMap { double($0, "alpha") }
        feature.halfLife = lookup(pairs, "half_life").flatMap { duration($0, "half_life") }
        if aggregation == .ewma {
            if (feature.alpha == nil) == (feature.halfLife == nil) { report(node.mark, "\(context) (ewma) needs exactly one of 'alpha' or 'half_life'") }
            if let alpha = feature.alpha, !(alpha > 0 && alpha <= 1) { report(lookup(pairs, "alpha")?.mark, "alpha must be in (0, 1]") }
        } else {
            for key in ["alpha", "half_life"] {
                if let extra = lookup(pairs, key) { report(extra.mark, "\(context): '\(key)' applies to ewma only") }
            }
        }
        return feature
    }

    private func parseWindow(_ node: Node, context: String, delay: Int64?) -> WindowSpec? {
        if node.scalar != nil {
            guard let size = duration(node, "window") else { return nil }
            if let delay, delay > 0 { return .delayed(size: size, delay: delay) }
            return .sliding(size: size)
        }
        guard let pairs = mapping(node, "the window of \(context)", allowed: ["type", "size", "delay", "advance"]) else { return nil }
        let type = lookup(pairs, "type").flatMap { string($0, "window type") } ?? "sliding"
        let size = duration(required(pairs, "size", in: "the window of \(context)", at: node.mark), "window size")
        let innerDelay = lookup(pairs, "delay").flatMap { duration($0, "delay", allowZero: true) }
        if type != "sliding", let delayNode = lookup(pairs, "delay") { report(delayNode.mark, "'delay' applies to sliding windows only") }
        switch type {
        case "sliding":
            guard let size else { return nil }
            let total = (innerDelay ?? 0) + (delay ?? 0)
            return total > 0 ? .delayed(size: size, delay: total) : .sliding(size: size)
        case "tumbling":
            return size.map { .tumbling(size: $0) }
        case "hopping":
            let advance = duration(required(pairs, "advance", in: "a hopping window", at: node.mark), "advance")
            guard let size, let advance else { return nil }
            if advance > size || size % advance != 0 {
                report(lookup(pairs, "advance")?.mark, "advance must divide the window size (\(DurationText.text(size)))")
                return nil
            }
            return .hopping(size: size, advance: advance)
        default:
            report(lookup(pairs, "type")?.mark, "unknown window type '\(type)'; expected one of: sliding, tumbling, hopping")
            return nil
        }
    }

    private func parseModel(_ node: Node?) -> ModelSpec? {
        guard let node, let pairs = mapping(node, "model", allowed: ["path", "inputs", "version", "score"]) else { return nil }
        if let scoreNode = lookup(pairs, "score") {
            // The score is a feature as it is (a detector's output): no file, no other inputs.
            for key in ["path", "inputs"] where lookup(pairs, key) != nil {
                report(lookup(pairs, key)?.mark, "model: 'score' names the feature that is the score; it takes no '\(key)'")
            }
            guard let feature = string(scoreNode, "model score") else { return nil }
            if let mark = scoreNode.mark { nameMarks["input:" + feature] = mark }
            return ModelSpec(scoreFeature: feature, version: lookup(pairs, "version").flatMap { string($0, "model version") } ?? "1")
        }
        let pathNode = required(pairs, "path", in: "model", at: node.mark)
        modelPathMark = pathNode?.mark
        let path = string(pathNode, "model path")
        let inputs = strings(required(pairs, "inputs", in: "model", at: node.mark), "model inputs") ?? []
        let version = lookup(pairs, "version").flatMap { string($0, "model version") } ?? "1"
        if let inputsNode = lookup(pairs, "inputs"), case let .sequence(sequence) = inputsNode {
            for (index, item) in sequence.enumerated() {
                if let name = item.scalar?.string, nameMarks["input:" + name] == nil, let mark = item.mark {
                    nameMarks["input:" + name] = mark
                } else if let name = item.scalar?.string, inputs.firstIndex(of: name) != index {
                    report(item.mark, "duplicate model input '\(name)'")
                }
            }
        }
        if inputs.isEmpty { report(node.mark, "model inputs must name at least one feature") }
        guard let path else { return nil }
        return ModelSpec(path: path, inputs: inputs, version: version)
    }

    private func parseOutputs(_ node: Node?, into outputs: inout OutputSpec) {
        guard let node, let pairs = mapping(node, "outputs", allowed: ["scores", "alerts", "drift", "dead_letter", "include_features"]) else { return }
        if let scores = lookup(pairs, "scores").flatMap({ string($0, "scores topic") }) { outputs.scoresTopic = scores }
        if let drift = lookup(pairs, "drift").flatMap({ string($0, "drift topic") }) { outputs.driftTopic = drift }
        if let deadLetter = lookup(pairs, "dead_letter").flatMap({ string($0, "dead_letter topic") }) { outputs.deadLetterTopic = deadLetter }
        if let include = lookup(pairs, "include_features").flatMap({ bool($0, "include_features") }) { outputs.includeFeatures = include }
        if let alertsNode = lookup(pairs, "alerts"), let alertPairs = mapping(alertsNode, "outputs alerts", allowed: ["topic", "rule", "explain"]) {
            if let topic = lookup(alertPairs, "topic").flatMap({ string($0, "alerts topic") }) { outputs.alertsTopic = topic }
            if let explainNode = lookup(alertPairs, "explain"), let explain = int(explainNode, "alerts explain") {
                if explain >= 0 { outputs.alertExplain = explain } else { report(explainNode.mark, "alerts explain must be zero or more (the number of reasons per alert)") }
                if let mark = explainNode.mark { nameMarks["explain"] = mark }
            }
            if let ruleNode = required(alertPairs, "rule", in: "outputs alerts", at: alertsNode.mark), let text = string(ruleNode, "alert rule") {
                switch AlertRule.parse(text) {
                case let .success(rule):
                    outputs.alertRule = rule
                    if let mark = ruleNode.mark { nameMarks["rule"] = mark }
                case let .failure(error):
                    report(ruleNode.mark, "alert rule: \(error.detail)")
                }
            }
        }
    }

    private func parseProcessing(_ node: Node?) -> (ProcessingSpec, Bool, Mark?) {
        var processing = ProcessingSpec()
        let allowed = ["batch_size", "batch_delay", "commit_interval", "commit_when_drained", "local_delivery", "changelog", "allowed_lateness", "late_events", "state_ttl", "max_keys", "max_state_bytes"]
        guard let node, let pairs = mapping(node, "processing", allowed: allowed) else { return (processing, false, nil) }
        if let value = lookup(pairs, "batch_size").flatMap({ int($0, "batch_size") }) {
            if value > 0 { processing.batchSize = value } else { report(lookup(pairs, "batch_size")?.mark, "batch_size must be at least 1") }
        }
        if let value = lookup(pairs, "batch_delay").flatMap({ duration($0, "batch_delay", allowZero: true) }) { processing.batchDelay = value }
        if let value = lookup(pairs, "commit_interval").flatMap({ duration($0, "commit_interval") }) { processing.commitInterval = value }
        if let value = lookup(pairs, "commit_when_drained").flatMap({ bool($0, "commit_when_drained") }) { processing.commitWhenDrained = value }
        if let value = lookup(pairs, "local_delivery").flatMap({ bool($0, "local_delivery") }) { processing.localDelivery = value }
        if let node = lookup(pairs, "changelog"), let text = string(node, "changelog") {
            if let records = ChangelogRecords(rawValue: text) {
                processing.changelog = records
                // A local delivery's state reflects source input the repartition partition never
                // consumed: the events' place in its input, which the records are chained by, would not say it.
                if records == .events, processing.localDelivery { report(node.mark, "changelog: events does not combine with local_delivery: true") }
            } else {
                report(node.mark, "changelog must be one of \(ChangelogRecords.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
        }
        if let value = lookup(pairs, "allowed_lateness").flatMap({ duration($0, "allowed_lateness", allowZero: true) }) { processing.allowedLateness = value }
        if let node = lookup(pairs, "late_events"), let text = string(node, "late_events") {
            if let policy = LateEventPolicy(rawValue: text) {
                processing.lateEvents = policy
            } else {
                report(node.mark, "late_events must be one of \(LateEventPolicy.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
        }
        let ttlNode = lookup(pairs, "state_ttl")
        if let value = ttlNode.flatMap({ duration($0, "state_ttl") }) { processing.stateTTL = value }
        if let value = lookup(pairs, "max_keys").flatMap({ int($0, "max_keys") }) {
            if value > 0 { processing.maxKeys = value } else { report(lookup(pairs, "max_keys")?.mark, "max_keys must be at least 1") }
        }
        if let valueNode = lookup(pairs, "max_state_bytes") {
            if let text = valueNode.scalar?.string, let bytes = ByteCountText.bytes(text), bytes > 0 { processing.maxStateBytes = bytes } else {
                report(valueNode.mark, "max_state_bytes must be a positive size such as 536870912, 512MiB or 2GiB")
            }
        }
        return (processing, ttlNode != nil && processing.stateTTL > 0, ttlNode?.mark)
    }

    // MARK: Cross-checks

    private func check(_ topology: inout Topology, ttlGiven: Bool, ttlMark: Mark?, root: Node) {
        var known: [String: Bool] = [:]  // name → numeric
        for field in topology.source.fields { known[field.name] = field.type.isNumeric }
        for (position, feature) in topology.derived.enumerated() {
            let mark = derivedMarks[position]
            if known[feature.name] != nil { report(mark, "duplicate name '\(feature.name)': already a field or feature") }
            for input in feature.kind.inputs where known[input] != true {
                report(mark, known[input] == nil ? "derived feature '\(feature.name)' reads '\(input)', which is not a declared field or an earlier derived feature"
                                                 : "derived feature '\(feature.name)' reads '\(input)', which is not numeric")
            }
            known[feature.name] = true
        }
        var stageNames = Set<String>()
        var longestReach: Int64 = 0
        for (stageIndex, stage) in topology.stages.enumerated() {
            let stageMark = nameMarks["stage:" + stage.name]
            if !stageNames.insert(stage.name).inserted { report(stageMark, "duplicate stage name '\(stage.name)'") }
            if topology.source.field(named: stage.key) == nil {
                report(stageMark, "stage '\(stage.name)' is keyed by '\(stage.key)', which is not declared under source fields")
            }
            var produced: [String] = []
            for (position, feature) in stage.features.enumerated() {
                let mark = featureMarks[stageIndex][position]
                if known[feature.name] != nil || produced.contains(feature.name) { report(mark, "duplicate name '\(feature.name)': already a field or feature") }
                if let field = feature.field {
                    checkInput(field, of: "feature '\(feature.name)'", needs: "features need numbers", known: known, produced: produced, at: mark)
                }
                if let window = feature.window { longestReach = max(longestReach, window.lookback) }
                produced.append(feature.name)
            }
            for (position, detector) in stage.detectors.enumerated() {
                let mark = detectorMarks[stageIndex][position]
                for output in detector.outputNames where known[output] != nil || produced.contains(output) {
                    report(mark, "duplicate name '\(output)': already a field or feature")
                }
                for field in detector.fields {
                    checkInput(field, of: "detector '\(detector.name)'", needs: "detectors need numbers", known: known, produced: produced, at: mark)
                }
                if case let .halfSpaceTrees(settings) = detector.kind {
                    for name in settings.limits.keys where !detector.fields.contains(name) {
                        report(mark, "detector '\(detector.name)': limits name '\(name)', which is not one of its fields")
                    }
                }
                produced += detector.outputNames
            }
            for name in produced { known[name] = true }
        }
        for name in unparsedNames where known[name] == nil { known[name] = true }
        let lateness = topology.processing.allowedLateness
        if ttlGiven {
            for (stageIndex, stage) in topology.stages.enumerated() {
                for (position, feature) in stage.features.enumerated() {
                    guard let window = feature.window, window.lookback + lateness > topology.processing.stateTTL else { continue }
                    report(featureMarks[stageIndex][position],
                           "the window of '\(feature.name)' reaches \(DurationText.text(window.lookback))\(lateness > 0 ? " plus \(DurationText.text(lateness)) allowed lateness" : ""), longer than the state TTL (\(DurationText.text(topology.processing.stateTTL))); raise state_ttl or shorten the window")
                }
            }
        } else {
            topology.processing.stateTTL = max(longestReach + lateness, 86_400_000)
        }
        if let model = topology.model {
            for input in model.inputs {
                if known[input] == nil {
                    report(nameMarks["input:" + input], "model input '\(input)' is not produced by any stage, derived feature or source field")
                } else if known[input] == false {
                    report(nameMarks["input:" + input], "model input '\(input)' is a string field; models take numbers")
                }
            }
        }
        if topology.outputs.alertExplain > 0 {
            if let model = topology.model {
                if topology.outputs.alertExplain > model.inputs.count {
                    report(nameMarks["explain"], "alerts explain asks for \(topology.outputs.alertExplain) reasons but the model has \(model.inputs.count) inputs")
                }
            } else {
                report(nameMarks["explain"], "alerts explain needs a model (reasons are the model inputs' contributions to the score)")
            }
        }
        if let rule = topology.outputs.alertRule {
            for condition in rule.conditions {
                if condition.subject == "score" {
                    if topology.model == nil { report(nameMarks["rule"], "alert rule uses 'score' but the topology has no model") }
                } else if known[condition.subject] != true {
                    report(nameMarks["rule"], "alert rule uses '\(condition.subject)', which is not 'score' or a numeric field or feature")
                }
            }
        }
    }

    /// Reports an input of a stage's feature or detector that is not a numeric field, derived
    /// feature or earlier stage's feature (`known`: name → numeric; `produced`: the stage's own).
    private func checkInput(_ field: String, of what: String, needs: String, known: [String: Bool], produced: [String], at mark: Mark?) {
        if produced.contains(field) {
            report(mark, "\(what) reads '\(field)', a column of the same stage; only earlier stages' features can be inputs")
        } else if known[field] == nil {
            report(mark, "\(what) reads '\(field)', which is not a declared field, a derived feature or an earlier stage's feature")
        } else if known[field] == false {
            report(mark, "\(what) reads '\(field)', which is a string field; \(needs)")
        }
    }

    static func mark(of error: YamlError) -> Mark? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _): return mark
        default: return nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _):
            return context.map { "\(problem) \($0.text)" } ?? problem
        default: return "\(error)"
        }
    }
}
