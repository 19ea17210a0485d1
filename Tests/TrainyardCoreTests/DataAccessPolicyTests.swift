import Foundation
import Testing
import TrainyardCore

@Suite("Data-access policy")
struct DataAccessPolicyTests {
    // MARK: Reading locations

    @Test func blobReferencesNeedASha256() {
        let hex = String(repeating: "ab", count: 32)
        #expect(DataLocation.parse("artifact:sha256:\(hex)", base: nil) == .success(.blob(sha256: hex)))
        #expect(DataLocation.parse("artifact:sha256:\(hex.uppercased())", base: nil) == .failure(.invalidBlobReference))
        #expect(DataLocation.parse("artifact:sha256:abc", base: nil) == .failure(.invalidBlobReference))
        #expect(DataLocation.parse("artifact:sha256:../../models/x/1/model.bin", base: nil) == .failure(.invalidBlobReference))
        #expect(DataLocation.parse("artifact:sha256:\(hex)/x", base: nil) == .failure(.invalidBlobReference))
    }

    @Test func schemes() {
        #expect(DataLocation.parse("s3://bucket/train.csv", base: nil) == .success(.s3("s3://bucket/train.csv")))
        #expect(DataLocation.parse("S3://bucket/train.csv", base: nil) == .success(.s3("S3://bucket/train.csv")))
        #expect(DataLocation.parse("https://example.com/x.csv", base: nil) == .failure(.unsupportedScheme("https")))
        #expect(DataLocation.parse("ftp://h/x", base: "/spec") == .failure(.unsupportedScheme("ftp")))
    }

    @Test func fileURIsArePercentDecodedAndStandardized() {
        #expect(DataLocation.parse("file:///etc/shadow", base: nil) == .success(.file(path: "/etc/shadow")))
        #expect(DataLocation.parse("FILE:///etc/shadow", base: nil) == .success(.file(path: "/etc/shadow")))
        #expect(DataLocation.parse("file://localhost/data/a.csv", base: nil) == .success(.file(path: "/data/a.csv")))
        #expect(DataLocation.parse("file:///data/a%20b.csv", base: nil) == .success(.file(path: "/data/a b.csv")))
        // Encoded dots are still dots once decoded: no way around the roots.
        #expect(DataLocation.parse("file:///data/%2e%2e/etc/passwd", base: nil) == .success(.file(path: "/etc/passwd")))
        #expect(DataLocation.parse("file://otherhost/data/a.csv", base: nil) == .failure(.invalidFileURI))
        #expect(DataLocation.parse("file://", base: nil) == .failure(.invalidFileURI))
        #expect(DataLocation.parse("file:///data/a.csv?x=1", base: nil) == .failure(.invalidFileURI))
        #expect(DataLocation.parse("file:///data/a.csv#frag", base: nil) == .failure(.invalidFileURI))
        #expect(DataLocation.parse("file:///data/%zz", base: nil) == .failure(.invalidFileURI))
        #expect(DataLocation.parse("file:///data/x%00/../../etc/passwd", base: nil) == .failure(.nulCharacter))
    }

    @Test func pathsAbsoluteAndRelative() {
        #expect(DataLocation.parse("/data//./a.csv", base: nil) == .success(.file(path: "/data/a.csv")))
        #expect(DataLocation.parse("/data/../etc/passwd", base: nil) == .success(.file(path: "/etc/passwd")))
        #expect(DataLocation.parse("data/train.csv", base: "/home/u/spec") == .success(.file(path: "/home/u/spec/data/train.csv")))
        #expect(DataLocation.parse("../../../etc/passwd", base: "/home/u/spec") == .success(.file(path: "/etc/passwd")))
        #expect(DataLocation.parse("data/train.csv", base: nil) == .failure(.relativePathWithoutBase))
        #expect(DataLocation.parse("a\u{0}b", base: "/x") == .failure(.nulCharacter))
    }

    @Test func lexicalPaths() {
        #expect(LexicalPath.standardized("/") == "/")
        #expect(LexicalPath.standardized("/..") == "/")
        #expect(LexicalPath.standardized("/a/b/../../../c") == "/c")
        #expect(LexicalPath.standardized("/a/./b/") == "/a/b")
        #expect(LexicalPath.standardized("a/b") == nil)
        #expect(LexicalPath.standardized("") == nil)
        #expect(LexicalPath.isWithin("/data", root: "/data"))
        #expect(LexicalPath.isWithin("/data/x/y.csv", root: "/data"))
        #expect(!LexicalPath.isWithin("/data2/y.csv", root: "/data"))
        #expect(!LexicalPath.isWithin("/dat", root: "/data"))
        #expect(LexicalPath.isWithin("/anything", root: "/"))
    }

    // MARK: Deciding

    @Test func unrestrictedAllowsEveryLocation() {
        let policy = DataAccessPolicy.unrestricted
        #expect(!policy.restrictsLocalPaths)
        #expect(policy.permits(.file(path: "/etc/shadow")))
        #expect(policy.permits(.blob(sha256: String(repeating: "0", count: 64))))
        #expect(policy.permits(.s3("s3://b/k")))
        #expect(policy.permits(resolvedPath: "/anywhere", resolvedRoots: []))
    }

    @Test func restrictedAllowsBlobsS3AndFilesUnderRoots() {
        let policy = DataAccessPolicy.restricted(to: ["/srv/data/", "/mnt/lake"])
        #expect(policy.restrictsLocalPaths)
        #expect(policy.roots == ["/srv/data", "/mnt/lake"])
        #expect(policy.permits(.blob(sha256: String(repeating: "0", count: 64))))
        #expect(policy.permits(.s3("s3://b/k")))
        #expect(policy.permits(.file(path: "/srv/data/train.csv")))
        #expect(policy.permits(.file(path: "/mnt/lake/a/b/c.csv")))
        #expect(policy.permits(.file(path: "/srv/data")))
        #expect(!policy.permits(.file(path: "/srv/data2/train.csv")))
        #expect(!policy.permits(.file(path: "/proc/self/environ")))
        #expect(!policy.permits(.file(path: "/etc/shadow")))
    }

    @Test func restrictedWithoutRootsAllowsNoLocalFile() {
        let policy = DataAccessPolicy.restricted(to: [])
        #expect(policy.restrictsLocalPaths)
        #expect(!policy.permits(.file(path: "/")))
        #expect(!policy.permits(.file(path: "/tmp/x.csv")))
        #expect(policy.permits(.blob(sha256: String(repeating: "f", count: 64))))
        #expect(!policy.permits(resolvedPath: "/tmp/x.csv", resolvedRoots: []))
    }

    @Test func relativeAndDuplicateRootsAreDropped() {
        let policy = DataAccessPolicy.restricted(to: ["data", "/a", "/a/", "/b/../a", "./x"])
        #expect(policy.roots == ["/a"])
        #expect(!policy.permits(.file(path: "/home/u/data/x.csv")))
    }

    @Test func resolvedPathsAreJudgedAgainstResolvedRoots() {
        // The root /data is a link to /mnt/disk1: files are judged where they really are.
        let policy = DataAccessPolicy.restricted(to: ["/data"])
        #expect(policy.permits(resolvedPath: "/mnt/disk1/x.csv", resolvedRoots: ["/mnt/disk1"]))
        // A link inside the root pointing out of it.
        #expect(!policy.permits(resolvedPath: "/etc/shadow", resolvedRoots: ["/mnt/disk1"]))
        #expect(!policy.permits(resolvedPath: "/mnt/disk10/x.csv", resolvedRoots: ["/mnt/disk1"]))
        #expect(!policy.permits(resolvedPath: "relative", resolvedRoots: ["/mnt/disk1"]))
        // A root that does not exist resolves to nothing: nothing is allowed through it.
        #expect(!policy.permits(resolvedPath: "/data/x.csv", resolvedRoots: []))
    }

    @Test func httpSubmissionsAreRestrictedWithTokensOrBeyondLoopback() {
        let loopbackNoTokens = DataAccessPolicy.forHTTPSubmissions(tokensConfigured: false, serverHost: "127.0.0.1", dataRoots: ["/d"])
        #expect(loopbackNoTokens == .unrestricted)
        for host in ["localhost", "::1", "[::1]", "127.0.0.2"] {
            #expect(DataAccessPolicy.forHTTPSubmissions(tokensConfigured: false, serverHost: host, dataRoots: []) == .unrestricted)
        }
        #expect(DataAccessPolicy.forHTTPSubmissions(tokensConfigured: true, serverHost: "127.0.0.1", dataRoots: ["/d"]) == .restricted(to: ["/d"]))
        for host in ["0.0.0.0", "10.1.2.3", "example.com", "::", "128.0.0.1"] {
            #expect(DataAccessPolicy.forHTTPSubmissions(tokensConfigured: false, serverHost: host, dataRoots: []) == .restricted(to: []))
        }

        var configuration = TrainyardConfiguration(serverHost: "127.0.0.1", dataRoots: ["/srv/data"])
        #expect(DataAccessPolicy.forHTTPSubmissions(configuration) == .unrestricted)
        configuration.tokens = [AccessToken(name: "ci", secret: "s", scopes: [.train])]
        #expect(DataAccessPolicy.forHTTPSubmissions(configuration) == .restricted(to: ["/srv/data"]))
        configuration.tokens = []
        configuration.serverHost = "0.0.0.0"
        #expect(DataAccessPolicy.forHTTPSubmissions(configuration) == .restricted(to: ["/srv/data"]))
    }

    @Test func refusalNamesKeyRuleAndConfigKeyAndNothingOfTheLocation() {
        let none = DataAccessPolicy.restricted(to: []).refusal(for: "data.train")
        #expect(none.hasPrefix("data.train: "))
        #expect(none.contains("server.data_roots"))
        #expect(none.contains("none are configured"))
        #expect(none.contains("artifact:sha256:") && none.contains("s3://"))
        let some = DataAccessPolicy.restricted(to: ["/srv/data"]).refusal(for: "data.validation")
        #expect(some.hasPrefix("data.validation: "))
        #expect(some.contains("configured: /srv/data"))
    }

    @Test func dataRootsAreReadFromConfigurationAndMustBeAbsolute() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-roots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.yaml")
        try "server:\n  data_roots: [/srv/data, \" /mnt/lake \"]\n".write(to: good, atomically: true, encoding: .utf8)
        #expect(try await TrainyardConfiguration.load(file: good.path, environment: [:]).dataRoots == ["/srv/data", "/mnt/lake"])
        let relative = folder.appendingPathComponent("relative.yaml")
        try "server:\n  data_roots: [/srv/data, data]\n".write(to: relative, atomically: true, encoding: .utf8)
        do {
            _ = try await TrainyardConfiguration.load(file: relative.path, environment: [:])
            Issue.record("a relative data root was accepted")
        } catch let error as TrainyardError {
            #expect(error.message.contains("server.data_roots"))
            #expect(error.message.contains("\"data\""))
        }
    }

    @Test func loopbackHosts() {
        for host in ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.255.0.9", "::1", "[::1]", "0:0:0:0:0:0:0:1"] {
            #expect(isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "127.0.0", "127.0.0.256", "localhost.example.com", "example.com", ""] {
            #expect(!isLoopback(host), "\(host)")
        }
    }
}
