import ArgumentParser
import Foundation
import VigilCodec
import VigilModels

/// `vigil score`: Score the rows of a CSV file with a model.
///
/// The input's header names its columns; the model's inputs are taken from the columns of the
/// same names, in the model's order, and every other column passes through to the output,
/// followed by `score`. Empty cells and NaN are missing values. A row with the wrong number of
/// cells or a model input that is not a number is reported with its line number and left out;
/// the command then exits with status 1 after writing every good row.
///
/// The input may be LZ4-framed (`.lz4`); it is read as a stream with VigilCodec's CSV reader
/// (RFC 4180 quoting, line numbers), so files of any size score in constant memory.
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

/// Streams a CSV file (plain or `.lz4`) through a kernel in batches.
struct FileScorer {
    var kernel: any ScoringKernel
    let inputPath: String
    let outputPath: String
    let reader: CSVReader
    let sink: any ByteSink
    let batchSize: Int
    /// For each model input, its column in the file.
    var inputColumns: [Int] = []
    /// The columns copied to the output, in file order.
    var passColumns: [Int] = []
    var columnCount = 0
    static let maximumReportedRows = 20

    init(modelPath: String, inputPath: String, outputPath: String, keepInputs: Bool, batchSize: Int) throws {
        kernel = try ModelLoader.load(path: modelPath)
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.batchSize = batchSize
        reader = CSVReader(source: try EncodedFile.openForReading(inputPath))
        sink = outputPath == "-" ? StandardOutputSink() : try EncodedFile.createForWriting(outputPath)
        guard try reader.next() else {
            throw ScoreFileError(message: "\(inputPath): the file is empty; expected a header row")
        }
        let names = reader.strings()
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
        try write(passColumns.map { CSVField.quoted(names[$0]) } + ["score"])
    }

    mutating func run() throws -> (scored: Int, malformed: Int) {
        defer { try? sink.close() }
        let width = kernel.inputNames.count
        var rows = [Double](repeating: 0, count: batchSize * width)
        var scores = [Double](repeating: 0, count: batchSize)
        var passThrough: [[String]] = []
        var scored = 0
        var malformed = 0
        func flush() throws {
            let count = passThrough.count
            guard count > 0 else { return }
            rows.withUnsafeBufferPointer { rows in
                scores.withUnsafeMutableBufferPointer { scores in
                    kernel.score(rows: rows, rowCount: count, into: scores)
                }
            }
            for index in 0..<count { try write(passThrough[index] + ["\(scores[index])"]) }
            scored += count
            passThrough.removeAll(keepingCapacity: true)
        }
        while try reader.next() {
            if reader.fieldCount == 1 && reader.fieldBytes(0).isEmpty { continue }
            let problem: String?
            if reader.fieldCount != columnCount {
                problem = "\(reader.fieldCount) cells, the header has \(columnCount)"
            } else {
                problem = parseInputs(into: &rows, at: passThrough.count * width)
                if problem == nil { passThrough.append(passColumns.map { CSVField.quoted(reader.string($0)) }) }
            }
            if let problem {
                malformed += 1
                if malformed <= Self.maximumReportedRows { printError("\(inputPath):\(reader.lineNumber): \(problem)") }
            }
            if passThrough.count == batchSize { try flush() }
        }
        try flush()
        if malformed > Self.maximumReportedRows {
            printError("\(inputPath): \(malformed - Self.maximumReportedRows) more malformed rows not shown")
        }
        return (scored, malformed)
    }

    /// Parses the model inputs of the current row into `rows[offset...]`; returns the problem, if any.
    func parseInputs(into rows: inout [Double], at offset: Int) -> String? {
        for (position, column) in inputColumns.enumerated() {
            let cell = reader.string(column).trimmingCharacters(in: .whitespaces)
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

    func write(_ cells: [String]) throws {
        try sink.write(cells.joined(separator: ",") + "\n")
    }
}

/// Standard output as a byte sink (`--output -`).
final class StandardOutputSink: ByteSink {
    let name = "standard output"
    func write(_ bytes: UnsafeRawBufferPointer) throws { FileHandle.standardOutput.write(Data(bytes)) }
    func close() throws {}
}
