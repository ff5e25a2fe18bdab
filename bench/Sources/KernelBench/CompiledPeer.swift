import Foundation

/// A tree ensemble compiled by a peer into a shared library, called from here through dlopen
/// the way a C program would call it, so that no Python call overhead hides its speed:
///
/// - TL2cgen: its generated C (`predict(union Entry *row, int pred_margin, T *result)`, one row
///   a call, the caller zeroing the result and marking NaN as missing: what TL2cgen's own
///   predictor does per row), compiled by kernel_bench.py with `gcc -O3 -march=native`.
/// - lleaves: the LLVM-compiled LightGBM model (`forest_root(double *rows, double *out,
///   int start, int end)`, a batch a call), its object code linked into a shared library.
///
/// Both return probabilities (sigmoid applied), as Vigil's kernels do.
final class CompiledPeer {
    enum Kind: String {
        case tl2cgen
        case lleaves
    }

    typealias TL2cgenFloatPredict = @convention(c) (UnsafeMutableRawPointer, Int32, UnsafeMutablePointer<Float>) -> Void
    typealias TL2cgenDoublePredict = @convention(c) (UnsafeMutableRawPointer, Int32, UnsafeMutablePointer<Double>) -> Void
    typealias LleavesRoot = @convention(c) (UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int32, Int32) -> Void

    let kind: Kind
    let inputs: Int
    private let handle: UnsafeMutableRawPointer
    private var floatPredict: TL2cgenFloatPredict?
    private var doublePredict: TL2cgenDoublePredict?
    private var forestRoot: LleavesRoot?
    /// One row as TL2cgen's `union Entry` array (4 bytes an entry for float32 models, 8 for float64).
    private let entries: UnsafeMutableRawPointer

    init(kind: Kind, path: String, inputs: Int) throws {
        self.kind = kind
        self.inputs = inputs
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw CompiledPeerError("dlopen \(path): \(String(cString: dlerror()))")
        }
        self.handle = handle
        entries = .allocate(byteCount: inputs * 8, alignment: 8)
        switch kind {
        case .tl2cgen:
            guard let predict = dlsym(handle, "predict"), let thresholdType = dlsym(handle, "get_threshold_type") else {
                throw CompiledPeerError("\(path) has no TL2cgen predict")
            }
            let type = String(cString: unsafeBitCast(thresholdType, to: (@convention(c) () -> UnsafePointer<CChar>).self)())
            if type == "float32" {
                floatPredict = unsafeBitCast(predict, to: TL2cgenFloatPredict.self)
            } else {
                doublePredict = unsafeBitCast(predict, to: TL2cgenDoublePredict.self)
            }
        case .lleaves:
            guard let root = dlsym(handle, "forest_root") else { throw CompiledPeerError("\(path) has no forest_root") }
            forestRoot = unsafeBitCast(root, to: LleavesRoot.self)
        }
    }

    deinit {
        entries.deallocate()
        dlclose(handle)
    }

    func score(rows: UnsafePointer<Double>, rowCount: Int, into scores: UnsafeMutablePointer<Double>) {
        if let forestRoot {
            forestRoot(rows, scores, 0, Int32(rowCount))
            return
        }
        for row in 0..<rowCount {
            let values = rows + row * inputs
            if let floatPredict {
                let entry = entries.assumingMemoryBound(to: Float.self)
                for input in 0..<inputs {
                    let value = values[input]
                    if value.isNaN { entries.storeBytes(of: -1, toByteOffset: input * 4, as: Int32.self) } else { entry[input] = Float(value) }
                }
                var result: Float = 0
                floatPredict(entries, 0, &result)
                scores[row] = Double(result)
            } else if let doublePredict {
                let entry = entries.assumingMemoryBound(to: Double.self)
                for input in 0..<inputs {
                    let value = values[input]
                    if value.isNaN { entries.storeBytes(of: -1, toByteOffset: input * 8, as: Int32.self) } else { entry[input] = value }
                }
                var result = 0.0
                doublePredict(entries, 0, &result)
                scores[row] = result
            }
        }
    }
}

struct CompiledPeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
