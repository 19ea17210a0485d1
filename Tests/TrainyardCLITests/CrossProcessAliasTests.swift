import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Serving across processes: a `trainyard server` process follows an alias moved by another
/// process (`trainyard alias set`, through the shared store), every time. The server polls the
/// alias table (about every 500 ms); the wait here is bounded only generously, so a loaded
/// machine cannot fail it: the test is about following the move, not about its speed.
@Suite("Cross-process alias moves", .serialized)
struct CrossProcessAliasTests {
    @Test func aliasMovedElsewhereIsServed() async throws {
        let cli = try CLIHarness()
        let spec = try cli.writeIrisSpec(name: "flowers")
        for _ in 0..<2 { #expect(try await cli.run(["train", spec.path]).status == 0) }
        let worker = try await cli.run(["worker", "--workers", "1", "--exit-when-idle", "1s"])
        #expect(worker.status == 0, "\(worker.stderr)")
        #expect(try await cli.run(["alias", "set", "flowers", "production", "1"]).status == 0)

        let port = try Self.freePort()
        let server = cli.start(["server", "--port", String(port)])
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<1200 {
            if (try? await Self.request("\(base)/healthz"))?.0 == 200 { up = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(up, "the server did not start")
        let predict = "\(base)/api/v1/models/flowers/predict?alias=production"
        let row = #"{"inputs": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}"#
        #expect(try await Self.request(predict, body: row).1 == "1")

        for target in [2, 1, 2, 1] {
            #expect(try await cli.run(["alias", "set", "flowers", "production", String(target)]).status == 0)
            let moved = ContinuousClock.now
            var answeredBy = ""
            while ContinuousClock.now - moved < .seconds(60) {
                let (status, version) = try await Self.request(predict, body: row)
                #expect(status == 200)
                answeredBy = version
                if version == String(target) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(answeredBy == String(target), "the move to version \(target) was not served after \(ContinuousClock.now - moved)")
        }
    }

    /// (status, X-Trainyard-Model-Version) of a GET, or of a JSON POST when `body` is given.
    static func request(_ url: String, body: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        if let body {
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (_, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.value(forHTTPHeaderField: "X-Trainyard-Model-Version") ?? "")
    }

    /// A free loopback TCP port (bound, read, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
