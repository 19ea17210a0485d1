import Foundation
import TrainyardCore

/// The PostgreSQL schema a namespace lives in (`trainyard_<project>_<environment>`), its
/// qualified table names and its notification channel. Each namespace has a schema of its own,
/// so any number of deployments (and tests) share one database without sharing a row.
///
/// The name is built from `Namespace`'s validated parts (a-z, 0-9, _) and checked again here,
/// which is what makes interpolating it into SQL safe; values are always bound parameters.
struct PostgresSchema: Sendable, CustomStringConvertible {
    let name: String
    let jobs, jobLogs, queueCaps, leaseExpiries, models, versions, aliases, aliasEvents, triggers, triggerFiles, migrations: String

    /// PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1); a
    /// truncated name could make two namespaces share a schema, so a longer one is refused.
    static let maxNameLength = 63

    init(_ namespace: Namespace) throws(TrainyardError) {
        let name = "trainyard_\(namespace.project)_\(namespace.environment)"
        guard name.utf8.count <= Self.maxNameLength else {
            throw TrainyardError(.invalidArgument, "namespace \(namespace) needs the PostgreSQL schema \(name), \(name.utf8.count) characters; "
                                 + "PostgreSQL allows \(Self.maxNameLength): shorten the project or environment name")
        }
        guard name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
            throw TrainyardError(.invalidArgument, "namespace \(namespace): the schema name may hold only a-z, 0-9 and _")
        }
        self.name = name
        jobs = name + ".jobs"
        jobLogs = name + ".job_logs"
        queueCaps = name + ".queue_caps"
        leaseExpiries = name + ".lease_expiries"
        models = name + ".models"
        versions = name + ".versions"
        aliases = name + ".aliases"
        aliasEvents = name + ".alias_events"
        triggers = name + ".triggers"
        triggerFiles = name + ".trigger_files"
        migrations = name + ".schema_migrations"
    }

    /// The `LISTEN` / `pg_notify` channel of this namespace's queue changes.
    var channel: String { name }

    /// Keys of transaction-scoped advisory locks (`pg_advisory_xact_lock(hashtextextended(key, 0))`),
    /// namespaced so deployments sharing a database never wait for each other.
    var migrationLockKey: String { "trainyard:migrate:" + name }
    func runningCapLockKey(_ kind: JobKind) -> String { "trainyard:cap:\(name):\(kind.rawValue)" }
    func registryLockKey(_ model: ModelName) -> String { "trainyard:registry:\(name):\(model.rawValue)" }

    var description: String { name }
}
