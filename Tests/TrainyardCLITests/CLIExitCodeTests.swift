import Foundation
import Testing

@Suite("CLI exit codes and bad input")
struct CLIExitCodeTests {
    @Test func badSpecExitsTwoWithLineAndColumnAndEnqueuesNothing() async throws {
        let cli = try CLIHarness()
        let spec = try cli.write("bad.yaml", """
            name: demo
            task: tabular-regression
            data:
              train: data.csv
              target: price
            model:
              algorithm: gbdt
            retries: "two"
            """)
        let r = try await cli.run(["train", spec.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("retries"))
        #expect(r.stderr.contains("line 8"))
        let jobs = try await cli.run(["jobs", "ls", "--json"])
        #expect(jobs.status == 0)
        #expect(jobs.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || jobs.stdout.contains("[]") || !jobs.stdout.contains("\"id\""))
    }

    @Test func yamlSyntaxErrorNamesLine() async throws {
        let cli = try CLIHarness()
        let spec = try cli.write("broken.yaml", "name: demo\ntask: [command\n")
        let r = try await cli.run(["train", spec.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("line"))
    }

    @Test func unknownCommandOrFlagIsUsageErrorTwo() async throws {
        let cli = try CLIHarness()
        #expect(try await cli.run(["jobs", "ls", "--no-such-flag"]).status == 2)
        #expect(try await cli.run(["frobnicate"]).status == 2)
    }

    @Test func missingJobIsNotFound() async throws {
        let cli = try CLIHarness()
        let r = try await cli.run(["jobs", "show", "999"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("not found"))
    }

    @Test func commandJobTrainsAndRegistersAndFailureCarriesReason() async throws {
        let cli = try CLIHarness()
        _ = try cli.write("good/data.csv", "x,y\n1,2\n3,4\n")
        _ = try cli.write("good/train.py", """
            import os, json
            open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.txt"), "w").write("ok")
            print("metric: loss=0.5 step=1")
            print("metric: loss=0.25 step=2")
            json.dump({"accuracy": 0.9}, open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "metrics.json"), "w"))
            """)
        let good = try cli.write("good/spec.yaml", """
            name: good
            task: command
            command: ["python3", "train.py"]
            data: { train: data.csv }
            """)
        let r = try await cli.run(["train", good.path, "--wait"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("registered good:1"))
        let show = try await cli.run(["models", "show", "good", "--json"])
        #expect(show.stdout.contains("\"accuracy\""))

        _ = try cli.write("bad/train.py", """
            import os, sys
            open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "failure"), "w").write("the data is not what I expected")
            sys.exit(3)
            """)
        let bad = try cli.write("bad/spec.yaml", """
            name: bad
            task: command
            command: ["python3", "train.py"]
            retries: 0
            """)
        let f = try await cli.run(["train", bad.path, "--wait"])
        #expect(f.status == 1)
        #expect(f.stdout.contains("the data is not what I expected") || f.stderr.contains("the data is not what I expected"))
        let dead = try await cli.run(["jobs", "ls", "--state", "failed"])
        #expect(dead.stdout.contains("bad"))
    }
}
