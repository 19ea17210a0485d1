import Hummingbird
import Logging
import TrainyardCore

/// Per-request state of the Trainyard HTTP server: who is calling, the request id, and the
/// body limit from configuration (set by `RequestLimitsMiddleware`).
public struct TrainyardRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The body limit for this request (`server.max_body_bytes`); Hummingbird's decoders read it too.
    public var maxUploadSize: Int
    /// The request id (`X-Request-Id`, echoed or generated); also in the logger metadata as `trainyard.request.id`.
    public var requestID: String
    /// The authenticated caller; nil when auth is off or no token was sent. Shared by every
    /// copy of this context, so outer middleware (the access log) sees what inner middleware set.
    public var caller: Caller? {
        get { shared.withLock { $0 } }
        nonmutating set { shared.withLock { $0 = newValue } }
    }
    private let shared: SharedCaller

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        maxUploadSize = 2 << 20
        requestID = ""
        shared = SharedCaller()
    }

    /// The name recorded as actor in audit trails (`anonymous` without auth).
    public var actor: String { caller?.name ?? "anonymous" }
}

/// An authenticated caller: a configured token's name and scopes (never its secret).
public struct Caller: Sendable, Equatable {
    public var name: String
    public var scopes: Set<AccessToken.Scope>

    public init(name: String, scopes: Set<AccessToken.Scope>) {
        self.name = name
        self.scopes = scopes
    }

    public func allows(_ scope: AccessToken.Scope) -> Bool { scopes.contains(.admin) || scopes.contains(scope) }
}

final class SharedCaller: Sendable {
    private let value = Mutex<Caller?>(nil)
    func withLock<R: Sendable>(_ body: (inout Caller?) -> R) -> R { value.withLock { body(&$0) } }
}

import Synchronization
