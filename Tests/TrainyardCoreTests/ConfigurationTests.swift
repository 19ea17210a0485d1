import Foundation
import Testing
@testable import TrainyardCore

@Suite("TrainyardConfiguration")
struct ConfigurationTests {
    func yamlFile(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("trainyard.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func defaults() async throws {
        let c = try await TrainyardConfiguration.load(file: nil, environment: [:])
        #expect(c.dataDirectory.lastPathComponent == ".trainyard")
        #expect(c.namespace == Namespace())
        #expect(c.serverHost == "127.0.0.1")
        #expect(c.serverPort == 8080)
        #expect(c.workers == 2)
        #expect(c.leaseDuration == .seconds(30))
        #expect(c.maxRunning.isEmpty)
        #expect(c.tokens.isEmpty)
        #expect(c.serverURL == nil)
        #expect(!c.insecure)
        #expect(c.databaseFile.lastPathComponent == "trainyard.sqlite")
    }

    @Test func precedence() async throws {
        let file = try yamlFile("""
            data_dir: /from/file
            project: filep
            server:
              host: 0.0.0.0
              port: 9000
              insecure: true
            workers: 3
            queue:
              lease_seconds: 12
              max_running_train: 1
            auth:
              tokens: ["ci:abcdefgh12:train+read"]
            """)
        // File over defaults.
        let fromFile = try await TrainyardConfiguration.load(file: file, environment: [:])
        #expect(fromFile.dataDirectory.path == "/from/file")
        #expect(fromFile.namespace.project == "filep")
        #expect(fromFile.serverHost == "0.0.0.0")
        #expect(fromFile.serverPort == 9000)
        #expect(fromFile.insecure)
        #expect(fromFile.workers == 3)
        #expect(fromFile.leaseDuration == .seconds(12))
        #expect(fromFile.maxRunning[.train] == 1)
        #expect(fromFile.maxRunning[.transform] == nil)
        #expect(fromFile.tokens == [AccessToken(name: "ci", secret: "abcdefgh12", scopes: [.train, .read])])

        // Environment over file.
        let env = [
            "TRAINYARD_DATA_DIR": "/from/env",
            "TRAINYARD_SERVER_PORT": "9100",
            "TRAINYARD_WORKERS": "5",
            "TRAINYARD_ENVIRONMENT": "prod",
            "TRAINYARD_QUEUE_LEASE_SECONDS": "7",
            "TRAINYARD_QUEUE_MAX_RUNNING_TRANSFORM": "4",
            "TRAINYARD_AUTH_TOKENS": "admin:supersecret:admin,bot:12345678:predict",
            "TRAINYARD_URL": "http://example:8080",
            "UNRELATED": "x",
        ]
        let fromEnv = try await TrainyardConfiguration.load(file: file, environment: env)
        #expect(fromEnv.dataDirectory.path == "/from/env")
        #expect(fromEnv.serverPort == 9100)
        #expect(fromEnv.serverHost == "0.0.0.0")
        #expect(fromEnv.workers == 5)
        #expect(fromEnv.namespace == (try Namespace(project: "filep", environment: "prod")))
        #expect(fromEnv.leaseDuration == .seconds(7))
        #expect(fromEnv.maxRunning[.train] == 1)
        #expect(fromEnv.maxRunning[.transform] == 4)
        #expect(fromEnv.tokens.map(\.name) == ["admin", "bot"])
        #expect(fromEnv.tokens[1].allows(.predict))
        #expect(!fromEnv.tokens[1].allows(.train))
        #expect(fromEnv.tokens[0].allows(.train))
        #expect(fromEnv.serverURL == "http://example:8080")

        // Flags over environment.
        let overrides = TrainyardConfiguration.Overrides(dataDirectory: "/from/flags", serverHost: "::1", serverPort: 9200,
                                                         workers: 0, insecure: false, serverURL: "http://flag",
                                                         project: "flagp", environment: "qa")
        let fromFlags = try await TrainyardConfiguration.load(file: file, environment: env, overrides: overrides)
        #expect(fromFlags.dataDirectory.path == "/from/flags")
        #expect(fromFlags.serverHost == "::1")
        #expect(fromFlags.serverPort == 9200)
        #expect(fromFlags.workers == 0)
        #expect(!fromFlags.insecure)
        #expect(fromFlags.serverURL == "http://flag")
        #expect(fromFlags.namespace == (try Namespace(project: "flagp", environment: "qa")))
        #expect(fromFlags.leaseDuration == .seconds(7))
    }

    @Test func invalidValuesAreRejected() async throws {
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_SERVER_PORT": "70000"])
        }
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_WORKERS": "1000"])
        }
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_PROJECT": "Bad-Project"])
        }
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: nil, environment: ["TRAINYARD_AUTH_TOKENS": "ci:short:read"])
        }
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: "/nonexistent/trainyard.yaml", environment: [:])
        }
        let broken = try yamlFile("server: [unclosed\n")
        await #expect(throws: TrainyardError.self) {
            try await TrainyardConfiguration.load(file: broken, environment: [:])
        }
    }

    @Test func accessTokenParsing() throws {
        let token = try AccessToken(parsing: "ci:abcdefgh:train+read")
        #expect(token.name == "ci")
        #expect(token.secret == "abcdefgh")
        #expect(token.scopes == [.train, .read])
        // The secret may contain colons (only the first two separate fields).
        #expect(try AccessToken(parsing: "a:12345678:admin").allows(.predict))
        for bad in ["ci", "ci:abcdefgh", ":abcdefgh:read", "ci:short:read", "ci:abcdefgh:root", "ci:abcdefgh:read+fly"] {
            #expect(throws: TrainyardError.self, "\(bad)") { try AccessToken(parsing: bad) }
        }
    }

    @Test func namespaceValidation() throws {
        let ns = try Namespace(project: "shop", environment: "prod_eu")
        #expect(ns.tablePrefix == "shop_prod_eu_")
        #expect(ns.keyPrefix == "shop/prod_eu/")
        #expect(ns.description == "shop/prod_eu")
        #expect(Namespace().tablePrefix == "default_dev_")
        for (p, e) in [("", "dev"), ("Shop", "dev"), ("a-b", "dev"), ("shop", "pr od"), ("shop", String(repeating: "x", count: 33)),
                       ("x;drop", "dev")] {
            #expect(throws: TrainyardError.self) { try Namespace(project: p, environment: e) }
        }
    }
}
