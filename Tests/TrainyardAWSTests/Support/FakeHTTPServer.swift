import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 (a free port) answering every request with what a
/// script says: stands in for an AWS endpoint, the ECS credentials agent or the EC2 metadata
/// service. It records every request it received, so tests check what was sent.
final class FakeHTTPServer: Sendable {
    struct Request: Sendable {
        let method: String
        let uri: String
        /// Lower-cased names.
        let headers: [String: String]
        let body: Data

        var path: String { String(uri.prefix { $0 != "?" }) }
    }

    enum Response: Sendable {
        case answer(status: Int, headers: [(String, String)], body: Data)
        /// Close the connection without answering (a connection error for the client).
        case dropConnection
        /// Announce `body`'s full length but send only its first `sent` bytes, then close:
        /// a connection that breaks mid-body.
        case truncated(status: Int, headers: [(String, String)], body: Data, sent: Int)

        static func status(_ status: Int, _ body: String = "", headers: [(String, String)] = []) -> Response {
            .answer(status: status, headers: headers, body: Data(body.utf8))
        }
    }

    typealias Responder = @Sendable (Request) -> Response

    /// What the connection handlers share: the script and the log of requests.
    final class State: Sendable {
        let responder: Responder
        let received = Mutex<[Request]>([])

        init(responder: @escaping Responder) { self.responder = responder }

        func record(_ request: Request) -> Response {
            received.withLock { $0.append(request) }
            return responder(request)
        }
    }

    private let channel: any Channel
    private let state: State

    var port: Int { channel.localAddress?.port ?? 0 }
    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var requests: [Request] { state.received.withLock { $0 } }

    private init(channel: any Channel, state: State) {
        self.channel = channel
        self.state = state
    }

    /// Starts a server; stop it with ``stop()``.
    static func start(_ responder: @escaping Responder) async throws -> FakeHTTPServer {
        let state = State(responder: responder)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeHTTPServer(channel: channel, state: state)
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: State
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(state: State) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else {
                    context.close(promise: nil)
                    return
                }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: head.method.rawValue, uri: head.uri, headers: headers, body: Data(body.readableBytesView))
                switch state.record(request) {
                case .dropConnection:
                    context.close(promise: nil)
                case .truncated(let status, let extraHeaders, let bytes, let sent):
                    var responseHeaders = HTTPHeaders(extraHeaders)
                    responseHeaders.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                    let responseHead = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: responseHeaders)
                    context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes.prefix(sent))))), promise: nil)
                    context.close(promise: nil)
                case .answer(let status, let extraHeaders, let bytes):
                    var responseHeaders = HTTPHeaders(extraHeaders)
                    responseHeaders.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                    let responseHead = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: responseHeaders)
                    context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                    if head.method != .HEAD, !bytes.isEmpty {
                        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
                    }
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
                self.head = nil
            }
        }
    }
}
