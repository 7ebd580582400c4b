import FuzzDriver
import FuzzSupport
import HandoverAge

/// A fixed identity, and a passphrase with a small work factor (a larger one would spend the budget in scrypt).
let identities: [AgeIdentity] = [
    try! AgeIdentity(parsing: "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"),
    .scrypt(passphrase: Array("password".utf8), maxWorkFactor: 10),
]

/// One input.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    if AgeArmor.isArmored(input), let binary = try? AgeArmor.decode(input) { input = binary }
    if var decryptor = try? AgeDecryptor(identities: identities, bytes: input) {
        while let chunk = try? decryptor.next() { _ = chunk }
    }
    let total = UInt64(input.count)
    if var random = try? AgeRandomAccessDecryptor(
        identities: identities, size: total,
        read: { offset, count in Array(input[Int(offset)..<Int(min(total, offset + UInt64(count)))]) })
    {
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = try? buffer.withUnsafeMutableBytes { try random.read(at: 0, into: $0) }
        _ = try? random.authenticateRemaining()
    }
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    _ = try? AgeIdentity.parseFile(text)
    _ = try? AgeRecipient.parseFile(text)
    return 0
}

/// The executable's entry point: libFuzzer's driver over ``fuzz(_:_:)``.
@_cdecl("fuzz_age_main")
public func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    handover_fuzz_run(argc, argv) { fuzz($0, $1) }
}
