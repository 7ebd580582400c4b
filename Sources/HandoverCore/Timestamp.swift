#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A point in time in UTC with microsecond precision (PostgreSQL's), printed as ISO 8601.
///
/// Handover's core has no Foundation dependency; this type carries the few calendar
/// calculations it needs (civil dates from days since 1970 and back).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSince1970: Int64

    /// Milliseconds since 1970-01-01T00:00:00Z (rounded down); setting it drops the microseconds.
    public var millisecondsSince1970: Int64 {
        get { microsecondsSince1970.floorDivided(by: 1000).quotient }
        set { microsecondsSince1970 = newValue * 1000 }
    }

    /// Creates a timestamp from milliseconds since the Unix epoch.
    public init(millisecondsSince1970: Int64) {
        self.microsecondsSince1970 = millisecondsSince1970 * 1000
    }

    /// Creates a timestamp from microseconds since the Unix epoch.
    public init(microsecondsSince1970: Int64) {
        self.microsecondsSince1970 = microsecondsSince1970
    }

    /// Creates a timestamp from whole seconds since the Unix epoch.
    public init(secondsSince1970: Int64) {
        self.microsecondsSince1970 = secondsSince1970 * 1_000_000
    }

    /// The instant as `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` before the `Z` when there are milliseconds and
    /// `.mmmuuu` when there are microseconds.
    public var description: String { iso8601 }

    /// The instant as `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` before the `Z` when there are milliseconds and
    /// `.mmmuuu` when there are microseconds.
    public var iso8601: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.iso8601MaximumLength) { buffer in
            let count = writeISO8601(to: buffer.baseAddress!)
            guard count > 0 else { return formattedISO8601 }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
    }

    /// ``iso8601`` built from strings, for the instants ``writeISO8601(to:)`` leaves out (years before 0 and
    /// after 9999).
    private var formattedISO8601: String {
        let (seconds, micros) = microsecondsSince1970.floorDivided(by: 1_000_000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = CivilDate.fromDays(days)
        var text = CivilDate.format(year: year, month: month, day: day)
        text +=
            "T" + pad(Int(secondOfDay / 3600), 2) + ":" + pad(Int(secondOfDay % 3600 / 60), 2) + ":"
            + pad(Int(secondOfDay % 60), 2)
        if micros % 1000 != 0 {
            text += "." + pad(Int(micros), 6)
        } else if micros != 0 {
            text += "." + pad(Int(micros / 1000), 3)
        }
        return text + "Z"
    }

    /// The most bytes ``writeISO8601(to:)`` writes: `YYYY-MM-DDTHH:MM:SS.mmmuuuZ`.
    package static var iso8601MaximumLength: Int { 27 }

    /// Writes ``iso8601`` as UTF-8 at `buffer`, which has room for ``iso8601MaximumLength`` bytes, without making a
    /// string (the writers' hot path).
    /// - Returns: How many bytes were written; 0, with nothing written, for an instant before the year 0 or after
    ///   9999, whose text only ``iso8601`` makes.
    package func writeISO8601(to buffer: UnsafeMutablePointer<UInt8>) -> Int {
        let (seconds, micros) = microsecondsSince1970.floorDivided(by: 1_000_000)
        // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
        guard seconds >= -62_167_219_200, seconds <= 253_402_300_799 else { return 0 }
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = CivilDate.fromDays(days)
        @inline(__always) func two(_ value: Int, at offset: Int) {
            buffer[offset] = 0x30 &+ UInt8(truncatingIfNeeded: value / 10)
            buffer[offset + 1] = 0x30 &+ UInt8(truncatingIfNeeded: value % 10)
        }
        let y = Int(year)
        two(y / 100, at: 0)
        two(y % 100, at: 2)
        buffer[4] = UInt8(ascii: "-")
        two(month, at: 5)
        buffer[7] = UInt8(ascii: "-")
        two(day, at: 8)
        buffer[10] = UInt8(ascii: "T")
        let time = Int(secondOfDay)
        two(time / 3600, at: 11)
        buffer[13] = UInt8(ascii: ":")
        two(time % 3600 / 60, at: 14)
        buffer[16] = UInt8(ascii: ":")
        two(time % 60, at: 17)
        var count = 19
        let fraction = Int(micros)
        if fraction != 0 {
            buffer[19] = UInt8(ascii: ".")
            two(fraction / 10_000, at: 20)
            buffer[22] = 0x30 &+ UInt8(truncatingIfNeeded: fraction / 1000 % 10)
            count = 23
            let rest = fraction % 1000
            if rest != 0 {
                two(rest / 10, at: 23)
                buffer[25] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
                count = 26
            }
        }
        buffer[count] = UInt8(ascii: "Z")
        return count + 1
    }

    /// Parses an ISO 8601 / RFC 3339 date-time: `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]`;
    /// the fraction is kept to the microsecond.
    ///
    /// A missing offset is read as UTC. Returns nil when the text is not such a date-time or names
    /// an impossible date.
    public init?(iso8601 text: some StringProtocol) {
        let parsed =
            text.utf8.withContiguousStorageIfAvailable { ISO8601Parser.dateTime(utf8: $0) }
            ?? ISO8601Parser.dateTime(Array(text.utf8))
        guard let parsed else { return nil }
        self = parsed
    }

    /// Orders timestamps by time.
    /// The instant `seconds` later (earlier when negative).
    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(microsecondsSince1970: microsecondsSince1970 + seconds * 1_000_000)
    }

    /// Whether `lhs` is earlier than `rhs`.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSince1970 < rhs.microsecondsSince1970
    }

    /// Decodes from an ISO 8601 string.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date-time"))
        }
        self = value
    }

    /// Encodes as an ISO 8601 string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

/// Conversions between days since 1970-01-01 and (year, month, day), after Howard Hinnant's algorithms.
public enum CivilDate {
    /// The civil date of a day number (days since 1970-01-01).
    public static func fromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The day number (days since 1970-01-01) of a civil date.
    public static func toDays(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Whether the date exists in the proleptic Gregorian calendar.
    public static func isValid(year: Int64, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// `YYYY-MM-DD` for years 0 to 9999.
    public static func format(year: Int64, month: Int, day: Int) -> String {
        pad(Int(year), 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }
}

/// Parsers for the ISO 8601 forms that Handover accepts from data sources.
public enum ISO8601Parser {
    /// Parses `YYYY-MM-DD` into its parts, or nil.
    public static func date(_ bytes: [UInt8]) -> (year: Int64, month: Int, day: Int)? {
        bytes.withUnsafeBufferPointer { date(utf8: $0) }
    }

    /// Parses `YYYY-MM-DD` held in a buffer into its parts, or nil.
    package static func date(utf8 bytes: UnsafeBufferPointer<UInt8>) -> (year: Int64, month: Int, day: Int)? {
        guard bytes.count == 10 else { return nil }
        var index = 0
        return parseDate(bytes, &index)
    }

    /// Parses a date-time (see ``Timestamp/init(iso8601:)``), or nil.
    public static func dateTime(_ bytes: [UInt8]) -> Timestamp? {
        bytes.withUnsafeBufferPointer { dateTime(utf8: $0) }
    }

    /// Parses a date-time (see ``Timestamp/init(iso8601:)``) held in a buffer, or nil.
    package static func dateTime(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var i = 0
        guard let (year, month, day) = parseDate(bytes, &i), i < bytes.count,
            bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: "t") || bytes[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = digits(bytes, &i, 2), hour < 24, expect(bytes, &i, ":"),
            let minute = digits(bytes, &i, 2), minute < 60
        else { return nil }
        var second = 0
        var micros = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ":") {
            i += 1
            guard let s = digits(bytes, &i, 2), s < 60 else { return nil }
            second = s
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                i += 1
                var count = 0
                while i < bytes.count, let d = digit(bytes[i]) {
                    if count < 6 { micros = micros * 10 + d }
                    count += 1
                    i += 1
                }
                guard count > 0 else { return nil }
                for _ in min(count, 6)..<6 { micros *= 10 }
            }
        }
        var offsetMinutes = 0
        if i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = digits(bytes, &i, 2), oh < 24 else { return nil }
                // `+00` alone, as PostgreSQL writes whole-hour offsets, means `+00:00`.
                var om = 0
                if i < bytes.count {
                    _ = expect(bytes, &i, ":")
                    guard let minutes = digits(bytes, &i, 2), minutes < 60 else { return nil }
                    om = minutes
                }
                offsetMinutes = sign * (oh * 60 + om)
            default:
                return nil
            }
        }
        guard i == bytes.count else { return nil }
        let days = CivilDate.toDays(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return Timestamp(microsecondsSince1970: seconds * 1_000_000 + Int64(micros))
    }

    private static func parseDate(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> (Int64, Int, Int)? {
        guard let year = digits(b, &i, 4), expect(b, &i, "-"), let month = digits(b, &i, 2), expect(b, &i, "-"),
            let day = digits(b, &i, 2), CivilDate.isValid(year: Int64(year), month: month, day: day)
        else { return nil }
        return (Int64(year), month, day)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
    }

    private static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ count: Int) -> Int? {
        guard i + count <= b.count else { return nil }
        var value = 0
        for k in 0..<count {
            guard let d = digit(b[i + k]) else { return nil }
            value = value * 10 + d
        }
        i += count
        return value
    }

    private static func expect(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ c: Unicode.Scalar) -> Bool {
        guard i < b.count, b[i] == UInt8(ascii: c) else { return false }
        i += 1
        return true
    }
}

extension Int64 {
    /// Division rounding towards negative infinity, with a remainder in `0..<divisor`: what splitting a time
    /// into seconds and milliseconds, or days and the time of day, needs before 1970 as after (`/` and `%`
    /// round towards zero, giving -1 s and -500 ms for -1.5 s). The one helper for this in Handover.
    /// - Precondition: `divisor > 0`.
    package func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        precondition(divisor > 0, "floor division needs a positive divisor")
        var (q, r) = quotientAndRemainder(dividingBy: divisor)
        if r < 0 {
            q -= 1
            r += divisor
        }
        return (q, r)
    }
}

/// Left-pads a non-negative number with zeros to `width` digits.
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

extension Timestamp {
    /// The current time, by the system's real-time clock, to the millisecond (rounded down).
    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(millisecondsSince1970: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }
}
