import Crypto
import Foundation
import Testing
import TrainyardTestServices

/// The `trainyard` binary with its data in S3 (moto at `TRAINYARD_S3_ENDPOINT`) and its store in a
/// local folder: a spec whose `data.train` is an object trains and names the object in the
/// version's lineage; a transform scores a prefix into a prefix (read back by boto3); a missing
/// bucket or object exits 2 naming the URI; without S3 credentials s3:// exits 2 saying so.
@Suite("CLI: s3:// data", .serialized)
struct S3DataCommandTests {
    static var iris: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/iris-species/iris.csv")
    }

    /// The iris rows without the species: what a transform scores.
    static func features(_ rows: ArraySlice<Substring>) -> String {
        "sepal_length,sepal_width,petal_length,petal_width\n" + rows.map { $0.split(separator: ",").prefix(4).joined(separator: ",") + "\n" }.joined()
    }

    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func trainsOnAnObjectAndTransformsAPrefixIntoAPrefix() async throws {
        let endpoint = try TestService.aws.require()
        let s3 = ["TRAINYARD_S3_ENDPOINT": endpoint.absoluteString]
        let cli = try CLIHarness()
        let bucket = "cli-data-" + UUID().uuidString.lowercased().prefix(18)
        _ = try await Boto3.run("s3.create_bucket(Bucket=sys.argv[1])", [bucket])
        defer {
            _ = try? Boto3.runNow("""
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]):
                    for item in page.get("Contents", []):
                        s3.delete_object(Bucket=sys.argv[1], Key=item["Key"])
                s3.delete_bucket(Bucket=sys.argv[1])
                """, [bucket])
        }
        _ = try await Boto3.run("s3.upload_file(sys.argv[3], sys.argv[1], sys.argv[2])", [bucket, "train/iris.csv", Self.iris.path])
        let spec = try cli.write("spec.yaml", """
            name: iris-s3
            task: tabular-classification
            data: { train: s3://\(bucket)/train/iris.csv, target: species, validation: 0.2 }
            model: { algorithm: gbdt, params: { trees: 10 } }
            """)
        let trained = try await cli.run(["train", spec.path, "--wait"], environment: s3)
        #expect(trained.status == 0, "\(trained.stdout) \(trained.stderr)")
        let shown = try await cli.run(["models", "show", "iris-s3", "--json"], environment: s3)
        #expect(shown.stdout.contains("s3://\(bucket)/train/iris.csv") && shown.stdout.contains("etag"), "\(shown.stdout)")

        let lines = try String(contentsOf: Self.iris, encoding: .utf8).split(separator: "\n").dropFirst()
        let first = Self.features(lines.prefix(100)), second = Self.features(lines.dropFirst(100))
        for (key, text) in [("in/first.csv", first), ("in/second.csv", second)] {
            _ = try await Boto3.run("s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=sys.argv[3].encode())", [bucket, key, text])
        }
        let transformed = try await cli.run(["transform", "iris-s3", "--input", "s3://\(bucket)/in", "--output", "s3://\(bucket)/out/", "--wait"],
                                            environment: s3)
        #expect(transformed.status == 0, "\(transformed.stdout) \(transformed.stderr)")
        let keys = try await Boto3.run("""
            for item in s3.list_objects_v2(Bucket=sys.argv[1], Prefix="out/").get("Contents", []):
                print(item["Key"])
            """, [bucket]).split(separator: "\n").map(String.init).sorted()
        #expect(keys == ["out/_SUCCESS.json", "out/first.csv.out", "out/second.csv.out"])
        let summary = try await Boto3.run("print(s3.get_object(Bucket=sys.argv[1], Key='out/_SUCCESS.json')['Body'].read().decode())", [bucket])
        let decoded = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any] ?? [:]
        let files = decoded["files"] as? [[String: Any]] ?? []
        #expect(files.count == 2, "\(summary)")
        for file in files {
            let output = try #require(file["output"] as? String)
            let digest = try await Boto3.run("import hashlib\nprint(hashlib.sha256(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read()).hexdigest())",
                                       [bucket, "out/" + output])
            #expect(file["sha256"] as? String == digest)
            let rows = output.hasPrefix("first") ? 100 : 50
            #expect(file["rows_in"] as? Int == rows && file["rows_out"] as? Int == rows, "\(file)")
        }

        // Exit 2 naming the URI: a missing object, a missing bucket.
        let missing = try await cli.run(["transform", "iris-s3", "--input", "s3://\(bucket)/nothing.csv", "--output", "s3://\(bucket)/o/"], environment: s3)
        #expect(missing.status == 2 && missing.stderr.contains("s3://\(bucket)/nothing.csv"), "\(missing.stderr)")
        let gone = try cli.write("gone.yaml", "name: gone\ntask: tabular-classification\ndata: { train: s3://\(bucket)-missing/x.csv, target: species }\n")
        let refused = try await cli.run(["train", gone.path], environment: s3)
        #expect(refused.status == 2 && refused.stderr.contains("\(bucket)-missing") && refused.stderr.contains("data.train"), "\(refused.stderr)")
    }

    @Test(.enabled(if: TestService.aws.shouldRun, "\(TestService.aws.skipReason)"))
    func withoutCredentialsS3DataExitsTwoSayingSo() async throws {
        let endpoint = try TestService.aws.require()
        let cli = try CLIHarness()
        let spec = try cli.write("spec.yaml", "name: nocreds\ntask: tabular-classification\ndata: { train: s3://some-bucket/x.csv, target: species }\n")
        let anonymous = ["TRAINYARD_S3_ENDPOINT": endpoint.absoluteString, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "",
                         "AWS_EC2_METADATA_DISABLED": "true", "HOME": cli.workDirectory.path,
                         "AWS_SHARED_CREDENTIALS_FILE": cli.workDirectory.appendingPathComponent("none").path,
                         "AWS_CONFIG_FILE": cli.workDirectory.appendingPathComponent("none").path]
        let refused = try await cli.run(["train", spec.path], environment: anonymous)
        #expect(refused.status == 2 && refused.stderr.contains("no S3 credentials") && refused.stderr.contains("s3://some-bucket/x.csv"), "\(refused.stderr)")
    }
}
