import VigilCodec
import VigilFeatures
import VigilModels
import VigilPipeline
import VigilTopology

/// What each fuzz target feeds its input to. None may crash, hang or allocate without bound on
/// any input: each either accepts the input or refuses it with an error, and what it accepts is
/// used further (decoded events run through the pipeline, loaded models score a row, restored
/// state takes more events and is snapshotted again), so that a bad value let through shows up
/// where it would do harm.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A CSV text (several lines) through the card-fraud source's decoder and the pipeline.
    case csv
    /// One JSON record through a JSON source's decoder and the pipeline.
    case json
    /// A topology file.
    case topology
    /// Model files, one loader each.
    case xgboost, lightgbm, dense, onnx
    /// A state snapshot (a changelog record) restored into a stage's engine.
    case snapshot
}

public enum FuzzHarness {
    /// Runs one input through `target`.
    public static func run(_ target: FuzzTarget, _ bytes: UnsafeBufferPointer<UInt8>) {
        switch target {
        case .csv: csv(bytes)
        case .json: json(bytes)
        case .topology: topology(bytes)
        case .xgboost: model(bytes, .xgboostJSON)
        case .lightgbm: model(bytes, .lightGBMText)
        case .dense: model(bytes, .vigilDenseJSON)
        case .onnx: model(bytes, .onnx)
        case .snapshot: snapshot(bytes)
        }
    }

    // MARK: Event decoders

    static let csvTopologyText = """
        name: fuzz-csv
        source:
          topics: [in]
          format: csv
          key: CUSTOMER_ID
          id: TRANSACTION_ID
          timestamp: {field: TX_DATETIME, format: datetime}
          fields:
            TRANSACTION_ID: int
            TX_DATETIME: string
            CUSTOMER_ID: int
            TERMINAL_ID: int
            TX_AMOUNT: double
            TX_FRAUD: {type: int, values: [0, 1]}
        derived:
          - {name: NIGHT, kind: night, from_hour: 0, to_hour: 6}
          - {name: LOG_AMOUNT, kind: log, field: TX_AMOUNT}
        stages:
          - name: customer
            key: CUSTOMER_ID
            features:
              - {name: C_N_1D, kind: count, window: 1d}
              - {name: C_AVG_7D, kind: mean, field: TX_AMOUNT, window: 7d}
              - {name: C_MAX_1D, kind: max, field: TX_AMOUNT, window: 1d}
          - name: terminal
            key: TERMINAL_ID
            features:
              - {name: T_RISK_7D, kind: risk, field: TX_FRAUD, window: 7d, delay: 7d}
              - {name: T_DISTINCT, kind: distinct_count, field: CUSTOMER_ID, window: 1d}
        processing:
          allowed_lateness: 1d
          max_keys: 1000
        """

    static let jsonTopologyText = """
        name: fuzz-json
        source:
          topics: [in]
          format: json
          key: SENSOR
          id: [SENSOR, datetime]
          timestamp: {field: datetime, format: datetime}
          fields:
            SENSOR: string
            datetime: string
            VALUE: double
            LEVEL: {type: int, values: [1, 2, 3]}
          limits: {max_record_bytes: 64KiB, max_fields: 64, max_json_depth: 8}
        stages:
          - name: sensor
            key: SENSOR
            features:
              - {name: MEAN, kind: mean, field: VALUE, window: 60s}
              - {name: STD, kind: std, field: VALUE, window: 60s}
              - {name: MIN, kind: min, field: VALUE, window: 60s}
              - {name: EWMA, kind: ewma, field: VALUE, half_life: 30s}
              - {name: SINCE, kind: time_since_last}
        processing:
          allowed_lateness: 5s
          max_keys: 1000
        """

    /// The pipelines the decoder targets feed (built once: state carries over from input to
    /// input, as it does in a running partition).
    nonisolated(unsafe) static var csvPipeline = makePipeline(csvTopologyText)
    nonisolated(unsafe) static var jsonPipeline = makePipeline(jsonTopologyText)

    static func makePipeline(_ text: String) -> (Pipeline, EventDecoder) {
        do {
            let topology = try TopologyLoader.load(yaml: text, file: "fuzz.yaml")
            let pipeline = try Pipeline(topology: topology, recordsUndo: true)
            return (pipeline, pipeline.makeDecoder())
        } catch {
            fatalError("the fuzz topology does not load: \(error)")
        }
    }

    static func csv(_ bytes: UnsafeBufferPointer<UInt8>) {
        let (pipeline, decoder) = csvPipeline
        let reader = CSVReader(source: MemoryByteSource(Array(bytes), name: "fuzz"), bufferSize: max(64, bytes.count + 1))
        guard let binding = try? decoder.bind(header: pipeline.topology.source.fields.map(\.name), file: "fuzz") else { return }
        var batch = pipeline.makeBatch()
        var line: Int64 = 0
        do {
            while try reader.next(), line < 10_000 {
                _ = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: 0, offset: line), to: &batch)
                line += 1
            }
        } catch {
            // A CSV text that cannot be split: refused, as a file replay reports it.
        }
        runBatch(pipeline, &batch)
    }

    static func json(_ bytes: UnsafeBufferPointer<UInt8>) {
        let (pipeline, decoder) = jsonPipeline
        var batch = pipeline.makeBatch()
        _ = decoder.appendJSON(bytes, provenance: Provenance(partition: 0, offset: 0), to: &batch)
        runBatch(pipeline, &batch)
    }

    /// Processes a batch in a transaction and rolls it back (so that state does not grow from
    /// input to input), as the runtime does on an abort.
    static func runBatch(_ pipeline: Pipeline, _ batch: inout EventBatch) {
        guard batch.count > 0 else { return }
        pipeline.beginBatch()
        _ = pipeline.process(&batch)
        pipeline.rollbackBatch()
    }

    // MARK: Topology files and models

    static func topology(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? TopologyLoader.load(yaml: text, file: "fuzz.yaml", directory: nil, requireDriftProfile: false)
    }

    static func model(_ bytes: UnsafeBufferPointer<UInt8>, _ format: ModelFormat) {
        guard let kernel = try? ModelLoader.load(bytes: Array(bytes), name: "fuzz", options: ModelLoader.Options(format: format)) else { return }
        var scoring = kernel
        let width = scoring.inputNames.count
        guard width <= 4096 else { return }
        for row in [Array(repeating: 0.0, count: width), Array(repeating: Double.nan, count: width), Array(repeating: 1e300, count: width)] {
            var score = [0.0]
            row.withUnsafeBufferPointer { rows in score.withUnsafeMutableBufferPointer { scoring.score(rows: rows, rowCount: 1, into: $0) } }
        }
    }

    // MARK: State snapshots

    /// A stage with every kind of buffered state: sliding, delayed and tumbling windows, min and
    /// max deques, distinct counts, sequential features.
    static let snapshotStage: StageSpec = {
        func feature(_ name: String, _ aggregation: Aggregation, _ field: String?, _ window: WindowSpec?, halfLife: Int64? = nil) -> FeatureSpec {
            var spec = FeatureSpec(name: name, aggregation: aggregation)
            spec.field = field
            spec.window = window
            spec.halfLife = halfLife
            return spec
        }
        return StageSpec(name: "fuzz", key: "k", features: [
            feature("n", .count, nil, .sliding(size: 60_000)),
            feature("sum", .sum, "x", .sliding(size: 60_000)),
            feature("min", .min, "x", .sliding(size: 60_000)),
            feature("max", .max, "x", .sliding(size: 30_000)),
            feature("risk", .risk, "flag", .delayed(size: 60_000, delay: 10_000)),
            feature("distinct", .distinctCount, "x", .sliding(size: 60_000)),
            feature("tumbling", .mean, "x", .tumbling(size: 60_000)),
            feature("since", .timeSinceLast, nil, nil),
            feature("ewma", .ewma, "x", nil, halfLife: 10_000),
        ])
    }()

    static func makeSnapshotEngine() -> FeatureEngine {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 5_000
        configuration.maxKeys = 64
        return FeatureEngine(stage: snapshotStage, configuration: configuration)
    }

    nonisolated(unsafe) static var snapshotEngine = makeSnapshotEngine()

    static func snapshot(_ bytes: UnsafeBufferPointer<UInt8>) {
        let engine = snapshotEngine
        guard let key = try? engine.restore(snapshot: Array(bytes)) else { return }
        // What was restored must hold up to more events and another snapshot.
        var features = Array(repeating: Double.nan, count: engine.featureNames.count)
        let inputs = Array(repeating: 1.0, count: engine.inputNames.count)
        for time in [Int64(0), 1_000, 120_000, 1_000_000_000_000] {
            _ = inputs.withUnsafeBufferPointer { input in
                features.withUnsafeMutableBufferPointer { engine.process(key: key, time: time, inputs: input, into: $0) }
            }
        }
        _ = engine.snapshot(key: key)
        engine.removeState(key: key)
    }

    /// Seed snapshots: states after a few events, as a changelog holds them.
    public static func seedSnapshots() -> [[UInt8]] {
        let engine = makeSnapshotEngine()
        var seeds: [[UInt8]] = []
        let inputs = Array(repeating: 1.0, count: engine.inputNames.count)
        var features = Array(repeating: Double.nan, count: engine.featureNames.count)
        for (index, key) in [StateKey.int(7), .string("terminal-42")].enumerated() {
            for step in 0..<(3 + index * 20) {
                var values = inputs
                values[0] = Double(step % 5)
                _ = values.withUnsafeBufferPointer { input in
                    features.withUnsafeMutableBufferPointer { engine.process(key: key, time: Int64(step) * 2_500, inputs: input, into: $0) }
                }
            }
            if let snapshot = engine.snapshot(key: key) { seeds.append(snapshot) }
        }
        return seeds
    }
}
