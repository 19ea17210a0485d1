import Foundation
import Logging
import TrainyardAWS
import TrainyardAWSBackends
import TrainyardCore

extension Backends {
    /// Where `s3://` data (spec data, transform inputs and outputs) is read and written.
    ///
    /// Data in S3 is useful whatever holds the artifacts (a laptop's folder store training on a
    /// bucket's data is a real deployment), so this does not depend on `artifacts: s3://…`:
    /// when the artifact store is S3 its transport (endpoint, region, credentials) is shared;
    /// otherwise the endpoint is `TRAINYARD_S3_ENDPOINT`, then AWS's conventions
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, AWS's own for `AWS_REGION`), and the
    /// credentials AWS's chain. Nothing is contacted here: credentials load on the first
    /// `s3://` a process meets, and a process without any refuses that URI saying where it
    /// looked. Only a malformed endpoint setting leaves the process without S3 data (logged),
    /// and `s3://` is then refused at submit as not configured.
    static func openDataObjects(artifacts: any ArtifactStore, environment: [String: String] = ProcessInfo.processInfo.environment,
                                logger: Logger) -> (any DataObjectStore)? {
        if let store = artifacts as? S3ArtifactStore {
            // The artifact store's client reads in chunks the artifact port needs; data reads take
            // the client's defaults on the same transport.
            return S3DataObjects(s3: S3Client(client: store.s3.client, addressing: store.s3.addressing))
        }
        do {
            return try TrainyardApp.openDataObjects(environment: environment, logger: logger)
        } catch {
            logger.warning("s3:// data disabled: the S3 endpoint settings cannot be used", metadata: ["error.description": .string("\(error)")])
            return nil
        }
    }
}

extension TrainyardApp {
    /// `s3://` data on the endpoint and credentials `environment` names (`TRAINYARD_S3_ENDPOINT`,
    /// then AWS's conventions): what `build` wires when the artifacts are not in S3, and what a
    /// test points at its own S3 endpoint.
    public static func openDataObjects(environment: [String: String],
                                       logger: Logger = Logger(label: "trainyard.s3.data")) throws -> any DataObjectStore {
        let endpoint = try Backends.s3EndpointOverride(environment)
        do {
            return try S3DataObjects.fromEnvironment(environment, endpoint: endpoint, logger: logger)
        } catch let error as AWSError {
            throw TrainyardError(.invalidArgument, "S3 endpoint: \(error.message)")
        }
    }
}
