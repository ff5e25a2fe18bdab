import Foundation
import Testing
@testable import VigilModels

@Suite struct LoaderTests {
    static let modelFiles = [
        "xgb_binary.json", "lgbm_categorical.txt", "lgbm_zero_missing.txt", "mlp_relu.json",
        "onnx_mlp.onnx", "onnx_logreg.onnx",
    ]

    @Test func detectsEachFormat() throws {
        let cases: [(String, ModelFormat)] = [
            ("xgb_binary.json", .xgboostJSON), ("lgbm_binary.txt", .lightGBMText),
            ("logreg.json", .vigilDenseJSON), ("onnx_mlp.onnx", .onnx),
        ]
        for (file, format) in cases {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(file))))
            #expect(ModelFormat.detect(bytes: bytes, fileName: file) == format)
            // Content wins over a misleading name.
            #expect(ModelFormat.detect(bytes: bytes, fileName: "model.bin") == format || format == .onnx)
        }
        #expect(ModelFormat.detect(bytes: Array("hello".utf8), fileName: "notes.txt") == nil)
    }

    @Test func kernelTypesMatchTheFormat() throws {
        #expect(try ModelLoader.load(path: Fixtures.path("xgb_binary.json")) is TreeEnsembleKernel)
        #expect(try ModelLoader.load(path: Fixtures.path("lgbm_binary.txt")) is TreeEnsembleKernel)
        let dense = try #require(try ModelLoader.load(path: Fixtures.path("mlp_relu.json")) as? DenseKernel)
        #expect(dense.layerWidths == [5, 16, 8, 1])
        #expect(dense.precision == .single)
        let onnx = try #require(try ModelLoader.load(path: Fixtures.path("onnx_mlp.onnx")) as? DenseKernel)
        #expect(onnx.precision == .single)
        #expect(onnx.inputNames == ["amount", "count_1d", "avg_1d", "risk_7d", "hour"])
    }

    @Test func missingFileIsNamed() {
        #expect {
            _ = try ModelLoader.load(path: "/nonexistent/model.json")
        } throws: { error in
            (error as? ModelLoadError)?.file == "/nonexistent/model.json"
        }
    }

    @Test func unsupportedObjectiveIsExplained() throws {
        var text = try String(contentsOfFile: Fixtures.path("xgb_binary.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"binary:logistic\"", with: "\"count:poisson\"")
        let error = try #require(throws: ModelLoadError.self) {
            _ = try ModelLoader.load(bytes: Array(text.utf8), name: "poisson.json")
        }
        #expect(error.description.hasPrefix("poisson.json: "))
        #expect(error.reason.contains("count:poisson"))
    }

    @Test func baseScoreForms() throws {
        #expect(try XGBoostModelReader.parseBaseScore("[5E-1]") == 0.5)
        #expect(try XGBoostModelReader.parseBaseScore("5E-1") == 0.5)
        #expect(try XGBoostModelReader.parseBaseScore("0.25") == 0.25)
        #expect(throws: ModelFormatError.self) { try XGBoostModelReader.parseBaseScore("[]") }
    }

    @Test func float32BoundaryMatchesFloatComparison() {
        // Float(x) < t must equal x < boundary(t) for doubles around and between floats.
        let thresholds: [Float] = [0, 1, -1, 0.1, 6.5, 1e-30, -3.4e38, 123.456, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        for t in thresholds {
            let boundary = TreeEnsembleSpec.Rule.float32Boundary(t)
            let below = Double(t.nextDown), at = Double(t)
            var probes = [at, below, Double(t.nextUp), (below + at) / 2, ((below + at) / 2).nextUp, ((below + at) / 2).nextDown, -0.0]
            probes += probes.map { $0.nextUp } + probes.map { $0.nextDown }
            for x in probes {
                #expect((Float(x) < t) == (x < boundary), "t \(t) x \(x)")
            }
        }
    }

    @Test func inputNameCheckNamesMissingAndExtra() throws {
        let check = InputNameCheck(model: ["a", "b", "c"], available: ["c", "x", "a"])
        #expect(check.missing == ["b"])
        #expect(check.extra == ["x"])
        #expect(check.columns == [2, nil, 0])
        #expect(!check.isComplete)
        let error = try #require(throws: ModelLoadError.self) { try check.requireComplete(file: "m.json") }
        #expect(error.description == "m.json: the model needs 1 input(s) that are not available: b; available but unused: x")
        try InputNameCheck(model: ["a"], available: ["a", "z"]).requireComplete(file: "m.json")
    }

    /// Truncated and garbled copies of real models load with an error or as some model, never crash.
    @Test(arguments: modelFiles)
    func damagedFilesNeverCrash(file: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(file))))
        var generator = SplitMix64(seed: UInt64(file.utf8.count) &* 7919)
        var damaged: [[UInt8]] = [[]]
        for length in [1, 2, 7, 64, original.count / 3, original.count / 2, original.count - 20, original.count - 1] where length > 0 {
            damaged.append(Array(original.prefix(length)))
        }
        for _ in 0..<40 {
            var copy = original
            for _ in 0..<Int(generator.next() % 8 + 1) {
                copy[Int(generator.next() % UInt64(copy.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            damaged.append(copy)
        }
        var failures = 0
        for (index, bytes) in damaged.enumerated() {
            do {
                var kernel = try ModelLoader.load(bytes: bytes, name: "damaged-\(index)-\(file)")
                let rows = [Double](repeating: 1, count: kernel.inputNames.count * 3) + [Double](repeating: .nan, count: kernel.inputNames.count)
                #expect(kernel.score(rows).count == 4)
            } catch {
                failures += 1
                #expect(error.file == "damaged-\(index)-\(file)")
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(failures >= 9, "every truncation at least must fail")
    }
}

/// A small deterministic generator, so that the fuzz cases are the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
