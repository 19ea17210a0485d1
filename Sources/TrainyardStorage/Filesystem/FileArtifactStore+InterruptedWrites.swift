import TrainyardCore

/// A killed writer leaves its `.tmp-*` file in the folder; `removeStaleTemporaryFiles` (beside
/// the writes that make them, in `FileArtifactStore.swift`) is what the worker pool calls.
extension FileArtifactStore: InterruptedWriteSweeping {}
