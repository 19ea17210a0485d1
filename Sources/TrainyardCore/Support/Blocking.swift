import Dispatch
import Foundation

/// Runs short blocking work (a file read, a block of predictions) on a Dispatch thread, off
/// the cooperative pool that serves HTTP and async I/O, and awaits its result.
///
/// Only for work that ends soon: see `runOnOwnThread` for anything that may last.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// Runs work that may last (a whole training run or evaluation, reading a child's output until
/// it exits) on a thread of its own, and awaits its result.
///
/// Not on Dispatch's global pool: on Linux that pool keeps one thread per core busy and adds
/// another only about once a second while its threads block, and never while they compute. Two
/// trainings there would hold every thread for minutes, and every short `runBlocking` call (a
/// prediction, an artifact read) and NIO's host-name resolution (every new PostgreSQL or S3
/// connection) would queue behind them.
public func runOnOwnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            // Named from inside: on Linux a name set before `start` is not applied, and the
            // thread would show its creator's name (a Dispatch worker's) in `top` and `perf`.
            Thread.current.name = name
            continuation.resume(with: Result { try work() })
        }
        // The main thread's size: recursive model code must not meet a smaller stack here.
        thread.stackSize = 8 << 20
        thread.start()
    }
}
