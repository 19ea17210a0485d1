import Foundation
import Logging
import TrainyardAWSBackends
import TrainyardCore

extension Backends {
    /// The queues `sqs` triggers read: SQS, at AWS's endpoints or the one AWS's conventions
    /// configure (`AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`), with AWS's credentials chain.
    /// Nothing is contacted here (credentials load on the first receive). A malformed endpoint
    /// setting is logged and leaves this process without message queues rather than failing it:
    /// sqs triggers then say so on `triggers show`.
    static func openMessageQueues(logger: Logger) -> (any MessageQueueProvider)? {
        do {
            return try SQSMessageQueues.fromEnvironment(logger: logger)
        } catch {
            logger.warning("sqs triggers disabled: the SQS endpoint settings cannot be used", metadata: ["error.description": .string("\(error)")])
            return nil
        }
    }
}
