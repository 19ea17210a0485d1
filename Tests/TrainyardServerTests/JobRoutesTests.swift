import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing
import TrainyardCore
@testable import TrainyardServer

@Suite("Control API: jobs and blobs")
struct JobRoutesTests {
    @Test func submitsYAMLAndJSONSpecs() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let yaml = try await client.execute(uri: "/api/v1/jobs?priority=7&delay=30s", method: .post,
                                                headers: [.contentType: "application/yaml"], body: body(Specs.command("yaml-model")))
            #expect(yaml.status == .created)
            let job = try yaml.decode(Job.self)
            #expect(job.model.rawValue == "yaml-model")
            #expect(job.state == .queued)
            #expect(job.priority == 7)
            #expect(job.runAfter > job.createdAt.addingTimeInterval(25))
            #expect(yaml.headers[.location] == "/api/v1/jobs/\(job.id)")

            let bare = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                                                body: body(#"{"name": "json-model", "task": "command", "command": ["true"]}"#))
            #expect(bare.status == .created)
            #expect(try bare.decode(Job.self).model.rawValue == "json-model")

            let wrapped = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json; charset=utf-8"],
                                                   body: body(try JSON.encodeString(["spec": Specs.command("wrapped")])))
            #expect(wrapped.status == .created)
            #expect(try wrapped.decode(Job.self).model.rawValue == "wrapped")

            let object = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                                                  body: body(#"{"spec": {"name": "obj", "task": "command", "command": ["true"]}}"#))
            #expect(object.status == .created)

            let text = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "text/plain"], body: body(Specs.command("plain")))
            #expect(text.status == .created)
        }
        #expect(try await f.store.jobs(JobFilter()).count == 5)
    }

    /// A client that retries a submission with the same Idempotency-Key gets the first job
    /// back (200) and no second job is queued; another key or none makes a new job.
    @Test func idempotencyKeyMakesRetriedSubmissionsReturnTheFirstJob() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let key = HTTPField.Name("Idempotency-Key")!
            let first = try await client.execute(uri: "/api/v1/jobs", method: .post,
                                                 headers: [.contentType: "application/yaml", key: "upload-2026-12-02"], body: body(Specs.command("once")))
            #expect(first.status == .created)
            let job = try first.decode(Job.self)
            let retried = try await client.execute(uri: "/api/v1/jobs", method: .post,
                                                   headers: [.contentType: "application/yaml", key: "upload-2026-12-02"], body: body(Specs.command("once")))
            #expect(retried.status == .ok)
            #expect(try retried.decode(Job.self).id == job.id)
            #expect(retried.headers[.location] == "/api/v1/jobs/\(job.id)")
            let other = try await client.execute(uri: "/api/v1/jobs", method: .post,
                                                 headers: [.contentType: "application/yaml", key: "upload-2026-12-03"], body: body(Specs.command("once")))
            #expect(other.status == .created)
            let tooLong = try await client.execute(uri: "/api/v1/jobs", method: .post,
                                                   headers: [.contentType: "application/yaml", key: String(repeating: "k", count: 300)], body: body(Specs.command("once")))
            #expect(tooLong.status == .badRequest)
        }
        #expect(try await f.store.jobs(JobFilter()).count == 2)
    }

    @Test func badSpecIs400WithLineAndColumnAndEnqueuesNothing() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let spec = """
                name: demo
                task: command
                command: ["true"]
                retries: lots
                """
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "text/yaml"], body: body(spec))
            #expect(response.status == .badRequest)
            let error = try #require(try response.json()["error"])
            #expect(error["code"]?.stringValue == "invalid_spec")
            let detail = try #require(error["details"]?.arrayValue?.first)
            #expect(detail["path"]?.stringValue == "retries")
            #expect(detail["line"]?.intValue == 4)
            #expect(detail["column"]?.intValue != nil)

            let syntax = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                                                  body: body("{\"name\": \"x\",\n  \"task\": [}"))
            #expect(syntax.status == .badRequest)
            #expect(syntax.errorCode == "invalid_spec")

            let badQuery = try await client.execute(uri: "/api/v1/jobs?delay=soon", method: .post, headers: [.contentType: "text/yaml"],
                                                    body: body(Specs.command()))
            #expect(badQuery.status == .badRequest)
            #expect(badQuery.errorCode == "invalid_argument")

            let relative = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "text/yaml"],
                                                    body: body(Specs.command() + "\ndata:\n  train: data/x.csv\n"))
            #expect(relative.status == .badRequest)
        }
        #expect(try await f.store.jobs(JobFilter()).isEmpty)
    }

    @Test func unsupportedMediaTypeIs415() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        try await f.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                    body: body("name=demo"))
            #expect(response.status == .unsupportedMediaType)
            #expect(response.errorCode == "unsupported_media_type")
        }
        #expect(try await f.store.jobs(JobFilter()).isEmpty)
    }

    @Test func listsFiltersShowsAndCancelsJobs() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let a = try await f.services.submitter.submit(Specs.command("alpha"))
        let b = try await f.services.submitter.submit(Specs.command("beta"))
        let c = try await f.services.submitter.submit(Specs.command("alpha"))
        // A job that fails for good: the dead-letter listing.
        let lease = try #require(try await f.store.dequeue(workerID: "w", kinds: [.train], leaseDuration: .seconds(60)))
        _ = try await f.store.fail(lease.token, reason: "boom", retryable: false)
        let failedID = lease.job.id

        try await f.application().test(.router) { client in
            let all = try await client.execute(uri: "/api/v1/jobs", method: .get)
            #expect(all.status == .ok)
            struct Page: Decodable { var jobs: [Job] }
            #expect(try all.decode(Page.self).jobs.map(\.id) == [c.id, b.id, a.id])

            let failed = try await client.execute(uri: "/api/v1/jobs?state=failed", method: .get)
            let failedJobs = try failed.decode(Page.self).jobs
            #expect(failedJobs.map(\.id) == [failedID])
            #expect(failedJobs.first?.failureReason == "boom")

            let several = try await client.execute(uri: "/api/v1/jobs?state=failed,queued&model=alpha", method: .get)
            #expect(Set(try several.decode(Page.self).jobs.map(\.model.rawValue)) == ["alpha"])
            let repeated = try await client.execute(uri: "/api/v1/jobs?state=failed&state=queued&kind=train", method: .get)
            #expect(try repeated.decode(Page.self).jobs.count == 3)

            let paged = try await client.execute(uri: "/api/v1/jobs?limit=2", method: .get)
            let page = try paged.json()
            #expect(page["jobs"]?.arrayValue?.count == 2)
            #expect(page["next_before"]?.intValue == Int(b.id))
            let next = try await client.execute(uri: "/api/v1/jobs?limit=2&before=\(b.id)", method: .get)
            #expect(try next.decode(Page.self).jobs.map(\.id) == [a.id])

            #expect(try await client.execute(uri: "/api/v1/jobs?state=lost", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/jobs?limit=0", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/jobs?model=Bad_Name", method: .get).status == .badRequest)

            let show = try await client.execute(uri: "/api/v1/jobs/\(b.id)", method: .get)
            #expect(try show.decode(Job.self).id == b.id)
            let missing = try await client.execute(uri: "/api/v1/jobs/9999", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
            let notInt = try await client.execute(uri: "/api/v1/jobs/abc", method: .get)
            #expect(notInt.status == .badRequest)
            #expect(try notInt.json()["error"]?["message"]?.stringValue?.contains("positive integer") == true)

            let cancel = try await client.execute(uri: "/api/v1/jobs/\(b.id)/cancel", method: .post)
            #expect(cancel.status == .ok)
            #expect(try cancel.decode(Job.self).state == .cancelled)
            let again = try await client.execute(uri: "/api/v1/jobs/\(b.id)/cancel", method: .post)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "conflict")
            #expect(try await client.execute(uri: "/api/v1/jobs/9999/cancel", method: .post).status == .notFound)
        }
    }

    @Test func logsAsJSONPageAndJSONLines() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let job = try await f.services.submitter.submit(Specs.command())
        try await f.store.appendLog(job.id, lines: ["one", "two", "three"])
        try await f.application().test(.router) { client in
            let page = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs", method: .get)
            struct Page: Decodable { var lines: [LogLine] }
            let lines = try page.decode(Page.self).lines
            #expect(lines.map(\.text) == ["one", "two", "three"])
            let after = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs?after=\(lines[0].sequence)", method: .get)
            #expect(try after.decode(Page.self).lines.map(\.text) == ["two", "three"])
            let ndjson = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs", method: .get, headers: [.accept: "application/x-ndjson"])
            #expect(ndjson.text.split(separator: "\n").count == 3)
            #expect(try await client.execute(uri: "/api/v1/jobs/9999/logs", method: .get).status == .notFound)
        }
    }

    @Test func followsLogsAsServerSentEvents() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let job = try await f.services.submitter.submit(Specs.command())
        try await f.store.appendLog(job.id, lines: ["before"])
        let store = f.store
        try await f.application().test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Lines appended while the stream is open, then the job ends and the stream closes.
                    try await Task.sleep(for: .milliseconds(100))
                    try await store.appendLog(job.id, lines: ["during-1", "during-2"])
                    try await Task.sleep(for: .milliseconds(100))
                    _ = try await store.cancel(job.id)
                }
                let response = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs", method: .get, headers: [.accept: "text/event-stream"])
                try await group.waitForAll()
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = parseEvents(response.text)
                #expect(events.filter { $0.name == "log" }.map { $0.data["text"]?.stringValue } == ["before", "during-1", "during-2"])
                #expect(events.filter { $0.name == "log" }.allSatisfy { $0.id != nil })
                #expect(events.first { $0.name == "progress" }?.data["state"]?.stringValue == "queued")
                let end = try #require(events.last)
                #expect(end.name == "end")
                #expect(end.data["state"]?.stringValue == "cancelled")
            }
            // A finished job's stream replays from `after` and ends at once.
            let replay = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs?follow=true&after=1", method: .get)
            let events = parseEvents(replay.text)
            #expect(events.filter { $0.name == "log" }.count == 2)
            #expect(events.last?.name == "end")

            // An EventSource reconnecting resumes after the last id it saw.
            let resumed = try await client.execute(uri: "/api/v1/jobs/\(job.id)/logs", method: .get,
                                                   headers: [.accept: "text/event-stream", .init("Last-Event-ID")!: "2"])
            #expect(parseEvents(resumed.text).filter { $0.name == "log" }.map { $0.data["text"]?.stringValue } == ["during-2"])

            let states = try await client.execute(uri: "/api/v1/jobs/\(job.id)/events", method: .get)
            let stateEvents = parseEvents(states.text)
            #expect(stateEvents.map(\.name) == ["progress", "end"])
        }
    }

    @Test func blobsAreVerifiedAndStored() async throws {
        let f = try await Fixture.make()
        defer { f.remove() }
        let content = "a,b\n1,2\n"
        let hex = "5b8d1ba1fc9a4c1d2f1a6fbf88c7b13e4ee6f0a3dc06bdf3f2bfd15c3e7eaf0b"  // not the digest of content
        let real = sha256Hex(content)
        try await f.application().test(.router) { client in
            #expect(try await client.execute(uri: "/api/v1/blobs/sha256/\(real)", method: .head).status == .notFound)
            let wrong = try await client.execute(uri: "/api/v1/blobs/sha256/\(hex)", method: .put, body: body(content))
            #expect(wrong.status == .badRequest)
            #expect(wrong.errorCode == "invalid_argument")
            let bad = try await client.execute(uri: "/api/v1/blobs/sha256/nothex", method: .put, body: body(content))
            #expect(bad.status == .badRequest)
            let created = try await client.execute(uri: "/api/v1/blobs/sha256/\(real)", method: .put,
                                                   headers: [.contentType: "application/octet-stream"], body: body(content))
            #expect(created.status == .created)
            #expect(try created.json()["reference"]?.stringValue == "artifact:sha256:\(real)")
            let again = try await client.execute(uri: "/api/v1/blobs/sha256/\(real)", method: .put, body: body(content))
            #expect(again.status == .ok)
            #expect(try await client.execute(uri: "/api/v1/blobs/sha256/\(real)", method: .head).status == .ok)

            // A spec can now refer to the staged blob.
            let spec = Specs.command("staged") + "\ndata:\n  train: artifact:sha256:\(real)\n"
            let submitted = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/yaml"], body: body(spec))
            #expect(submitted.status == .created)
            #expect(try submitted.decode(Job.self).spec.data.train == "artifact:sha256:\(real)")

            // What the CLI sends: the original spec text plus the digests it uploaded.
            let original = Specs.command("cli") + "\ndata:\n  train: data/train.csv\n"
            let submission = try JSON.encodeString(Submission(spec: original, staged: [
                DataDigest(key: "data.train", source: "data/train.csv", sha256: real, bytes: Int64(content.utf8.count)),
            ]))
            let cli = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json"], body: body(submission))
            #expect(cli.status == .created)
            let cliJob = try cli.decode(Job.self)
            #expect(cliJob.spec.data.train == "artifact:sha256:\(real)")
            #expect(cliJob.spec.staged.first?.source == "data/train.csv")

            let missingBlob = try JSON.encodeString(Submission(spec: original, staged: [
                DataDigest(key: "data.train", source: "data/train.csv", sha256: String(repeating: "0", count: 64), bytes: 1),
            ]))
            let refused = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/json"], body: body(missingBlob))
            #expect(refused.status == .badRequest)
        }
        #expect(try await f.services.artifacts.get(ArtifactKeys.blob(sha256: real)) == Data(content.utf8))
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let f = try await Fixture.make(maxBodyBytes: 256)
        defer { f.remove() }
        let big = String(repeating: "# padding\n", count: 100) + Specs.command()
        try await f.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/jobs", method: .post, headers: [.contentType: "application/yaml"], body: body(big))
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
            let blob = try await client.execute(uri: "/api/v1/blobs/sha256/\(sha256Hex(big))", method: .put, body: body(big))
            #expect(blob.status == .contentTooLarge)
        }
        #expect(try await f.store.jobs(JobFilter()).isEmpty)
    }
}

struct Submission: Encodable {
    var spec: String
    var staged: [DataDigest]
}

struct SSEEvent {
    var id: String?
    var name: String
    var data: JSONValue
}

func parseEvents(_ text: String) -> [SSEEvent] {
    text.components(separatedBy: "\n\n").compactMap { block in
        var id: String?, name = "message", data = ""
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
            else if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            else if line.hasPrefix("data: ") { data += line.dropFirst(6) }
        }
        guard !data.isEmpty, let value = try? JSON.decode(JSONValue.self, from: Data(data.utf8)) else { return nil }
        return SSEEvent(id: id, name: name, data: value)
    }
}

import Crypto
func sha256Hex(_ text: String) -> String { SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }
