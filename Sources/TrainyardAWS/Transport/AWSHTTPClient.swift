import AsyncHTTPClient
import NIOCore

/// The HTTP client AWS requests go through.
///
/// One per process is enough (it pools connections per host): ``shared`` lives as long as the
/// process and is never shut down, like `HTTPClient.shared`. Code that wants other timeouts, or a
/// client it can close (tests), makes one with ``make(connectTimeout:readTimeout:)`` and calls
/// `shutdown()` on it when done.
public enum AWSHTTPClient {
    /// Connect within 10 s; a streamed body that stalls for 60 s fails (and is retried when no
    /// byte of it reached the caller yet).
    public static let shared: HTTPClient = make()

    /// A new client on the process's shared event loops. Redirects are not followed: a signed
    /// request sent to another host fails signature checks there, and S3 answers a request for a
    /// bucket in another region with a redirect whose error names the right region.
    public static func make(connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(60),
                            maximumConnectionsPerHost: Int = 64) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(connectTimeout), read: TimeAmount(readTimeout)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maximumConnectionsPerHost
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
