import FuzzDriver
import FuzzSupport
import HandoverMinisign

let key = MinisignSecretKey.generate()

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    _ = try? MinisignPublicKey(parsing: text)
    if let signature = try? MinisignSignature(parsing: text) {
        // Whatever it claims, it does not verify with a key that never signed it.
        if (try? key.publicKey.verify(signature, content: Array("content".utf8))) != nil {
            fatalError("a parsed signature verified with a key that did not make it")
        }
    }
    // Passphrase-protected keys run scrypt with the file's limits: only unprotected ones here.
    _ = try? MinisignSecretKey(parsing: text)
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_minisign_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
