/// Whether `host` names only this machine: `localhost`, 127.0.0.0/8, `::1`.
///
/// A server bound to such an address is reachable by this machine's users only; the data-access
/// policy and the server's refusal to listen elsewhere without tokens both hinge on it.
public func isLoopback(_ host: String) -> Bool {
    var h = host.lowercased()
    if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
    if h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
    let parts = h.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
}
