import Foundation
import TrainyardCore
import TrainyardPostgres
import TrainyardStorage

/// Opens the stores a configuration names. The only place that knows the concrete backend
/// types: everything above works through the `MetadataStore` and `ArtifactStore` ports.
enum Backends {
    static func openMetadataStore(_ configuration: TrainyardConfiguration, clock: any WallClock, retryPolicy: RetryPolicy,
                                  onChange: @escaping @Sendable () -> Void) async throws -> any MetadataStore {
        let store: any MetadataStore
        switch configuration.metadataBackend {
        case .sqlite(let file):
            store = try SQLiteMetadataStore(file: file, namespace: configuration.namespace, clock: clock, retryPolicy: retryPolicy, onChange: onChange)
        case .postgres(let url):
            // The store runs its own connection pool and listener: `close()` (or releasing it) stops them.
            store = try await PostgresMetadataStore.open(url: url, namespace: configuration.namespace, clock: clock, retryPolicy: retryPolicy,
                                                         onChange: onChange)
        case .memory:
            store = InMemoryMetadataStore(clock: clock, retryPolicy: retryPolicy, onChange: onChange)
        }
        for kind in JobKind.allCases {
            try await store.setRunningCap(configuration.maxRunning[kind], for: kind)
        }
        return store
    }

    /// Stops what a store runs in the background (a PostgreSQL store's pool and listener); the
    /// others hold nothing that outlives them.
    static func close(_ store: any MetadataStore) async {
        if let store = store as? PostgresMetadataStore { await store.close() }
    }

    static func openArtifactStore(_ configuration: TrainyardConfiguration) throws -> any ArtifactStore {
        switch configuration.artifactBackend {
        case .folder(let root):
            return try FileArtifactStore(root: root, namespace: configuration.namespace)
        case .s3(let bucket, let prefix):
            return try openS3ArtifactStore(bucket: bucket, prefix: prefix, namespace: configuration.namespace)
        case .memory:
            return InMemoryArtifactStore()
        }
    }

    /// Whether reading an artifact means a download, so the model server keeps a local cache.
    static func isRemote(_ backend: ArtifactBackend) -> Bool {
        switch backend {
        case .folder, .memory: false
        case .s3: true
        }
    }

    private static func unavailable(_ key: String, _ what: String, _ instead: String) -> TrainyardError {
        TrainyardError(.invalidArgument, "\(key): \(what) are not available in this build yet; use \(instead)")
    }
}
