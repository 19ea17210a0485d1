import Foundation
import TrainyardCore

/// `watch` on an `s3://` prefix, one pass: list a slice after the persisted cursor
/// (`WatchedObjects`), fire what settled, persist where the listing stopped.
///
/// An object fires once two looks at least the settle time apart saw the same size and ETag
/// (`SettleTracker`), once per identity (URI + size + ETag, `WatchedFile.identity`): the same
/// object is never fired twice, one overwritten with other bytes fires again. A prefix larger
/// than `maxKeysPerPass` is looked at a slice per pass, so the two looks at one object are a
/// cycle of the listing apart.
///
/// Bounded whatever the prefix holds: per pass `maxKeysPerPass` keys listed and at most one
/// store read per listed object not known fired; in memory at most `maxTrackedObjects` objects
/// waiting to settle, known fired, and waiting for a retry.
extension TriggerEngine {
    func passObjectWatch(_ trigger: Trigger, _ source: WatchSource, _ prefix: WatchedPrefix, _ report: inout TriggerPassReport) async {
        let now = services.clock.now()
        let listingKey = "\(trigger.id):folder"
        guard retries.isDue(listingKey, now: now) else { return }
        var state = watches[trigger.name] ?? WatchState(triggerID: trigger.id)
        defer { watches[trigger.name] = state }
        let look: WatchedObjects.Look
        do {
            guard let objects = services.dataObjects, objects.serves(prefix.uri) else {
                throw TrainyardError(.unavailable, "this process has no S3 data access (it was started without S3 configured)")
            }
            look = try await WatchedObjects(prefix: prefix, glob: source.glob)
                .look(in: objects, after: trigger.status.listingCursor, maxKeys: options.maxKeysPerPass)
        } catch {
            let next = retries.failed(listingKey, now: now)
            await recordFailure(trigger, message: "watch prefix \(prefix.uri): \(Self.message(error)) (tried again after \(next.ISO8601Format()))",
                                &report)
            return
        }
        retries.succeeded(listingKey)
        forgetObjectsGone(look, &state)
        do {
            for file in look.files {
                try await examine(file, trigger, source, now: now, &state, &report)
            }
        } catch {
            // The store could not say what was fired: nothing more can fire in this pass, and
            // the slice is listed again by the next (the cursor stays).
            await recordFailure(trigger, message: "watch prefix \(prefix.uri): \(Self.message(error))", &report)
            return
        }
        guard look.cursor != trigger.status.listingCursor else { return }
        do {
            try await services.store.recordListingCursor(trigger.name, triggerID: trigger.id, cursor: look.cursor)
        } catch {
            // The next pass lists this slice again: slower, never wrong.
            logger.warning("triggers: cannot record where the listing of \(prefix.uri) stopped for \(trigger.name): \(error)")
        }
    }

    /// Forgets what is kept for objects in the range the look listed that it did not return:
    /// deleted, or no longer matching. Objects outside the range are kept: they were not looked at.
    private func forgetObjectsGone(_ look: WatchedObjects.Look, _ state: inout WatchState) {
        let present = Set(look.files.map(\.path))
        let isGone = { (path: String) in look.covers(path) && !present.contains(path) }
        state.settle.forget(where: isGone)
        state.fired = state.fired.filter { !isGone($0.key) }
        for (path, key) in state.retrying where isGone(path) {
            retries.succeeded(key)
            state.retrying[path] = nil
        }
    }

    /// One listed object: skipped when known fired (asked of the store, once per identity
    /// this process has not confirmed), observed, fired once settled. A firing that fails is
    /// recorded and retried with a doubling delay; an error of the store is thrown.
    private func examine(_ file: WatchedFile, _ trigger: Trigger, _ source: WatchSource, now: Date, _ state: inout WatchState,
                         _ report: inout TriggerPassReport) async throws {
        let identity = file.identity(trigger: trigger.id)
        if state.fired[file.path] == identity { return }
        let retryKey = "\(trigger.id):file:\(identity)"
        guard retries.isDue(retryKey, now: now) else { return }
        if try await services.store.firedFile(trigger: trigger.id, identity: identity) != nil {
            rememberFired(file, identity: identity, &state)
            return
        }
        // A full tracker takes this object at a later look, once others fired or went away.
        guard state.settle.isTracking(file.path) || state.settle.count < options.maxTrackedObjects else { return }
        guard state.settle.observe(file, at: now, settle: source.settleSeconds) else { return }
        do {
            let firing = try await fire(trigger, cause: .file(file))
            report.fired.append(.init(trigger: trigger.name, cause: firing.cause, jobID: firing.jobID))
            rememberFired(file, identity: identity, &state)
            retries.succeeded(retryKey)
            if let previous = state.retrying.removeValue(forKey: file.path) { retries.succeeded(previous) }
        } catch {
            // An object overwritten after a failure is another object (its own key, tried at once).
            if let previous = state.retrying.removeValue(forKey: file.path), previous != retryKey { retries.succeeded(previous) }
            var retried = "retried at its next look"
            if state.retrying.count < options.maxTrackedObjects {
                retried = "retried after \(retries.failed(retryKey, now: now).ISO8601Format())"
                state.retrying[file.path] = retryKey
            }
            await recordFailure(trigger, message: "object \(file.path): \(Self.message(error)) (\(retried))", &report)
        }
    }

    private func rememberFired(_ file: WatchedFile, identity: String, _ state: inout WatchState) {
        // Forgetting them all is cheap to undo: each costs one store read when next listed.
        if state.fired.count >= options.maxTrackedObjects { state.fired.removeAll(keepingCapacity: true) }
        state.fired[file.path] = identity
        state.settle.forget(file.path)
    }
}
