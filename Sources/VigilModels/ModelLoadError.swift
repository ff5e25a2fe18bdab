/// A model file that could not be loaded: names the file and says what is wrong with it.
public struct ModelLoadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (or the name given for in-memory bytes) that failed to load.
    public var file: String
    /// What is wrong, in words, with the place inside the file where that helps.
    public var reason: String

    /// Creates an error about `file`.
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// A problem found while reading a model, before the reader knows the file's name.
///
/// Readers throw this; ``ModelLoader`` attaches the file name, so that no reader has to thread
/// the name through every helper.
struct ModelFormatError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
