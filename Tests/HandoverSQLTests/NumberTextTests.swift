import HandoverCore
import HandoverSQL
import TestSupport
import Testing

/// A `number` field held as text: an exact decimal digit for digit, or a double in the one form Handover writes it
/// (`Double.description`), and nothing else.
@Suite struct NumberTextTests {
    static let fits: [(text: String, value: Value)] = [
        ("1e+20", .number(1e20)), ("-1e-07", .number(-1e-07)), ("1.50", .decimal("1.50")),
        (
            "123456789012345678901234567890.0123456789",
            .decimal("123456789012345678901234567890.0123456789")
        ),
        ("3.0", .decimal("3.0")), ("5e-324", .number(.leastNonzeroMagnitude)),
        ("-1.7976931348623157e+308", .number(-.greatestFiniteMagnitude)),
    ]
    /// Texts a double reads but that are not its form, and texts that are no number.
    static let unfit = ["1E5", " 1", "1 ", "inf", "nan", "1e20", "+1.5", "1.0e+20", ".5", "0x10", ""]

    static var sql: String {
        let rows = (fits.map(\.text) + unfit).enumerated().map { index, text in
            "(\(index + 1), '\(text)')"
        }
        return """
            CREATE TABLE readings (id INTEGER PRIMARY KEY, value TEXT);
            INSERT INTO readings VALUES \(rows.joined(separator: ", "));
            """
    }

    static let map = """
        handover-map: 1
        exporter: {id: readings}
        tenant: {table: readings, key: id}
        tables:
          readings:
            tenant: id
            columns: {id: integer, value: number}
        """

    @Test(arguments: SourceKind.allCases)
    func aDoublesFormIsReadAsThatDoubleAfterTheExactDecimal(source: SourceKind) async throws {
        try await withExporter(source, sql: Self.sql, map: Self.map) { exporter in
            for (index, fit) in Self.fits.enumerated() {
                let emitted = try await collect(exporter, .tenant(String(index + 1)))
                #expect(emitted.rows["readings"]?.first?.values[1] == fit.value, "\(fit.text)")
            }
        }
    }

    @Test(arguments: SourceKind.allCases)
    func anyOtherTextStillFailsNamingTableRowAndFieldNotTheValue(source: SourceKind) async throws {
        try await withExporter(source, sql: Self.sql, map: Self.map) { exporter in
            for (offset, text) in Self.unfit.enumerated() {
                let id = Self.fits.count + offset + 1
                var sink = CollectingSink(tables: exporter.tables)
                await #expect {
                    try await exporter.export(.tenant(String(id)), into: &sink, context: testContext)
                } throws: { error in
                    let message = (error as? HandoverError)?.message ?? ""
                    return (error as? HandoverError)?.code == .invalidData
                        && message.hasPrefix("table readings, row id=\(id), field value: expected a number, found ")
                        && (text.count < 2 || !message.contains(text))
                }
            }
        }
    }
}
