import ArgumentParser
import Foundation
import TrainyardCore
import TrainyardLearners

/// `trainyard params [ALGORITHM]`: the built-in algorithms, or one algorithm's hyper-parameters
/// (name, type, default, allowed values, meaning), read from the learners' declarations, so
/// the listing is always what specs are checked against. Needs no store and no server.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params",
        abstract: "List the built-in algorithms, or one algorithm's hyper-parameters (model.params) with defaults and allowed values."
    )

    @Argument(help: "An algorithm (gbdt, mlp, linear, logistic-regression, crf); none: list the algorithms.")
    var algorithm: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard let algorithm else {
            let all = NativeParameters.listing()
            if json { return try printJSON(all) }
            var table = Table("ALGORITHM", "TASKS", "PARAMETERS", "DESCRIPTION")
            for a in all {
                let tasks = a.tasks.map { a.defaultFor.contains($0) ? "\($0) (default)" : $0 }.joined(separator: ", ")
                table.add(a.algorithm, tasks, String(a.parameters.count), a.summary)
            }
            print(table.render())
            print("\nDetails: trainyard params ALGORITHM")
            return
        }
        let listing = try NativeParameters.listing(for: algorithm)
        if json { return try printJSON(listing) }
        print("\(listing.algorithm): \(listing.summary)")
        print("tasks: \(listing.tasks.map { listing.defaultFor.contains($0) ? "\($0) (default)" : $0 }.joined(separator: ", "))\n")
        var table = Table("PARAMETER", "TYPE", "DEFAULT", "ALLOWED", "DESCRIPTION")
        for p in listing.parameters {
            var doc = p.doc
            if !p.aliases.isEmpty { doc += " (alias: \(p.aliases.joined(separator: ", ")))" }
            if let tasks = p.tasks { doc += " (\(tasks.joined(separator: ", ")) only)" }
            table.add(p.name, p.type, p.defaultText, p.allowed, doc)
        }
        print(table.render())
    }
}
