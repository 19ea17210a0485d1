import Foundation
import Testing

/// `train --check` makes the submit's checks, data files included, and enqueues nothing
/// (issue 9 item 13: a missing target column used to pass `--check` and fail the submit).
@Suite("train --check is as strict as a submit")
struct TrainCheckTests {
    static func spec(train: String) -> String {
        "name: checked\ntask: tabular-regression\ndata:\n  train: \(train)\n  target: price\n"
    }

    @Test func missingTargetColumnFailsTheCheckWithExitTwo() async throws {
        let cli = try CLIHarness()
        _ = try cli.write("data.csv", "size,cost\n1,2\n2,4\n")
        let spec = try cli.write("spec.yaml", Self.spec(train: "data.csv"))
        let check = try await cli.run(["train", "--check", spec.path])
        #expect(check.status == 2, "\(check.stdout)\(check.stderr)")
        #expect(check.stderr.contains("data.train"))
        #expect(check.stderr.contains("price"))
        #expect(!check.stdout.contains("ok:"))
        // The submit refuses the same spec for the same reason.
        let submit = try await cli.run(["train", spec.path])
        #expect(submit.status == 2)
        #expect(submit.stderr.contains("price"))
        let jobs = try await cli.run(["jobs", "ls", "--json"])
        #expect(!jobs.stdout.contains("\"id\""))
    }

    @Test func dataFileProblemsFailTheCheck() async throws {
        let cli = try CLIHarness()
        for (train, words) in [("missing.csv", "does not exist"), ("/dev/zero", "regular file")] {
            let spec = try cli.write("spec.yaml", Self.spec(train: train))
            let check = try await cli.run(["train", "--check", spec.path])
            #expect(check.status == 2, "\(train): \(check.stderr)")
            #expect(check.stderr.contains(words), "\(train): \(check.stderr)")
        }
    }

    @Test func aGoodSpecPassesAndNothingIsEnqueued() async throws {
        let cli = try CLIHarness()
        _ = try cli.write("data.csv", "size,price\n1,2\n2,4\n")
        let spec = try cli.write("spec.yaml", Self.spec(train: "data.csv"))
        let check = try await cli.run(["train", "--check", spec.path])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("ok: checked (tabular-regression)"))
        let jobs = try await cli.run(["jobs", "ls", "--json"])
        #expect(!jobs.stdout.contains("\"id\""))
    }
}
