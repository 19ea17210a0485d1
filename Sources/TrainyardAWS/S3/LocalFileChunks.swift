import Dispatch
import Foundation

/// A local file's bytes as a sequence of chunks, read off the cooperative thread pool (a slow
/// disk blocks a dispatch thread, not a task executor). The file is opened when the sequence is
/// made, so a missing file fails there, and closed when iteration ends or the iterator goes away.
struct LocalFileChunks: AsyncSequence, Sendable {
    typealias Element = Data

    let handle: SharedFileHandle
    let chunkSize: Int

    init(file: URL, chunkSize: Int) throws {
        handle = SharedFileHandle(try FileHandle(forReadingFrom: file))
        self.chunkSize = chunkSize
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: SharedFileHandle
        let chunkSize: Int

        mutating func next() async throws -> Data? {
            let (handle, size) = (self.handle, chunkSize)
            return try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try handle.read(upTo: size) })
                }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle, chunkSize: chunkSize) }
}

/// A file handle read by one iterator at a time and closed when released.
final class SharedFileHandle: @unchecked Sendable {
    // Unchecked: only the sequence's single iterator reads it, one read at a time.
    private let handle: FileHandle

    init(_ handle: FileHandle) { self.handle = handle }

    /// Up to `count` bytes; `nil` at the end of the file.
    func read(upTo count: Int) throws -> Data? {
        guard let data = try handle.read(upToCount: count), !data.isEmpty else { return nil }
        return data
    }

    deinit { try? handle.close() }
}
