import Foundation
import TrainyardCore

/// Creating, listing, pausing and removing triggers: what the CLI's local mode and the HTTP
/// routes call. Creating checks what can be checked before anything fires:
///
/// - the data-access policy of whoever creates it (`DataAccessPolicy.forHTTPSubmissions` over
///   HTTP): the watched folder, a transform's input and output, a spec template's folder and
///   data must be places that policy allows (403 otherwise, said the same whether or not they
///   exist); the policy's roots are stored with the trigger and applied to every job it makes;
/// - a watched folder exists and is a folder; a watched `s3://` prefix is in a bucket this
///   process can list (through the data-objects port; without one it is refused, saying so);
///   a queue URL is one this process's message-queue
///   backend serves (no call is made: the queue may be created later, and its errors are the
///   trigger's, shown by `triggers show`);
/// - a transform request has only known keys and decodes (model reference, types);
/// - a spec template parses and passes its task's checks once its placeholders are filled with
///   sample values (a file in the watched folder, the next slot, an S3 object), every problem
///   with its line. A template with `${message.*}` fields cannot be filled without a message:
///   it is checked when one comes (its problems are the message's, left on the queue).
public struct TriggerCatalog: Sendable {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public func create(_ definition: TriggerDefinition, createdBy: String, access: DataAccessPolicy) async throws -> Trigger {
        var definition = definition
        definition.dataRoots = access.roots
        // `"header": null` means the default: stored as absent, so it reads back as it decodes.
        if case .transform(let template) = definition.action { definition.action = .transform(template.filter { $0.value != .null }) }
        let sample = try await checkSource(definition, access: access)
        switch definition.action {
        case .transform(let template): try checkTransform(template, kind: definition.kind, sample: sample, access: access)
        case .train(let template):
            if TriggerPlaceholders.messageFields(in: template.spec).isEmpty {
                try await checkTrain(template, sample: sample, access: access)
            } else {
                try checkTemplateFolder(template, access: access)
            }
        }
        return withNextSlot(try await services.store.createTrigger(definition, createdBy: createdBy), now: services.clock.now())
    }

    public func list() async throws -> [Trigger] {
        let now = services.clock.now()
        return try await services.store.triggers().map { withNextSlot($0, now: now) }
    }

    public func trigger(_ name: TriggerName) async throws -> Trigger {
        guard let trigger = try await services.store.trigger(name) else { throw TrainyardError.notFound("trigger \(name)") }
        return withNextSlot(trigger, now: services.clock.now())
    }

    public func setPaused(_ name: TriggerName, paused: Bool) async throws -> Trigger {
        withNextSlot(try await services.store.setTriggerPaused(name, paused: paused), now: services.clock.now())
    }

    public func delete(_ name: TriggerName) async throws { try await services.store.deleteTrigger(name) }

    /// `trigger` with the slot that fires next (a schedule that is not paused).
    func withNextSlot(_ trigger: Trigger, now: Date) -> Trigger {
        guard case .schedule(let source) = trigger.source, !trigger.paused else { return trigger }
        var t = trigger
        t.nextSlot = source.nextSlot(lastSlot: t.status.lastSlot, activeSince: t.activeSince, now: now)
        return t
    }

    // MARK: Checks

    /// Sample placeholder values for checking templates.
    struct Sample {
        var placeholders: TriggerPlaceholders
        var input: String?
    }

    /// Checks the watched folder (policy, then existence) and returns sample placeholders.
    private func checkSource(_ definition: TriggerDefinition, access: DataAccessPolicy) async throws -> Sample {
        var placeholders = TriggerPlaceholders(name: definition.name.rawValue)
        switch definition.source {
        case .watch(let watch):
            if let prefix = watch.objects {
                try await checkPrefix(prefix, access: access)
                let object = prefix.uri + "sample.csv"
                placeholders.file = object
                return Sample(placeholders: placeholders, input: object)
            }
            try checkAllowed(watch.path, key: "watch.path", access: access)
            try WatchedFolder.checkFolder(watch.path)
            let file = (watch.path == "/" ? "" : watch.path) + "/sample.csv"
            placeholders.file = file
            return Sample(placeholders: placeholders, input: file)
        case .schedule(let schedule):
            placeholders.slot = schedule.cron.next(after: services.clock.now(), in: schedule.timeZone) ?? services.clock.now()
            return Sample(placeholders: placeholders, input: nil)
        case .sqs(let source):
            guard let queues = services.messageQueues else {
                throw TrainyardError(.invalidArgument, "sqs triggers need a message-queue backend, which this process does not have")
            }
            _ = try queues.queue(url: source.queueURL)
            let object = "s3://bucket/sample.csv"
            placeholders.file = object
            return Sample(placeholders: placeholders, input: object)
        }
    }

    /// A watched `s3://` prefix: this process must have S3 data access (else the clear refusal a
    /// build without S3 gives), the policy must allow it, and its bucket must be one this process
    /// can list (one key is asked for: a missing bucket or a refusal is said now, not by every
    /// pass). Objects need not exist yet.
    private func checkPrefix(_ prefix: WatchedPrefix, access: DataAccessPolicy) async throws {
        guard let objects = services.dataObjects, objects.serves(prefix.uri) else {
            throw TrainyardError(.invalidArgument, "watch path \(clientEcho(prefix.uri)): s3:// prefixes need S3 data access, which this "
                                 + "process does not have; watch a folder, or configure S3 for the process that fires triggers")
        }
        guard access.permits(.s3(prefix.uri)) else { throw TrainyardError(.forbidden, access.refusal(for: "watch.path")) }
        do {
            _ = try await objects.list(under: prefix.uri, after: nil, limit: 1)
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainyardError(.invalidArgument, "watch path \(clientEcho(prefix.uri)): \(error.message)")
        }
    }

    /// A local path the policy must allow: lexically, then (when it exists) where its links lead.
    private func checkAllowed(_ path: String, key: String, access: DataAccessPolicy) throws {
        guard access.restrictsLocalPaths else { return }
        let refusal = TrainyardError(.forbidden, access.refusal(for: key))
        guard access.permits(.file(path: path)) else { throw refusal }
        if let real = WatchedFolder.realPath(path) {
            let roots = (access.roots ?? []).compactMap(WatchedFolder.realPath)
            guard access.permits(resolvedPath: real, resolvedRoots: roots) else { throw refusal }
        }
    }

    private func checkTransform(_ template: [String: JSONValue], kind: TriggerKind, sample: Sample, access: DataAccessPolicy) throws {
        let request = try TriggerRequests.transform(template, placeholders: sample.placeholders, input: sample.input)
        _ = try ModelReference(parsing: request.model)
        try TransformSubmitter.checkOptions(request)
        for (key, value) in [("transform.output", request.output)] + (kind == .schedule ? [("transform.input", request.input)] : []) {
            switch DataLocation.parse(value, base: nil) {
            case .success(.file(let path)): try checkAllowed(path, key: key, access: access)
            case .success(.s3): continue
            case .success(.blob): throw TrainyardError(.invalidArgument, "\(key): a blob reference cannot be a transform's \(key == "transform.output" ? "output" : "input")")
            case .failure(.relativePathWithoutBase):
                throw TrainyardError(.invalidArgument, "\(key) \"\(clientEcho(value))\" must be an absolute path")
            case .failure:
                throw TrainyardError(.invalidArgument, "\(key) \"\(clientEcho(value))\" is not a path, file:// or s3:// URI")
            }
        }
    }

    private func checkTemplateFolder(_ template: TrainTemplate, access: DataAccessPolicy) throws {
        if let base = template.baseDirectory {
            try checkAllowed(base, key: "train.base_directory", access: access)
            try WatchedFolder.checkFolder(base)
        }
    }

    private func checkTrain(_ template: TrainTemplate, sample: Sample, access: DataAccessPolicy) async throws {
        try checkTemplateFolder(template, access: access)
        let text = try TriggerRequests.spec(template, placeholders: sample.placeholders)
        let parsed = try SpecParser(maxBytes: services.configuration.limits.specBytes).parse(text)
        try services.trainers.trainer(for: parsed.spec.task).validate(parsed)
        // Every data location the spec names (not the sample file) must be one the jobs may read.
        let base = template.baseDirectory.map { URL(fileURLWithPath: $0) }
        for (key, location) in parsed.spec.data.locations where location != sample.placeholders.file {
            _ = try SubmittedData.location(location, key: key, parsed: parsed, base: base, access: access)
        }
    }
}
