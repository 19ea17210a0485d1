import Foundation
import TrainyardCore

/// The whole environment of a bring-your-own program, built from nothing: the server's own
/// environment holds tokens (`TRAINYARD_AUTH_TOKENS`) and cloud credentials that a program
/// submitted by any `train` token must never see.
///
/// Layers, later ones winning: names from the server's environment that `runner.env_allow`
/// lists (a trailing `*` matches a prefix), the spec's `env:` (names `SpecEnvironment` allows,
/// checked again here for specs that bypassed the parser), the identity of `runner.user`
/// (`HOME`, `USER`, `LOGNAME`), then the contract's variables.
public enum ChildEnvironment {
    public static func build(contract: [String: String], spec: [String: String] = [:], allowList: [String],
                             identity: RunnerIdentity? = nil,
                             parent: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var environment: [String: String] = [:]
        for (name, value) in parent where isAllowed(name, by: allowList) { environment[name] = value }
        for (name, value) in spec where SpecEnvironment.problem(forName: name) == nil { environment[name] = value }
        if let identity {
            environment["HOME"] = identity.home
            environment["USER"] = identity.name
            environment["LOGNAME"] = identity.name
        }
        environment.merge(contract) { _, contract in contract }
        return environment
    }

    /// Whether `runner.env_allow` lets `name` through: an exact entry, or a prefix entry ending in `*`.
    public static func isAllowed(_ name: String, by allowList: [String]) -> Bool {
        allowList.contains { entry in
            entry.hasSuffix("*") ? name.hasPrefix(entry.dropLast()) : name == entry
        }
    }
}

extension RunnerOptions {
    /// Where a child may write under `runner.restrict_writes`: its own folders, `runner.writable`
    /// and its `TMPDIR`; nil when the restriction is off.
    public func writablePaths(own: [URL], environment: [String: String]) -> [String]? {
        guard restrictWrites else { return nil }
        return own.map(\.path) + writablePaths + (environment["TMPDIR"].map { [$0] } ?? [])
    }
}
