import Foundation
import HandoverArchive
import HandoverDemo
import TestSupport
import Testing

/// Validates JSON or YAML documents against a schema of `Schemas/` with Python's `jsonschema`,
/// an implementation independent of Handover. Prints one line per document: `valid` or `invalid`.
let validatorScript = """
    import json, sys, yaml, jsonschema
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sys.argv[2:]:
        document = yaml.safe_load(open(path)) if path.endswith('.yaml') else json.load(open(path))
        errors = list(validator.iter_errors(document))
        print('valid' if not errors else 'invalid: ' + '; '.join(e.message[:120] for e in errors[:3]))
    """

func validate(schema: String, documents: [String]) throws -> [String] {
    let result = try run(
        "/usr/bin/env", ["python3", "-c", validatorScript, packageRoot + "/Schemas/" + schema] + documents)
    #expect(result.status == 0, "\(result.stderr)")
    return result.stdout.split(separator: "\n").map(String.init)
}

@Suite struct SchemaDocumentTests {
    @Test func theDemoMapFitsTheDatasetMapSchemaAndBrokenMapsDoNot() async throws {
        try await withTemporaryDirectory { folder in
            let good = folder + "/demo.yaml"
            try Data(SalesDemo.datasetMap.utf8).write(to: URL(fileURLWithPath: good))
            let broken = [
                "handover-map: 2\nexporter: {id: shop}\ntables: {t: {}}\n",
                "handover-map: 1\nexporter: {id: Shop}\ntables: {t: {}}\n",
                "handover-map: 1\nexporter: {id: shop}\ntables: {t: {columns: {id: int}}}\n",
                "handover-map: 1\nexporter: {id: shop}\ntables: {t: {subject: {via: [a]}}}\n",
                "handover-map: 1\nexporter: {id: shop}\ntables: {t: {colour: blue}}\n",
                "handover-map: 1\nexporter: {id: shop}\ntables: {}\n",
            ]
            var paths = [good]
            for (index, text) in broken.enumerated() {
                let path = folder + "/broken-\(index).yaml"
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                paths.append(path)
            }
            let verdicts = try validate(schema: "dataset-map.schema.json", documents: paths)
            #expect(verdicts.count == paths.count)
            #expect(verdicts.first == "valid")
            for (index, verdict) in verdicts.dropFirst().enumerated() {
                #expect(verdict.hasPrefix("invalid"), "broken map \(index) was accepted")
            }
        }
    }

    @Test func producedManifestsFitTheManifestSchema() async throws {
        try await withTemporaryDirectory { folder in
            let demo = try handover("demo", "--out", folder, "--json")
            #expect(demo.status == 0)
            let tenant = try handover(
                "export", "--db", folder + "/demo.sqlite", "--map", folder + "/demo-map.yaml", "--tenant", "2", "--out",
                folder, "--json")
            #expect(tenant.status == 0)
            var paths: [String] = []
            for output in [demo.stdout, tenant.stdout] {
                let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
                let archive = try #require(report["archive"] as? String)
                let manifest = try #require(
                    try readArchive(archive).first { $0.key.hasSuffix("/manifest.json") }?.value)
                let path = folder + "/manifest-\(paths.count).json"
                try Data(manifest).write(to: URL(fileURLWithPath: path))
                paths.append(path)
                // A manifest that claims a failure without saying which exporter failed, and one with a bad checksum.
                var object = try #require(try JSONSerialization.jsonObject(with: Data(manifest)) as? [String: Any])
                var files = try #require(object["files"] as? [[String: Any]])
                files[0]["sha256"] = "not-a-digest"
                object["files"] = files
                let damaged = folder + "/damaged-\(paths.count).json"
                try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: damaged))
                paths.append(damaged)
            }
            #expect(
                try validate(schema: "manifest.schema.json", documents: paths).map { $0.prefix(7) } == [
                    "valid", "invalid", "valid", "invalid",
                ])
        }
    }
}
