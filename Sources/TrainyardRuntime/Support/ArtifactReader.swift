import Crypto
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
        let data: Data
        do {
            data = try await artifacts.get(ArtifactKeys.versionFile(version.model, version.version, name))
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainyardError(.artifactCorrupt, "artifact \(name) of \(ref) is missing from the artifact store")
        }
        guard SHA256.hex(of: data) == entry.sha256 else {
            throw TrainyardError(.artifactCorrupt, "artifact \(name) of \(ref) is corrupt: its sha256 does not match the manifest")
        }
        return data
    }
}
