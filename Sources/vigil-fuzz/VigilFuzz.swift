import Foundation
import VigilFuzzHarness

// Built by scripts/fuzz with -sanitize=fuzzer and -DVIGIL_FUZZING: libFuzzer drives the harness
// (LLVMFuzzerRunDriver), and VIGIL_FUZZ_TARGET chooses the target. Built normally (as every
// `swift build` does), it replays files through a target instead: `vigil-fuzz TARGET FILE…`
// (a crash that libFuzzer found, or a corpus), and `vigil-fuzz --write-snapshot-seeds DIR`
// writes the snapshot target's seeds.

#if VIGIL_FUZZING
nonisolated(unsafe) private var fuzzTarget = FuzzTarget.csv

/// libFuzzer's entry for a driver of its own (SwiftPM names every executable's entry point, so
/// libFuzzer's `main` cannot be the program's).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// What libFuzzer's own objects reference; the driver below passes the same function.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.run(fuzzTarget, UnsafeBufferPointer(start: data, count: size))
    return 0
}

@main
struct VigilFuzz {
    static func main() {
        let name = ProcessInfo.processInfo.environment["VIGIL_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set VIGIL_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        fuzzTarget = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
@main
struct VigilFuzzReplay {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-snapshot-seeds", arguments.count == 2 {
            for (index, seed) in FuzzHarness.seedSnapshots().enumerated() {
                try Data(seed).write(to: URL(fileURLWithPath: arguments[1]).appendingPathComponent("seed-\(index)"))
            }
            return
        }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: vigil-fuzz TARGET FILE… (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes.withUnsafeBufferPointer { FuzzHarness.run(target, $0) }
        }
        print("\(arguments.count - 1) inputs through \(target.rawValue): no crash")
    }
}
#endif
