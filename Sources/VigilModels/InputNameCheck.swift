/// How a model's inputs match the feature names a topology provides.
///
/// `missing` are model inputs that nothing provides (the model cannot be scored); `extra` are
/// provided names the model does not use (harmless, but worth a look when a name is misspelt).
/// ``columns`` maps each model input to its position among the available names, so that a
/// caller can gather rows in the model's order.
public struct InputNameCheck: Sendable, Equatable {
    /// Model inputs absent from the available names, in the model's order.
    public let missing: [String]
    /// Available names the model does not use, in their own order.
    public let extra: [String]
    /// For each model input, its index in the available names (nil when missing).
    public let columns: [Int?]

    /// Compares the model's input names with the available ones.
    public init(model: [String], available: [String]) {
        var position: [String: Int] = [:]
        for (index, name) in available.enumerated() where position[name] == nil { position[name] = index }
        columns = model.map { position[$0] }
        missing = model.filter { position[$0] == nil }
        let used = Set(model)
        extra = available.filter { !used.contains($0) }
    }

    /// Whether every model input is available.
    public var isComplete: Bool { missing.isEmpty }

    /// Throws when an input is missing, naming the model file and every missing (and extra) name.
    public func requireComplete(file: String) throws(ModelLoadError) {
        guard !missing.isEmpty else { return }
        var reason = "the model needs \(missing.count) input(s) that are not available: \(missing.joined(separator: ", "))"
        if !extra.isEmpty { reason += "; available but unused: \(extra.joined(separator: ", "))" }
        throw ModelLoadError(file: file, reason: reason)
    }
}
