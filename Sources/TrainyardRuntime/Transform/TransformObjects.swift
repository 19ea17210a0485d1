import Foundation
import TrainyardCore

/// A transform's `s3://` input and output at submit time: the objects an input names, listed
/// with each one's identity (size and ETag, which the idempotency key is derived from), the
/// first record of an object (for the scorer's column check), and an output prefix proved
/// writable. Every refusal names the option and the URI (400 / exit 2); an S3 that cannot be
/// reached stays a 503.
enum TransformObjects {
    /// The data objects of this process, or a refusal naming `option` when it has no S3.
    static func store(_ services: TrainyardServices, option: String) throws(TrainyardError) -> any DataObjectStore {
        guard let store = services.dataObjects else {
            throw TrainyardError(.invalidArgument, "\(option): s3:// locations need S3, which this process is not configured for (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials); give a local path")
        }
        return store
    }

    /// Lists `uri`: the object itself (`s3://bucket/key` naming one), else the objects directly
    /// under it as a folder (`s3://bucket/prefix/`; not hidden, not in "subfolders") that match
    /// `glob` (default: a known extension), in key order, at most `maxFiles`, each within
    /// `limits.stage_bytes`. The listing stops after `limits.stage_seconds`.
    static func list(_ uri: String, glob: String?, format: TransformFormat?, store: any DataObjectStore, maxFiles: Int,
                     limits: ResourceLimits) async throws -> TransformInput.Listing {
        let started = ContinuousClock.now
        if !uri.hasSuffix("/"), let object = try await refusing("input", { try await store.head(uri) }) {
            return TransformInput.Listing(files: [try identity(object, option: "input", format: format, limits: limits)], isFolder: false,
                                          resolvedPath: uri)
        }
        let folder = folderPrefix(uri)
        var files: [TransformInputFile] = []
        var cursor: String?
        repeat {
            if ContinuousClock.now - started > .seconds(limits.stageSeconds) {
                throw TrainyardError(.timeout, "listing the input \(clientEcho(folder)) took longer than limits.stage_seconds (\(limits.stageSeconds) s)")
            }
            let page = try await refusing("input") { try await store.listFolder(folder, after: cursor, limit: 1000) }
            for object in page.objects {
                let name = String(object.uri.dropFirst(folder.count))
                guard !name.isEmpty, !name.hasPrefix("."), TransformInput.matches(name, glob: glob, format: format) else { continue }
                guard files.count < maxFiles else {
                    throw TrainyardError(.invalidArgument, "input: \(clientEcho(folder)) holds more than transform.max_files (\(maxFiles)) matching objects; narrow --glob or raise transform.max_files")
                }
                files.append(try identity(object, option: "input object \(clientEcho(name))", format: format, limits: limits))
            }
            cursor = page.next
        } while cursor != nil
        guard !files.isEmpty else {
            throw TrainyardError(.invalidArgument, "input: no object " + (uri.hasSuffix("/") ? "under" : "named \(clientEcho(uri)), nor under")
                                 + " \(clientEcho(folder)) matches " + (glob.map { "--glob \($0)" } ?? "a known extension (.csv, .tsv, .jsonl); give --glob and --format"))
        }
        return TransformInput.Listing(files: files, isFolder: true, resolvedPath: folder)
    }

    /// `s3://bucket/prefix` as a folder: `s3://bucket/prefix/` (the bucket itself: `s3://bucket/`).
    static func folderPrefix(_ uri: String) -> String { uri.hasSuffix("/") ? uri : uri + "/" }

    /// An object as a transform input, after the checks a local file gets (size, format).
    static func identity(_ object: DataObjectIdentity, option: String, format: TransformFormat?, limits: ResourceLimits) throws(TrainyardError) -> TransformInputFile {
        if object.bytes > limits.stageBytes {
            throw TrainyardError(.invalidArgument, "\(option): \(clientEcho(object.uri)) holds \(object.bytes) bytes, over limits.stage_bytes (\(limits.stageBytes))")
        }
        let file = TransformInputFile(path: object.uri, bytes: object.bytes, modified: object.lastModified?.timeIntervalSince1970 ?? 0, etag: object.etag)
        if format == nil && TransformFormat(fileName: file.name) == nil {
            throw TrainyardError(.invalidArgument, "\(option): cannot tell the format of \(clientEcho(object.uri)) from its extension; give --format csv|tsv|jsonl")
        }
        return file
    }

    /// Proves `prefix` can be written: a probe object written and removed, as a folder output
    /// gets a probe file.
    static func probe(_ prefix: String, store: any DataObjectStore) async throws {
        let probe = prefix + ".trainyard-probe-\(UUID().uuidString)"
        try await refusing("output") { try await store.write(probe, data: Data()) }
        try? await store.delete(probe)
    }

    /// The layout of an object input: its format and (CSV/TSV) its first record, read in
    /// ranges of 64 KiB up to `transform.max_record_kb`, from the object as it was listed.
    static func layout(of file: TransformInputFile, transform: TransformSpec, store: any DataObjectStore, maxRecordBytes: Int) async throws -> TransformLayout {
        let format = TransformInput.format(of: file, transform)
        guard format.fieldDelimiter != nil, file.bytes > 0 else { return TransformInput.layout(format: format, firstRecord: nil, transform: transform) }
        let pinned = DataObjectIdentity(uri: file.path, bytes: file.bytes, etag: file.etag, lastModified: nil)
        var scanner = RecordScanner(format: format)
        var bytes: [UInt8] = []
        while bytes.count <= maxRecordBytes {
            let start = bytes.count
            guard Int64(start) < file.bytes else { return TransformInput.layout(format: format, firstRecord: bytes, transform: transform) }
            var chunk = Data()
            try await refusing("input") {
                try await store.read(file.path, range: Int64(start)..<min(file.bytes, Int64(start + (64 << 10))), expecting: pinned) { chunk.append($0) }
            }
            guard !chunk.isEmpty else { return TransformInput.layout(format: format, firstRecord: bytes, transform: transform) }
            bytes.append(contentsOf: chunk)
            let end = bytes.withUnsafeBufferPointer { scanner.firstRecordEnd(in: UnsafeBufferPointer(rebasing: $0[start...])) }
            if let end { return TransformInput.layout(format: format, firstRecord: Array(bytes[..<(start + end)]), transform: transform) }
        }
        throw TrainyardError(.invalidArgument, "the first record of \(clientEcho(file.path)) is longer than transform.max_record_kb (\(maxRecordBytes >> 10) KiB)")
    }

    /// Runs `body`, turning the store's refusals into 400s naming `option` (a missing object or
    /// bucket, access denied, no credentials); an unreachable store stays as it is.
    @discardableResult
    static func refusing<T>(_ option: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as TrainyardError where error.code != .unavailable && error.code != .timeout {
            throw TrainyardError(.invalidArgument, "\(option): \(error.message)")
        }
    }
}
