/// One problem found in a topology file, with its place.
public struct TopologyDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The file's path as given.
    public var file: String
    /// 1-based line, 0 when unknown.
    public var line: Int
    /// 1-based column, 0 when unknown.
    public var column: Int
    /// What is wrong and what was expected.
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: error: message`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}

/// A topology file that did not load: every problem found, in file order.
public struct TopologyLoadError: Error, Sendable, CustomStringConvertible {
    /// The problems, sorted by position.
    public var diagnostics: [TopologyDiagnostic]

    public init(diagnostics: [TopologyDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
