public import Crypto
internal import Foundation
internal import HandoverCore

/// The `Handover-Signature` header, as Stripe's and GitHub's webhooks sign: `t=<unix seconds>,v1=<hex>`, where
/// the hex is HMAC-SHA-256 keyed with the shared secret over `<t>.<body>`.
///
/// A receiver recomputes the HMAC over the timestamp and the raw body it received, compares it in constant time,
/// and refuses a timestamp too far from its clock (replay). Any language's HMAC does it; the README shows Python.
public enum WebhookSignature {
    /// The header's value for `body` sent at `timestamp` (seconds since 1970).
    public static func header(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=" + mac(secret: secret, timestamp: timestamp, body: body).hexString
    }

    /// Whether `header` signs `body` with `secret` at a time within `toleranceSeconds` of `now`. Every `v1`
    /// given is tried (a receiver rotating secrets may be sent several); each is compared in constant time.
    public static func isValid(
        header: String, secret: [UInt8], body: [UInt8], now: Int64, toleranceSeconds: Int64 = 300
    ) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for field in header.split(separator: ",") {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return false }
            switch pair[0].trimmingCharacters(in: .whitespaces) {
            case "t": timestamp = Int64(pair[1])
            case "v1": signatures.append(String(pair[1]))
            default: continue
            }
        }
        guard let timestamp, abs(now - timestamp) <= toleranceSeconds else { return false }
        return signatures.contains { given in
            guard let bytes = bytes(hex: given) else { return false }
            // swift-crypto compares authentication codes in constant time.
            return HMAC<SHA256>.isValidAuthenticationCode(
                bytes, authenticating: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: secret))
        }
    }

    static func mac(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: secret)))
    }

    static func bytes(hex text: String) -> [UInt8]? {
        let scalars = Array(text.utf8)
        guard scalars.count % 2 == 0, !scalars.isEmpty else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < scalars.count {
            guard let high = nibble(scalars[index]), let low = nibble(scalars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
