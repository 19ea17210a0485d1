import Foundation
import TrainyardAWS
import TrainyardTestServices

/// The SQS endpoint `scripts/services` started (moto_server), and boto3 beside it.
enum MotoSQS {
    static func client(_ endpoint: URL) throws -> SQSClient {
        let environment = ProcessInfo.processInfo.environment
        let credentials = try AWSCredentials(accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "testing",
                                             secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "testing")
        return SQSClient(client: AWSClient(endpoint: try AWSEndpoint(service: "sqs", region: "us-east-1", customURL: endpoint),
                                           credentials: StaticCredentialsProvider(credentials)))
    }

    static func boto3(_ script: String, _ arguments: [String] = []) async throws -> String { try await Boto3.run(script, arguments) }
}
