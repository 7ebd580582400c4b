import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverFormats

/// The writers' output buffer: integers in decimal exactly as Swift prints them.
@Suite struct OutputBufferTests {
    /// Every power of ten and its neighbours, the ends of `Int64`, and random values of every length.
    static var integers: [Int64] {
        var values: [Int64] = [0, 1, -1, 9, -9, 10, -10, 99, 100, 101, Int64.max, Int64.min, Int64.min + 1]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
        }
        var random = SeededGenerator(state: 17)
        for digits in 1...18 {
            let limit = (0..<digits).reduce(Int64(1)) { value, _ in value * 10 }
            for _ in 0..<200 { values.append(Int64.random(in: -limit...limit, using: &random)) }
        }
        return values
    }

    @Test func writesIntegersAsSwiftPrintsThem() throws {
        var buffer = OutputBuffer(sink: MemorySink())
        var expected = ""
        for value in Self.integers {
            buffer.append(integer: value)
            buffer.append(UInt8(ascii: ","))
            expected += String(value) + ","
        }
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
    }

    @Test func countsDecimalDigits() {
        for value in Self.integers where value != 0 {
            #expect(OutputBuffer.decimalDigits(value.magnitude) == String(value.magnitude).count, "\(value)")
        }
        #expect(OutputBuffer.decimalDigits(UInt64.max) == 20)
        #expect(OutputBuffer.decimalDigits(0) == 0, "zero has no digits here: the writer writes it apart")
    }
}
