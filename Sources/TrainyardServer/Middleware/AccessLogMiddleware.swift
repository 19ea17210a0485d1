import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Gives every request an id (the client's `X-Request-Id` when it is a sane token, else a new
/// one), puts it in the logger metadata as `trainyard.request.id`, echoes it in the response,
/// and writes one access-log line per request (method, path without query, status, duration).
/// Headers are never logged, so neither is a bearer token.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = TrainyardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.acceptable) ?? Self.newID()
        context.requestID = id
        context.logger[metadataKey: "trainyard.request.id"] = .string(id)
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // ErrorMiddleware renders everything; this only sees errors it rethrows by design (none).
            log(context, request, status: 500, start: start)
            throw error
        }
        response.headers[.requestID] = id
        log(context, request, status: response.status.code, start: start)
        return response
    }

    private func log(_ context: Context, _ request: Request, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        // Probes hit these every few seconds: keep them out of the info log unless they fail.
        let quiet = status < 400 && Self.probePaths.contains(request.uri.path)
        context.logger.log(level: quiet ? .debug : .info, "\(request.method) \(request.uri.path) \(status)", metadata: [
            "http.method": .string(request.method.rawValue),
            "http.path": .string(request.uri.path),
            "http.status": .stringConvertible(status),
            "http.duration_ms": .string(String(format: "%.1f", ms)),
            "trainyard.caller": .string(context.caller?.name ?? "-"),
        ])
    }

    /// Up to 128 characters of letters, digits and `-_.:`; anything else is replaced, not echoed.
    static func acceptable(_ raw: String) -> String? {
        guard (1...128).contains(raw.utf8.count),
              raw.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0)) })
        else { return nil }
        return raw
    }

    static let probePaths: Set<String> = ["/healthz", "/readyz"]

    /// A process-unique id: a random prefix chosen at start and a counter (a UUID per request
    /// cost a visible share of a single-row prediction). Unique across processes with high
    /// probability, which is what log correlation needs.
    static func newID() -> String {
        let n = requestCounter.add(1, ordering: .relaxed).newValue
        return idPrefix + String(n, radix: 16)
    }

    static let idPrefix: String = {
        var generator = SystemRandomNumberGenerator()
        return String(UInt32.random(in: .min ... .max, using: &generator) | 0x1000_0000, radix: 16) + "-"
    }()
    static let requestCounter = Atomic<UInt64>(0)
}
