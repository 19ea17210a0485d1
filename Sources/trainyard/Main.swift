import ArgumentParser
import Foundation
import TrainyardCore

/// `trainyard`: one binary for every role and every user command.
///
/// Exit codes: 0 ok, 1 the thing asked for failed, 2 bad usage or bad input.
@main
struct Main {
    static func main() async {
        do {
            var command = try await TrainyardCommand.asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as TrainyardError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            exit(error.code.isClientError ? 2 : 1)
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            exit(error.exitCode)
        } catch {
            let code = TrainyardCommand.exitCode(for: error)
            if code == .success || error is CleanExit {
                TrainyardCommand.exit(withError: error)
            }
            // Usage errors (argument parser's EX_USAGE 64) are "bad usage": exit 2.
            if code.rawValue == 64 || error is ValidationError {
                FileHandle.standardError.write(Data((TrainyardCommand.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            FileHandle.standardError.write(Data("error: \(TrainyardCommand.message(for: error))\n".utf8))
            exit(1)
        }
    }
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
        subcommands: [
            Up.self, Server.self, Worker.self, Quickstart.self, Train.self, Jobs.self, Models.self, AliasCommand.self,
            Evaluate.self, Predict.self,
        ]
    )
}
