import Dispatch
import Foundation
import TrainyardCore

/// The local file an S3 download fills: a temporary file (`.download-…`, mode 0600) beside the
/// destination, created with its folder (0700) at the first write, renamed onto the destination
/// by `commit()` and removed by `discard()`. Writes run on a dispatch thread, not the
/// cooperative pool. Used by one download at a time, one call after another.
final class S3DownloadFile: @unchecked Sendable {
    // Unchecked: one download drives it sequentially (write…, then commit or discard).
    let destination: URL
    private let temporary: URL
    private var descriptor: Int32 = -1

    init(destination: URL) {
        self.destination = destination
        self.temporary = destination.deletingLastPathComponent().appendingPathComponent(".download-\(UUID().uuidString)")
    }

    func write(_ chunk: Data) async throws {
        try await Self.offPool { [self] in
            try openIfNeeded()
            try chunk.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Self.ioError(errno, "writing", destination.path)
                    }
                    offset += written
                }
            }
        }
    }

    /// Closes the file and renames it onto the destination (an empty object still makes a file).
    func commit() async throws {
        try await Self.offPool { [self] in
            try openIfNeeded()
            let code = close(descriptor) == 0 ? 0 : errno
            descriptor = -1
            guard code == 0 else {
                unlink(temporary.path)
                throw Self.ioError(code, "writing", destination.path)
            }
            guard rename(temporary.path, destination.path) == 0 else {
                let code = errno
                unlink(temporary.path)
                throw Self.ioError(code, "moving into place", destination.path)
            }
        }
    }

    /// Removes the temporary file, if one was made.
    func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
            unlink(temporary.path)
        }
    }

    private func openIfNeeded() throws {
        guard descriptor < 0 else { return }
        let folder = destination.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TrainyardError(.internal, "cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.ioError(errno, "creating", destination.path) }
    }

    static func ioError(_ code: Int32, _ doing: String, _ path: String) -> TrainyardError {
        TrainyardError(.internal, "\(doing) \(path) failed: \(String(cString: strerror(code)))")
    }

    static func offPool(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
