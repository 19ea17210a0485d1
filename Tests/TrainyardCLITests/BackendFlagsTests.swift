import Foundation
import Testing

/// `--metadata` / `--artifacts` (and their environment variables) through the real binary:
/// the same store as `--data-dir`, and clear exit-2 errors for what this build cannot open.
@Suite("CLI backend URLs")
struct BackendFlagsTests {
    /// A job submitted on the default data folder is seen through the URLs that name the same
    /// stores, from a command whose own data folder is elsewhere.
    @Test func urlsReachTheSameStoreAsTheDataFolder() async throws {
        let cli = try CLIHarness()
        let spec = try cli.writeIrisSpec(name: "iris-by-url")
        let submitted = try await cli.run(["train", spec.path])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let data = cli.dataDirectory.path
        let elsewhere = cli.workDirectory.appendingPathComponent("elsewhere").path
        let listed = try await cli.run(["jobs", "ls", "--json", "--data-dir", elsewhere,
                                        "--metadata", "sqlite://\(data)/trainyard.sqlite", "--artifacts", "file://\(data)/artifacts"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("iris-by-url"))
        let viaEnvironment = try await cli.run(["jobs", "ls", "--json"], environment: [
            "TRAINYARD_DATA_DIR": elsewhere, "TRAINYARD_METADATA_URL": "sqlite://\(data)/trainyard.sqlite",
            "TRAINYARD_ARTIFACTS_URL": "file://\(data)/artifacts",
        ])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
        #expect(viaEnvironment.stdout.contains("iris-by-url"))
        #expect(!FileManager.default.fileExists(atPath: elsewhere + "/trainyard.sqlite"))
    }

    @Test func anUnreachablePostgresStoreFailsNamingItWithoutThePassword() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["jobs", "ls", "--metadata", "postgres://trainyard:hunter2secret@127.0.0.1:1/registry?sslmode=disable"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("postgres://trainyard:***@127.0.0.1:1/registry"), "\(r.stderr)")
        #expect(!r.stderr.contains("hunter2secret"))
        #expect(!FileManager.default.fileExists(atPath: cli.dataDirectory.appendingPathComponent("trainyard.sqlite").path))
    }

    @Test func aBadURLNamesItsKey() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["models", "ls"], environment: ["TRAINYARD_ARTIFACTS_URL": "file:relative/folder"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("artifacts: \"file:relative/folder\" is not a valid file:// URL"), "\(r.stderr)")
    }
}
