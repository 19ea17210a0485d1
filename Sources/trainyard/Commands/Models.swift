import ArgumentParser
import Foundation
import TrainyardCore

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List models and their versions.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List models.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let models = try await global.controlPlane().models()
            if global.json { return try printJSON(models) }
            var table = Table("MODEL", "TASK", "VERSIONS", "LATEST", "ALIASES")
            for m in models {
                table.add(m.name.rawValue, m.task?.rawValue ?? "-", String(m.versionCount), m.latestVersion.map(String.init) ?? "-",
                          m.aliases.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: " "))
            }
            print(table.render())
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's versions, metrics and aliases, and why each was promoted or not.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let plane = try await global.controlPlane()
            let modelName = try ModelName(name)
            let versions = try await plane.versions(modelName)
            if global.json { return try printJSON(versions) }
            print(Self.render(versions))
        }

        /// The versions table, then each `promote:` decision in full (too long for a column):
        /// "v2  not promoted: rmse 812.3 is not better than production (v1) 640.1 on the same 1,200 held-out rows".
        static func render(_ versions: [ModelVersion]) -> String {
            var table = Table("VERSION", "STATUS", "CREATED", "JOB", "ALIASES", "PROMOTED", "METRICS")
            for v in versions {
                table.add(String(v.version), v.status.rawValue, Format.date(v.createdAt), v.jobID.map(String.init) ?? "-",
                          v.aliases.map(\.rawValue).joined(separator: ","), v.promotion.map { $0.promoted ? "yes" : "no" } ?? "-",
                          Format.metrics(v.metrics))
            }
            let decisions = versions.compactMap { v in v.promotion.map { "  v\(v.version)  \($0.reason)" } }
            guard !decisions.isEmpty else { return table.render() }
            return table.render() + "\n\nPromotion decisions:\n" + decisions.joined(separator: "\n")
        }
    }
}

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Point an alias (production, staging, …) at a version, or remove it.",
        subcommands: [Set.self, Delete.self, List.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "trainyard alias set NAME ALIAS VERSION")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var alias: String
        @Argument var version: Int

        func run() async throws {
            let a = try await global.controlPlane().setAlias(try AliasName(alias), of: try ModelName(name), to: version)
            if global.json { return try printJSON(a) }
            print("\(a.model)@\(a.alias) → \(a.version)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "trainyard alias rm NAME ALIAS")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var alias: String

        func run() async throws {
            try await global.controlPlane().deleteAlias(try AliasName(alias), of: try ModelName(name))
            print("removed \(name)@\(alias)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "trainyard alias ls NAME")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let aliases = try await global.controlPlane().aliases(try ModelName(name))
            if global.json { return try printJSON(aliases) }
            var table = Table("ALIAS", "VERSION", "UPDATED", "BY")
            for a in aliases { table.add(a.alias.rawValue, String(a.version), Format.date(a.updatedAt), a.updatedBy) }
            print(table.render())
        }
    }
}
