import NIOCore
import TrainyardCore

/// Which time limit a connection is under right now, as a pure state machine (no clock, no I/O),
/// driven by `ConnectionDeadlineHandler` and tested on its own.
///
/// - Waiting for a request with nothing of it received yet: `limits.idle_seconds` (a keep-alive
///   connection between requests).
/// - Some bytes of a request head received (or the connection just opened): the whole head must
///   be in within `limits.header_seconds` of its first byte, so trickling one header byte at a
///   time does not keep a connection open.
/// - Head in, body still coming: at most `limits.body_seconds` may pass without a byte of the
///   body; a stalled upload is cut off, a slow but steady one (a large blob) is not.
/// - Request complete, response not yet written: no limit here; the request deadline and the
///   routes own that time (event streams stay open by design).
struct ConnectionDeadlines {
    enum Limit: Equatable {
        case header, body, idle

        /// The configuration key, for the log line when a connection is closed.
        var key: String {
            switch self {
            case .header: return "limits.header_seconds"
            case .body: return "limits.body_seconds"
            case .idle: return "limits.idle_seconds"
            }
        }
    }

    enum Phase: Equatable {
        /// No request is being read. `headStarted`: bytes of the next head have arrived (from `since`).
        case awaitingHead(since: NIODeadline, headStarted: Bool)
        /// A head is in; its body is being read. `lastProgress`: the head, or the latest body bytes.
        case readingBody(lastProgress: NIODeadline)
        /// The request is complete and being answered.
        case answering
    }

    let header: TimeAmount
    let body: TimeAmount
    let idle: TimeAmount
    private(set) var phase: Phase
    /// Requests whose head was read but whose response has not ended (pipelining may make it 2+).
    private(set) var requestsInFlight = 0
    /// Bytes of the next request arrived while the previous one was being answered.
    private var nextHeadStartedAt: NIODeadline?

    /// A connection opened at `now`: its first head is due within `header`.
    init(header: TimeAmount, body: TimeAmount, idle: TimeAmount, openedAt now: NIODeadline) {
        (self.header, self.body, self.idle) = (header, body, idle)
        phase = .awaitingHead(since: now, headStarted: true)
    }

    init(limits: ResourceLimits, openedAt now: NIODeadline) {
        self.init(header: .seconds(Int64(limits.headerSeconds)), body: .seconds(Int64(limits.bodySeconds)),
                  idle: .seconds(Int64(limits.idleSeconds)), openedAt: now)
    }

    /// When the connection must be closed unless something happens first, and under which limit.
    var deadline: (at: NIODeadline, limit: Limit)? {
        switch phase {
        case .awaitingHead(let since, let started): return started ? (since + header, .header) : (since + idle, .idle)
        case .readingBody(let last): return (last + body, .body)
        case .answering: return nil
        }
    }

    /// Raw bytes arrived (before the HTTP decoder has made anything of them).
    mutating func bytesArrived(at now: NIODeadline) {
        switch phase {
        case .awaitingHead(_, headStarted: false): phase = .awaitingHead(since: now, headStarted: true)
        case .awaitingHead(_, headStarted: true): break
        case .readingBody: phase = .readingBody(lastProgress: now)
        case .answering: if nextHeadStartedAt == nil { nextHeadStartedAt = now }
        }
    }

    mutating func headReceived(at now: NIODeadline) {
        requestsInFlight += 1
        nextHeadStartedAt = nil
        phase = .readingBody(lastProgress: now)
    }

    mutating func bodyReceived(at now: NIODeadline) {
        if case .readingBody = phase { phase = .readingBody(lastProgress: now) }
    }

    mutating func endReceived(at now: NIODeadline) {
        // Answered already (an early 413 or 401 before the body was read): wait for the next request.
        phase = requestsInFlight == 0 ? .awaitingHead(since: now, headStarted: false) : .answering
    }

    mutating func responseEnded(at now: NIODeadline) {
        requestsInFlight = max(0, requestsInFlight - 1)
        guard requestsInFlight == 0, case .answering = phase else { return }
        if let started = nextHeadStartedAt {
            phase = .awaitingHead(since: started, headStarted: true)
            nextHeadStartedAt = nil
        } else {
            phase = .awaitingHead(since: now, headStarted: false)
        }
    }
}
