import Foundation
import HandoverCore

/// Parses `500M`, `2G`, `64K` or a number of bytes (powers of 1024).
func parseSize(_ text: String) throws -> Int64 {
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = text.uppercased()
    if digits.hasSuffix("B") && digits.count > 1 { digits.removeLast() }
    var factor: Int64 = 1
    if let last = digits.last, let unit = units[last] {
        factor = unit
        digits.removeLast()
    }
    guard let number = Int64(digits), number > 0, number <= Int64.max / factor, number * factor >= 64 * 1024 else {
        throw HandoverError(.invalidArgument, "a split size is a number with K, M or G, such as 500M, and at least 64K")
    }
    return number * factor
}

/// Parses an ISO 8601 date-time for --generated-at.
func parseTime(_ text: String) throws -> Timestamp {
    guard let time = Timestamp(iso8601: text) else {
        throw HandoverError(.invalidArgument, "a time is ISO 8601, such as 2026-11-25T10:00:00Z")
    }
    return time
}
