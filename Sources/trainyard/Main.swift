import ArgumentParser
import Foundation
import TrainyardCore

/// `trainyard`: one binary for every role and every user command.
///
/// Exit codes: 0 ok, 1 the thing asked for failed, 2 bad usage or bad input.
@main
struct Main {
    static func main() async {
        // Line-buffered even when piped: progress and "submitted job N" lines must reach a CI
        // log as they happen, not when the job ends.
        lineBufferStandardOutput()
        let wantsJSON = CommandLine.arguments.dropFirst().contains("--json")
        do {
            var command = try await TrainyardCommand.asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as TrainyardError {
            report(error, json: wantsJSON)
            exit(error.code.isClientError ? 2 : 1)
        } catch let error as CommandFailure {
            report(TrainyardError(error.exitCode == 2 ? .invalidArgument : .internal, error.message), json: wantsJSON)
            exit(error.exitCode)
        } catch {
            let code = TrainyardCommand.exitCode(for: error)
            if code == .success || error is CleanExit {
                TrainyardCommand.exit(withError: error)
            }
            // Usage errors (argument parser's EX_USAGE 64) are "bad usage": exit 2.
            if code.rawValue == 64 || error is ValidationError {
                if wantsJSON {
                    report(TrainyardError(.invalidArgument, TrainyardCommand.message(for: error)), json: true)
                } else {
                    FileHandle.standardError.write(Data((TrainyardCommand.fullMessage(for: error) + "\n").utf8))
                }
                exit(2)
            }
            report(TrainyardError(.internal, TrainyardCommand.message(for: error)), json: wantsJSON)
            exit(1)
        }
    }

    /// An error as text on stderr, or under `--json` as the API's envelope
    /// (`{"error": {"code", "message", "details"}}`) on stdout, where a script reads JSON.
    static func report(_ error: TrainyardError, json: Bool) {
        guard json else {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            return
        }
        struct Envelope: Encodable {
            struct Body: Encodable { var code: String; var message: String; var details: [TrainyardError.Detail] }
            var error: Body
        }
        let envelope = Envelope(error: .init(code: error.code.rawValue, message: error.message, details: error.details))
        let data = (try? JSONEncoder().encode(envelope)) ?? Data(#"{"error":{"code":"internal","message":"unencodable error"}}"#.utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// Switches C stdio's stdout (what `print` writes to) to line buffering. Swift 6 refuses any
/// reference to the C global `stdout` (shared mutable state), so the stream is looked up by
/// its symbol; if that fails, output stays block-buffered, which is only slower to show.
func lineBufferStandardOutput() {
    #if canImport(Glibc)
    let address = dlsym(nil, "stdout")  // RTLD_DEFAULT is 0 on glibc
    #else
    let address = dlsym(UnsafeMutableRawPointer(bitPattern: -2), "__stdoutp")  // RTLD_DEFAULT on Darwin
    #endif
    guard let address,
          let stream = address.assumingMemoryBound(to: UnsafeMutablePointer<FILE>?.self).pointee else { return }
    setvbuf(stream, nil, _IOLBF, 0)
}

/// A command that ends with a specific exit code and message.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32
}

struct TrainyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard",
        abstract: "Train, register, serve and batch-score machine-learning models.",
        version: TrainyardVersion.current,
        subcommands: [
            Up.self, Server.self, Worker.self, Quickstart.self, Train.self, Jobs.self, Models.self, AliasCommand.self,
            Evaluate.self, Predict.self, TransformCommand.self,
            ParamsCommand.self, WatchCommand.self, ScheduleCommand.self, TriggersCommand.self,
        ]
    )
}
