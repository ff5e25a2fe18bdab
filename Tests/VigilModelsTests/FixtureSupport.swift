import Foundation
import Testing
@testable import VigilModels

/// The committed fixtures written by Fixtures/make_models.py.
enum Fixtures {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// A NAME.expected.csv: input names, row-major rows (empty cells are NaN) and the expected scores.
    struct Expected {
        var names: [String]
        var rows: [Double]
        var expected: [Double]
        var rowCount: Int { expected.count }
    }

    static func expected(_ model: String) throws -> Expected {
        let text = try String(contentsOfFile: path("\(model).expected.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n")
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        #expect(header.last == "expected")
        var result = Expected(names: Array(header.dropLast()), rows: [], expected: [])
        for line in lines {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(cells.count == header.count)
            for cell in cells.dropLast() { result.rows.append(cell.isEmpty ? .nan : Double(cell)!) }
            result.expected.append(Double(cells.last!)!)
        }
        return result
    }
}
