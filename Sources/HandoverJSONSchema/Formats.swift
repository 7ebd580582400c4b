/// Checks for the string formats that ``JSONSchema`` can assert: date-time, date, time (RFC 3339), email
/// (RFC 5321 mailbox), uuid (RFC 4122), uri (RFC 3986), ipv4 and ipv6.
enum Formats {
    /// The checker for a format name, or nil when the format is not one that is asserted.
    static func checker(for name: String) -> (@Sendable (String) -> Bool)? {
        switch name {
        case "date-time": { $0.utf8.withContiguousStorageIfAvailable { isDateTime($0) } ?? isDateTime(Array($0.utf8)) }
        case "date": { $0.utf8.withContiguousStorageIfAvailable { isDate($0) } ?? isDate(Array($0.utf8)) }
        case "time": { isTime(Array($0.utf8)) }
        case "email": { isEmail(Array($0.utf8)) }
        case "uuid": { isUUID(Array($0.utf8)) }
        case "uri": { isURI(Array($0.utf8)) }
        case "ipv4": { isIPv4(Array($0.utf8)[...]) }
        case "ipv6": { isIPv6(Array($0.utf8)[...]) }
        default: nil
        }
    }

    // MARK: Dates and times (RFC 3339, section 5.6)

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// The value of `count` ASCII digits at `start`, or nil.
    private static func number<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ start: Int, _ count: Int)
        -> Int? where Bytes.Index == Int
    {
        guard start >= bytes.startIndex, start + count <= bytes.endIndex else { return nil }
        var value = 0
        for index in start..<start + count {
            guard isDigit(bytes[index]) else { return nil }
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        }
        return value
    }

    static func isDate<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bool where Bytes.Index == Int {
        bytes.count == 10 && isFullDate(bytes[...])
    }

    /// `YYYY-MM-DD` with a day that exists in that month.
    private static func isFullDate<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bool
    where Bytes.Index == Int {
        let start = bytes.startIndex
        guard bytes.count == 10, bytes[start + 4] == UInt8(ascii: "-"), bytes[start + 7] == UInt8(ascii: "-"),
            let year = number(bytes, start, 4), let month = number(bytes, start + 5, 2),
            let day = number(bytes, start + 8, 2), (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days: Int
        switch month {
        case 2: days = leap ? 29 : 28
        case 4, 6, 9, 11: days = 30
        default: days = 31
        }
        return day <= days
    }

    static func isTime(_ bytes: [UInt8]) -> Bool { isFullTime(bytes[...]) }

    static func isDateTime<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bool where Bytes.Index == Int {
        let start = bytes.startIndex
        guard bytes.count > 11, bytes[start + 10] == UInt8(ascii: "T") || bytes[start + 10] == UInt8(ascii: "t")
        else { return false }
        return isFullDate(bytes[start..<start + 10]) && isFullTime(bytes[(start + 11)...])
    }

    /// `HH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`; second 60 only at 23:59 UTC.
    private static func isFullTime<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bool
    where Bytes.Index == Int {
        let start = bytes.startIndex
        guard bytes.count >= 9, bytes[start + 2] == UInt8(ascii: ":"), bytes[start + 5] == UInt8(ascii: ":"),
            let hour = number(bytes, start, 2), let minute = number(bytes, start + 3, 2),
            let second = number(bytes, start + 6, 2), hour <= 23, minute <= 59, second <= 60
        else { return false }
        var index = start + 8
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let digits = index
            while index < bytes.endIndex, isDigit(bytes[index]) { index += 1 }
            guard index > digits else { return false }
        }
        guard index < bytes.endIndex else { return false }
        var offsetMinutes = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.endIndex else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.endIndex, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHour = number(bytes, index + 1, 2), let offsetMinute = number(bytes, index + 4, 2),
                offsetHour <= 23, offsetMinute <= 59
            else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    // MARK: UUID (RFC 4122)

    static func isUUID(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard byte.hexDigitValue != nil else { return false }
            }
        }
        return true
    }

    // MARK: IP addresses

    /// Four decimal octets without leading zeros.
    static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(isDigit),
                part.count == 1 || part.first != UInt8(ascii: "0"),
                let value = number(part, part.startIndex, part.count), value <= 255
            else { return false }
        }
        return true
    }

    /// Eight groups of one to four hex digits, one `::` standing for one or more zero groups, the last two
    /// groups optionally written as an IPv4 address.
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var head = bytes
        var tail: ArraySlice<UInt8>? = nil
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            if bytes[index] == UInt8(ascii: ":") && bytes[index + 1] == UInt8(ascii: ":") {
                head = bytes[bytes.startIndex..<index]
                tail = bytes[(index + 2)...]
                break
            }
            index += 1
        }
        /// The number of groups in a `:`-separated run, or nil when malformed.
        func groups(_ run: ArraySlice<UInt8>, ipv4Allowed: Bool) -> Int? {
            if run.isEmpty { return 0 }
            let parts = run.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            var count = 0
            for (position, part) in parts.enumerated() {
                if position == parts.count - 1, ipv4Allowed, part.contains(UInt8(ascii: ".")) {
                    guard isIPv4(part) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy({ $0.hexDigitValue != nil }) else {
                        return nil
                    }
                    count += 1
                }
            }
            return count
        }
        if let tail {
            guard let headCount = groups(head, ipv4Allowed: false), let tailCount = groups(tail, ipv4Allowed: true)
            else { return false }
            return headCount + tailCount <= 7
        }
        return groups(head, ipv4Allowed: true) == 8
    }

    // MARK: Email (RFC 5321 mailbox)

    private static let atext: Set<UInt8> = Set(Array("!#$%&'*+-/=?^_`{|}~".utf8))

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    static func isEmail(_ bytes: [UInt8]) -> Bool {
        var index = 0
        // Local part: a dot-atom or a quoted string.
        if bytes.first == UInt8(ascii: "\"") {
            index = 1
            var closed = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count, (0x20...0x7E).contains(bytes[index + 1]) else { return false }
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") {
                    closed = true
                    index += 1
                    break
                }
                guard (0x20...0x7E).contains(byte) else { return false }
                index += 1
            }
            guard closed, index > 2 else { return false }
        } else {
            var previousDot = true
            while index < bytes.count, bytes[index] != UInt8(ascii: "@") {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {
                    guard !previousDot else { return false }
                    previousDot = true
                } else {
                    guard isAlphanumeric(byte) || atext.contains(byte) else { return false }
                    previousDot = false
                }
                index += 1
            }
            guard index > 0, !previousDot else { return false }
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "@") else { return false }
        let domain = bytes[(index + 1)...]
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]"), domain.count > 2 else { return false }
            let literal = domain.dropFirst().dropLast()
            let prefix = Array("IPv6:".utf8)
            if literal.starts(with: prefix) { return isIPv6(literal.dropFirst(prefix.count)) }
            return isIPv4(literal)
        }
        return isHostname(domain)
    }

    /// Dot-separated labels of letters, digits and hyphens, 1 to 63 characters each, not starting or ending with a
    /// hyphen, 253 characters in all.
    static func isHostname(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        return true
    }

    // MARK: URI (RFC 3986, section 3)

    private static let unreserved: Set<UInt8> = Set(Array("-._~".utf8))
    private static let subDelimiters: Set<UInt8> = Set(Array("!$&'()*+,;=".utf8))

    /// Whether `bytes` consists of unreserved characters, sub-delimiters, percent-encodings and `extra`.
    private static func isEncoded(_ bytes: ArraySlice<UInt8>, extra: Set<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, bytes[index + 1].hexDigitValue != nil,
                    bytes[index + 2].hexDigitValue != nil
                else { return false }
                index += 3
                continue
            }
            guard
                isAlphanumeric(byte) || unreserved.contains(byte) || subDelimiters.contains(byte)
                    || extra.contains(byte)
            else { return false }
            index += 1
        }
        return true
    }

    private static let pcharExtra: Set<UInt8> = Set(Array(":@".utf8))
    private static let pathExtra: Set<UInt8> = Set(Array(":@/".utf8))
    private static let queryExtra: Set<UInt8> = Set(Array(":@/?".utf8))
    private static let userinfoExtra: Set<UInt8> = Set(Array(":".utf8))
    private static let futureExtra: Set<UInt8> = Set(Array(":".utf8))

    /// An absolute URI with an optional fragment: `scheme ":" hier-part ["?" query] ["#" fragment]`.
    static func isURI(_ bytes: [UInt8]) -> Bool {
        // Scheme.
        guard let first = bytes.first, isAlphanumeric(first), !isDigit(first),
            let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
        else { return false }
        for byte in bytes[1..<colon] {
            guard
                isAlphanumeric(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".")
            else { return false }
        }
        var rest = bytes[(colon + 1)...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) {
            guard isEncoded(rest[(hash + 1)...], extra: queryExtra) else { return false }
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: UInt8(ascii: "?")) {
            guard isEncoded(rest[(question + 1)...], extra: queryExtra) else { return false }
            rest = rest[..<question]
        }
        if rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) {
            let afterSlashes = rest.dropFirst(2)
            let pathStart = afterSlashes.firstIndex(of: UInt8(ascii: "/")) ?? afterSlashes.endIndex
            guard isAuthority(afterSlashes[..<pathStart]) else { return false }
            rest = afterSlashes[pathStart...]
        }
        return isEncoded(rest, extra: pathExtra)
    }

    /// `[userinfo "@"] host [":" port]`.
    private static func isAuthority(_ bytes: ArraySlice<UInt8>) -> Bool {
        var hostPort = bytes
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")) {
            guard isEncoded(bytes[..<at], extra: userinfoExtra) else { return false }
            hostPort = bytes[(at + 1)...]
        }
        var port: ArraySlice<UInt8> = []
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = hostPort[(hostPort.startIndex + 1)..<close]
            if literal.first == UInt8(ascii: "v") || literal.first == UInt8(ascii: "V") {
                guard let dot = literal.firstIndex(of: UInt8(ascii: ".")), dot > literal.startIndex + 1,
                    literal[(literal.startIndex + 1)..<dot].allSatisfy({ $0.hexDigitValue != nil }),
                    dot + 1 < literal.endIndex, isEncoded(literal[(dot + 1)...], extra: futureExtra),
                    !literal[(dot + 1)...].contains(UInt8(ascii: "%"))
                else { return false }
            } else {
                guard isIPv6(literal) else { return false }
            }
            let after = hostPort[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return false }
                port = after.dropFirst()
            }
        } else {
            var host = hostPort
            if let colon = hostPort.firstIndex(of: UInt8(ascii: ":")) {
                host = hostPort[..<colon]
                port = hostPort[(colon + 1)...]
            }
            guard isEncoded(host, extra: []) else { return false }
        }
        return port.allSatisfy(isDigit)
    }
}
