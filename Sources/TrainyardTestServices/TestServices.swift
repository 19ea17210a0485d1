import Foundation

/// The external services some tests need, as `scripts/services start` announces them:
///
/// | variable | what |
/// |---|---|
/// | `TRAINYARD_TEST_POSTGRES_URL` | a PostgreSQL server tests may create schemas in (`postgres://user@127.0.0.1:PORT/db`) |
/// | `TRAINYARD_TEST_AWS_ENDPOINT` | an S3 + SQS endpoint (`moto_server`, `http://127.0.0.1:PORT`) with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` set |
/// | `TRAINYARD_REQUIRE_SERVICES` | `1` in CI: a missing service fails the test instead of skipping it |
///
/// Locally a test whose service is missing is skipped with a message saying what to start
/// (Swift Testing prints the comment of a disabled test); under `TRAINYARD_REQUIRE_SERVICES=1`
/// the same test runs and fails at once, naming the missing variable.
public enum TestService: String, Sendable, CaseIterable {
    case postgres = "TRAINYARD_TEST_POSTGRES_URL"
    case aws = "TRAINYARD_TEST_AWS_ENDPOINT"

    /// The service's URL, if `scripts/services` (or the developer) announced one.
    public var url: URL? {
        guard let text = ProcessInfo.processInfo.environment[rawValue], !text.isEmpty else { return nil }
        return URL(string: text)
    }

    /// Whether a test needing this service should run: it is announced, or it is required (so
    /// its absence is a failure, not a skip).
    public var shouldRun: Bool { url != nil || TestServices.required }

    /// Why a test is skipped when the service is missing (shown by the test runner).
    public var skipReason: String {
        "\(rawValue) is not set: run `eval \"$(scripts/services start)\"` to start PostgreSQL and moto_server (S3, SQS) for this test"
    }

    /// The service's URL, or an error naming the variable (a test's first line: under
    /// `TRAINYARD_REQUIRE_SERVICES=1` this is how a missing service fails the test).
    public func require() throws -> URL {
        guard let url else { throw MissingService(variable: rawValue) }
        return url
    }
}

public enum TestServices {
    /// `TRAINYARD_REQUIRE_SERVICES=1` (set by `.ci/run`).
    public static var required: Bool { ProcessInfo.processInfo.environment["TRAINYARD_REQUIRE_SERVICES"] == "1" }
}

/// A required service that was not announced.
public struct MissingService: Error, CustomStringConvertible {
    public var variable: String
    public var description: String {
        "\(variable) is not set but TRAINYARD_REQUIRE_SERVICES=1: the service this test needs was not started (scripts/services start)"
    }
}
