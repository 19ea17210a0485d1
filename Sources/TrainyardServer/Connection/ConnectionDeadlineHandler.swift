import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import TrainyardCore

/// Closes connections whose client is too slow to send a request head, stalls a request body, or
/// sits idle between requests (`limits.header_seconds`, `limits.body_seconds`,
/// `limits.idle_seconds`; see `ConnectionDeadlines` for exactly what each bounds).
///
/// It sits after the HTTP decoder (added through `HTTP1Channel.Configuration.additionalChannelHandlers`)
/// where it sees request heads, bodies and ends and response ends; for the bytes of a head that
/// is not complete yet (which the decoder keeps to itself) it puts a small observer at the front
/// of the pipeline. One timer per connection, re-armed when the deadline moves.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ResourceLimits
    private let logger: Logger
    private var state: ConnectionDeadlines?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?

    init(limits: ResourceLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        try? context.pipeline.syncOperations.addHandler(RawBytesObserver(owner: self), position: .first)
        if context.channel.isActive { start() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = NIODeadline.now()
        switch unwrapInboundIn(data) {
        case .head: state?.headReceived(at: now)
        case .body: state?.bodyReceived(at: now)
        case .end: state?.endReceived(at: now)
        }
        arm()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            state?.responseEnded(at: .now())
            arm()
        }
        context.write(data, promise: promise)
    }

    /// Bytes reached the socket (called by the observer at the front of the pipeline).
    fileprivate func bytesArrived() {
        state?.bytesArrived(at: .now())
        arm()
    }

    private func start() {
        guard state == nil else { return }
        state = ConnectionDeadlines(limits: limits, openedAt: .now())
        arm()
    }

    /// Makes sure a timer fires no later than the current deadline.
    private func arm() {
        guard let context, let deadline = state?.deadline?.at else { return }
        if let scheduled = timerDeadline, scheduled <= deadline { return }  // it fires first and re-arms
        cancelTimer()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in self?.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard let context, let (deadline, limit) = state?.deadline else { return }
        guard NIODeadline.now() >= deadline else { return arm() }
        logger.info("closing a slow connection", metadata: [
            "trainyard.limit": .string(limit.key),
            "net.peer": .string(context.channel.remoteAddress.map { "\($0)" } ?? "-"),
        ])
        state = nil
        context.close(promise: nil)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }
}

/// Tells the deadline handler whenever bytes arrive, before the HTTP decoder buffers them.
private final class RawBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private weak var owner: ConnectionDeadlineHandler?

    init(owner: ConnectionDeadlineHandler) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner?.bytesArrived()
        context.fireChannelRead(data)
    }
}
