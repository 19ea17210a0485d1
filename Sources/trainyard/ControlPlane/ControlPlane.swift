import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

/// What user commands need from Trainyard, whether it is the local store or a server.
/// One seam, two implementations (`LocalControlPlane`, `RemoteControlPlane`), so no command
/// special-cases where it runs.
protocol ControlPlane: Sendable {
    /// Submits the spec file (its folder is the base of relative paths and, for `command`, the code).
    func submit(specFile: URL, priority: Int?, delay: Duration?) async throws -> Job
    /// Every check `submit` makes before staging (spec, parameters, data files and their
    /// headers), enqueuing and uploading nothing: `train --check`.
    func check(specFile: URL) async throws -> ParsedSpec
    /// Enqueues a batch transform (paths already absolute), or returns the job an identical
    /// earlier request made.
    func submitTransform(_ request: TransformRequest) async throws -> Job
    func job(_ id: JobID) async throws -> Job
    func jobs(_ filter: JobFilter) async throws -> [Job]
    func cancel(_ id: JobID) async throws -> Job
    func logs(_ id: JobID, after: Int64) async throws -> [LogLine]
    func models() async throws -> [ModelSummary]
    func model(_ name: ModelName) async throws -> ModelSummary
    func versions(_ name: ModelName) async throws -> [ModelVersion]
    func aliases(_ name: ModelName) async throws -> [Alias]
    func setAlias(_ alias: AliasName, of name: ModelName, to version: Int) async throws -> Alias
    func deleteAlias(_ alias: AliasName, of name: ModelName) async throws
    /// Metrics of a version on labelled data: `location` is an absolute local path (the remote
    /// plane uploads the file as a blob and the server scores it) or an `s3://` URI (read where
    /// the scoring happens).
    func evaluate(_ reference: ModelReference, data location: String) async throws -> ModelEvaluation.Result
    // Triggers (ControlPlane+Triggers.swift): paths in a definition are already absolute.
    func createTrigger(_ definition: TriggerDefinition) async throws -> Trigger
    func triggers() async throws -> [Trigger]
    func trigger(_ name: TriggerName) async throws -> Trigger
    func setTriggerPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger
    func deleteTrigger(_ name: TriggerName) async throws
    /// Whether jobs submitted here are run by someone else (a server's workers). The local
    /// plane with `--wait` runs them itself when nobody else does.
    var isRemote: Bool { get }
}
