import Foundation
import FuzzDriver
import FuzzSupport
import HandoverBundle

/// The file each input is written to: the verifier reads archives by path, as receivers give them.
let path = "/dev/shm/handover-fuzz-bundle-\(getpid()).zip"

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FileManager.default.createFile(atPath: path, contents: Data(bytes(data, size)))
    let report = BundleVerifier.verify(archive: path)
    // Whatever the input, a report; and a valid one only for a bundle that lists what it holds.
    if report.valid && report.files == 0 { fatalError("a valid report of an empty bundle") }
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_bundle_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
