import Foundation

/// Keeps the files a topology names (its model, its drift profile) inside the folders an
/// operator allows: the topology file's own folder, and any given to the loader. A path is
/// resolved relative to the topology's folder, then every symbolic link and `..` in it is
/// followed (`realpath`), so neither `../../etc/shadow` nor a link planted beside the
/// topology can reach a file elsewhere.
public struct PathConfinement: Sendable, Equatable {
    /// The allowed folders, resolved (no links, no `..`).
    public let directories: [String]

    /// Confinement to `directory` (the topology's folder) and `extra` folders.
    public init(directory: String, extra: [String] = []) {
        var resolved: [String] = []
        for folder in [directory] + extra where !folder.isEmpty {
            let real = Self.realPath(folder) ?? Self.lexical(folder)
            if !resolved.contains(real) { resolved.append(real) }
        }
        directories = resolved
    }

    /// The folders of `VIGIL_ALLOWED_DIRECTORIES` (separated by `:` like `PATH`), which the
    /// command-line tool adds to every topology's own folder.
    public static func environmentDirectories() -> [String] {
        directories(fromEnvironment: ProcessInfo.processInfo.environment)
    }

    static func directories(fromEnvironment environment: [String: String]) -> [String] {
        (environment["VIGIL_ALLOWED_DIRECTORIES"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// Why `path` (as resolved against the topology's folder) is not allowed, or nil when it
    /// is inside one of the folders.
    public func problem(with path: String, resolved: String) -> String? {
        let real = Self.resolvedTarget(resolved)
        if directories.contains(where: { real == $0 || real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) { return nil }
        let shown = real == resolved ? real : "\(real) (through '..' or a symbolic link)"
        let allowed = directories.joined(separator: ", ")
        return "'\(path)' resolves to \(shown), outside the allowed folders (\(allowed)); "
            + "put the file under the topology's folder, or allow its folder with VIGIL_ALLOWED_DIRECTORIES"
    }

    /// Where a path really leads: the file's real path when it exists, otherwise its nearest
    /// existing ancestor's real path with the rest appended (a file yet to be written).
    static func resolvedTarget(_ path: String) -> String {
        if let real = realPath(path) { return real }
        let standardized = lexical(path)
        var head = (standardized as NSString).deletingLastPathComponent
        var tail = [(standardized as NSString).lastPathComponent]
        while !head.isEmpty, head != "/" {
            if let real = realPath(head) { return ([real] + tail.reversed()).joined(separator: "/") }
            tail.append((head as NSString).lastPathComponent)
            head = (head as NSString).deletingLastPathComponent
        }
        return standardized
    }

    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// `path` made absolute against the working directory, with `.` and `..` removed.
    static func lexical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }
}
