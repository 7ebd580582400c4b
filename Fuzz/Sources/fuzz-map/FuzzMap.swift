import FuzzDriver
import FuzzSupport
import HandoverSQL

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    _ = try? DatasetMap(yaml: text, source: "fuzz.yaml")
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_map_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
