import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TrainyardTestServices

/// Scale-out as a deployment runs it: one `trainyard server` and three `trainyard worker`
/// processes sharing PostgreSQL (registry + queue) and S3 (artifacts; moto_server here), and
/// nothing else: no process has a store of its own. 200 jobs (150 train, 50 transform) are
/// submitted over HTTP (half the transforms read and write S3, half local files); one worker is killed with SIGKILL while it runs a job. Every job must
/// end succeeded exactly once, each train job with exactly one version, and the objects in the
/// bucket are read back and checked by an independent client (boto3), not by Trainyard.
@Suite("Cluster: one server, three worker processes on PostgreSQL + S3", .serialized,
       .enabled(if: TestService.postgres.shouldRun && TestService.aws.shouldRun, "\(TestService.postgres.skipReason)"))
struct ClusterTests {
    static let models = 10
    static let versionsPerModel = 15
    static let transforms = 50

    @Test func twoHundredJobsSurviveAKilledWorker() async throws {
        let postgres = try TestService.postgres.require()
        let endpoint = try TestService.aws.require()
        let cli = try CLIHarness()
        let id = UUID().uuidString.prefix(8).lowercased()
        let bucket = "trainyard-cluster-\(id)"
        _ = try await Boto3.run("s3.create_bucket(Bucket=sys.argv[1])", [bucket])
        let environment = [
            "TRAINYARD_METADATA_URL": postgres.absoluteString,
            "TRAINYARD_ARTIFACTS_URL": "s3://\(bucket)/deployment",
            "TRAINYARD_S3_ENDPOINT": endpoint.absoluteString,
            "TRAINYARD_PROJECT": "cluster\(id)",
            // Short leases: the killed worker's job returns to the queue within seconds.
            "TRAINYARD_QUEUE_LEASE_SECONDS": "3",
        ]
        let port = try CrossProcessAliasTests.freePort()
        let server = cli.start(["server", "--port", String(port)], environment: environment)
        var workers = (0..<3).map { _ in cli.start(["worker", "--workers", "1"], environment: environment) }
        defer {
            for process in workers + [server] where process.isRunning { process.terminate() }
            for process in workers + [server] { process.waitUntilExit() }
        }
        let base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<2400 {
            if (try? await Self.http("GET", "\(base)/readyz"))?.status == 200 { ready = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(ready, "the server did not become ready")

        // The model the transforms score, trained by the cluster itself first.
        let iris = try Self.irisCSV(cli)
        let baseJob = try await Self.submitTrain(base, name: "flowers", data: iris)
        try #require(try await Self.waitForJobs(base, ids: [baseJob], timeout: .seconds(300)) == ["succeeded"])

        // 150 train jobs (10 models × 15 versions) and 50 transforms, interleaved.
        // Even transforms read and write S3 (inputs put by boto3), odd ones local files.
        let inputs = try Self.transformInputs(cli, count: Self.transforms)
        _ = try await Boto3.run("""
            import boto3, sys
            s3 = boto3.client('s3', endpoint_url=sys.argv[1])
            for n, path in enumerate(sys.argv[3:]):
                if n % 2 == 0: s3.upload_file(path, sys.argv[2], f'inputs/input-{n}.csv')
            """, [endpoint.absoluteString, bucket] + inputs.map(\.path))
        func location(_ n: Int) -> (input: String, output: String) {
            n % 2 == 0 ? ("s3://\(bucket)/inputs/input-\(n).csv", "s3://\(bucket)/outputs/\(n)/")
                       : (inputs[n].path, cli.workDirectory.appendingPathComponent("out/\(n)").path)
        }
        var trainJobs: [Int] = [], transformJobs: [Int] = []
        for i in 0..<(Self.models * Self.versionsPerModel) {
            trainJobs.append(try await Self.submitTrain(base, name: "model\(i % Self.models)", data: iris))
            if i % 3 == 0, transformJobs.count < Self.transforms {
                transformJobs.append(try await Self.submitTransform(base, location(transformJobs.count)))
            }
        }
        while transformJobs.count < Self.transforms {
            transformJobs.append(try await Self.submitTransform(base, location(transformJobs.count)))
        }
        #expect(Set(trainJobs + transformJobs).count == 200)

        // Kill the first worker while it runs a job (its id names its process).
        let victim = workers[0].processIdentifier
        var killedJob: Int?
        for _ in 0..<6000 where killedJob == nil {
            let running = try await Self.jobs(base, state: "running")
            if let job = running.first(where: { ($0["worker_id"] as? String)?.contains("-\(victim)-") == true }),
               let jobID = job["id"] as? Int {
                kill(victim, SIGKILL)
                killedJob = jobID
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let killed = try #require(killedJob, "the first worker never ran a job")
        workers[0].waitUntilExit()
        workers.remove(at: 0)

        let states = try await Self.waitForJobs(base, ids: trainJobs + transformJobs, timeout: .seconds(1500))
        #expect(states.allSatisfy { $0 == "succeeded" }, "\(Dictionary(grouping: states, by: { $0 }).mapValues(\.count))")
        let killedAttempts = try await Self.http("GET", "\(base)/api/v1/jobs/\(killed)").json?["attempt"] as? Int
        #expect(killedAttempts == 2, "the job running on the killed worker was retried once")

        // The registry: exactly one version per train job, numbers 1…15 per model.
        for m in 0..<Self.models {
            let versions = try await Self.http("GET", "\(base)/api/v1/models/model\(m)/versions").json?["versions"] as? [[String: Any]] ?? []
            let numbers = versions.compactMap { $0["version"] as? Int }.sorted()
            #expect(numbers == Array(1...Self.versionsPerModel), "model\(m): \(numbers)")
        }

        // The bucket, read by boto3: every version's manifest lists objects whose bytes hash to
        // what it says, nothing half-written is left under models/, no attempt's staging remains.
        let report = try await Boto3.run(Self.bucketCheck, [endpoint.absoluteString, bucket])
        let check = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any] ?? [:]
        #expect(check["versions"] as? Int == Self.models * Self.versionsPerModel + 1, "\(report)")
        #expect((check["bad"] as? [String])?.isEmpty == true, "\(report)")
        #expect((check["orphans"] as? [String])?.isEmpty == true, "\(report)")
        #expect((check["staging"] as? [String])?.isEmpty == true, "\(report)")

        // Each transform committed one output and one summary, counting every input row: in S3
        // (read by boto3) for the even ones, in local folders for the odd ones.
        let outputs = try await Boto3.run("""
            import boto3, json, sys
            s3 = boto3.client('s3', endpoint_url=sys.argv[1]); bucket = sys.argv[2]; found = {}
            for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix='outputs/'):
                for o in page.get('Contents', []):
                    n, name = o['Key'].split('/')[1:3]
                    body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()
                    entry = found.setdefault(n, {})
                    entry[name] = json.loads(body)['rows_out'] if name == '_SUCCESS.json' else body.count(b'\\n')
            print(json.dumps(found))
            """, [endpoint.absoluteString, bucket])
        let s3Outputs = try JSONSerialization.jsonObject(with: Data(outputs.utf8)) as? [String: [String: Int]] ?? [:]
        for n in stride(from: 0, to: Self.transforms, by: 2) {
            #expect(s3Outputs[String(n)] == ["_SUCCESS.json": 150, "input-\(n).csv.out": 151], "s3 outputs/\(n)/: \(s3Outputs[String(n)] ?? [:])")
        }
        for n in stride(from: 1, to: Self.transforms, by: 2) {
            let folder = cli.workDirectory.appendingPathComponent("out/\(n)")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(names == ["_SUCCESS.json", "input-\(n).csv.out"], "\(names)")
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("_SUCCESS.json"))) as? [String: Any]
            #expect(summary?["rows_out"] as? Int == 150, "\(summary ?? [:])")
            let lines = try String(contentsOf: folder.appendingPathComponent("input-\(n).csv.out"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 151)
        }
        _ = try? await Boto3.run("""
            import boto3, sys
            s3 = boto3.resource('s3', endpoint_url=sys.argv[1]).Bucket(sys.argv[2])
            s3.objects.all().delete(); s3.delete()
            """, [endpoint.absoluteString, bucket])
    }

    /// boto3's view of the bucket: every manifest's artifacts re-hashed.
    static let bucketCheck = """
        import boto3, hashlib, json, sys
        s3 = boto3.client('s3', endpoint_url=sys.argv[1]); bucket = sys.argv[2]
        keys = [o['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket) for o in page.get('Contents', [])]
        manifests = [k for k in keys if k.endswith('/manifest.json') and '/models/' in '/' + k]
        listed, bad = set(), []
        for m in manifests:
            folder = m[: -len('manifest.json')]
            listed.add(m)
            manifest = json.loads(s3.get_object(Bucket=bucket, Key=m)['Body'].read())
            for entry in manifest['artifacts']:
                key = folder + entry['name']; listed.add(key)
                body = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
                if hashlib.sha256(body).hexdigest() != entry['sha256'] or len(body) != entry['bytes']:
                    bad.append(key)
        # (publication claims, under .trainyard/publications/, are the store's own markers, not artifacts)
        orphans = [k for k in keys if '/models/' in '/' + k and '/.trainyard/' not in '/' + k and k not in listed]
        staging = [k for k in keys if '/staging/jobs/' in '/' + k and '/.trainyard/' not in '/' + k]
        print(json.dumps({"versions": len(manifests), 'bad': bad, 'orphans': orphans, 'staging': staging}))
        """

    // MARK: Helpers

    static func irisCSV(_ cli: CLIHarness) throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/iris-species/iris.csv")
        let copy = cli.workDirectory.appendingPathComponent("iris.csv")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy
    }

    /// 150-row CSV files of the iris features (no label) for the transforms.
    static func transformInputs(_ cli: CLIHarness, count: Int) throws -> [URL] {
        let rows = try String(contentsOf: try irisFeatures(cli), encoding: .utf8)
        let folder = cli.workDirectory.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try (0..<count).map { n in
            let url = folder.appendingPathComponent("input-\(n).csv")
            try rows.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
    }

    private static func irisFeatures(_ cli: CLIHarness) throws -> URL {
        let text = try String(contentsOf: cli.workDirectory.appendingPathComponent("iris.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        let keep = header.indices.filter { header[$0] != "species" }
        let out = ([keep.map { header[$0] }.joined(separator: ",")] + lines.prefix(150).map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return keep.map { fields[$0] }.joined(separator: ",")
        }).joined(separator: "\n") + "\n"
        let url = cli.workDirectory.appendingPathComponent("features.csv")
        try out.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func submitTrain(_ base: String, name: String, data: URL) async throws -> Int {
        let spec = """
            name: \(name)
            task: tabular-classification
            data: { train: \(data.path), target: species, validation: 0.2 }
            model: { algorithm: gbdt, params: { trees: 5 } }
            retries: 3
            """
        let answer = try await http("POST", "\(base)/api/v1/jobs", body: spec, type: "application/yaml")
        return try #require(answer.json?["id"] as? Int, "submit answered \(answer.status): \(answer.text)")
    }

    static func submitTransform(_ base: String, _ location: (input: String, output: String)) async throws -> Int {
        let body = #"{"model": "flowers", "input": "\#(location.input)", "output": "\#(location.output)", "retries": 3}"#
        let answer = try await http("POST", "\(base)/api/v1/transforms", body: body, type: "application/json")
        return try #require(answer.json?["id"] as? Int, "transform answered \(answer.status): \(answer.text)")
    }

    static func jobs(_ base: String, state: String) async throws -> [[String: Any]] {
        let answer = try await http("GET", "\(base)/api/v1/jobs?state=\(state)&limit=500")
        return answer.json?["jobs"] as? [[String: Any]] ?? []
    }

    /// Waits until every job is terminal; their states in order.
    static func waitForJobs(_ base: String, ids: [Int], timeout: Duration) async throws -> [String] {
        let start = ContinuousClock.now
        var states: [Int: String] = [:]
        while ContinuousClock.now - start < timeout {
            for id in ids where !["succeeded", "failed", "cancelled"].contains(states[id] ?? "") {
                states[id] = try await http("GET", "\(base)/api/v1/jobs/\(id)").json?["state"] as? String
            }
            if ids.allSatisfy({ ["succeeded", "failed", "cancelled"].contains(states[$0] ?? "") }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        return ids.map { states[$0] ?? "unknown" }
    }

    struct Answer {
        var status: Int
        var text: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] }
    }

    static func http(_ method: String, _ url: String, body: String? = nil, type: String? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let body { request.httpBody = Data(body.utf8) }
        if let type { request.setValue(type, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: (response as! HTTPURLResponse).statusCode, text: String(decoding: data, as: UTF8.self))
    }
}
