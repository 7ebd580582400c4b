import Foundation
import HandoverJSONSchema
import Testing

/// The official JSON Schema Test Suite, next to the repository: `<package root>/../shared/testsuites/…`.
let jsonSchemaSuiteRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("../shared/testsuites/json-schema-test-suite").standardizedFileURL.path
}()

/// Reads and parses a JSON file with the parser under test.
func readJSONFile(_ path: String) throws -> JSONValue {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONValue.parse([UInt8](data))
}

/// Serves `http://localhost:1234/…` from the suite's `remotes/` folder, as the suite expects.
let suiteRemotes: @Sendable (String) -> JSONValue? = { uri in
    let prefix = "http://localhost:1234/"
    guard uri.hasPrefix(prefix) else { return nil }
    return try? readJSONFile(jsonSchemaSuiteRoot + "/remotes/" + uri.dropFirst(prefix.count))
}

/// The outcome of running some suite files.
struct SuiteOutcome {
    var passed = 0
    var failures: [String] = []
}

/// Runs every test case of the given suite files.
func runSuite(files: [String], formatAssertion: Bool) throws -> SuiteOutcome {
    var outcome = SuiteOutcome()
    for file in files {
        let name = (file as NSString).lastPathComponent
        guard case .array(let groups) = try readJSONFile(file) else {
            outcome.failures.append("\(name): not an array of test groups")
            continue
        }
        for group in groups {
            guard case .string(let groupDescription)? = group["description"], let schemaValue = group["schema"],
                case .array(let tests)? = group["tests"]
            else {
                outcome.failures.append("\(name): malformed test group")
                continue
            }
            let schema: JSONSchema
            do {
                schema = try JSONSchema(schemaValue, formatAssertion: formatAssertion, retrieve: suiteRemotes)
            } catch {
                for test in tests {
                    let description = test["description"].flatMap { if case .string(let s) = $0 { s } else { nil } }
                    outcome.failures.append(
                        "\(name) / \(groupDescription) / \(description ?? "?"): schema did not compile: \(error)")
                }
                continue
            }
            for test in tests {
                guard case .string(let description)? = test["description"], let data = test["data"],
                    case .bool(let expected)? = test["valid"]
                else {
                    outcome.failures.append("\(name) / \(groupDescription): malformed test")
                    continue
                }
                let valid = schema.isValid(data)
                let errors = schema.validate(data)
                if valid == expected && errors.isEmpty == expected {
                    outcome.passed += 1
                } else {
                    outcome.failures.append(
                        "\(name) / \(groupDescription) / \(description): expected \(expected ? "valid" : "invalid"), "
                            + "isValid says \(valid), validate found \(errors.count) errors")
                }
            }
        }
    }
    return outcome
}

@Suite("JSON Schema Test Suite, draft 2020-12")
struct JSONSchemaSuiteTests {
    @Test("every required test passes")
    func requiredSuite() throws {
        let folder = jsonSchemaSuiteRoot + "/tests/draft2020-12"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".json") }.sorted().map { folder + "/" + $0 }
        #expect(files.count > 40)
        let outcome = try runSuite(files: files, formatAssertion: false)
        let (passed, failed) = (outcome.passed, outcome.failures.count)
        print("JSON Schema draft 2020-12 required suite: \(passed) passed, \(failed) failed")
        for failure in outcome.failures { print("  FAILED: \(failure)") }
        #expect(passed >= 1299)
        #expect(failed == 0)
    }

    @Test("the optional regular-expression tests pass (ECMA-262 semantics, non-BMP characters)")
    func regexSuite() throws {
        let folder = jsonSchemaSuiteRoot + "/tests/draft2020-12/optional"
        let files = ["ecmascript-regex", "non-bmp-regex"].map { folder + "/" + $0 + ".json" }
        let outcome = try runSuite(files: files, formatAssertion: false)
        let (passed, failed) = (outcome.passed, outcome.failures.count)
        print("JSON Schema draft 2020-12 optional regex suite: \(passed) passed, \(failed) failed")
        for failure in outcome.failures { print("  FAILED: \(failure)") }
        #expect(passed > 60)
        #expect(failed == 0)
    }

    @Test("the optional format tests pass with format assertion")
    func formatSuite() throws {
        let folder = jsonSchemaSuiteRoot + "/tests/draft2020-12/optional/format"
        let files = ["date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6"].map {
            folder + "/" + $0 + ".json"
        }
        let outcome = try runSuite(files: files, formatAssertion: true)
        let (passed, failed) = (outcome.passed, outcome.failures.count)
        print("JSON Schema draft 2020-12 format suite: \(passed) passed, \(failed) failed")
        for failure in outcome.failures { print("  FAILED: \(failure)") }
        #expect(passed >= 345)
        #expect(failed == 0)
    }
}
