import Foundation
import Testing
import VigilTopology

/// Model and drift profile paths resolve against the topology's folder and cannot leave it (or
/// the allowed folders) by `..`, an absolute path or a symbolic link.
@Suite struct PathConfinementTests {
    static func topology(model: String, profile: String? = nil) -> String {
        """
        name: confined
        source:
          topics: [in]
          format: json
          key: k
          timestamp: {field: t, format: epoch_millis}
          fields: {k: string, t: int, x: double}
        stages:
          - name: s
            key: k
            features:
              - {name: N, kind: count, window: 1h}
        model:
          path: \(model)
          inputs: [N]
        """ + (profile.map { "\ndrift:\n  profile: \($0)\n  window: 1d\n" } ?? "")
    }

    /// A folder with a topology folder inside, a model in it and one beside it.
    static func layout() throws -> (root: URL, topologies: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-confine-\(UUID().uuidString)")
        let topologies = root.appendingPathComponent("topologies")
        try FileManager.default.createDirectory(at: topologies.appendingPathComponent("models"), withIntermediateDirectories: true)
        try "{}".write(to: topologies.appendingPathComponent("models/inside.json"), atomically: true, encoding: .utf8)
        try "{}".write(to: root.appendingPathComponent("outside.json"), atomically: true, encoding: .utf8)
        try "{}".write(to: root.appendingPathComponent("profile.json"), atomically: true, encoding: .utf8)
        return (root, topologies)
    }

    static func load(_ yaml: String, in folder: URL, allowing: [String] = []) throws -> Topology {
        let file = folder.appendingPathComponent("t.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return try TopologyLoader.load(path: file.path, requireDriftProfile: false, allowedDirectories: allowing)
    }

    @Test func pathsInsideTheTopologysFolderLoad() throws {
        let (root, topologies) = try Self.layout()
        defer { try? FileManager.default.removeItem(at: root) }
        let loaded = try Self.load(Self.topology(model: "models/inside.json"), in: topologies)
        #expect(loaded.resolvedModelPath == topologies.path + "/models/inside.json")
        // `..` that stays inside is fine.
        _ = try Self.load(Self.topology(model: "models/../models/inside.json"), in: topologies)
    }

    @Test(arguments: ["../outside.json", "models/../../outside.json", "/etc/passwd"])
    func pathsOutsideAreRefusedWithTheirPlace(model: String) throws {
        let (root, topologies) = try Self.layout()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect {
            try Self.load(Self.topology(model: model), in: topologies)
        } throws: { error in
            let text = "\(error)"
            return text.contains("t.yaml:14:9: error: model path '\(model)' resolves to") && text.contains("outside the allowed folders")
        }
    }

    @Test func aSymbolicLinkOutOfTheFolderIsRefused() throws {
        let (root, topologies) = try Self.layout()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: topologies.appendingPathComponent("models/link.json").path, withDestinationPath: root.appendingPathComponent("outside.json").path)
        try FileManager.default.createSymbolicLink(atPath: topologies.appendingPathComponent("escape").path, withDestinationPath: root.path)
        for model in ["models/link.json", "escape/outside.json"] {
            #expect {
                try Self.load(Self.topology(model: model), in: topologies)
            } throws: { error in
                "\(error)".contains("resolves to \(FileManager.default.destinationOfSymbolicLinkTarget(root))/outside.json (through '..' or a symbolic link)")
            }
        }
        #expect {
            try Self.load(Self.topology(model: "models/inside.json", profile: "../profile.json"), in: topologies)
        } throws: { error in
            "\(error)".contains("drift profile '../profile.json' resolves to")
        }
    }

    @Test func anAllowedFolderMayHoldTheFiles() throws {
        let (root, topologies) = try Self.layout()
        defer { try? FileManager.default.removeItem(at: root) }
        let loaded = try Self.load(Self.topology(model: "../outside.json"), in: topologies, allowing: [root.path])
        #expect(loaded.model?.path == "../outside.json")
    }
}

extension FileManager {
    /// The real path of a folder (the temporary folder may itself be behind a link).
    func destinationOfSymbolicLinkTarget(_ url: URL) -> String {
        guard let pointer = realpath(url.path, nil) else { return url.path }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
