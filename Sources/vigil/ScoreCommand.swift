import ArgumentParser
import Foundation
import VigilModels

/// `vigil score`: Score the rows of a CSV file with a model.
///
/// The input's header names its columns; the model's inputs are taken from the columns of the
/// same names, in the model's order, and every other column passes through to the output,
/// followed by `score`. Empty cells and NaN are missing values. A row with the wrong number of
/// cells or a model input that is not a number is reported with its line number and left out;
/// the command then exits with status 1 after writing every good row.
///
/// The CSV handling here is the least that the command needs (RFC 4180 quoting within a line);
/// it is to be replaced by VigilCodec's streaming CSV reader when that lands.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the rows of a CSV file with a model.",
        discussion: """
            Model formats: XGBoost JSON, LightGBM text, Vigil dense JSON, ONNX (scikit-learn \
            LogisticRegression/MLPClassifier). The output has the input's columns that are not \
            model inputs, then `score`, one row per good input row, in order.
            """
    )

    @Option(name: .long, help: "The model file.")
    var model: String

    @Option(name: .long, help: "The CSV file to score (with a header row).")
    var input: String

    @Option(name: .long, help: "Where to write the scores as CSV ('-' for standard output).")
    var output: String

    @Flag(name: .long, help: "Also copy the model's input columns to the output.")
    var keepInputs = false

    @Option(name: .long, help: "Rows scored per kernel call.")
    var batchSize = 1024

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        do {
            var scorer = try FileScorer(modelPath: model, inputPath: input, outputPath: output,
                                        keepInputs: keepInputs, batchSize: batchSize)
            let summary = try scorer.run()
            printError("vigil score: scored \(summary.scored) rows of \(input) into \(output)"
                + (summary.malformed > 0 ? "; \(summary.malformed) malformed rows left out" : ""))
            if summary.malformed > 0 { throw ExitCode(1) }
        } catch let error as ModelLoadError {
            printError("error: \(error)")
            throw ExitCode(1)
        } catch let error as ScoreFileError {
            printError("error: \(error.message)")
            throw ExitCode(1)
        }
    }
}

/// A problem with the input or output file, already phrased with the file name.
struct ScoreFileError: Error {
    var message: String
}

/// Streams a CSV file through a kernel in batches.
struct FileScorer {
    var kernel: any ScoringKernel
    let inputPath: String
    let outputPath: String
    let reader: UnsafeMutablePointer<FILE>
    let writer: UnsafeMutablePointer<FILE>
    let batchSize: Int
    /// For each model input, its column in the file.
    var inputColumns: [Int] = []
    /// The columns copied to the output, in file order.
    var passColumns: [Int] = []
    var columnCount = 0
    var line = 0
    static let maximumReportedRows = 20

    init(modelPath: String, inputPath: String, outputPath: String, keepInputs: Bool, batchSize: Int) throws {
        kernel = try ModelLoader.load(path: modelPath)
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.batchSize = batchSize
        guard let reader = fopen(inputPath, "r") else {
            throw ScoreFileError(message: "\(inputPath): cannot open (\(String(cString: strerror(errno))))")
        }
        self.reader = reader
        if outputPath == "-" {
            // A stream of our own on descriptor 1: the C global `stdout` is shared mutable state.
            guard let writer = fdopen(STDOUT_FILENO, "w") else {
                fclose(reader)
                throw ScoreFileError(message: "standard output: cannot write")
            }
            self.writer = writer
        } else {
            guard let writer = fopen(outputPath, "w") else {
                fclose(reader)
                throw ScoreFileError(message: "\(outputPath): cannot create (\(String(cString: strerror(errno))))")
            }
            self.writer = writer
        }
        guard let header = nextLine() else {
            throw ScoreFileError(message: "\(inputPath): the file is empty; expected a header row")
        }
        guard let names = Self.fields(of: header) else {
            throw ScoreFileError(message: "\(inputPath):1: unterminated quoted field in the header")
        }
        columnCount = names.count
        let check = InputNameCheck(model: kernel.inputNames, available: names)
        do {
            try check.requireComplete(file: modelPath)
        } catch {
            throw ScoreFileError(message: "\(inputPath): the header lacks columns the model needs: \(check.missing.joined(separator: ", "))")
        }
        inputColumns = check.columns.map { $0! }
        let used = Set(inputColumns)
        passColumns = names.indices.filter { keepInputs || !used.contains($0) }
        write(passColumns.map { Self.quoted(names[$0]) } + ["score"])
    }

    mutating func run() throws -> (scored: Int, malformed: Int) {
        defer {
            fclose(reader)
            if outputPath == "-" { fflush(writer) } else { fclose(writer) }
        }
        let width = kernel.inputNames.count
        var rows = [Double](repeating: 0, count: batchSize * width)
        var scores = [Double](repeating: 0, count: batchSize)
        var passThrough: [[String]] = []
        var scored = 0
        var malformed = 0
        func flush() {
            let count = passThrough.count
            guard count > 0 else { return }
            rows.withUnsafeBufferPointer { rows in
                scores.withUnsafeMutableBufferPointer { scores in
                    kernel.score(rows: rows, rowCount: count, into: scores)
                }
            }
            for index in 0..<count { write(passThrough[index] + ["\(scores[index])"]) }
            scored += count
            passThrough.removeAll(keepingCapacity: true)
        }
        while let text = nextLine() {
            if text.isEmpty { continue }
            let problem: String?
            if let cells = Self.fields(of: text) {
                if cells.count != columnCount {
                    problem = "\(cells.count) cells, the header has \(columnCount)"
                } else {
                    problem = parseInputs(cells, into: &rows, at: passThrough.count * width)
                    if problem == nil { passThrough.append(passColumns.map { Self.quoted(cells[$0]) }) }
                }
            } else {
                problem = "unterminated quoted field (quoted line breaks are not supported)"
            }
            if let problem {
                malformed += 1
                if malformed <= Self.maximumReportedRows { printError("\(inputPath):\(line): \(problem)") }
            }
            if passThrough.count == batchSize { flush() }
        }
        flush()
        if malformed > Self.maximumReportedRows {
            printError("\(inputPath): \(malformed - Self.maximumReportedRows) more malformed rows not shown")
        }
        if ferror(writer) != 0 { throw ScoreFileError(message: "\(outputPath): write failed") }
        return (scored, malformed)
    }

    /// Parses the model inputs of one row into `rows[offset...]`; returns the problem, if any.
    func parseInputs(_ cells: [String], into rows: inout [Double], at offset: Int) -> String? {
        for (position, column) in inputColumns.enumerated() {
            let cell = cells[column].trimmingCharacters(in: .whitespaces)
            if cell.isEmpty || cell == "NaN" || cell == "nan" || cell == "NA" {
                rows[offset + position] = .nan
            } else if let value = Double(cell) {
                rows[offset + position] = value
            } else {
                return "column \(kernel.inputNames[position]): \"\(cell.prefix(40))\" is not a number"
            }
        }
        return nil
    }

    mutating func nextLine() -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let length = getline(&buffer, &capacity, reader)
        guard length >= 0, let buffer else { return nil }
        line += 1
        // Trim line endings as bytes: Swift sees "\r\n" as one Character, not a "\n" suffix.
        var end = length
        while end > 0, buffer[end - 1] == 0x0A || buffer[end - 1] == 0x0D { end -= 1 }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: end) {
            String(decoding: UnsafeBufferPointer(start: $0, count: end), as: UTF8.self)
        }
    }

    func write(_ cells: [String]) {
        fputs(cells.joined(separator: ",") + "\n", writer)
    }

    /// The cells of a CSV line (RFC 4180 quotes), or nil when a quote is not closed.
    static func fields(of line: String) -> [String]? {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let following = iterator.next() {
                        if following == "\"" { cell.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" && cell.isEmpty {
                quoted = true
            } else if character == "," {
                cells.append(cell)
                cell = ""
            } else {
                cell.append(character)
            }
        }
        if quoted { return nil }
        cells.append(cell)
        return cells
    }

    static func quoted(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
