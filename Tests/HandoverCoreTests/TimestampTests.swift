import HandoverCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2024-02-29T23:59:59Z", Int64(1_709_251_199_000)),
        ("2024-02-29 23:59:59", Int64(1_709_251_199_000)),
        ("2024-03-01T01:59:59+02:00", Int64(1_709_251_199_000)),
        ("2024-02-29T18:59:59.5-05:00", Int64(1_709_251_199_500)),
        ("1969-12-31T23:59:59.999Z", Int64(-1)),
    ])
    func parsesISO8601(text: String, milliseconds: Int64) {
        #expect(Timestamp(iso8601: text)?.millisecondsSince1970 == milliseconds)
    }

    @Test(arguments: [
        "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01", "2024-01-01T24:00:00Z",
        "2024-01-01T10:00:00Zjunk", "2024-01-01T10:00:00.Z", "yesterday",
    ])
    func rejectsWhatIsNotADateTime(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    /// The one floor division every time split uses: before 1970 the quotient rounds down and the remainder
    /// stays in 0..<divisor (`/` and `%` would give -1 s and -500 ms for -1.5 s).
    @Test(arguments: [
        (Int64(-1), Int64(1000), Int64(-1), Int64(999)),
        (-1500, 1000, -2, 500),
        (-1000, 1000, -1, 0),
        (1500, 1000, 1, 500),
        (0, 1000, 0, 0),
        (-86_400_001, 86_400_000, -2, 86_399_999),
        (-14_182_940_000, 86_400_000, -165, 73_060_000),  // 1969-07-20T20:17:40Z
        (Int64.min, 1000, Int64.min / 1000 - 1, 192),
    ])
    func floorDivisionRoundsDownBefore1970(value: Int64, divisor: Int64, quotient: Int64, remainder: Int64) {
        let result = value.floorDivided(by: divisor)
        #expect(result.quotient == quotient && result.remainder == remainder)
        #expect(result.quotient &* divisor &+ result.remainder == value)  // wrapping: Int64.min rounds below it
    }

    @Test func printsCanonicalUTC() {
        #expect(Timestamp(millisecondsSince1970: 0).iso8601 == "1970-01-01T00:00:00Z")
        #expect(Timestamp(millisecondsSince1970: 1_709_251_199_500).iso8601 == "2024-02-29T23:59:59.500Z")
        #expect(Timestamp(millisecondsSince1970: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSince1970: -14_182_939_750).iso8601 == "1969-07-20T20:17:40.250Z")
    }

    @Test func civilDatesRoundTripOverFourCenturies() {
        var day: Int64 = -146_097
        while day < 146_097 * 2 {
            let (year, month, dayOfMonth) = CivilDate.fromDays(day)
            #expect(CivilDate.isValid(year: year, month: month, day: dayOfMonth))
            #expect(CivilDate.toDays(year: year, month: month, day: dayOfMonth) == day)
            day += 97
        }
    }

    @Test func dateParserNeedsExactlyADate() {
        #expect(ISO8601Parser.date(Array("2024-02-29".utf8))! == (2024, 2, 29))
        #expect(ISO8601Parser.date(Array("2023-02-29".utf8)) == nil)
        #expect(ISO8601Parser.date(Array("2024-02-29T00:00:00Z".utf8)) == nil)
    }

    /// `iso8601` as it was built from strings, before it was written into bytes.
    static func stringISO8601(_ time: Timestamp) -> String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        let (seconds, micros) = time.microsecondsSince1970.floorDivided(by: 1_000_000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = CivilDate.fromDays(days)
        var text = pad(Int(year), 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
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

    @Test func printsWhatTheStringFormatterPrintedForAnyInstant() {
        var instants: [Int64] = [
            0, -1, 1, 999, 1000, 1001, 999_999, 1_000_000, -1_000_000, -62_167_219_200_000_000,
            -62_167_219_200_000_001, 253_402_300_799_999_999, 253_402_300_800_000_000, Int64.max, Int64.min,
        ]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let random = Int64(bitPattern: state)
            instants += [random, random >> 8, random % 253_402_300_800_000_000, random % 253_402_300_800 * 1_000_000]
            instants.append(random % 253_402_300_800_000 * 1000)
        }
        for micros in instants {
            let time = Timestamp(microsecondsSince1970: micros)
            #expect(time.iso8601 == Self.stringISO8601(time), "\(micros)")
            if time.iso8601 != Self.stringISO8601(time) { return }
        }
    }

    @Test func parsesFromBuffersAsFromArrays() {
        for text in ["2024-02-29T23:59:59.123456Z", "2024-02-29 23:59:59", "2024-02-29", "2023-02-29", "x", ""] {
            let bytes = Array(text.utf8)
            let fromBuffer = bytes.withUnsafeBufferPointer { ISO8601Parser.dateTime(utf8: $0) }
            #expect(fromBuffer == ISO8601Parser.dateTime(bytes))
            let dateFromBuffer = bytes.withUnsafeBufferPointer { ISO8601Parser.date(utf8: $0) }
            #expect(
                dateFromBuffer.map { [$0.year, Int64($0.month), Int64($0.day)] }
                    == ISO8601Parser.date(bytes).map { [$0.year, Int64($0.month), Int64($0.day)] })
        }
    }
}
