/// The registry's guards on aliases and versions, declared once for every store: the store
/// reads the facts (which aliases point at a version, its status) and asks these.
public enum RegistryRules {
    /// The reason written to the audit trail when an alias is deleted.
    public static let aliasDeletedReason = "deleted"

    /// What a version change the aliases guard against is called in the refusal.
    public enum GuardedChange: String, Sendable {
        case archive
        case delete
    }

    /// A version an alias points at cannot be archived or deleted: the alias would point at
    /// nothing servable. Refused with the aliases named (sorted), so the user knows what to move.
    public static func refuseIfAliased(_ name: ModelName, version: Int, aliases: [String], change: GuardedChange) throws(TrainyardError) {
        guard !aliases.isEmpty else { return }
        throw TrainyardError.conflict("cannot \(change.rawValue) \(name):\(version): alias \(aliases.sorted().joined(separator: ", ")) points at it; move or delete the alias first")
    }

    /// Only a ready version can take an alias (an archived one is hidden from resolution).
    public static func checkAliasable(_ name: ModelName, version: Int, status: VersionStatus) throws(TrainyardError) {
        guard status == .ready else {
            throw TrainyardError.conflict("version \(name):\(version) is archived; restore it before aliasing it")
        }
    }

    /// Which version a bare model name (`ModelReference.Selector.default`) resolves to: the
    /// version `ModelReference.defaultAlias` points at when that alias is set, else the latest
    /// ready version; nil when there is none. `latestReady` is only asked when the alias is unset.
    public static func defaultVersion<E: Error>(defaultAliasTarget: Int?, latestReady: () throws(E) -> Int?) throws(E) -> Int? {
        if let defaultAliasTarget { return defaultAliasTarget }
        return try latestReady()
    }
}
