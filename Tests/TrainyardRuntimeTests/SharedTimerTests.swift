import Foundation
import Synchronization
import Testing
@testable import TrainyardRuntime

/// The heartbeats' shared timer: nobody wakes before their deadline, a cancelled sleeper wakes
/// at once, and a sleeper earlier than the armed timer re-arms it (otherwise it would sleep as
/// long as the latest sleeper before it). Each test has its own timer, so their sleepers do not mix.
@Suite("SharedTimer", .timeLimit(.minutes(2)))
struct SharedTimerTests {
    /// A task sleeping for an hour on `timer`, returned once its sleep is registered (only its
    /// cancellation, or a wrong timer, ends it within the suite's time limit).
    func hourLongSleeper(on timer: SharedTimer) async throws -> Task<Void, Never> {
        let waitingBefore = timer.waiting
        let sleeper = Task { await timer.sleep(for: .seconds(3600)) }
        while timer.waiting == waitingBefore { try await Task.sleep(for: .milliseconds(1)) }
        return sleeper
    }

    @Test func aSleeperWakesAtItsDeadlineNotBefore() async {
        let timer = SharedTimer()
        let start = ContinuousClock.now
        await timer.sleep(for: .milliseconds(120))
        #expect(ContinuousClock.now - start >= .milliseconds(120))
        #expect(timer.waiting == 0)
    }

    /// With an hour-long sleeper among them, a timer re-armed for any but the earliest sleeper
    /// left would leave someone sleeping for the hour (the suite's time limit fails it).
    @Test func sleepersWithDifferentDeadlinesEachWakeAtTheirOwn() async throws {
        let timer = SharedTimer()
        let long = try await hourLongSleeper(on: timer)
        let start = ContinuousClock.now
        let elapsed = await withTaskGroup(of: (Int, Duration).self) { group in
            for (index, ms) in [300, 60, 180, 60].enumerated() {
                group.addTask {
                    await timer.sleep(for: .milliseconds(ms))
                    return (index, ContinuousClock.now - start)
                }
            }
            var woke: [Int: Duration] = [:]
            for await (index, duration) in group { woke[index] = duration }
            return woke
        }
        for (index, ms) in [300, 60, 180, 60].enumerated() {
            #expect(elapsed[index]! >= .milliseconds(ms), "sleeper \(index) woke early")
        }
        #expect(timer.waiting == 1)
        long.cancel()
        await long.value
        #expect(timer.waiting == 0)
    }

    /// A long sleeper arms the timer first; a short one that comes later must not wait for it
    /// (the test's time limit fails a timer that is not re-armed for the earlier deadline).
    @Test func anEarlierSleeperReArmsTheTimer() async throws {
        let timer = SharedTimer()
        let long = try await hourLongSleeper(on: timer)
        let start = ContinuousClock.now
        await timer.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        #expect(timer.waiting == 1)
        long.cancel()
        await long.value
        #expect(timer.waiting == 0)
    }

    /// A cancelled sleeper returns without waiting for its hour, whether it was cancelled while
    /// sleeping or before it started (the test's time limit fails one that waits).
    @Test func aCancelledSleeperWakesAtOnce() async throws {
        let timer = SharedTimer()
        let sleeping = try await hourLongSleeper(on: timer)
        sleeping.cancel()
        await sleeping.value
        #expect(timer.waiting == 0)

        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await timer.sleep(for: .seconds(3600))
        }
        await cancelledFirst.value
        #expect(timer.waiting == 0)
    }

    /// Sleepers that come and go long before the timer fires (a worker's short jobs) leave no
    /// one behind, and a later sleeper still wakes at its own deadline.
    @Test func manyCancelledSleepersLeaveTheLastOneWaking() async throws {
        let timer = SharedTimer()
        for _ in 0..<50 {
            let sleeper = try await hourLongSleeper(on: timer)
            sleeper.cancel()
            await sleeper.value
        }
        #expect(timer.waiting == 0)
        let start = ContinuousClock.now
        await timer.sleep(for: .milliseconds(150))
        #expect(ContinuousClock.now - start >= .milliseconds(150))
    }

    @Test func aScheduledActionRunsAtItsDeadlineUnlessCancelledFirst() async throws {
        let timer = SharedTimer()
        let start = ContinuousClock.now
        let ran = AsyncStream<Duration>.makeStream()
        _ = timer.schedule(at: start + .milliseconds(80)) { ran.continuation.yield(ContinuousClock.now - start) }
        let cancelled = timer.schedule(at: start + .milliseconds(40)) { ran.continuation.yield(.zero) }
        #expect(timer.cancel(cancelled))
        var iterator = ran.stream.makeAsyncIterator()
        let after = await iterator.next()
        #expect(after! >= .milliseconds(80))
        #expect(timer.waiting == 0)
        #expect(!timer.cancel(cancelled))
    }
}

/// An attempt's heartbeat task exists only from its first tick on.
@Suite("DeferredHeartbeat", .timeLimit(.minutes(2)))
struct DeferredHeartbeatTests {
    @Test func stoppedBeforeItsFirstTickItNeverRuns() async throws {
        let runs = Atomic<Int>(0)
        let heartbeat = DeferredHeartbeat(firstTick: .now + .seconds(1)) { runs.add(1, ordering: .relaxed) }
        await heartbeat.stop()
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runs.load(ordering: .relaxed) == 0)
    }

    /// After the first tick the body runs until stopped, and `stop` returns only once it ended.
    @Test func afterItsFirstTickItRunsUntilStopped() async throws {
        let state = Atomic<Int>(0)  // 1: running, 2: ended
        let heartbeat = DeferredHeartbeat(firstTick: .now + .milliseconds(20)) {
            state.store(1, ordering: .sequentiallyConsistent)
            while !Task.isCancelled { await SharedTimer.shared.sleep(for: .seconds(3600)) }
            state.store(2, ordering: .sequentiallyConsistent)
        }
        while state.load(ordering: .sequentiallyConsistent) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await heartbeat.stop()
        #expect(state.load(ordering: .sequentiallyConsistent) == 2)
    }

    /// A first tick already due starts the task at once.
    @Test func aFirstTickInThePastStartsAtOnce() async throws {
        let runs = Atomic<Int>(0)
        let heartbeat = DeferredHeartbeat(firstTick: .now - .seconds(1)) { runs.add(1, ordering: .relaxed) }
        while runs.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await heartbeat.stop()
        #expect(runs.load(ordering: .relaxed) == 1)
    }
}
