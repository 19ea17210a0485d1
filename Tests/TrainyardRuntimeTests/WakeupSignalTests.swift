import Foundation
import Testing
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
