import Foundation
import Testing
import TrainyardTestSupport
import TrainyardCore
import TrainyardTestServices
@testable import TrainyardRuntime

/// How bring-your-own programs are started and stopped (`ChildProcess`, used by the command
/// trainer and the serve processes): environment, signals, process group, folders, user,
/// write restriction.
@Suite("ChildProcess")
struct ChildProcessTests {
    /// A temporary folder with the files given (name → contents).
    static func folder(_ files: [String: String] = [:]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return root
    }

    /// A training run of `command` with `folder` as its code, scratch under `folder/scratch`.
    static func run(_ command: [String], folder: URL, env: [String: String] = [:], recorder: JobProgressRecorder = JobProgressRecorder()) throws
        -> TrainingRun {
        var spec = Spec(name: try ModelName("child"), task: .command, command: command)
        spec.env = env
        return TrainingRun(jobID: 7, attempt: 1, spec: spec, inputs: [:], codeDirectory: folder,
                           workDirectory: folder.appendingPathComponent("scratch"), warmStart: nil, progress: recorder)
    }


    static func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws {
        if try await Polling.until(timeout: timeout, every: .milliseconds(50), { try condition() }) { return }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    static func pid(in file: URL) throws -> Int32 {
        try #require(Int32(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    // MARK: Environment

    @Test func theProgramSeesOnlyTheContractTheAllowListAndTheSpecsEnv() async throws {
        // Secrets in the server's own environment (names no other test reads).
        setenv("AWS_TRAINYARD_CHILD_TEST_SECRET", "child-test-aws-secret", 1)
        setenv("TRAINYARD_CHILD_TEST_TOKENS", "admin:child-test-token:admin", 1)
        setenv("CHILD_TEST_ALLOWED", "let-through", 1)
        let folder = try Self.folder(["dump.sh": #"env > "$TRAINYARD_MODEL_DIR/env.txt""#])
        var runner = RunnerOptions()
        runner.environmentAllowList += ["CHILD_TEST_*"]
        let output = try await CommandTrainer(runner: runner).train(
            try Self.run(["sh", "dump.sh"], folder: folder, env: ["OMP_NUM_THREADS": "3", "LD_PRELOAD": "/evil.so"]))
        let text = try String(contentsOf: try #require(output.artifacts["env.txt"]), encoding: .utf8)
        var env: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { env[String(parts[0])] = String(parts[1]) }
        }
        #expect(!text.contains("child-test-aws-secret") && !text.contains("child-test-token"))
        #expect(env["LD_PRELOAD"] == nil, "a spec that bypassed the parser still cannot set the loader")
        #expect(env["OMP_NUM_THREADS"] == "3")
        #expect(env["CHILD_TEST_ALLOWED"] == "let-through")
        #expect(env["TRAINYARD_JOB_ID"] == "7")
        #expect(env["PYTHONUNBUFFERED"] == "1")
        for name in ["TRAINYARD_INPUT_DIR", "TRAINYARD_MODEL_DIR", "TRAINYARD_CHECKPOINT_DIR", "TRAINYARD_HYPERPARAMETERS", "TRAINYARD_OUTPUT_DIR"] {
            #expect(env[name] != nil, "\(name) missing")
        }
        let contract: Set<String> = ["TRAINYARD_INPUT_DIR", "TRAINYARD_MODEL_DIR", "TRAINYARD_CHECKPOINT_DIR", "TRAINYARD_HYPERPARAMETERS",
                                     "TRAINYARD_OUTPUT_DIR", "TRAINYARD_JOB_ID", "PYTHONUNBUFFERED", "OMP_NUM_THREADS"]
        let unexpected = env.keys.filter { name in
            !contract.contains(name) && !ChildEnvironment.isAllowed(name, by: runner.environmentAllowList)
                && name != "PWD"  // the shell sets it for itself
        }
        #expect(unexpected.isEmpty, "inherited: \(unexpected)")
    }

    @Test func allowListEntriesMatchExactlyOrByPrefix() {
        #expect(ChildEnvironment.isAllowed("LC_ALL", by: ["LC_*"]))
        #expect(ChildEnvironment.isAllowed("PATH", by: ["PATH"]))
        #expect(!ChildEnvironment.isAllowed("PATHX", by: ["PATH"]))
        #expect(!ChildEnvironment.isAllowed("AWS_SECRET_ACCESS_KEY", by: RunnerOptions.defaultEnvironmentAllowList))
        let built = ChildEnvironment.build(contract: ["PORT": "9"], spec: ["PORT": "1", "A": "b"], allowList: ["HOME"],
                                           parent: ["HOME": "/h", "TRAINYARD_AUTH_TOKENS": "x", "AWS_ACCESS_KEY_ID": "y"])
        #expect(built == ["PORT": "9", "A": "b", "HOME": "/h"])
    }

    // MARK: Signals and process groups

    @Test func aProgramThatHandlesSIGTERMReceivesIt() async throws {
        // The spawner thread blocks every signal (and the server blocks SIGTERM for its own
        // lifecycle); a child that kept that mask would never see SIGTERM and be SIGKILLed after
        // the grace period instead. Python, unlike some shells, does not reset the mask itself.
        let folder = try Self.folder(["handler.py": """
            import signal, sys, time
            def stop(signum, frame):
                open("term-marker", "w").write("got-term")
                sys.exit(0)
            signal.signal(signal.SIGTERM, stop)
            open("ready", "w").write("ready")
            while True:
                time.sleep(0.1)
            """])
        var launch = ChildProcess.Launch(arguments: ["/usr/bin/python3", "handler.py"], environment: [:], workingDirectory: folder)
        launch.standardOutput = .inherit
        let child = try ChildProcess.start(launch)
        try await Self.eventually("the program to start") { FileManager.default.fileExists(atPath: folder.appendingPathComponent("ready").path) }
        let exit = await child.stop(grace: .seconds(60))
        #expect(exit == .exited(0), "the handler ran and exited 0 rather than being killed")
        let marker = try? String(contentsOf: folder.appendingPathComponent("term-marker"), encoding: .utf8)
        #expect(marker == "got-term")
    }

    @Test func aShellTrapOnSIGTERMRuns() async throws {
        let folder = try Self.folder(["trap.sh": """
            trap 'echo got-term > term-marker; exit 0' TERM
            echo ready > ready
            while true; do sleep 0.1; done
            """])
        var launch = ChildProcess.Launch(arguments: ["sh", "trap.sh"], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: folder)
        launch.standardOutput = .inherit
        let child = try ChildProcess.start(launch)
        try await Self.eventually("the script to start") { FileManager.default.fileExists(atPath: folder.appendingPathComponent("ready").path) }
        #expect(await child.stop(grace: .seconds(60)) == .exited(0))
        #expect((try? String(contentsOf: folder.appendingPathComponent("term-marker"), encoding: .utf8))?.contains("got-term") == true)
    }

    @Test func theProgramStartsWithNoSignalBlockedOrIgnored() async throws {
        // `cat` changes neither: what it reports is what the spawner handed over.
        let folder = try Self.folder()
        let child = try ChildProcess.start(.init(arguments: ["/bin/cat", "/proc/self/status"], environment: [:], workingDirectory: folder))
        let stdout = try #require(child.standardOutput)
        let text = try await runBlocking { String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self) }
        #expect(await child.wait() == .exited(0))
        let fields = Dictionary(text.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { first, _ in first })
        #expect(fields["SigBlk"] == "0000000000000000")
        #expect(fields["SigIgn"] == "0000000000000000")
        #expect(fields["PPid"] == String(getpid()))
    }

    @Test func cancellingATrainingStopsItsWholeProcessGroup() async throws {
        // One helper dies of SIGTERM, another ignores it: both must be gone after the stop.
        let folder = try Self.folder(["run.sh": """
            sleep 300 &
            echo $! > helper.pid
            sh -c 'trap "" TERM; while true; do sleep 0.2; done' &
            echo $! > stubborn.pid
            echo $$ > leader.pid
            wait
            """])
        let recorder = JobProgressRecorder()
        let training = Task { try await CommandTrainer(terminationGrace: .seconds(2)).train(try Self.run(["sh", "run.sh"], folder: folder, recorder: recorder)) }
        let leaderFile = folder.appendingPathComponent("leader.pid")
        try await Self.eventually("the program to start its helpers") { FileManager.default.fileExists(atPath: leaderFile.path) }
        let pids = try ["leader", "helper", "stubborn"].map { try Self.pid(in: folder.appendingPathComponent("\($0).pid")) }
        #expect(pids.allSatisfy(isProcessRunning))
        #expect(pids.allSatisfy { getpgid($0) == pids[0] }, "the program leads its own process group")
        #expect(getpgid(pids[0]) != getpgid(0), "not the server's group")
        recorder.cancel()  // what a cancel request or the spec's timeout does
        let result = await training.result
        #expect(throws: CancellationError.self) { try result.get() }
        try await Self.eventually("every process of the group to exit") { !pids.contains(where: isProcessRunning) }
    }

    @Test func helpersLeftBehindDieWithTheProgram() async throws {
        // The program exits on its own and leaves a helper running: the helper must not outlive it.
        let folder = try Self.folder(["run.sh": """
            sleep 300 &
            echo $! > helper.pid
            """])
        var launch = ChildProcess.Launch(arguments: ["sh", "run.sh"], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: folder)
        launch.standardOutput = .inherit
        let child = try ChildProcess.start(launch)
        #expect(await child.wait() == .exited(0))
        let helper = try Self.pid(in: folder.appendingPathComponent("helper.pid"))
        try await Self.eventually("the helper to exit") { !isProcessRunning(helper) }
    }

    // MARK: Start failures

    @Test func startFailuresNameWhatFailed() async throws {
        let folder = try Self.folder()
        await #expect(throws: TrainingFailure.self) {
            try await CommandTrainer().train(try Self.run(["no-such-program-trainyard"], folder: folder))
        }
        do {
            _ = try ChildProcess.start(.init(arguments: ["no-such-program-trainyard"], environment: ["PATH": "/usr/bin"], workingDirectory: folder))
            Issue.record("started a program that does not exist")
        } catch {
            #expect(error.message.contains("not found on the program's PATH (/usr/bin)"))
        }
        // Reported by the child itself (exec) through the start-up pipe.
        try "not a program".write(to: folder.appendingPathComponent("plain.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try ChildProcess.start(.init(arguments: ["./plain.txt"], environment: [:], workingDirectory: folder))
            Issue.record("executed a file without the execute bit")
        } catch {
            #expect(error.message.contains("could not execute ./plain.txt"))
            #expect(error.message.contains("denied"))
        }
        do {
            _ = try ChildProcess.start(.init(arguments: ["/bin/sh", "-c", "true"], environment: [:],
                                             workingDirectory: folder.appendingPathComponent("missing")))
            Issue.record("entered a folder that does not exist")
        } catch {
            #expect(error.message.contains("could not enter its working folder"))
        }
    }

    // MARK: Folders, user, write restriction

    @Test func theProgramsFoldersArePrivate() async throws {
        let folder = try Self.folder(["train.sh": #"echo 1 > "$TRAINYARD_MODEL_DIR/model.txt""#])
        _ = try await CommandTrainer().train(try Self.run(["sh", "train.sh"], folder: folder))
        for dir in [folder, folder.appendingPathComponent("scratch")] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int)
            #expect(mode == 0o700, "\(dir.lastPathComponent) is \(String(mode, radix: 8))")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "switching users needs root"))
    func withRunnerUserTheProgramRunsAsThatUserInFoldersItOwns() async throws {
        let nobody = try RunnerIdentity.resolve("nobody")
        let folder = try Self.folder(["train.sh": """
            id -u > "$TRAINYARD_MODEL_DIR/uid.txt"
            echo "$HOME" > "$TRAINYARD_MODEL_DIR/home.txt"
            """])
        let output = try await CommandTrainer(runner: RunnerOptions(user: "nobody")).train(try Self.run(["sh", "train.sh"], folder: folder))
        let uid = try String(contentsOf: try #require(output.artifacts["uid.txt"]), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(uid == String(nobody.uid))
        let home = try String(contentsOf: try #require(output.artifacts["home.txt"]), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(home == nobody.home)
        let owner = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("scratch").path)[.ownerAccountID] as? Int
        #expect(owner == Int(nobody.uid))
        #expect(throws: TrainyardError.self) { try RunnerIdentity.resolve("no-such-user-trainyard") }
    }

    @Test(.enabled(if: ChildProcess.writeRestrictionAvailable, "needs Linux Landlock"))
    func withTheWriteRestrictionTheProgramWritesOnlyItsOwnFolders() async throws {
        let outside = try Self.folder()
        let store = outside.appendingPathComponent("store.sqlite")
        try "original".write(to: store, atomically: true, encoding: .utf8)
        let script = """
            import os
            model = os.environ["TRAINYARD_MODEL_DIR"]
            results = []
            for target in ["\(store.path)", "\(outside.appendingPathComponent("new.txt").path)"]:
                try:
                    open(target, "w").write("written by the job")
                    results.append("written")
                except OSError:
                    results.append("refused")
            open(os.path.join(model, "results.txt"), "w").write(",".join(results))
            """
        var restricted = RunnerOptions()
        restricted.writablePaths = []
        let folder = try Self.folder(["probe.py": script])
        let output = try await CommandTrainer(runner: restricted).train(try Self.run(["python3", "probe.py"], folder: folder))
        #expect(try String(contentsOf: try #require(output.artifacts["results.txt"]), encoding: .utf8) == "refused,refused")
        #expect(try String(contentsOf: store, encoding: .utf8) == "original")
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("new.txt").path))

        // The same program with runner.restrict_writes off: the control.
        var open = RunnerOptions()
        open.restrictWrites = false
        let unrestricted = try Self.folder(["probe.py": script])
        let control = try await CommandTrainer(runner: open).train(try Self.run(["python3", "probe.py"], folder: unrestricted))
        #expect(try String(contentsOf: try #require(control.artifacts["results.txt"]), encoding: .utf8) == "written,written")
    }
}
