import TrainyardCore

extension ArtifactStore {
    /// Deletes every object under `prefix` (a staging area that is done with).
    func deleteAll(under prefix: String) async throws {
        for key in try await list(prefix: prefix) { try await delete(key) }
    }
}
