import Foundation
import Testing
import TrainyardTestServices

/// `trainyard watch add NAME --path s3://BUCKET/PREFIX …`: a bad prefix exits 2 naming the
/// problem and creates nothing; on S3 (moto, `TRAINYARD_S3_ENDPOINT`) the trigger is created,
/// listed and shown with its prefix, a missing bucket exits 2 naming it, and `up` fires a train
/// job for an object boto3 puts under the prefix, `${trigger.file}` being its `s3://` URI.
@Suite("CLI: s3:// watch triggers", .serialized)
struct S3WatchCommandTests {
    func triggerNames(_ cli: CLIHarness, _ environment: [String: String] = [:]) async throws -> [String] {
        let r = try await cli.run(["triggers", "ls", "--json"], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }
    }

    @Test func badPrefixesExitTwoAndCreateNothing() async throws {
        let cli = try CLIHarness()
        let cases: [([String], String)] = [
            (["watch", "add", "n", "--path", "s3://Bad_Bucket/in", "--transform", "iris", "--output", "s3://bucket/out/"], "is not an S3 bucket name"),
            (["watch", "add", "n", "--path", "s3:///in", "--transform", "iris", "--output", "s3://bucket/out/"], "names no bucket"),
            (["watch", "add", "n", "--path", "s3://bucket/in", "--glob", "sub/*.csv", "--transform", "iris", "--output", "o"], "'/'"),
        ]
        for (arguments, expected) in cases {
            let r = try await cli.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
        #expect(try await triggerNames(cli).isEmpty)
    }

    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func addListShowOnABucketAndUpFiresForAnObjectPutByBoto3() async throws {
        let endpoint = try TestService.aws.require()
        let s3 = ["TRAINYARD_S3_ENDPOINT": endpoint.absoluteString]
        let cli = try CLIHarness()
        let bucket = "cli-watch-" + UUID().uuidString.lowercased().prefix(18)
        try await Boto3.run("s3.create_bucket(Bucket=sys.argv[1])", [bucket])
        defer {
            _ = try? Boto3.runNow("""
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]):
                    for item in page.get("Contents", []):
                        s3.delete_object(Bucket=sys.argv[1], Key=item["Key"])
                s3.delete_bucket(Bucket=sys.argv[1])
                """, [bucket])
        }
        // On the local store.
        let added = try await cli.run(["watch", "add", "landing", "--path", "s3://\(bucket)/in", "--glob", "*.csv",
                                       "--transform", "iris@production", "--output", "s3://\(bucket)/out/", "--json"], environment: s3)
        #expect(added.status == 0, "\(added.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any] ?? [:]
        #expect((json["watch"] as? [String: Any])?["path"] as? String == "s3://\(bucket)/in/")
        let table = try await cli.run(["triggers", "ls"], environment: s3)
        #expect(table.stdout.contains("s3://\(bucket)/in/*.csv"), "\(table.stdout)")
        let missing = try await cli.run(["watch", "add", "gone", "--path", "s3://\(bucket)-missing/in", "--transform", "iris", "--output", "o"],
                                        environment: s3)
        #expect(missing.status == 2 && missing.stderr.contains("\(bucket)-missing"), "\(missing.stderr)")
        #expect(try await triggerNames(cli, s3) == ["landing"])
        #expect(try await cli.run(["triggers", "rm", "landing"], environment: s3).status == 0)

        // `up` fires it: a train job whose data is the object.
        let spec = try cli.write("retrain/spec.yaml", "name: demo\ntask: command\ncommand: [\"true\"]\ndata: { train: ${trigger.file} }\nretries: 0\n")
        let port = try CrossProcessAliasTests.freePort()
        let server = cli.start(["up", "--port", String(port), "--workers", "1"], environment: s3.merging(["TRAINYARD_TRIGGERS_POLL_MS": "100"]) { $1 })
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<1200 {
            if (try? await CrossProcessAliasTests.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(up, "the server did not start")
        let watch = try await cli.run(["watch", "add", "retrain", "--path", "s3://\(bucket)/in/", "--settle", "0s", "--train", spec.path, "--server", base])
        #expect(watch.status == 0, "\(watch.stderr)")
        try await Boto3.run("s3.put_object(Bucket=sys.argv[1], Key='in/day-1.csv', Body=b'x,y\\n1,2\\n')", [bucket])
        var origins: [String] = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(120) {
            let jobs = try await cli.run(["jobs", "ls", "--json", "--server", base])
            let list = try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [[String: Any]] ?? []
            origins = list.compactMap { (($0["spec"] as? [String: Any])?["origin"] as? [String: Any])?["file"] as? String }
            if !origins.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(origins == ["s3://\(bucket)/in/day-1.csv"])
        let shown = try await cli.run(["triggers", "show", "retrain", "--server", base])
        #expect(shown.stdout.contains("fired      1 time(s)") && shown.stdout.contains("fires on   s3://\(bucket)/in/* (settle"), "\(shown.stdout)")
    }
}
