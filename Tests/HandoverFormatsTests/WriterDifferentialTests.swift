import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverFormats

/// Rows of every type with hostile content: what the differential tests write with both writer sets.
enum DifferentialRows {
    static let schema = TableSchema(
        name: "hostile_rows",
        fields: [
            Field("id", .integer, required: true), Field("text", .string), Field("label", .string, required: true),
            Field("amount", .number), Field("count", .integer), Field("flag", .boolean), Field("day", .date),
            Field("at", .datetime, required: true), Field("blob", .binary), Field("note", .string),
            Field("when", .datetime),
        ],
        primaryKey: ["id"])

    /// Pieces strings are made of: everything the formats escape, quote or refuse, and multi-byte text.
    static let pieces: [String] = [
        "a", "plain text", "Zoë", "李小龍", "👍🏽", "\u{FFFD}", "\u{FFFE}", "\u{FFFF}", "\u{2028}", "\u{85}", "\u{7F}",
        "\"", "\"\"", ",", "\r", "\n", "\r\n", "\t", "<", ">", "&", "&amp;", "'", "]]>", "\\", "/", " ", "  ", "=",
        "+", "-", "@", "=SUM(A1)", "0", "1.5", "\u{0}", "\u{1}", "\u{8}", "\u{B}", "\u{C}", "\u{1B}", "\u{1F}",
        "<![CDATA[", "-->", "é", "\u{10FFFF}", "null", "true",
    ]

    static func string(_ random: inout SeededGenerator) -> String {
        switch random.next() % 40 {
        case 0, 20: return ""
        case 1:
            // Long enough to cross the writers' output blocks.
            let piece = pieces.randomElement(using: &random)!
            return String(repeating: "x" + piece, count: 1000 + Int(random.next() % 12_000))
        case 2: return ["'", "''", "'''"].randomElement(using: &random)! + pieces.randomElement(using: &random)!
        case 3...7, 21...31:
            return String(
                (0..<Int(random.next() % 40)).map { _ in Character(Unicode.Scalar(UInt8(32 + random.next() % 95))) })
        default:
            var text = ""
            for _ in 0..<Int(1 + random.next() % 6) { text += pieces.randomElement(using: &random)! }
            return text
        }
    }

    static func integer(_ random: inout SeededGenerator) -> Int64 {
        switch random.next() % 6 {
        case 0: [Int64.min, Int64.max, 0, -1, 9, 10, -9, -10, 99, 100].randomElement(using: &random)!
        case 1: Int64(bitPattern: random.next())
        case 2: Int64(random.next() % 10)
        default: Int64(bitPattern: random.next()) >> Int64(random.next() % 63)
        }
    }

    static func number(_ random: inout SeededGenerator) -> Value {
        switch random.next() % 8 {
        case 0:
            return .number(
                [
                    0, -0.0, 1, -1, 3, 1.5, 0.1, 1e16, 1e-7, -2.25e-7, 123_456.789, .greatestFiniteMagnitude,
                    .leastNonzeroMagnitude, .leastNormalMagnitude, 9_007_199_254_740_993, 1e21, 1e22, 0.000_1,
                ].randomElement(using: &random)!)
        case 1:
            while true {
                let value = Double(bitPattern: random.next())
                if value.isFinite { return .number(value) }
            }
        case 2:
            let digits = String(
                (0..<Int(1 + random.next() % 30)).map { _ in "0123456789".randomElement(using: &random)! })
            return .decimal((random.next() % 2 == 0 ? "-" : "") + digits + "." + digits.prefix(3))
        case 3: return .decimal(string(&random))
        case 4: return .number(Double(Int64(bitPattern: random.next()) >> 20) / 64)
        default: return .number(Double(random.next() % 1_000_000) / 100)
        }
    }

    static func timestamp(_ random: inout SeededGenerator) -> Timestamp {
        switch random.next() % 8 {
        case 0:
            return Timestamp(
                microsecondsSince1970: [
                    0, -1, 1, 999, 1000, -1000, 1_000_000, -1_000_000, 86_400_000_000, -86_400_000_000,
                    -62_135_596_800_000_000, -62_167_219_200_000_000, -62_167_219_200_000_001, 253_402_300_799_999_999,
                    253_402_300_800_000_000, Int64.max, Int64.min, 951_782_400_000_000, 1_709_251_199_123_456,
                ].randomElement(using: &random)!)
        case 1: return Timestamp(microsecondsSince1970: Int64(bitPattern: random.next()))
        case 2: return Timestamp(microsecondsSince1970: Int64(bitPattern: random.next()) >> 8)
        case 3:
            return Timestamp(
                microsecondsSince1970: Int64(random.next() % 253_402_300_800) * 1_000_000 + Int64(random.next() % 1000)
                    * 1000)
        case 4: return Timestamp(secondsSince1970: Int64(random.next() % 4_000_000_000) - 2_000_000_000)
        default:
            return Timestamp(
                microsecondsSince1970: Int64(random.next() % 253_402_300_800_000_000) - 62_167_219_200_000_000)
        }
    }

    static func date(_ random: inout SeededGenerator) -> String {
        if random.next() % 10 == 0 { return string(&random) }
        let year = random.next() % 10_000
        let month = 1 + random.next() % 12
        let day = 1 + random.next() % 28
        return CivilDate.format(year: Int64(year), month: Int(month), day: Int(day))
    }

    static func bytes(_ random: inout SeededGenerator) -> [UInt8] {
        let count =
            switch random.next() % 10 {
            case 0: 0
            case 1: Int(random.next() % 40_000)
            default: Int(random.next() % 20)
            }
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    static func value(of field: Field, _ random: inout SeededGenerator) -> Value {
        if !field.required, random.next() % 6 == 0 { return .null }
        switch field.type {
        case .string: return .string(string(&random))
        case .integer: return .integer(integer(&random))
        case .number: return number(&random)
        case .boolean: return .boolean(random.next() % 2 == 0)
        case .date: return .date(date(&random))
        case .datetime: return .datetime(timestamp(&random))
        case .binary: return .binary(bytes(&random))
        }
    }

    static func rows(seed: UInt64, count: Int, schema: TableSchema = schema) -> [Row] {
        var random = SeededGenerator(state: seed)
        return (0..<count).map { _ in Row(schema.fields.map { value(of: $0, &random) }) }
    }
}

/// The writers against the reference writers (``ReferenceWriters.swift``): the same bytes for every row, the same
/// refusals with the same messages.
@Suite struct WriterDifferentialTests {
    static func written(_ format: TableFormat, _ schema: TableSchema, _ rows: [Row], formulaGuard: Bool = false)
        throws -> [UInt8]
    {
        var writer = try format.makeWriter(for: schema, into: MemorySink(), csvFormulaGuard: formulaGuard)
        for row in rows { try writer.write(row) }
        try writer.finish()
        return writer.sink.bytes
    }

    static func referenceWritten(
        _ format: TableFormat, _ schema: TableSchema, _ rows: [Row], formulaGuard: Bool = false
    ) throws -> [UInt8] {
        var writer = try Reference.writer(format, schema, formulaGuard: formulaGuard)
        for row in rows { try writer.write(row) }
        try writer.finish()
        return writer.bytes
    }

    /// Where two byte strings first differ, with some context, for a readable failure.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
        guard a != b else { return nil }
        let index = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        let from = max(0, index - 80)
        return "sizes \(a.count) and \(b.count), first difference at byte \(index):\n"
            + String(decoding: a[from..<min(a.count, index + 80)], as: UTF8.self) + "\n---\n"
            + String(decoding: b[from..<min(b.count, index + 80)], as: UTF8.self)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func hostileRowsGiveTheReferenceBytes(seed: UInt64) throws {
        let rows = DifferentialRows.rows(seed: seed, count: 600)
        for format in TableFormat.allCases {
            for formulaGuard in format == .csv ? [false, true] : [false] {
                let new = try Self.written(format, DifferentialRows.schema, rows, formulaGuard: formulaGuard)
                let old = try Self.referenceWritten(format, DifferentialRows.schema, rows, formulaGuard: formulaGuard)
                let difference = Self.firstDifference(new, old)
                #expect(difference == nil, "\(format), guard \(formulaGuard), seed \(seed): \(difference ?? "")")
            }
        }
    }

    @Test(arguments: TableFormat.allCases)
    func emptyAndOneRowTablesGiveTheReferenceBytes(format: TableFormat) throws {
        let one = DifferentialRows.rows(seed: 99, count: 1)
        var random = SeededGenerator(state: 7)
        let nulls = Row(
            DifferentialRows.schema.fields.map { $0.required ? DifferentialRows.value(of: $0, &random) : .null })
        for rows in [[], one, [nulls], [nulls, nulls]] {
            for formulaGuard in [false, true] {
                #expect(
                    try Self.written(format, DifferentialRows.schema, rows, formulaGuard: formulaGuard)
                        == Self.referenceWritten(format, DifferentialRows.schema, rows, formulaGuard: formulaGuard))
            }
        }
    }

    /// Names no validated schema has (a schema is checked elsewhere), written as the reference writes them.
    @Test(arguments: TableFormat.allCases)
    func unvalidatedNamesGiveTheReferenceBytes(format: TableFormat) throws {
        for name in ["tätig👍", "a&b<c>\"d'e", "tab\tline\ncr\r", "nul\u{0}after", "", "plain"] {
            let schema = TableSchema(
                name: name,
                fields: [
                    Field("id", .integer, required: true), Field(name + "_x", .string), Field("a\"b,c", .date),
                ])
            let rows = [
                Row([.integer(1), .string("x"), .date("2024-01-01")]), Row([.integer(2), .null, .null]),
            ]
            for rows in [[], rows] {
                let new = try Self.written(format, schema, rows)
                let old = try Self.referenceWritten(format, schema, rows)
                #expect(Self.firstDifference(new, old) == nil, "\(format), name \(name.debugDescription)")
            }
        }
    }

    static let constrained = TableSchema(
        name: "constrained",
        fields: [
            Field("id", .integer, required: true),
            Field("kind", .string, constraints: Constraints(enumeration: ["a", "b\u{1}", "=c"])),
            Field("code", .string, constraints: Constraints(pattern: "[a-z\\x01]+")),
            Field("amount", .number, required: true), Field("free", .string),
        ],
        primaryKey: ["id"])

    static let badRows: [Row] = [
        Row([.integer(1)]),
        Row([.integer(1), .null, .null, .number(1), .null, .null]),
        Row([.null, .null, .null, .number(1), .null]),
        Row([.integer(2), .null, .null, .null, .null]),
        Row([.string("secret@example.com"), .null, .null, .number(1), .null]),
        Row([.integer(3), .integer(5), .null, .number(1), .null]),
        Row([.integer(4), .null, .null, .number(.infinity), .null]),
        Row([.integer(5), .null, .null, .number(-.infinity), .null]),
        Row([.integer(6), .null, .null, .number(.nan), .null]),
        Row([.integer(7), .null, .null, .boolean(true), .null]),
        Row([.integer(8), .null, .null, .number(1), .binary([1])]),
        Row([.integer(9), .string("b\u{1}"), .null, .number(1), .null]),
        Row([.integer(10), .null, .string("ab\u{1}"), .number(1), .null]),
        Row([.integer(11), .string("x"), .string("y"), .decimal("1.5"), .string("\u{1}")]),
        Row([.integer(12), .date("2024-01-01"), .null, .number(2), .datetime(Timestamp(secondsSince1970: 0))]),
        Row([.integer(13), .null, .null, .number(2), .date("2024-01-01")]),
        Row([.integer(Int64.min), .null, .null, .number(.nan), .null]),
    ]

    @Test(arguments: TableFormat.allCases)
    func refusesWhatTheReferenceRefusesWithItsMessage(format: TableFormat) throws {
        for (number, row) in Self.badRows.enumerated() {
            var new = try format.makeWriter(for: Self.constrained, into: MemorySink(), csvFormulaGuard: true)
            var old = try Reference.writer(format, Self.constrained, formulaGuard: true)
            let good = Row([.integer(0), .string("=c"), .string("abc"), .number(0.5), .string("x")])
            try new.write(good)
            try old.write(good)
            var newMessage: String?
            var oldMessage: String?
            do { try new.write(row) } catch { newMessage = "\(error)" }
            do { try old.write(row) } catch { oldMessage = "\(error)" }
            #expect(newMessage == oldMessage, "\(format), bad row \(number)")
            if newMessage == nil {
                try new.finish()
                try old.finish()
                #expect(new.sink.bytes == old.bytes, "\(format), row \(number)")
            }
        }
    }
}
