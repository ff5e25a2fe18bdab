/// JSON string literals, escaped per RFC 8259.
public enum JSONText {
    /// Appends `text` as a JSON string literal (quotes included) to `out`.
    public static func appendString(_ text: String, to out: inout String) {
        out += "\""
        var needsEscape = false
        for scalar in text.unicodeScalars where scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
            needsEscape = true
            break
        }
        guard needsEscape else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        var out = ""
        appendString(text, to: &out)
        return out
    }
}
