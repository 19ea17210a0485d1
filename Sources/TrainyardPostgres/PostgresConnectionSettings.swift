import Foundation
import PostgresNIO
import TrainyardCore

/// How to reach the PostgreSQL server of a `postgres://user:password@host:port/database?sslmode=…`
/// metadata URL: the pool's and the listener's connection settings, and the URL as it may be
/// shown (password replaced by `***`, so no log line or error ever carries it).
struct PostgresConnectionSettings: Sendable {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var sslMode: SSLMode
    /// The URL without its password, naming the store in errors and logs.
    var redacted: String

    /// libpq's `sslmode` values, with libpq's meaning: `prefer` and `require` encrypt without
    /// checking the certificate, `verify-ca` checks it was signed by a trusted authority,
    /// `verify-full` also checks it names the host.
    enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// At most this many pooled connections per store (per process): several processes share
    /// one server, whose default limit is 100 connections.
    static let defaultMaxConnections = 10
    static let connectTimeout: Duration = .seconds(10)

    /// Parses the URL `MetadataBackend.postgres(url:)` checked (scheme, host, database present).
    /// `key` names the setting in errors.
    init(url: URL, key: String = "metadata") throws(TrainyardError) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            throw TrainyardError(.invalidArgument, "\(key): not a postgres:// URL")
        }
        var shown = components
        if shown.password != nil { shown.password = "***" }
        let redacted = shown.string ?? "postgres://…"
        self.redacted = redacted
        func invalid(_ why: String) -> TrainyardError {
            TrainyardError(.invalidArgument, "\(key): \"\(clientEcho(redacted))\" is not a usable postgres:// URL: \(why)")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it names no host (postgres://user@host:5432/database)") }
        // URLComponents keeps IPv6 literals bracketed; the resolver wants them bare.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let port = components.port ?? 5432
        self.port = port
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is out of range") }
        guard let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw invalid("it names no user (postgres://user@host:5432/database)")
        }
        username = user
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = components.percentEncodedPath.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let database = path.removingPercentEncoding, !database.isEmpty, !database.contains("/") else {
            throw invalid("the path must be one database name (postgres://user@host:5432/database)")
        }
        self.database = database
        var mode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = SSLMode(rawValue: value) else {
                    throw invalid("sslmode \"\(clientEcho(item.value ?? ""))\" is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                mode = parsed
            default:
                throw invalid("parameter \"\(clientEcho(item.name))\" is not supported (only sslmode)")
            }
        }
        sslMode = mode
    }

    /// The TLS settings for `sslMode`, as NIO spells them.
    func tlsConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    /// The pool's configuration: its connections resolve unqualified names in `searchPath`
    /// (`Statements`). `applicationName` shows in `pg_stat_activity` (PostgreSQL keeps its first
    /// 63 bytes).
    ///
    /// The server ends a statement that runs longer than `statementTimeout`, and a session
    /// idle inside a transaction for twice as long (a client that stopped midway releases its
    /// locks).
    ///
    /// Sequential scans are priced out (`enable_seqscan = off`; the planner still scans when
    /// no index serves a query). The hot statements are prepared per connection, and
    /// PostgreSQL plans a prepared statement once, generically, on its sixth run: for a fresh
    /// namespace that is while the jobs table is nearly empty, where a scan is the cheaper
    /// plan, and that plan is then kept as the table grows to thousands of rows (every
    /// dequeue scanned the whole table). Every statement of this store is meant to be answered
    /// by an index.
    func clientConfiguration(applicationName: String, searchPath: String, statementTimeout: Duration,
                             maxConnections: Int = defaultMaxConnections) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration())
        case .require, .verifyCA, .verifyFull: .require(tlsConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = Self.connectTimeout
        configuration.options.maximumConnections = maxConnections
        let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("application_name", applicationName), ("search_path", searchPath),
            ("statement_timeout", "\(milliseconds)"), ("idle_in_transaction_session_timeout", "\(2 * milliseconds)"),
            ("enable_seqscan", "off"),
        ]
        return configuration
    }

    /// A single connection's configuration (the listener's, outside the pool).
    func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(Self.connectTimeout.components.seconds))
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }
}
