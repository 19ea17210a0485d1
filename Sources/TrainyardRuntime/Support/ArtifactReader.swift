import Foundation
import TrainyardCore

/// Reads a registered version's artifacts, checking each against the digest in its manifest:
/// a missing or corrupt artifact is reported as such and never used.
public struct ArtifactReader: Sendable {
    public let artifacts: any ArtifactStore

    public init(artifacts: any ArtifactStore) { self.artifacts = artifacts }

    public func read(_ name: String, of version: ModelVersion) async throws -> Data {
        let ref = "\(version.model):\(version.version)"
        guard let entry = version.manifest.artifact(named: name) else {
            throw TrainyardError(.notFound, "\(ref) has no artifact \(name)")
        }
        // Read in chunks so that the digest is computed while reading, not in a second pass.
        var data = Data()
        let stored: StoredObject
        do {
            stored = try await artifacts.read(ArtifactKeys.versionFile(version.model, version.version, name)) { data.append($0) }
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainyardError(.artifactCorrupt, "artifact \(name) of \(ref) is missing from the artifact store")
        }
        guard stored.sha256 == entry.sha256 else {
            throw TrainyardError(.artifactCorrupt, "artifact \(name) of \(ref) is corrupt: its sha256 does not match the manifest")
        }
        return data
    }
}
