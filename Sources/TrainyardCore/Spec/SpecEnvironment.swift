/// The rule for the names a spec's `env:` may give a `task: command` program.
///
/// A spec may add variables of its own, never change the contract (`TRAINYARD_*`, `PORT`) nor
/// the loader or shell start-up (`LD_*`, `DYLD_*`, `BASH_ENV`, `ENV`): the server resolves and
/// starts the program with these names in place, and a hook there would run before the user's
/// code is even chosen.
public enum SpecEnvironment {
    /// Names the contract sets itself.
    public static let reservedNames: Set<String> = ["PORT", "PYTHONUNBUFFERED", "BASH_ENV", "ENV"]
    /// Prefixes no spec may set.
    public static let reservedPrefixes = ["TRAINYARD_", "LD_", "DYLD_"]

    /// Why `name` may not be set by a spec, or nil when it may.
    public static func problem(forName name: String) -> String? {
        let valid = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F || (index > 0 && byte >= 0x30 && byte <= 0x39)
        }
        guard valid else { return "must be an upper-case variable name matching [A-Z_][A-Z0-9_]*" }
        if let prefix = reservedPrefixes.first(where: { name.hasPrefix($0) }) {
            return "names starting with \(prefix) are reserved (the contract or the dynamic loader)"
        }
        if reservedNames.contains(name) { return "\(name) is set by Trainyard or the shell and cannot be overridden" }
        return nil
    }
}
