import VigilCodec

/// Model files are read with VigilCodec's JSON parser (byte offsets in errors, a nesting limit
/// against garbled files, numbers parsed as `Double(String)` does, so every float32 XGBoost
/// writes round-trips); these are the look-ups the model readers need on top of it.
extension JSONValue {
    /// Parses a complete model document; a syntax error names where the file is broken.
    static func parseModel(_ bytes: [UInt8]) throws(ModelFormatError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw ModelFormatError("not valid JSON at \(error)")
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The value as an exact integer (a number or numeric string without a fraction).
    var integer: Int? {
        number.flatMap { Int(exactly: $0) }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The value as a number; XGBoost writes some numbers as strings ("15") and some flags as booleans.
    var number: Double? { doubleValue }

    /// The value when it is a JSON number (not a string or a boolean).
    var strictNumber: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}

extension JSONValue {
    /// `self[key]`, or an error naming `path` when it is absent.
    func require(_ key: String, at path: String) throws(ModelFormatError) -> JSONValue {
        guard let value = self[key] else { throw ModelFormatError("missing \(path).\(key)") }
        return value
    }

    func requireArray(_ key: String, at path: String) throws(ModelFormatError) -> [JSONValue] {
        guard let value = try require(key, at: path).array else { throw ModelFormatError("\(path).\(key) is not an array") }
        return value
    }

    func requireString(_ key: String, at path: String) throws(ModelFormatError) -> String {
        guard let value = try require(key, at: path).string else { throw ModelFormatError("\(path).\(key) is not a string") }
        return value
    }

    func requireNumber(_ key: String, at path: String) throws(ModelFormatError) -> Double {
        guard let value = try require(key, at: path).number else { throw ModelFormatError("\(path).\(key) is not a number") }
        return value
    }

    /// An array of numbers (numbers or numeric strings) under `key`.
    func requireNumbers(_ key: String, at path: String) throws(ModelFormatError) -> [Double] {
        let values = try requireArray(key, at: path)
        var numbers: [Double] = []
        numbers.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let number = value.number else { throw ModelFormatError("\(path).\(key)[\(index)] is not a number") }
            numbers.append(number)
        }
        return numbers
    }

    func requireStrings(_ key: String, at path: String) throws(ModelFormatError) -> [String] {
        let values = try requireArray(key, at: path)
        var strings: [String] = []
        for (index, value) in values.enumerated() {
            guard let string = value.string else { throw ModelFormatError("\(path).\(key)[\(index)] is not a string") }
            strings.append(string)
        }
        return strings
    }
}
