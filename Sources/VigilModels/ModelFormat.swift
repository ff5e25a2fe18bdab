/// The model file formats Vigil reads.
public enum ModelFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// XGBoost's JSON model (`Booster.save_model("model.json")`).
    case xgboostJSON = "xgboost-json"
    /// LightGBM's text model (`Booster.save_model("model.txt")`).
    case lightGBMText = "lightgbm-text"
    /// Vigil's JSON format for logistic regressions and MLPs (see ``DenseKernel``).
    case vigilDenseJSON = "vigil-dense-json"
    /// ONNX, the subset scikit-learn's exporter writes for LogisticRegression and MLPClassifier.
    case onnx
    /// Vigil's JSON form of a scikit-learn Isolation Forest (see ``IsolationForestKernel``).
    case vigilIsolationForestJSON = "vigil-isolation-forest-json"

    public var description: String { rawValue }

    /// Recognises a format by the file's first bytes, falling back to its extension.
    ///
    /// JSON files are told apart by their top-level keys ("learner" for XGBoost, "format" for
    /// Vigil's dense format), LightGBM text files by their first line "tree", ONNX files by
    /// the `.onnx` extension or a protobuf that starts with ModelProto's ir_version field.
    public static func detect(bytes: [UInt8], fileName: String) -> ModelFormat? {
        var start = 0
        while start < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[start]) { start += 1 }
        // A UTF-8 byte-order mark.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        let lowered = fileName.lowercased()
        if start < bytes.count, bytes[start] == UInt8(ascii: "{") {
            let head = String(decoding: bytes[start..<min(bytes.count, start + 4096)], as: UTF8.self)
            if head.contains("\"vigil-dense\"") { return .vigilDenseJSON }
            if head.contains("\"vigil-isolation-forest\"") { return .vigilIsolationForestJSON }
            if head.contains("\"learner\"") || head.contains("\"version\"") { return .xgboostJSON }
            return lowered.hasSuffix(".json") ? .xgboostJSON : nil
        }
        if bytes.starts(with: Array("tree\n".utf8)) || bytes.starts(with: Array("tree\r\n".utf8)) {
            return .lightGBMText
        }
        if lowered.hasSuffix(".onnx") { return .onnx }
        // ModelProto field 1 (ir_version) as a varint: tag 0x08.
        if bytes.first == 0x08 { return .onnx }
        return nil
    }
}
