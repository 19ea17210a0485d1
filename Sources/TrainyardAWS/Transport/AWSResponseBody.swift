import AsyncHTTPClient
import Foundation
import NIOCore

/// The body of an answer as it arrives, chunk by chunk (as the server and the network cut it),
/// never held whole. Iterate it once.
public struct AWSResponseBody: AsyncSequence, Sendable {
    public typealias Element = Data

    private let body: HTTPClientResponse.Body

    init(_ body: HTTPClientResponse.Body) { self.body = body }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator

        public mutating func next() async throws -> Data? {
            while let buffer = try await base.next() {
                // Empty buffers carry nothing worth a call to the consumer.
                if buffer.readableBytes > 0 { return Data(buffer.readableBytesView) }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator()) }

    /// The whole body, refused beyond `limit` bytes.
    public func collect(upTo limit: Int) async throws -> Data {
        try await AWSClient.collect(body, upTo: limit, what: "the answer")
    }
}
