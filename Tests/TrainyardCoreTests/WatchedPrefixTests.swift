import Foundation
import Testing
@testable import TrainyardCore

/// `watch` on `s3://` prefixes without I/O: the prefix as written and as watched, which keys
/// are its objects, an object's identity (size + ETag, not the time of its upload), settling on
/// size and ETag, and the `triggers.max_keys_per_pass` setting.
@Suite("Watched prefixes")
struct WatchedPrefixTests {
    @Test func prefixesAreReadAsFoldersOfKeys() throws {
        let incoming = try WatchedPrefix(parsing: "s3://data-bucket/incoming")
        #expect(incoming.bucket == "data-bucket" && incoming.prefix == "incoming/" && incoming.uri == "s3://data-bucket/incoming/")
        #expect(try WatchedPrefix(parsing: "S3://data-bucket/incoming/").uri == "s3://data-bucket/incoming/")
        #expect(try WatchedPrefix(parsing: "s3://data-bucket").uri == "s3://data-bucket/")
        #expect(try WatchedPrefix(parsing: "s3://data-bucket/").prefix == "")
        #expect(try WatchedPrefix(parsing: "s3://data-bucket//a/b").uri == "s3://data-bucket/a/b/")
        let watch = try WatchSource(path: "s3://data-bucket/incoming", glob: "*.csv")
        #expect(watch.path == "s3://data-bucket/incoming/" && watch.objects == incoming)
        #expect(try WatchSource(path: "/data/in", glob: "*").objects == nil)
        // As JSON, it reads back the same.
        let decoded = try JSON.decode(WatchSource.self, from: JSON.encode(watch))
        #expect(decoded == watch && decoded.objects == incoming)
    }

    @Test func badPrefixesNameTheProblem() {
        func message(_ text: String) -> String? {
            do { _ = try WatchSource(path: text, glob: "*"); return nil } catch { return error.message }
        }
        #expect(message("s3://")?.contains("names no bucket") == true)
        #expect(message("s3:///in")?.contains("names no bucket") == true)
        for bad in ["s3://Upper/in", "s3://under_score/in", "s3://ab/in", "s3://-dash/in", "s3://a..b/in", "s3://\(String(repeating: "a", count: 64))"] {
            #expect(message(bad)?.contains("is not an S3 bucket name") == true, "\(bad)")
        }
        #expect(message("s3://bucket/in\u{7}x")?.contains("control character") == true)
        #expect(message("s3://bucket/" + String(repeating: "k", count: 1024))?.contains("longer than an S3 key") == true)
        #expect(message("s3://bucket/in\u{0}")?.contains("NUL") == true)
        #expect(throws: TrainyardError.self) { try WatchedPrefix(parsing: "/data/in") }
    }

    @Test func theObjectsOfAPrefixAreTheKeysDirectlyUnderIt() throws {
        let p = try WatchedPrefix(parsing: "s3://bucket/in")
        #expect(p.name(of: "s3://bucket/in/a.csv") == "a.csv")
        #expect(p.name(of: "s3://bucket/in/données été.csv") == "données été.csv")
        #expect(p.name(of: "s3://bucket/in/sub/a.csv") == nil, "a subfolder's key")
        #expect(p.name(of: "s3://bucket/in/sub/") == nil, "a folder marker")
        #expect(p.name(of: "s3://bucket/in/") == nil, "the prefix itself")
        #expect(p.name(of: "s3://bucket/input/a.csv") == nil && p.name(of: "s3://other/in/a.csv") == nil)
        // Bytes, not characters: a combining mark right after the `/` is still under the prefix.
        #expect(p.name(of: "s3://bucket/in/\u{301}x.csv") == "\u{301}x.csv")
        let top = try WatchedPrefix(parsing: "s3://bucket")
        #expect(top.name(of: "s3://bucket/a.csv") == "a.csv" && top.name(of: "s3://bucket/in/a.csv") == nil)
    }

    @Test func anObjectIsItsURISizeAndETagNotTheTimeOfItsUpload() {
        let object = WatchedFile(path: "s3://bucket/in/a.csv", bytes: 10, modified: 1_000, etag: "\"abc\"")
        var uploadedAgain = object
        uploadedAgain.modified = 2_000
        #expect(object.identity(trigger: 1) == uploadedAgain.identity(trigger: 1))
        var otherBytes = object
        otherBytes.etag = "\"def\""
        #expect(object.identity(trigger: 1) != otherBytes.identity(trigger: 1))
        #expect(object.identity(trigger: 1) != object.identity(trigger: 2))
        // A file (no ETag) keeps its modification time in its identity, and never equals an object.
        let file = WatchedFile(path: "s3://bucket/in/a.csv", bytes: 10, modified: 1_000)
        var touched = file
        touched.modified = 2_000
        #expect(file.identity(trigger: 1) != touched.identity(trigger: 1) && file.identity(trigger: 1) != object.identity(trigger: 1))
        // The idempotency key names the identity.
        let key = TriggerFiring.idempotencyKey(trigger: try! TriggerName("in"), triggerID: 1, cause: .file(object))
        #expect(key == "trigger:in:file:\(object.identity(trigger: 1))")
        #expect(TriggerFiring.idempotencyKey(trigger: try! TriggerName("in"), triggerID: 1, cause: .file(uploadedAgain)) == key)
    }

    @Test func anObjectSettlesOnItsSizeAndETag() {
        var tracker = SettleTracker()
        let t0 = Date(timeIntervalSince1970: 1_000)
        let v1 = WatchedFile(path: "s3://b/in/a.csv", bytes: 10, modified: 1, etag: "\"1\"")
        var ready = [tracker.observe(v1, at: t0, settle: 5)]
        // Uploaded again with the same bytes: a new modification time, still settling since t0.
        var again = v1
        again.modified = 3
        ready.append(tracker.observe(again, at: t0 + 5, settle: 5))
        // Other bytes of the same size: settling starts again.
        var v2 = v1
        v2.etag = "\"2\""
        for seconds in [6.0, 10, 11] { ready.append(tracker.observe(v2, at: t0 + seconds, settle: 5)) }
        #expect(ready == [false, true, false, false, true])
        // Forgetting: by path, and by a rule (the range a listing covered).
        #expect(tracker.isTracking(v2.path))
        tracker.forget(v2.path)
        #expect(!tracker.isTracking(v2.path) && tracker.count == 0)
        _ = tracker.observe(v1, at: t0, settle: 5)
        _ = tracker.observe(WatchedFile(path: "s3://b/in/z.csv", bytes: 1, modified: 1, etag: "\"z\""), at: t0, settle: 5)
        tracker.forget { $0 < "s3://b/in/m" }
        #expect(!tracker.isTracking(v1.path) && tracker.isTracking("s3://b/in/z.csv"))
    }

    @Test func keysPerPassAreConfigurableAndCheckedAtTheirKey() async throws {
        #expect(try await TrainyardConfiguration.load(file: nil, environment: [:]).triggers.maxKeysPerPass == 1_000)
        let configured = try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_TRIGGERS_MAX_KEYS_PER_PASS": "25"])
        #expect(configured.triggers.maxKeysPerPass == 25)
        for bad in ["0", "1000001"] {
            do {
                _ = try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_TRIGGERS_MAX_KEYS_PER_PASS": bad])
                Issue.record("accepted \(bad)")
            } catch let error as TrainyardError {
                #expect(error.message.contains("triggers.max_keys_per_pass"), "\(error)")
            }
        }
    }
}
