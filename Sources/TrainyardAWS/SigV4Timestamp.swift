import Foundation

/// The signing time in the two forms SigV4 uses, both UTC: `X-Amz-Date` (`20150830T123600Z`) and
/// the credential scope's day (`20150830`). Sub-second parts are dropped, as AWS does.
public struct SigV4Timestamp: Hashable, Sendable {
    public let amzDate: String
    public let dateStamp: String

    public init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func padded(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        dateStamp = padded(parts.year, 4) + padded(parts.month, 2) + padded(parts.day, 2)
        amzDate = dateStamp + "T" + padded(parts.hour, 2) + padded(parts.minute, 2) + padded(parts.second, 2) + "Z"
    }
}
