import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TrainyardCore
@testable import TrainyardServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 9 item 4: slow-header, stalled-body and idle connections are closed
/// (`limits.header_seconds`, `limits.body_seconds`, `limits.idle_seconds`).
@Suite struct ConnectionDeadlineTests {
    static func at(_ seconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(1_000 + seconds) * 1_000_000_000) }

    // MARK: The state machine, on a clock of its own

    @Test func aNewConnectionMustSendItsHeadWithinTheHeaderLimit() {
        let state = ConnectionDeadlines(header: .seconds(10), body: .seconds(60), idle: .seconds(120), openedAt: Self.at(0))
        #expect(state.deadline?.at == Self.at(10))
        #expect(state.deadline?.limit == .header)
        var trickling = state
        trickling.bytesArrived(at: Self.at(9))  // one more header byte does not buy more time
        #expect(trickling.deadline?.at == Self.at(10))
    }

    @Test func aStalledBodyIsBoundedButASteadyOneIsNot() {
        var state = ConnectionDeadlines(header: .seconds(10), body: .seconds(60), idle: .seconds(120), openedAt: Self.at(0))
        state.bytesArrived(at: Self.at(1))
        state.headReceived(at: Self.at(1))
        #expect(state.deadline?.at == Self.at(61))
        #expect(state.deadline?.limit == .body)
        state.bytesArrived(at: Self.at(50))
        state.bodyReceived(at: Self.at(50))
        #expect(state.deadline?.at == Self.at(110))
        state.endReceived(at: Self.at(51))
        #expect(state.deadline == nil)  // answering: the routes own that time
    }

    @Test func betweenRequestsTheIdleLimitAppliesUntilTheNextHeadStarts() {
        var state = ConnectionDeadlines(header: .seconds(10), body: .seconds(60), idle: .seconds(120), openedAt: Self.at(0))
        state.headReceived(at: Self.at(1))
        state.endReceived(at: Self.at(1))
        state.responseEnded(at: Self.at(2))
        #expect(state.deadline?.at == Self.at(122))
        #expect(state.deadline?.limit == .idle)
        state.bytesArrived(at: Self.at(30))  // the next head begins: it has header_seconds from here
        #expect(state.deadline?.at == Self.at(40))
        #expect(state.deadline?.limit == .header)
    }

    @Test func pipelinedAndEarlyAnsweredRequestsKeepADeadline() {
        var state = ConnectionDeadlines(header: .seconds(10), body: .seconds(60), idle: .seconds(120), openedAt: Self.at(0))
        // Answered before its body was read (a 413): the rest of the body is still bounded, then idle.
        state.headReceived(at: Self.at(1))
        state.responseEnded(at: Self.at(1))
        #expect(state.deadline?.limit == .body)
        state.endReceived(at: Self.at(2))
        #expect(state.deadline?.limit == .idle)
        // The next request's bytes arrive while one is answered: its head is timed from then.
        state.headReceived(at: Self.at(3))
        state.endReceived(at: Self.at(3))
        state.bytesArrived(at: Self.at(4))
        #expect(state.deadline == nil)
        state.responseEnded(at: Self.at(20))
        #expect(state.deadline?.at == Self.at(14))
    }

    // MARK: Over a real socket

    /// A complete `GET /healthz` on a connection of its own; what came back before the server closed it.
    static func healthz(_ port: Int) throws -> String {
        let socket = try RawConnection(port: port)
        defer { socket.close() }
        try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _ = socket.readUntilClosed()
        return socket.received
    }

    /// Runs the real server (port 0) with 1-second limits.
    func withLiveServer(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let f = try await Fixture.make { configuration in
            configuration.limits.headerSeconds = 1
            configuration.limits.bodySeconds = 1
            configuration.limits.idleSeconds = 1
        }
        defer { f.remove() }
        let app = try TrainyardHTTPServer.makeApplication(services: f.services)
        // Only the port is taken from the test client: its own pooled connection would be closed
        // by these very limits, so every request here goes over a raw socket.
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body(port)
        }
        #expect(f.logs.all.contains { $0.message == "closing a slow connection" })
    }

    @Test(.timeLimit(.minutes(2))) func aSlowHeaderIsCutOffWhileOthersAreServed() async throws {
        try await withLiveServer { port in
            let socket = try RawConnection(port: port)
            defer { socket.close() }
            try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            let closed = Task { try await onOwnThread { socket.readUntilClosed() } }
            // The server still answers everyone else meanwhile.
            #expect(try await onOwnThread { try Self.healthz(port) }.contains("HTTP/1.1 200"))
            let outcome = try await closed.value
            #expect(outcome == .closed, "the server kept a half-sent request head open: \(outcome)")
        }
    }

    @Test(.timeLimit(.minutes(2))) func aStalledBodyIsCutOff() async throws {
        try await withLiveServer { port in
            let socket = try RawConnection(port: port)
            defer { socket.close() }
            try socket.send("POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/yaml\r\nContent-Length: 1000\r\n\r\nname: x\n")
            let closed = Task { try await onOwnThread { socket.readUntilClosed() } }
            #expect(try await onOwnThread { try Self.healthz(port) }.contains("HTTP/1.1 200"))
            let outcome = try await closed.value
            #expect(outcome == .closed, "the server kept a stalled body open: \(outcome)")
        }
    }

    @Test(.timeLimit(.minutes(2))) func anIdleKeepAliveConnectionIsClosed() async throws {
        try await withLiveServer { port in
            let socket = try RawConnection(port: port)
            defer { socket.close() }
            try socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let outcome = try await onOwnThread { socket.readUntilClosed() }
            #expect(outcome == .closed)
            #expect(socket.received.contains("HTTP/1.1 200"))  // answered first, then closed when idle
        }
    }
}

/// Runs blocking `work` on a thread of its own: blocking a thread of the concurrency pool (two on
/// a 2-core machine) would starve the server under test, which runs its handlers there.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    let result: Result<T, any Error> = await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: Result { try work() }) }.start()
    }
    return try result.get()
}

/// A blocking TCP client on loopback: sends raw bytes and waits for the server to close.
/// Every read is bounded (SO_RCVTIMEO), so a server that never closes fails the test instead of hanging it.
final class RawConnection: @unchecked Sendable {
    enum Outcome: Equatable, Sendable { case closed, timedOut, failed(Int32) }
    private let fd: Int32
    private(set) var received = ""

    init(port: Int, readTimeoutSeconds: Int = 30) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TrainyardError(.internal, "socket() failed: \(errno)") }
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw TrainyardError(.internal, "connect() failed: \(errno)") }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard sent == bytes.count else { throw TrainyardError(.internal, "write() failed: \(errno)") }
    }

    /// Reads until the peer closes (EOF or reset), a read times out, or a read fails.
    func readUntilClosed() -> Outcome {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { received += String(decoding: buffer[0..<n], as: UTF8.self); continue }
            if n == 0 { return .closed }
            if errno == ECONNRESET { return .closed }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .timedOut }
            if errno == EINTR { continue }
            return .failed(errno)
        }
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }
}
