import Foundation
import Synchronization
import Testing
@testable import TrainyardAWS

/// Each credentials source against temp files and local fake endpoints, the order the chain
/// asks them in, and the cache that refreshes temporary credentials once, before they expire.
@Suite("AWS credentials chain")
struct CredentialsChainTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRET"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"

    /// A folder with `credentials` and `config` files, removed by the caller.
    static func sharedFiles(credentials: String?, config: String?) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aws-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let credentials { try Data(credentials.utf8).write(to: folder.appendingPathComponent("credentials")) }
        if let config { try Data(config.utf8).write(to: folder.appendingPathComponent("config")) }
        return folder
    }

    static func filesEnvironment(_ folder: URL, _ extra: [String: String] = [:]) -> [String: String] {
        ["AWS_SHARED_CREDENTIALS_FILE": folder.appendingPathComponent("credentials").path,
         "AWS_CONFIG_FILE": folder.appendingPathComponent("config").path].merging(extra) { _, new in new }
    }

    /// The JSON document ECS and EC2 answer with.
    static func document(id: String, expiresIn seconds: TimeInterval = 3600) -> String {
        let expiration = Date().addingTimeInterval(seconds).formatted(.iso8601)
        return #"{"Code":"Success","AccessKeyId":"\#(id)","SecretAccessKey":"\#(secret)","Token":"\#(token)","Expiration":"\#(expiration)"}"#
    }

    /// An AWSError's text, checked for what must never be in it.
    static func expectNoSecret(_ error: (any Error)?, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(!text.contains(secret) && !text.contains(token), "\(text)", sourceLocation: sourceLocation)
    }

    // MARK: Environment

    @Test func environmentVariables() async throws {
        let found = try #require(try await EnvironmentCredentialsSource(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": Self.token,
        ]).load())
        #expect(found.credentials.accessKeyID == "AKIDENV")
        #expect(found.credentials.secretAccessKey == Self.secret)
        #expect(found.credentials.sessionToken == Self.token)
        #expect(found.expiration == nil)
        #expect(!"\(found)".contains(Self.secret) && !"\(found)".contains(Self.token))
        #expect(try await EnvironmentCredentialsSource(environment: [:]).load() == nil)
        let half = await #expect(throws: AWSError.self) {
            _ = try await EnvironmentCredentialsSource(environment: ["AWS_SECRET_ACCESS_KEY": Self.secret]).load()
        }
        #expect(half?.message.contains("AWS_ACCESS_KEY_ID is not") == true)
        Self.expectNoSecret(half)
    }

    // MARK: Shared files

    @Test func profilesFromTheCredentialsAndConfigFiles() async throws {
        let folder = try Self.sharedFiles(credentials: """
        # a comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = \(Self.secret)   ; trailing comment

        [dev]
        aws_access_key_id=AKIDDEVCREDS
        """, config: """
        [default]
        region = eu-central-1
        s3 =
          max_concurrent_requests = 20
        [profile dev]
        aws_access_key_id = AKIDDEVCONFIG
        aws_secret_access_key = \(Self.secret)
        aws_session_token = \(Self.token)
        region = ap-southeast-2
        [dev]
        aws_access_key_id = NOT-A-PROFILE-IN-CONFIG
        [profile configonly]
        aws_access_key_id = AKIDCONFIGONLY
        aws_secret_access_key = \(Self.secret)
        """)
        defer { try? FileManager.default.removeItem(at: folder) }

        let byDefault = try #require(try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder)).load())
        #expect(byDefault.credentials.accessKeyID == "AKIDDEFAULT")
        #expect(byDefault.credentials.secretAccessKey == Self.secret)
        #expect(SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder)).region() == "eu-central-1")

        // The credentials file's key wins; the secret and token come from the config file.
        let dev = try #require(try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder, ["AWS_PROFILE": "dev"])).load())
        #expect(dev.credentials.accessKeyID == "AKIDDEVCREDS")
        #expect(dev.credentials.sessionToken == Self.token)
        #expect(try AWSEndpoint.resolve(service: "s3", environment: Self.filesEnvironment(folder, ["AWS_PROFILE": "dev"])).region == "ap-southeast-2")

        let configOnly = try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder, ["AWS_PROFILE": "configonly"])).load()
        #expect(configOnly?.credentials.accessKeyID == "AKIDCONFIGONLY")

        let missing = await #expect(throws: AWSError.self) {
            _ = try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder, ["AWS_PROFILE": "nope"])).load()
        }
        #expect(missing?.message.contains("'nope'") == true)
        // No files and no profile asked for: not set up here.
        #expect(try await SharedFilesCredentialsSource(environment: ["AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/c",
                                                                    "AWS_CONFIG_FILE": "/nonexistent/k"]).load() == nil)
    }

    @Test func profilesThatAssumeRolesOrUseSSOAreRefusedByName() async throws {
        let folder = try Self.sharedFiles(credentials: """
        [halfkey]
        aws_secret_access_key = \(Self.secret)
        """, config: """
        [profile role]
        role_arn = arn:aws:iam::123456789012:role/ci
        source_profile = default
        [profile sso]
        sso_session = corp
        sso_account_id = 123456789012
        [profile process]
        credential_process = /usr/local/bin/get-creds
        """)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (profile, words) in [("role", "role_arn"), ("sso", "sso_session"), ("process", "credential_process")] {
            let error = await #expect(throws: AWSError.self) {
                _ = try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder, ["AWS_PROFILE": profile])).load()
            }
            #expect(error?.kind == .credentials)
            #expect(error?.message.contains(words) == true && error?.message.contains("does not support") == true, "\(error.map { "\($0)" } ?? "")")
        }
        let half = await #expect(throws: AWSError.self) {
            _ = try await SharedFilesCredentialsSource(environment: Self.filesEnvironment(folder, ["AWS_PROFILE": "halfkey"])).load()
        }
        #expect(half?.message.contains("no aws_access_key_id") == true)
        Self.expectNoSecret(half)
    }

    // MARK: ECS

    @Test func ecsTaskRoleFromARelativeURI() async throws {
        let server = try await FakeHTTPServer.start { request in
            request.path == "/v2/credentials/abc" ? .status(200, Self.document(id: "ASIAECS")) : .status(404)
        }
        defer { Task { try? await server.stop() } }
        let source = ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"],
                                                relativeBase: server.url)
        let found = try #require(try await source.load())
        #expect(found.credentials.accessKeyID == "ASIAECS")
        #expect(found.credentials.sessionToken == Self.token)
        #expect(try #require(found.expiration) > Date())
        #expect(server.requests.map(\.method) == ["GET"])
        #expect(try await ContainerCredentialsSource(environment: [:], relativeBase: server.url).load() == nil)
    }

    @Test func ecsFullURIWithAnAuthorizationToken() async throws {
        let server = try await FakeHTTPServer.start { request in
            request.headers["authorization"] == "Bearer pod-token" ? .status(200, Self.document(id: "ASIAPOD")) : .status(401, "no")
        }
        defer { Task { try? await server.stop() } }
        let uri = server.url.absoluteString + "/creds"
        let withToken = ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
                                                                 "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer pod-token"])
        #expect(try await withToken.load()?.credentials.accessKeyID == "ASIAPOD")

        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try Data("Bearer pod-token\n".utf8).write(to: tokenFile)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        let withFile = ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
                                                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile.path,
                                                                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong"])
        #expect(try await withFile.load()?.credentials.accessKeyID == "ASIAPOD")

        let refused = await #expect(throws: AWSError.self) {
            _ = try await ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
                                                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong"]).load()
        }
        #expect(refused?.message.contains("HTTP 401") == true)
        // The token is never sent in clear to a host that is neither loopback nor the agent.
        let remote = await #expect(throws: AWSError.self) {
            _ = try await ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.169.254/creds",
                                                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"]).load()
        }
        #expect(remote?.message.contains("must be https") == true)
    }

    // MARK: EC2 instance metadata

    /// IMDSv2: a session token first, then the role, then its credentials, each with the token.
    static func metadataServer(role: String = "web-role") async throws -> FakeHTTPServer {
        try await FakeHTTPServer.start { request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600" ? .status(200, "SESSION-TOKEN") : .status(400)
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return request.headers["x-aws-ec2-metadata-token"] == "SESSION-TOKEN" ? .status(200, "\(role)\n") : .status(401)
            case ("GET", "/latest/meta-data/iam/security-credentials/\(role)"):
                return request.headers["x-aws-ec2-metadata-token"] == "SESSION-TOKEN" ? .status(200, Self.document(id: "ASIAEC2")) : .status(401)
            default:
                return .status(404)
            }
        }
    }

    @Test func ec2InstanceMetadataWithIMDSv2() async throws {
        let server = try await Self.metadataServer()
        defer { Task { try? await server.stop() } }
        let found = try #require(try await InstanceMetadataCredentialsSource(environment: [:], baseURL: server.url).load())
        #expect(found.credentials.accessKeyID == "ASIAEC2")
        #expect(found.source == "EC2 instance profile web-role")
        #expect(server.requests.map { "\($0.method) \($0.path)" } == [
            "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/web-role",
        ])
        // The endpoint may be moved by the environment, as the SDKs allow.
        let moved = InstanceMetadataCredentialsSource(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url.absoluteString])
        #expect(try await moved.load()?.credentials.accessKeyID == "ASIAEC2")
    }

    @Test func ec2InstanceMetadataCanBeDisabledAndIsPassedOverWhenAbsent() async throws {
        let server = try await Self.metadataServer()
        defer { Task { try? await server.stop() } }
        #expect(try await InstanceMetadataCredentialsSource(environment: ["AWS_EC2_METADATA_DISABLED": "true"], baseURL: server.url).load() == nil)
        #expect(server.requests.isEmpty)

        // Nothing answering (not on EC2): not set up here, after short timeouts.
        let gone = try await FakeHTTPServer.start { _ in .status(200) }
        let url = gone.url
        try await gone.stop()
        let http = AWSHTTPClient.make(connectTimeout: .milliseconds(300))
        let absent = InstanceMetadataCredentialsSource(environment: [:], baseURL: url, httpClient: http, timeout: .milliseconds(500))
        #expect(try await absent.load() == nil)
        try await http.shutdown()
    }

    // MARK: The chain

    @Test func theChainAsksEnvironmentThenFilesThenECSThenEC2() async throws {
        let folder = try Self.sharedFiles(credentials: "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = \(Self.secret)\n", config: nil)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ecs = try await FakeHTTPServer.start { _ in .status(200, Self.document(id: "ASIAECS")) }
        defer { Task { try? await ecs.stop() } }
        let imds = try await Self.metadataServer()
        defer { Task { try? await imds.stop() } }

        func chain(_ environment: [String: String]) -> AWSCredentialsChain {
            AWSCredentialsChain(sources: [
                EnvironmentCredentialsSource(environment: environment),
                SharedFilesCredentialsSource(environment: environment),
                ContainerCredentialsSource(environment: environment, relativeBase: ecs.url),
                InstanceMetadataCredentialsSource(environment: environment, baseURL: imds.url),
            ])
        }
        let everything = Self.filesEnvironment(folder, ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Self.secret,
                                                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds"])
        #expect(try await chain(everything).credentials().accessKeyID == "AKIDENV")
        var noEnvironment = everything
        noEnvironment["AWS_ACCESS_KEY_ID"] = nil
        noEnvironment["AWS_SECRET_ACCESS_KEY"] = nil
        #expect(try await chain(noEnvironment).credentials().accessKeyID == "AKIDFILE")
        var containerOnly = noEnvironment
        containerOnly["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/credentials"
        #expect(try await chain(containerOnly).credentials().accessKeyID == "ASIAECS")
        var instanceOnly = containerOnly
        instanceOnly["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = nil
        #expect(try await chain(instanceOnly).credentials().accessKeyID == "ASIAEC2")
        var nothing = instanceOnly
        nothing["AWS_EC2_METADATA_DISABLED"] = "true"
        let none = await #expect(throws: AWSError.self) { _ = try await chain(nothing).credentials() }
        #expect(none?.kind == .credentials)
        #expect(none?.message.contains("no AWS credentials found") == true)
        #expect(none?.message.contains("EC2 instance metadata") == true)
    }

    /// A source whose credentials expire `lifetime` after each load; loads take a moment, so
    /// concurrent callers overlap one refresh.
    final class ExpiringSource: AWSCredentialsSource {
        let lifetime: TimeInterval
        let now: @Sendable () -> Date
        let loaded = Mutex(0)
        let failing = Mutex(false)
        var name: String { "test source" }

        init(lifetime: TimeInterval, now: @escaping @Sendable () -> Date) {
            self.lifetime = lifetime
            self.now = now
        }

        func load() async throws -> ExpiringCredentials? {
            try await Task.sleep(for: .milliseconds(50))
            if failing.withLock({ $0 }) { throw AWSError(.credentials, "the metadata service is down") }
            let count = loaded.withLock { $0 += 1; return $0 }
            return ExpiringCredentials(try AWSCredentials(accessKeyID: "ASIA\(count)", secretAccessKey: CredentialsChainTests.secret, sessionToken: CredentialsChainTests.token),
                                       expiration: now().addingTimeInterval(lifetime), source: name)
        }
    }

    @Test func temporaryCredentialsAreRefreshedOnceBeforeTheyExpire() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let now: @Sendable () -> Date = { clock.withLock { $0 } }
        let source = ExpiringSource(lifetime: 3600, now: now)
        let chain = AWSCredentialsChain(sources: [source], refreshMargin: 300, now: now)

        // Many callers at once: one load.
        let first = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await chain.credentials().accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(first == ["ASIA1"])
        #expect(source.loaded.withLock { $0 } == 1)

        // Well before expiry: cached.
        clock.withLock { $0 += 3000 }
        #expect(try await chain.credentials().accessKeyID == "ASIA1")
        // Within the margin (4 minutes left): refreshed, once, whoever asks.
        clock.withLock { $0 += 360 }
        let second = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await chain.credentials().accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(second == ["ASIA2"])
        #expect(source.loaded.withLock { $0 } == 2)
        #expect(await chain.loads == 2)

        // A failed refresh keeps credentials that still work…
        source.failing.withLock { $0 = true }
        clock.withLock { $0 += 3400 }
        #expect(try await chain.credentials().accessKeyID == "ASIA2")
        // …but not expired ones.
        clock.withLock { $0 += 600 }
        let expired = await #expect(throws: AWSError.self) { _ = try await chain.credentials() }
        Self.expectNoSecret(expired)

        // The service said "expired": the next call loads again.
        source.failing.withLock { $0 = false }
        _ = try await chain.credentials()
        await chain.invalidate()
        #expect(try await chain.credentials().accessKeyID == "ASIA4")
    }

    @Test func profileFilesParseAsTheCLIReadsThem() {
        let file = AWSProfileFile(parsing: "[profile a]\nKey = v # c\nother=x;y\n[profile]\nz = 1\n[ profile  b ]\nk=v\n", kind: .config)
        #expect(file.profiles["a"] == ["key": "v", "other": "x;y"])
        #expect(file.profiles["b"] == ["k": "v"])
        #expect(file.profiles.count == 2)
        let credentials = AWSProfileFile(parsing: "[profile a]\nk=v\n[b]\nk = w\n", kind: .credentials)
        #expect(credentials.profiles["profile a"] == ["k": "v"])
        #expect(credentials.profiles["b"] == ["k": "w"])
    }
}
