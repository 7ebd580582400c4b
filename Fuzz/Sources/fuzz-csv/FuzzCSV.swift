import FuzzDriver
import FuzzSupport
import HandoverCore
import HandoverFormats

nonisolated(unsafe) let validator = try! CSVTableValidator(schema: fuzzTable)

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var source = MemorySource(bytes(data, size), blockSize: 13)
    _ = try? validator.validate(from: &source)
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_csv_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
