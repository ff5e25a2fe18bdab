import Foundation

/// Writing CSV fields (RFC 4180).
public enum CSVField {
    /// The field as it must appear in a CSV row: quoted (with doubled quotes) only when it holds
    /// a delimiter, a quote or a line break.
    public static func quoted(_ field: String, delimiter: Character = ",") -> String {
        guard field.contains(where: { $0 == delimiter || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
