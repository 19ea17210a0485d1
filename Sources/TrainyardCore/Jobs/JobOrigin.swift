import Foundation

/// What made a job, when it was not a person: the trigger, and the file, schedule slot or
/// message that fired it. Stored with the job's spec (`Spec.origin`) and shown by `jobs show`.
public struct JobOrigin: Sendable, Codable, Equatable {
    /// The trigger's name.
    public var trigger: String
    /// `watch`: the file (path or URI) that fired.
    public var file: String?
    /// `schedule`: the slot (the cron time) that fired.
    public var slot: Date?
    /// `sqs`: the message id.
    public var message: String?

    public init(trigger: String, file: String? = nil, slot: Date? = nil, message: String? = nil) {
        self.trigger = trigger
        self.file = file
        self.slot = slot
        self.message = message
    }
}
