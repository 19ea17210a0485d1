#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrainyardCore

/// The local files a transform reads: listing a file or a folder with each file's identity (at
/// submit time), checking a listed file is still the same one (when scored), and the first
/// record of a file (its layout).
enum TransformInput {
    struct Listing: Sendable {
        var files: [TransformInputFile]
        var isFolder: Bool
        /// The input, symbolic links resolved.
        var resolvedPath: String
    }

    /// Lists `path`: the file itself, or the folder's regular files (not hidden, not in
    /// subfolders) that match `glob` (default: every file with a known extension), by name.
    static func list(_ path: String, glob: String?, format: TransformFormat?, access: DataAccessPolicy, maxFiles: Int,
                     limits: ResourceLimits) throws -> Listing {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if access.restrictsLocalPaths { throw TrainyardError(.forbidden, access.refusal(for: "input")) }
            throw TrainyardError(.invalidArgument, "input: \"\(clientEcho(path))\" does not exist")
        }
        if (status.st_mode & S_IFMT) != S_IFDIR {
            return Listing(files: [try identity(of: path, option: "input", access: access, limits: limits, format: format)], isFolder: false,
                           resolvedPath: path)
        }
        guard let folder = LocalDataFile.realPath(path) else { throw TrainyardError(.invalidArgument, "input: \"\(clientEcho(path))\" cannot be read") }
        let resolvedRoots = (access.roots ?? []).compactMap(LocalDataFile.realPath)
        guard access.permits(resolvedPath: folder, resolvedRoots: resolvedRoots) else { throw TrainyardError(.forbidden, access.refusal(for: "input")) }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw TrainyardError(.invalidArgument, "input: the folder \"\(clientEcho(path))\" cannot be listed: \(error.localizedDescription)")
        }
        var files: [TransformInputFile] = []
        for name in names.sorted() where !name.hasPrefix(".") && matches(name, glob: glob, format: format) {
            let child = folder + "/" + name
            var childStatus = stat()
            guard stat(child, &childStatus) == 0, (childStatus.st_mode & S_IFMT) == S_IFREG else { continue }
            guard files.count < maxFiles else {
                throw TrainyardError(.invalidArgument, "input: the folder holds more than transform.max_files (\(maxFiles)) matching files; narrow --glob or raise transform.max_files")
            }
            files.append(try identity(of: child, option: "input file \(name)", access: access, limits: limits, format: format))
        }
        guard !files.isEmpty else {
            throw TrainyardError(.invalidArgument, "input: no file in \"\(clientEcho(path))\" matches " + (glob.map { "--glob \($0)" } ?? "a known extension (.csv, .tsv, .jsonl); give --glob and --format"))
        }
        return Listing(files: files, isFolder: true, resolvedPath: folder)
    }

    static func matches(_ name: String, glob: String?, format: TransformFormat?) -> Bool {
        if let glob { return fnmatch(glob, name, 0) == 0 }
        return format != nil || TransformFormat(fileName: name) != nil
    }

    /// A file's identity, after the same checks as any data file a job reads (the access policy
    /// after resolving links, a regular file, not a pseudo-file, within `limits.stage_bytes`);
    /// an empty file is allowed (it has no rows).
    static func identity(of path: String, option: String, access: DataAccessPolicy, limits: ResourceLimits, format: TransformFormat?) throws -> TransformInputFile {
        let opened = Result { () throws(LocalDataFile.Problem) in try LocalDataFile.open(path, policy: access, limits: limits).path }
        let resolved: String
        switch opened {
        case .success(let real): resolved = real
        case .failure(.empty): resolved = LocalDataFile.realPath(path) ?? path
        case .failure(let problem): throw problemError(problem, option: option, path: path, access: access)
        }
        var status = stat()
        guard stat(resolved, &status) == 0 else { throw TrainyardError(.invalidArgument, "\(option): \"\(clientEcho(path))\" cannot be read") }
        if format == nil && TransformFormat(fileName: resolved) == nil {
            throw TrainyardError(.invalidArgument, "\(option): cannot tell the format of \"\(clientEcho(path))\" from its extension; give --format csv|tsv|jsonl")
        }
        return TransformInputFile(path: resolved, bytes: Int64(status.st_size), modified: modified(status))
    }

    static func modified(_ status: stat) -> Double {
        #if canImport(Darwin)
        return Double(status.st_mtimespec.tv_sec) + Double(status.st_mtimespec.tv_nsec) / 1e9
        #else
        return Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        #endif
    }

    static func problemError(_ problem: LocalDataFile.Problem, option: String, path: String, access: DataAccessPolicy) -> TrainyardError {
        let shown = "\"\(clientEcho(path))\""
        switch problem {
        case .refused: return TrainyardError(.forbidden, access.refusal(for: option))
        case .doesNotExist: return TrainyardError(.invalidArgument, "\(option): \(shown) does not exist")
        case .folder: return TrainyardError(.invalidArgument, "\(option): \(shown) is a folder")
        case .notRegularFile: return TrainyardError(.invalidArgument, "\(option): \(shown) is not a regular file (a device, FIFO or socket)")
        case .pseudoFile: return TrainyardError(.invalidArgument, "\(option): \(shown) is a kernel pseudo-file (/proc, /sys)")
        case .empty: return TrainyardError(.invalidArgument, "\(option): \(shown) is empty")
        case .tooLarge(let bytes, let limit):
            return TrainyardError(.invalidArgument, "\(option): \(shown) holds \(bytes) bytes or more, over limits.stage_bytes (\(limit))")
        case .unreadable(let reason): return TrainyardError(.invalidArgument, "\(option): \(shown) cannot be read: \(reason)")
        }
    }

    static func format(of file: TransformInputFile, _ transform: TransformSpec) -> TransformFormat {
        transform.format ?? TransformFormat(fileName: file.path) ?? .csv
    }

    /// The layout the scorer is opened with: the format and (CSV/TSV) the fields of the first record.
    static func layout(of file: TransformInputFile, transform: TransformSpec, maxRecordBytes: Int) throws -> TransformLayout {
        let format = format(of: file, transform)
        var record: [UInt8]?
        if format.fieldDelimiter != nil, file.bytes > 0 {
            record = try firstRecord(of: file.path, maxRecordBytes: maxRecordBytes, format: format)
        }
        return layout(format: format, firstRecord: record, transform: transform)
    }

    /// The layout of a file in `format` whose first record is `record` (nil: JSONL or empty).
    static func layout(format: TransformFormat, firstRecord record: [UInt8]?, transform: TransformSpec) -> TransformLayout {
        let first = format.fieldDelimiter.flatMap { delimiter in record.map { DelimitedRecord.fields($0, delimiter: delimiter) } }
        return TransformLayout(format: format, firstRecord: first, header: transform.header, keep: transform.keep,
                               joinInput: transform.joinInput, probabilities: transform.probabilities)
    }

    /// The bytes of the file's first record (through its newline, or the whole file when it has
    /// none), at most `maxRecordBytes`.
    static func firstRecord(of path: String, maxRecordBytes: Int, format: TransformFormat) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TrainyardError(.invalidArgument, "input \"\(clientEcho(path))\" cannot be read") }
        defer { try? handle.close() }
        var scanner = RecordScanner(format: format)
        var bytes: [UInt8] = []
        while bytes.count <= maxRecordBytes {
            guard let chunk = try handle.read(upToCount: 64 << 10), !chunk.isEmpty else { return bytes }
            let start = bytes.count
            bytes.append(contentsOf: chunk)
            let end = bytes.withUnsafeBufferPointer { scanner.firstRecordEnd(in: UnsafeBufferPointer(rebasing: $0[start...])) }
            if let end { return Array(bytes[..<(start + end)]) }
        }
        throw TrainyardError(.invalidArgument, "the first record of \"\(clientEcho(path))\" is longer than transform.max_record_kb (\(maxRecordBytes >> 10) KiB)")
    }

    /// Whether the file is still the one listed (same size and modification time).
    static func checkUnchanged(_ file: TransformInputFile) throws {
        var status = stat()
        guard stat(file.path, &status) == 0 else {
            throw TrainingFailure("input \(file.path) no longer exists (it was listed when the transform was submitted)", retryable: false)
        }
        guard Int64(status.st_size) == file.bytes, modified(status) == file.modified else {
            throw TrainingFailure("input \(file.path) changed after the transform was submitted (\(file.bytes) bytes then, \(status.st_size) now); submit it again to score the new content", retryable: false)
        }
    }
}
