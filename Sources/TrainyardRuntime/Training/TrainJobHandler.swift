import Foundation
import TrainyardCore

/// The `train` job: stages its inputs (data channels, code, the warm-start parent), runs the
/// task's trainer, scores the promotion incumbent on the same validation rows, then registers
/// the version: files staged by this attempt, published in one step, registry row last.
struct TrainJobHandler: JobHandler {
    struct Trained: Sendable {
        var output: TrainingOutput
        var parentVersion: Int?
        var incumbent: IncumbentScore?
        /// The lineage's data digests: the spec's, with objects (`s3://`) hashed as downloaded.
        var data: [DataDigest] = []
    }

    func perform(_ attempt: AttemptContext) async throws -> Trained {
        let (run, data) = try await prepare(attempt)
        let trainer = try attempt.services.trainers.trainer(for: attempt.job.spec.task)
        let output = try await trainer.train(run)
        // Told to stop while training: the shell records why; scoring would be wasted.
        if attempt.recorder.isCancelled { return Trained(output: output, data: data) }
        let incumbent = await scoreIncumbent(run, output: output, trainer: trainer, attempt)
        return Trained(output: output, parentVersion: run.warmStart?.version, incumbent: incumbent, data: data)
    }

    func commit(_ trained: Trained, _ attempt: AttemptContext) async throws -> Bool {
        do {
            let version = try await register(attempt, output: trained.output, parentVersion: trained.parentVersion, incumbent: trained.incumbent,
                                             data: trained.data)
            attempt.logger.info("version registered", metadata: ["trainyard.version": "\(version.map(String.init) ?? "-")"])
            return version != nil
        } catch let error as TrainyardError where error.code == .leaseLost {
            throw error
        } catch let failure as TrainingFailure {
            throw TrainingFailure("could not register \(attempt.job.spec.name): \(failure.reason)", retryable: failure.retryable)
        } catch {
            // A full, over-quota or read-only disk: said at once with the system's words, and
            // retried (the reserved version number stays this job's).
            throw TrainingFailure("could not register \(attempt.job.spec.name): \(describe(error))", retryable: true)
        }
    }

    /// Downloads data channels, materialises code, and fetches the warm-start parent. Returns
    /// the run and the data digests for the version's lineage.
    func prepare(_ attempt: AttemptContext) async throws -> (TrainingRun, [DataDigest]) {
        let lease = attempt.lease, work = attempt.work, recorder = attempt.recorder, services = attempt.services
        let spec = lease.job.spec
        let inputDir = work.appendingPathComponent("input")
        var inputs: [String: URL] = [:]
        var channels: [(String, String)] = []
        if let train = spec.data.train { channels.append(("train", train)) }
        if case .location(let v) = spec.data.validation { channels.append(("validation", v)) }
        if !channels.isEmpty || spec.staged.contains(where: { $0.key == "code" }) || spec.warmStart != nil {
            try AttemptFolders(dataDirectory: services.configuration.dataDirectory).create(work)
        }
        var lineage = spec.staged.filter { $0.key != "code" }
        for (channel, reference) in channels {
            if case .success(.s3(let uri)) = DataLocation.parse(reference, base: nil) {
                let file = inputDir.appendingPathComponent(channel).appendingPathComponent(uri.split(separator: "/").last.map(String.init) ?? "data")
                let digest = try await ObjectChannel.fetch(uri, channel: channel, spec: spec, to: file, services: services)
                lineage = lineage.map { $0.key == digest.key ? digest : $0 }
                recorder.log("\(channel): downloaded \(uri) (ETag \(digest.etag ?? "-"), \(digest.bytes) bytes, sha256 \(digest.sha256.prefix(12))…)")
                inputs[channel] = file
                continue
            }
            guard let sha = ArtifactKeys.sha256(ofReference: reference) else {
                throw TrainingFailure("data channel \(channel) was not staged (\(reference))", retryable: false)
            }
            let source = spec.staged.first { $0.key == "data.\(channel)" }?.source ?? "data"
            let name = URL(fileURLWithPath: source).lastPathComponent
            let file = inputDir.appendingPathComponent(channel).appendingPathComponent(name.isEmpty ? "data" : name)
            // The digest computed while downloading: checked without a second pass over the file.
            let downloaded: StoredObject
            do {
                downloaded = try await services.artifacts.download(ArtifactKeys.blob(sha256: sha), to: file)
            } catch let error as TrainyardError where error.code == .notFound {
                throw TrainingFailure("staged data for \(channel) (sha256 \(sha.prefix(12))…) is missing from the artifact store", retryable: false)
            }
            guard downloaded.sha256 == sha else {
                throw TrainingFailure("staged data for \(channel) is corrupt: its sha256 no longer matches", retryable: false)
            }
            inputs[channel] = file
        }
        var codeDirectory: URL?
        if let code = spec.staged.first(where: { $0.key == "code" }) {
            let dir = work.appendingPathComponent("code")
            try await Stager.materializeCode(sha256: code.sha256, artifacts: services.artifacts, into: dir)
            codeDirectory = dir
        }
        var warmStart: WarmStart?
        if let ws = spec.warmStart {
            let reference: ModelReference
            if let number = Int(ws) { reference = ModelReference(name: spec.name, selector: .version(number)) } else {
                reference = ModelReference(name: spec.name, selector: .alias(try AliasName(ws)))
            }
            do {
                let parent = try await services.store.resolve(reference)
                let dir = work.appendingPathComponent("parent")
                for artifact in parent.manifest.artifacts {
                    let file = dir.appendingPathComponent(artifact.name)
                    let downloaded = try await services.artifacts.download(ArtifactKeys.versionFile(spec.name, parent.version, artifact.name), to: file)
                    guard downloaded.sha256 == artifact.sha256 else {
                        throw TrainingFailure("warm start: artifact \(artifact.name) of \(reference) is corrupt (sha256 mismatch)", retryable: false)
                    }
                }
                warmStart = WarmStart(version: parent.version, manifest: parent.manifest, directory: dir)
                recorder.log("warm start from \(spec.name):\(parent.version)")
            } catch let error as TrainyardError where error.code == .notFound {
                // First run of a continuous-training loop: nothing to continue from yet.
                recorder.log("warm start: \(reference) not found; training from scratch")
            }
        }
        let scratch = work.appendingPathComponent("scratch")
        return (TrainingRun(jobID: lease.job.id, attempt: lease.token.attempt, spec: spec, inputs: inputs,
                            codeDirectory: codeDirectory, workDirectory: scratch, warmStart: warmStart, progress: recorder), lineage)
    }

    /// For `promote`: the alias's current version scored on the rows the new version was
    /// validated on — the job's validation file, or the rows its learner held out of the
    /// training data (`data.validation: 0.15`) — so promotion compares both on the same rows.
    /// nil when there is no incumbent, the learner held out nothing, or the trainer cannot
    /// score a version; promotion then compares stored metrics and its reason says so.
    func scoreIncumbent(_ run: TrainingRun, output: TrainingOutput, trainer: any Trainer, _ attempt: AttemptContext) async -> IncumbentScore? {
        let services = attempt.services, recorder = attempt.recorder
        guard let promote = run.spec.promote else { return nil }
        guard let current = try? await services.store.resolve(ModelReference(name: run.spec.name, selector: .alias(promote.alias))),
              current.manifest.task == run.spec.task else { return nil }
        let incumbent = "\(run.spec.name):\(current.version) (\(promote.alias))"
        var spec = run.spec
        let file: URL, comparedOn: PromotionComparison, heldOutRows: Int?
        if let validation = run.inputs["validation"] {
            (file, comparedOn, heldOutRows) = (validation, .validationFile, nil)
        } else if let heldOut = output.heldOut {
            (file, comparedOn, heldOutRows) = (heldOut.file, .heldOutRows, heldOut.rows)
            if let format = heldOut.format { spec.data.format = format }
        } else {
            recorder.log("promotion compares the stored \(promote.metric) of \(incumbent) (not the same rows): "
                         + "this job has no validation file and its trainer held out no rows")
            return nil
        }
        do {
            guard let score = try await trainer.score(current, data: file, spec: spec, artifacts: services.artifacts),
                  let value = score.metrics[promote.metric] else { return nil }
            // Scored on another number of rows than were held out (the incumbent's reader read
            // them differently) is not the same rows: said, and stored metrics are compared.
            if let heldOutRows, score.rows != heldOutRows {
                recorder.log("\(incumbent) was scored on \(score.rows) rows, not this job's \(heldOutRows) held-out rows; promotion compares stored metrics")
                return nil
            }
            let rows = PromotionPolicy.groupedThousands(score.rows)
            let on = comparedOn == .heldOutRows ? "this job's \(rows) held-out rows" : "this job's validation file (\(rows) rows)"
            recorder.log("\(incumbent) scores \(promote.metric)=\(PromotionPolicy.format(value)) on \(on)")
            return IncumbentScore(version: current.version, metric: promote.metric, value: value, comparedOn: comparedOn, rows: score.rows)
        } catch {
            recorder.log("could not score \(incumbent) on this job's validation rows (\(error)); promotion compares stored metrics")
            return nil
        }
    }

    /// Artifacts first (each with its digest), then `manifest.json`, all into this attempt's own
    /// staging area; then the whole version is published in one step (put-if-absent), and the
    /// registry row is committed last: no reader ever sees a version whose files are not all in
    /// place, and an attempt whose lease was lost while it wrote can never overwrite the files of
    /// the version a later attempt registered (`VersionPublication`). The heartbeat keeps the
    /// lease meanwhile; once it is lost nothing more is written.
    func register(_ attempt: AttemptContext, output: TrainingOutput, parentVersion: Int?, incumbent: IncumbentScore? = nil,
                  data: [DataDigest]? = nil) async throws -> Int? {
        let lease = attempt.lease, services = attempt.services, workerID = attempt.workerID
        let recorder = attempt.recorder
        let spec = lease.job.spec
        guard !output.artifacts.isEmpty else {
            // Nothing was produced, so there is nothing to version: the job just succeeds.
            recorder.log("the trainer produced no artifacts: no version registered")
            _ = try await attempt.complete(registration: nil)
            return nil
        }
        let number = try await services.store.reserveVersion(lease.token)
        let publication = VersionPublication(artifacts: services.artifacts, store: services.store, token: lease.token,
                                             model: spec.name, version: number, leaseDuration: services.configuration.leaseDuration)
        try await publication.clearStaging()
        let manifest: Manifest
        do {
            var entries: [ArtifactEntry] = []
            for (name, file) in output.artifacts.sorted(by: { $0.key < $1.key }) {
                try attempt.checkLease()
                let stored = try await services.artifacts.put(publication.staging + name, file: file)
                entries.append(ArtifactEntry(name: name, sha256: stored.sha256, bytes: stored.bytes))
            }
            let lineage = Lineage(jobID: lease.job.id, attempt: lease.token.attempt,
                                  data: data ?? spec.staged.filter { $0.key != "code" }, code: spec.staged.first { $0.key == "code" },
                                  parentVersion: parentVersion, createdAt: services.clock.now(), worker: workerID)
            manifest = Manifest(model: spec.name, version: number, task: spec.task, algorithm: output.algorithm,
                                inputSchema: output.inputSchema, outputSchema: output.outputSchema, params: output.params,
                                metrics: output.metrics, history: output.history, lineage: lineage, artifacts: entries,
                                serve: spec.serve, tags: spec.tags)
            try attempt.checkLease()
            try await services.artifacts.put(publication.staging + "manifest.json", data: try JSON.encode(manifest, pretty: true))
            try attempt.checkLease()
            do {
                try await publication.publish()
            } catch let error as TrainyardError where error.code == .leaseLost {
                // Said in the job's own log (appendLog is not fenced), not only in the worker's.
                await attempt.tellJobLog("attempt \(lease.token.attempt) on \(workerID) lost its lease before publishing: \(error.message)")
                throw error
            }
        } catch {
            // A full disk, a lost lease: nothing of this attempt stays staged.
            await publication.discardStaging()
            throw error
        }
        let metricsText = output.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%.6g", $0.value))" }.joined(separator: " ")
        recorder.log("registered \(spec.name):\(number) \(metricsText)")
        let outcome = try await attempt.complete(registration: VersionRegistration(manifest: manifest, promote: spec.promote, incumbent: incumbent))
        if let note = outcome.promotionNote { try? await services.store.appendLog(lease.job.id, lines: [note]) }
        return outcome.version
    }
}
