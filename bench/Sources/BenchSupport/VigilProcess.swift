import Foundation

/// `vigil run` as a process of its own, watched from outside as an operator would: its
/// resident memory (/proc/PID/statm) and its /metrics.
public final class VigilProcess {
    public let process: Process
    /// Where its log (stderr) goes.
    public let logPath: String
    /// Where it serves /metrics.
    public let metricsAddress: String

    /// Starts `executable run` for the topology file, with the bench broker's settings (Tansu:
    /// records of aborted transactions are visible, no static membership).
    public init(executable: String, topologyPath: String, bootstrap: String, instanceID: String, metricsAddress: String,
                extra: [String] = []) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(instanceID).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        logPath = log.path
        self.metricsAddress = metricsAddress
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", "--topology", topologyPath, "--bootstrap", bootstrap, "--instance-id", instanceID,
                             "--metrics-address", metricsAddress, "--log-level", "notice", "--broker-shows-aborted-records",
                             "--no-static-membership", "--session-timeout", "6"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    deinit { if process.isRunning { process.terminate() } }

    public var pid: Int32 { process.processIdentifier }

    /// Stops it (SIGTERM: it commits and leaves the group) and waits.
    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Its resident bytes now (0 once it has ended).
    public var residentBytes: Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// Its /metrics by series name (the series of one labelled metric summed), via curl; nil
    /// when it does not answer within a second.
    public func scrapeMetrics() -> [String: Double]? {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "--max-time", "1", "http://\(metricsAddress)/metrics"]
        let pipe = Pipe()
        curl.standardOutput = pipe
        guard (try? curl.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard curl.terminationStatus == 0 else { return nil }
        var values: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            values[String(parts[0].prefix { $0 != "{" }), default: 0] += value
        }
        return values
    }
}
