import Foundation

/// The process's resident memory as Linux reports it: what the memory benchmarks sample.
public enum ResidentMemory {
    /// Resident bytes now (`/proc/self/statm`, second field, in pages). Reading it costs a few
    /// microseconds, so a benchmark can sample it several times a second.
    public static func current() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Bytes malloc has handed out and not had back: glibc's `malloc_info` (heap obtained from
    /// the system, less its free chunks, plus mmapped blocks). Beside ``current()``, it tells a
    /// leak (both grow) from fragmentation (only the resident size grows). 0 where there is no
    /// `malloc_info`.
    public static func heapInUse() -> Int {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_info") else { return 0 }
        let mallocInfo = unsafeBitCast(symbol, to: MallocInfo.self)
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { return 0 }
        _ = mallocInfo(0, stream)
        fclose(stream)
        guard let buffer else { return 0 }
        defer { free(buffer) }
        let xml = String(cString: buffer)
        // The totals come last, after one <heap> element per arena.
        guard let totals = xml.range(of: "</heap>", options: .backwards).map({ xml[$0.upperBound...] }) else { return 0 }
        func value(_ prefix: String) -> Int {
            guard let start = totals.range(of: prefix) else { return 0 }
            let rest = totals[start.upperBound...]
            return Int(rest.prefix { $0.isNumber }) ?? 0
        }
        let system = value("<system type=\"current\" size=\"")
        let fast = sizeAfter(totals, "<total type=\"fast\"")
        let rest = sizeAfter(totals, "<total type=\"rest\"")
        let mmapped = sizeAfter(totals, "<total type=\"mmap\"")
        return system - fast - rest + mmapped
    }

    /// The `size="N"` of the element that starts with `prefix` in `text`.
    private static func sizeAfter(_ text: Substring, _ prefix: String) -> Int {
        guard let start = text.range(of: prefix), let attribute = text[start.upperBound...].range(of: "size=\"") else { return 0 }
        return Int(text[attribute.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// The highest resident bytes since the process started or since ``resetPeak()`` (`VmHWM`).
    public static func peak() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let number = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return number * 1024
        }
        return 0
    }

    /// Starts the peak afresh at the current resident size (writes 5 to `/proc/self/clear_refs`,
    /// Linux 4.0 and later); false where that is not allowed.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// The machine's load averages over 1, 5 and 15 minutes, as `uptime` prints them.
    public static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// `uptime`'s line, for the tables.
    public static func uptime() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/uptime")
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "load average: \(loadAverage())" }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
