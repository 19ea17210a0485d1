import Foundation
import Testing
@testable import TrainyardCore

@Suite("JobLifecycle: state × event, without I/O")
struct JobLifecycleTests {
    let lifecycle = JobLifecycle(retryPolicy: RetryPolicy(baseDelay: .seconds(2), maxDelay: .seconds(60), jitter: 0))
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func queued(maxAttempts: Int = 3) -> JobRecord { JobRecord(maxAttempts: maxAttempts, runAfter: t0) }

    func running(attempt: Int = 1, maxAttempts: Int = 3, token: String = "tok", cancel: Bool = false) -> JobRecord {
        var r = JobRecord(state: .running, attempt: attempt, maxAttempts: maxAttempts, runAfter: t0, leaseToken: token,
                          leaseExpiresAt: t0.addingTimeInterval(30), workerID: "w1", cancelRequested: cancel, startedAt: t0)
        r.progress = JobProgress(epoch: 3)
        return r
    }

    func apply(_ event: JobEvent, _ record: JobRecord) throws(TrainyardError) -> JobLifecycle.Transition {
        try lifecycle.apply(event, to: record, jobID: 7)
    }

    func code(_ event: JobEvent, _ record: JobRecord) -> TrainyardError.Code? {
        do { _ = try apply(event, record); return nil } catch { return error.code }
    }

    @Test func leaseStartsAnAttempt() throws {
        let t = try apply(.lease(token: "a", workerID: "w", now: t0, duration: .seconds(30)), queued())
        #expect(t.record.state == .running)
        #expect(t.record.attempt == 1)
        #expect(t.record.leaseToken == "a")
        #expect(t.record.leaseExpiresAt == t0.addingTimeInterval(30))
        #expect(t.record.workerID == "w")
        #expect(t.record.progress == nil)
        #expect(t.effects == [.log("attempt 1 of 3 started on w")])
    }

    @Test func onlyDueQueuedJobsCanBeLeased() {
        let lease = JobEvent.lease(token: "a", workerID: "w", now: t0, duration: .seconds(30))
        var later = queued()
        later.runAfter = t0.addingTimeInterval(1)
        #expect(code(lease, later) == .conflict)
        for state in [JobState.running, .succeeded, .failed, .cancelled] {
            var r = queued()
            r.state = state
            #expect(code(lease, r) == .conflict, "leased a \(state) job")
        }
    }

    @Test func heartbeatExtendsTheLeaseAndKeepsProgressUnlessGiven() throws {
        let now = t0.addingTimeInterval(10)
        let kept = try apply(.heartbeat(token: "tok", now: now, duration: .seconds(30), progress: nil), running())
        #expect(kept.record.leaseExpiresAt == now.addingTimeInterval(30))
        #expect(kept.record.progress == JobProgress(epoch: 3))
        let replaced = try apply(.heartbeat(token: "tok", now: now, duration: .seconds(30), progress: JobProgress(epoch: 4)), running())
        #expect(replaced.record.progress == JobProgress(epoch: 4))
    }

    /// Every worker event is fenced: wrong token, expired lease, or a job no longer running.
    @Test func workerEventsAreFenced() {
        let late = t0.addingTimeInterval(31)
        let events: [(String, Date) -> JobEvent] = [
            { .heartbeat(token: $0, now: $1, duration: .seconds(30), progress: nil) },
            { .complete(token: $0, now: $1, version: 1) },
            { .fail(token: $0, now: $1, reason: "x", retryable: true, unitRandom: 0) },
            { .acknowledgeCancellation(token: $0, now: $1) },
            { .release(token: $0, now: $1) },
        ]
        for make in events {
            #expect(code(make("other", t0), running()) == .leaseLost)
            #expect(code(make("tok", late), running()) == .leaseLost)
            #expect(code(make("tok", t0), running()) == nil)
            for state in [JobState.queued, .succeeded, .failed, .cancelled] {
                var r = running()
                r.state = state
                #expect(code(make("tok", t0), r) == .leaseLost, "\(state) accepted a worker event")
            }
        }
    }

    @Test func completeSucceedsAndClearsAnEarlierFailure() throws {
        var r = running(attempt: 2)
        r.failureReason = "attempt 1: out of memory"
        let t = try apply(.complete(token: "tok", now: t0, version: 4), r)
        #expect(t.record.state == .succeeded)
        #expect(t.record.resultVersion == 4)
        #expect(t.record.failureReason == nil)
        #expect(t.record.leaseToken == nil)
        #expect(t.record.finishedAt == t0)
    }

    @Test func retryableFailureWithAttemptsLeftIsQueuedWithBackoff() throws {
        let t = try apply(.fail(token: "tok", now: t0, reason: "boom", retryable: true, unitRandom: 0), running(attempt: 2))
        #expect(t.record.state == .queued)
        #expect(t.record.runAfter == t0.addingTimeInterval(4))  // 2 s doubled once
        #expect(t.record.failureReason == "boom")
        #expect(t.record.leaseToken == nil && t.record.workerID == nil)
        #expect(t.effects == [.wakeWorkers])
    }

    @Test(arguments: [(1, false), (3, true)])
    func failureWithoutRetryIsFinal(attempt: Int, retryable: Bool) throws {
        let t = try apply(.fail(token: "tok", now: t0, reason: "bad data", retryable: retryable, unitRandom: 0), running(attempt: attempt))
        #expect(t.record.state == .failed)
        #expect(t.record.finishedAt == t0)
        #expect(t.record.failureReason == "bad data")
    }

    @Test func failureAfterACancelRequestIsACancellation() throws {
        let t = try apply(.fail(token: "tok", now: t0, reason: "stopped", retryable: true, unitRandom: 0), running(cancel: true))
        #expect(t.record.state == .cancelled)
    }

    @Test func releaseDoesNotCountTheAttempt() throws {
        let t = try apply(.release(token: "tok", now: t0), running(attempt: 2))
        #expect(t.record.state == .queued)
        #expect(t.record.attempt == 1)
        #expect(t.record.runAfter == t0)
        #expect(t.effects == [.wakeWorkers])
    }

    @Test func cancellationOfQueuedRunningAndFinishedJobs() throws {
        let q = try apply(.requestCancellation(now: t0), queued())
        #expect(q.record.state == .cancelled && q.record.finishedAt == t0)
        let r = try apply(.requestCancellation(now: t0), running())
        #expect(r.record.state == .running && r.record.cancelRequested)
        let ack = try apply(.acknowledgeCancellation(token: "tok", now: t0), r.record)
        #expect(ack.record.state == .cancelled)
        for state in [JobState.succeeded, .failed, .cancelled] {
            var done = queued()
            done.state = state
            #expect(code(.requestCancellation(now: t0), done) == .conflict)
        }
    }

    @Test func reclaimRetriesFailsOrCancelsAndSaysSoInTheLog() throws {
        let late = t0.addingTimeInterval(31)
        let retried = try apply(.reclaim(now: late, unitRandom: 0), running(attempt: 1))
        #expect(retried.record.state == .queued)
        #expect(retried.record.failureReason?.contains("stopped heartbeating") == true)
        #expect(retried.effects.contains(.log("attempt 1 lost its lease (worker w1 stopped heartbeating)")))
        let dead = try apply(.reclaim(now: late, unitRandom: 0), running(attempt: 3))
        #expect(dead.record.state == .failed)
        let cancelled = try apply(.reclaim(now: late, unitRandom: 0), running(cancel: true))
        #expect(cancelled.record.state == .cancelled)
        // A live lease is never reclaimed.
        #expect(code(.reclaim(now: t0, unitRandom: 0), running()) == .conflict)
        #expect(code(.reclaim(now: late, unitRandom: 0), queued()) == .conflict)
    }

    /// Walks random event sequences: whatever happens, the invariants hold.
    @Test func invariantsHoldOverRandomHistories() {
        var generator = SplitMix(seed: 42)
        for _ in 0..<2_000 {
            var record = queued(maxAttempts: 1 + Int(generator.next() % 3))
            var now = t0
            var tokens = ["t0"]
            for step in 0..<12 {
                now = now.addingTimeInterval(Double(generator.next() % 40))
                let token = tokens[Int(generator.next() % UInt64(tokens.count))]
                let events: [JobEvent] = [
                    .lease(token: "t\(step + 1)", workerID: "w", now: now, duration: .seconds(30)),
                    .heartbeat(token: token, now: now, duration: .seconds(30), progress: nil),
                    .complete(token: token, now: now, version: 1),
                    .fail(token: token, now: now, reason: "r", retryable: generator.next() % 2 == 0, unitRandom: 0.5),
                    .acknowledgeCancellation(token: token, now: now),
                    .release(token: token, now: now),
                    .requestCancellation(now: now),
                    .reclaim(now: now, unitRandom: 0.5),
                ]
                let event = events[Int(generator.next() % UInt64(events.count))]
                guard let next = try? lifecycle.apply(event, to: record, jobID: 1) else { continue }
                if case .lease(let t, _, _, _) = event { tokens.append(t) }
                let was = record.state
                record = next.record
                #expect(!was.isTerminal, "a terminal job changed: \(was) → \(record.state) on \(event)")
                #expect((record.state == .running) == (record.leaseToken != nil))
                #expect(record.attempt <= record.maxAttempts)
                #expect(record.state != .succeeded || record.failureReason == nil)
            }
        }
    }
}

@Suite("PromotionPolicy")
struct PromotionPolicyTests {
    let rmse = PromotionPolicy(Promotion(alias: try! AliasName("production"), metric: "rmse"))
    let accuracy = PromotionPolicy(Promotion(alias: try! AliasName("production"), metric: "accuracy"))

    @Test func unsetAliasIsTaken() {
        let d = rmse.decide(newMetrics: ["rmse": 5], incumbent: nil, sameDataScore: nil)
        #expect(d.promote && d.reason == "production was unset")
    }

    /// `promote.min` / `promote.max` hold before any comparison, also for a first version.
    @Test func floorAndCeilingHoldWhateverTheIncumbent() {
        let floor = PromotionPolicy(Promotion(alias: .production, metric: "accuracy", min: 0.9))
        let first = floor.decide(newMetrics: ["accuracy": 0.6], incumbent: nil, sameDataScore: nil)
        #expect(!first.promote && first.reason == "accuracy 0.6 is below promote.min 0.9")
        #expect(floor.decide(newMetrics: ["accuracy": 0.9], incumbent: nil, sameDataScore: nil).promote, "the floor itself passes")
        let worse = PromotionPolicy.Incumbent(version: 1, storedMetrics: ["accuracy": 0.5])
        #expect(!floor.decide(newMetrics: ["accuracy": 0.8], incumbent: worse, sameDataScore: nil).promote, "better than the incumbent, still below the floor")

        let ceiling = PromotionPolicy(Promotion(alias: .production, metric: "rmse", max: 600))
        let high = ceiling.decide(newMetrics: ["rmse": 700], incumbent: nil, sameDataScore: nil)
        #expect(!high.promote && high.reason == "rmse 700 is above promote.max 600")
        let incumbent = PromotionPolicy.Incumbent(version: 2, storedMetrics: ["rmse": 650])
        let better = ceiling.decide(newMetrics: ["rmse": 550], incumbent: incumbent, sameDataScore: nil)
        #expect(better.promote && better.reason == "rmse 550 is better than production (v2) 650 (each on its own validation data)")
        #expect(!ceiling.decide(newMetrics: ["rmse": .nan], incumbent: nil, sameDataScore: nil).promote, "NaN passes no bound")
    }

    @Test func directionFollowsTheMetric() {
        let incumbent = PromotionPolicy.Incumbent(version: 2, storedMetrics: ["rmse": 10, "accuracy": 0.8])
        #expect(rmse.decide(newMetrics: ["rmse": 9], incumbent: incumbent, sameDataScore: nil).promote)
        #expect(!rmse.decide(newMetrics: ["rmse": 11], incumbent: incumbent, sameDataScore: nil).promote)
        #expect(accuracy.decide(newMetrics: ["accuracy": 0.9], incumbent: incumbent, sameDataScore: nil).promote)
        #expect(!accuracy.decide(newMetrics: ["accuracy": 0.7], incumbent: incumbent, sameDataScore: nil).promote)
        // A tie keeps the incumbent.
        #expect(!rmse.decide(newMetrics: ["rmse": 10], incumbent: incumbent, sameDataScore: nil).promote)
    }

    @Test func sameDataScoreWinsOnlyForTheCurrentIncumbentAndMetric() {
        let incumbent = PromotionPolicy.Incumbent(version: 2, storedMetrics: ["rmse": 10])
        let onSameData = rmse.decide(newMetrics: ["rmse": 9], incumbent: incumbent, sameDataScore: IncumbentScore(version: 2, metric: "rmse", value: 8))
        #expect(!onSameData.promote)
        #expect(onSameData.reason == "rmse 9 is not better than production (v2) 8 on the same validation data")
        // The alias moved to version 3 while the job ran: the score of version 2 no longer counts.
        let moved = PromotionPolicy.Incumbent(version: 3, storedMetrics: ["rmse": 10])
        #expect(rmse.decide(newMetrics: ["rmse": 9], incumbent: moved, sameDataScore: IncumbentScore(version: 2, metric: "rmse", value: 8)).promote)
    }

    @Test func missingMetrics() {
        #expect(!rmse.decide(newMetrics: [:], incumbent: nil, sameDataScore: nil).promote)
        let d = rmse.decide(newMetrics: ["rmse": 9], incumbent: .init(version: 1, storedMetrics: [:]), sameDataScore: nil)
        #expect(d.promote && d.reason == "production (v1) has no metric rmse")
    }

    @Test func metricDirections() {
        for m in ["rmse", "mae", "logloss", "val_loss", "top1_error"] { #expect(MetricDirection(of: m) == .lowerIsBetter, "\(m)") }
        for m in ["r2", "accuracy", "macro_f1", "auc", "f1", "precision", "recall", "custom"] { #expect(MetricDirection(of: m) == .higherIsBetter, "\(m)") }
    }
}

/// A small seeded generator for reproducible random histories.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
