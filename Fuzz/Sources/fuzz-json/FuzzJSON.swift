import FuzzDriver
import FuzzSupport
import HandoverCore
import HandoverFormats
import HandoverJSONSchema

let schema = try! JSONSchema(try! JSONValue.parse(SchemaGenerator.jsonSchema(for: fuzzTable)))

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    let parsed = try? JSONValue.parse(input)
    if let parsed { _ = schema.validate(parsed) }
    // The streaming validator reads the same bytes; it must agree that they are JSON at all.
    var source = MemorySource(input, blockSize: 7)
    let streamed = try? schema.validateArray(from: &source)
    if parsed == nil, let streamed, streamed.errors.isEmpty, !input.isEmpty {
        fatalError("the streaming validator accepted what the parser refused")
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_json_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
