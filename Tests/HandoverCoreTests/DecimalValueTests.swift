import Testing

@testable import HandoverCore

/// Exact decimals are made only from text that every format writes as it is (JSON's number grammar, no exponent).
@Suite struct DecimalValueTests {
    @Test(arguments: [
        "0", "-0", "0.5", "-0.0000000000000000000000000000010000", "100", "1.50",
        "9" + String(repeating: "0", count: 60),
    ])
    func plainDecimalsAreKept(_ text: String) {
        #expect(Value.decimal(exactly: text) == .decimal(text))
    }

    @Test(arguments: [
        "", "-", "007.5", "00", "-01", ".5", "5.", "+1", "1e5", "1E+5", " 1", "1 ", "0x10", "1.2.3", "--1", "١٢",
    ])
    func anythingElseIsRefused(_ text: String) {
        #expect(Value.decimal(exactly: text) == nil)
    }
}
