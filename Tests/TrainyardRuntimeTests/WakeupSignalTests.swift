import Foundation
import Synchronization
import Testing
import TrainyardTestServices
@testable import TrainyardRuntime

@Suite("WakeupSignal")
struct WakeupSignalTests {
    @Test func signalBeforeWaitIsNotLost() async {
        let signal = WakeupSignal()
        signal.signal()
        let start = ContinuousClock.now
        // Woken, not timed out: the timeout is far beyond any scheduling delay.
        await signal.wait(timeout: .seconds(300))
        #expect(ContinuousClock.now - start < .seconds(150))
        // The pending wake-up was consumed: the next wait times out.
        let again = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(100))
        #expect(ContinuousClock.now - again >= .milliseconds(100))
    }

    @Test func waitReturnsOnTimeout() async {
        let signal = WakeupSignal()
        let start = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(150))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < .seconds(150))
    }

    @Test func signalWakesEveryWaiter() async {
        let signal = WakeupSignal()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await signal.wait(timeout: .seconds(300)) } }
            group.addTask {
                // Keep signalling until everyone is through (a waiter may not be registered yet).
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(50))
                    signal.signal()
                }
            }
            var finished = 0
            while finished < 3, await group.next() != nil { finished += 1 }
            group.cancelAll()
        }
        #expect(ContinuousClock.now - start < .seconds(150))
    }

    @Test func cancelledWaitReturnsPromptly() async {
        let signal = WakeupSignal()
        let start = ContinuousClock.now
        // One wait that ignored its cancellation would take the whole 600 s timeout; the bound is
        // far above the loop's cost even on a loaded 2-core machine.
        for _ in 0..<1000 {
            let task = Task { await signal.wait(timeout: .seconds(600)) }
            task.cancel()
            await task.value
            // Also the case where the task is cancelled before it starts waiting.
            let pre = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                await signal.wait(timeout: .seconds(600))
            }
            await pre.value
        }
        #expect(ContinuousClock.now - start < .seconds(300))
    }
}

@Suite("WakeupSignal: who waits")
struct WakeupSignalWaitingTests {
    /// The observer hears "someone waits" when the first waiter starts and "nobody waits" when
    /// the last one stops, however it stops: signalled, timed out or cancelled.
    @Test func theObserverHearsTheFirstAndTheLastWaiter() async throws {
        let signal = WakeupSignal()
        let heard = Mutex<[Bool]>([])
        signal.observeWaiting { waiting in heard.withLock { $0.append(waiting) } }
        #expect(heard.withLock { $0 } == [false])

        // Two waiters, one signal: one "waits", one "nobody waits".
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 { group.addTask { await signal.wait(timeout: .seconds(600)) } }
            #expect(await Polling.until(timeout: .seconds(60), every: .milliseconds(5), { heard.withLock { $0.count } == 2 }))
            // Let the second waiter register too; a signal wakes both at once either way.
            try? await Task.sleep(for: .milliseconds(50))
            signal.signal()
            await group.waitForAll()
        }
        #expect(heard.withLock { $0 } == [false, true, false])

        // Timed out.
        await signal.wait(timeout: .milliseconds(20))
        #expect(heard.withLock { $0 } == [false, true, false, true, false])

        // Cancelled.
        let task = Task { await signal.wait(timeout: .seconds(600)) }
        #expect(await Polling.until(timeout: .seconds(60), every: .milliseconds(5), { heard.withLock { $0.count } == 6 }))
        task.cancel()
        await task.value
        #expect(heard.withLock { $0 } == [false, true, false, true, false, true, false])

        // A pending signal is consumed without waiting: nothing to hear.
        signal.signal()
        await signal.wait(timeout: .seconds(600))
        #expect(heard.withLock { $0 }.count == 7)
    }
}
