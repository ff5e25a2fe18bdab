/// A pipeline that cannot be built or fed as asked.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// The model does not fit the topology (an input the rows lack, for example).
    case model(String)
    /// Input that cannot be read at all (as opposed to one bad event).
    case input(String)

    public var description: String {
        switch self {
        case let .model(detail): "model: \(detail)"
        case let .input(detail): detail
        }
    }
}
