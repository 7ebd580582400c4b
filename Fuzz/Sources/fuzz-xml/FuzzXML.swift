import FuzzDriver
import FuzzSupport
import HandoverCore
import HandoverFormats

/// The validator of the fuzz table's schema as Handover generates it, which checks documents in Handover's form
/// quickly and hands anything else to libxml2.
nonisolated(unsafe) let validator = try! XMLSchemaValidator(schema: SchemaGenerator.xmlSchema(for: fuzzTable))
/// The same schema with a line break after it: not the generator's bytes, so libxml2 validates every document whole.
nonisolated(unsafe) let libxml2Only = try! XMLSchemaValidator(
    schema: SchemaGenerator.xmlSchema(for: fuzzTable) + [0x0A])

/// One input: both validators must agree on whether it is valid, and on the rows of a valid one.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    var source = MemorySource(input, blockSize: 61)
    var whole = MemorySource(input, blockSize: 61)
    let quick = try? validator.validate(from: &source)
    let full = try? libxml2Only.validate(from: &whole)
    if let quick, let full {
        precondition(quick.errors.isEmpty == full.errors.isEmpty, "the quick check and libxml2 disagree")
        if quick.errors.isEmpty { precondition(quick.rows == full.rows, "the quick check counts other rows") }
    } else {
        precondition((quick == nil) == (full == nil), "one validator threw and the other did not")
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_xml_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
