internal import Foundation
public import HandoverCore

/// Reads and writes `manifest.json`: sorted keys, two-space indentation, a final newline.
public enum ManifestCoding {
    /// The manifest as bytes.
    /// - Throws: ``HandoverError/Code/internalError`` if encoding fails.
    public static func encode(_ manifest: Manifest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(manifest)) + [0x0A]
        } catch {
            throw HandoverError(.internalError, "cannot encode the manifest")
        }
    }

    /// Reads a manifest.
    /// - Throws: ``HandoverError/Code/invalidData`` when the bytes are not a manifest.
    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw HandoverError(.invalidData, "manifest.json is not a valid manifest", underlying: describe(error))
        } catch {
            throw HandoverError(.invalidData, "manifest.json is not a valid manifest")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context))"
        case .dataCorrupted(let context): return "unreadable at \(path(context))"
        @unknown default: return "unreadable"
        }
    }
}
