import Foundation
import TrainyardCore

/// What one transform attempt reads for each input, as a local file the scoring pipeline reads
/// like any other: a local input is read where it is (after checking it is still the file that
/// was listed); an object (`s3://`) is copied into the attempt's work folder, streamed, and only
/// if it is still the object that was listed (its ETag: `If-Match`), so a replaced object fails
/// the job clearly, never scoring other bytes than those the job was accepted for.
///
/// Only what is read is copied:
/// - `whole`: the object (a single file scored here, or a file the fan-out must cut into parts,
///   which takes one quote-aware pass over all of it);
/// - `head`: its first record's bytes (the layout, and the plan of a file that is not cut);
/// - `range`: one part's bytes, with a ranged GET, so N workers scoring N parts of a large
///   object each fetch 1/N of it instead of all of it.
struct TransformInputCopies {
    let attempt: AttemptContext

    var services: TrainyardServices { attempt.services }

    static func isObject(_ file: TransformInputFile) -> Bool {
        if case .success(.s3) = DataLocation.parse(file.path, base: nil) { return true }
        return false
    }

    /// The whole input, readable locally.
    func whole(_ file: TransformInputFile, index: Int) async throws -> TransformInputFile {
        guard Self.isObject(file) else {
            try TransformInput.checkUnchanged(file)
            return file
        }
        let copy = try place(file, index: index, as: file.name)
        try await fetch(file) { store, pinned in
            try await store.download(file.path, to: copy, expecting: pinned, maximumBytes: services.configuration.limits.stageBytes)
        }
        return TransformInputFile(path: copy.path, bytes: file.bytes, modified: file.modified, etag: file.etag)
    }

    /// Enough of the input to read its first record and to plan it without cutting it: the
    /// first `transform.max_record_kb` + 1 bytes of an object, in a copy whose `bytes` still
    /// says the object's size (the plan reads no further than that when it does not cut).
    func head(_ file: TransformInputFile, index: Int) async throws -> TransformInputFile {
        guard Self.isObject(file) else {
            try TransformInput.checkUnchanged(file)
            return file
        }
        let count = min(file.bytes, Int64(services.configuration.transform.maxRecordBytes) + 1)
        let copy = try await copyRange(file, 0..<count, index: index, as: "head-" + file.name)
        return TransformInputFile(path: copy.path, bytes: file.bytes, modified: file.modified, etag: file.etag)
    }

    /// The bytes `start..<end` of the input, readable locally, and the offset they start at in
    /// the returned file (a local input: `start`; a copied range: 0).
    func range(_ file: TransformInputFile, start: Int64, end: Int64, index: Int) async throws -> (file: TransformInputFile, start: Int64, end: Int64) {
        guard Self.isObject(file) else {
            try TransformInput.checkUnchanged(file)
            return (file, start, end)
        }
        let copy = try await copyRange(file, start..<end, index: index, as: "part-" + file.name)
        return (TransformInputFile(path: copy.path, bytes: end - start, modified: file.modified, etag: file.etag), 0, end - start)
    }

    func copyRange(_ file: TransformInputFile, _ range: Range<Int64>, index: Int, as name: String) async throws -> URL {
        let copy = try place(file, index: index, as: name)
        guard FileManager.default.createFile(atPath: copy.path, contents: nil) else {
            throw TrainingFailure("cannot create \(copy.path) to copy \(file.path) into")
        }
        let handle = try FileHandle(forWritingTo: copy)
        defer { try? handle.close() }
        try await fetch(file) { store, pinned in
            try await store.read(file.path, range: range, expecting: pinned) { try handle.write(contentsOf: $0) }
        }
        return copy
    }

    /// Where input `index`'s copy named `name` goes: `input-{index}/` in the attempt's work
    /// folder (the name kept, so the format is still told by its extension).
    func place(_ file: TransformInputFile, index: Int, as name: String) throws -> URL {
        try AttemptFolders(dataDirectory: services.configuration.dataDirectory).create(attempt.work)
        let folder = attempt.work.appendingPathComponent("input-\(index)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name)
    }

    /// Runs a read of `file` pinned to its listed identity, saying what a changed or missing
    /// object means for the job (not retried: every attempt would find the same).
    func fetch(_ file: TransformInputFile, _ body: (any DataObjectStore, DataObjectIdentity) async throws -> DataObjectRead) async throws {
        guard let store = services.dataObjects, store.serves(file.path) else {
            throw TrainingFailure("input \(file.path): this worker has no S3 configured (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials)",
                                  retryable: false)
        }
        let pinned = DataObjectIdentity(uri: file.path, bytes: file.bytes, etag: file.etag,
                                        lastModified: file.etag == nil ? Date(timeIntervalSince1970: file.modified) : nil)
        do {
            _ = try await body(store, pinned)
        } catch let error as TrainyardError where error.code == .conflict {
            throw TrainingFailure("input \(file.path) changed after the transform was submitted (ETag \(file.etag ?? "-"), \(file.bytes) bytes then): \(error.message); submit it again to score the new content",
                                  retryable: false)
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainingFailure("input \(file.path) no longer exists (it was listed when the transform was submitted): \(error.message)", retryable: false)
        }
    }
}
