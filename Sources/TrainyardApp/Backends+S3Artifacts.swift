import Foundation
import Logging
import TrainyardAWS
import TrainyardAWSBackends
import TrainyardCore

extension Backends {
    /// The artifact store of `artifacts: s3://bucket/prefix`.
    ///
    /// The endpoint is `TRAINYARD_S3_ENDPOINT` (an S3-compatible store, moto), then AWS's
    /// conventions (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`), else AWS's own in the region
    /// (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`); custom
    /// endpoints are addressed path-style. Credentials come from AWS's chain (environment,
    /// shared files' profile, ECS task role, EC2 instance metadata), loaded at the first request
    /// and refreshed before they expire: nothing is contacted here, so a bucket that cannot be
    /// reached fails the first read or write, as `.unavailable`.
    static func openS3ArtifactStore(bucket: String, prefix: String, namespace: Namespace,
                                    environment: [String: String] = ProcessInfo.processInfo.environment,
                                    logger: Logger = Logger(label: "trainyard.s3")) throws -> S3ArtifactStore {
        let endpointURL = try s3EndpointOverride(environment)
        do {
            _ = try S3Location(bucket: bucket, key: prefix)
            let endpoint = try AWSEndpoint.resolve(service: "s3", url: endpointURL, environment: environment)
            let client = AWSClient(endpoint: endpoint, credentials: AWSCredentialsChain.default(environment: environment, logger: logger),
                                   logger: logger)
            return S3ArtifactStore(s3: S3Client(client: client), bucket: bucket, prefix: prefix, namespace: namespace, logger: logger)
        } catch {
            throw TrainyardError(.invalidArgument, "artifacts: \(error.message)")
        }
    }

    /// `TRAINYARD_S3_ENDPOINT` (an S3-compatible store, moto), if set: the endpoint both the
    /// artifact store and `s3://` data use before AWS's own conventions.
    static func s3EndpointOverride(_ environment: [String: String]) throws(TrainyardError) -> URL? {
        guard let text = environment["TRAINYARD_S3_ENDPOINT"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let url = URL(string: text) else {
            throw TrainyardError(.invalidArgument, "TRAINYARD_S3_ENDPOINT \(clientEcho(text)) is not a URL")
        }
        return url
    }
}
