import VigilCodec
@testable import VigilFeatures
import VigilTopology

/// Feeds single events to an engine and returns the features, for small hand-checked cases.
struct EngineDriver {
    let engine: FeatureEngine

    init(_ features: [FeatureSpec], key: String = "k", configuration: FeatureEngine.Configuration = FeatureEngine.Configuration()) {
        engine = FeatureEngine(stage: StageSpec(name: "s", key: key, features: features), configuration: configuration)
    }

    /// Processes one event; `values` by input name (missing names are NaN).
    @discardableResult
    func feed(_ key: StateKey, at seconds: Double, _ values: [String: Double] = [:]) -> (EventOutcome, [Double]) {
        let inputs = engine.inputNames.map { values[$0] ?? .nan }
        var features = Array(repeating: Double.nan, count: engine.featureNames.count)
        let outcome = inputs.withUnsafeBufferPointer { input in
            features.withUnsafeMutableBufferPointer { output in
                engine.process(key: key, time: Int64(seconds * 1000), inputs: input, into: output)
            }
        }
        return (outcome, features)
    }
}

/// Equality of feature rows where NaN equals NaN and values may differ by `tolerance`.
func sameFeatures(_ a: [Double], _ b: [Double], tolerance: Double = 1e-9) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { ($0.isNaN && $1.isNaN) || abs($0 - $1) <= tolerance }
}

/// Bitwise equality of feature rows.
func identicalFeatures(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

extension FeatureEngine {
    /// A slot's state in the raw layout, as an undo record holds it: what the tests compare states by.
    func encodeState(slot: Int) -> [UInt8] {
        var writer = ByteWriter(capacity: 1024)
        encodeState(slot: slot, into: &writer, layout: .raw)
        return writer.bytes
    }
}
