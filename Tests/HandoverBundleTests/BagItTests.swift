import Crypto
import Foundation
import HandoverBundle
import TestSupport
import Testing

// MARK: - Conformance suite

/// The Library of Congress BagIt conformance suite, kept next to the package.
let bagItSuite = packageRoot + "/../shared/testsuites/bagit-conformance-suite"

/// The suite's folders this validator answers for, with the verdict each case must get.
let bagItSuiteFolders: [(folder: String, valid: Bool)] = [
    ("v1.0/valid", true), ("v1.0/invalid", false),
    ("v0.97/valid", true), ("v0.97/invalid", false), ("v0.97/warning", true), ("v0.97/linux-only", false),
]

/// Whether problems leave a bag valid.
func isValid(_ problems: [BagItProblem]) -> Bool { !problems.contains { $0.severity == .error } }

@Test func bagItConformanceSuite() throws {
    var passed = 0
    var failed = 0
    var disagreements: [String] = []
    for (folder, expected) in bagItSuiteFolders {
        let path = bagItSuite + "/" + folder
        let cases = try FileManager.default.contentsOfDirectory(atPath: path).sorted().filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        #expect(!cases.isEmpty, "no cases in \(folder)")
        for name in cases {
            let problems = BagItValidator.validate(directory: path + "/" + name)
            if isValid(problems) == expected {
                passed += 1
            } else {
                failed += 1
                let found = problems.map { "      \($0)" }.joined(separator: "\n")
                disagreements.append(
                    "  \(folder)/\(name): expected \(expected ? "valid" : "invalid")\n"
                        + (found.isEmpty ? "      (no problems)" : found))
            }
        }
    }
    for line in disagreements { print(line) }
    print("BagIt conformance suite: \(passed) passed, \(failed) failed")
    #expect(failed == 0)
}
