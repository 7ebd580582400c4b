import Foundation
import HandoverCore
import HandoverDemo
import Testing

@testable import HandoverSQL

/// The quick composition of a map (no resolver rules, falling back to Yams' default resolver when keys could
/// collide) must give exactly the map, or exactly the error, that the default resolver gives.
@Suite struct MapComposerTests {
    /// What parsing a document gives: the map, or the error's code and message.
    enum Outcome: Equatable {
        case map(DatasetMap)
        case error(String)
    }

    static func parse(_ yaml: String, _ composer: MapComposer) -> Outcome {
        do {
            return .map(try DatasetMap(yaml: yaml, source: "m.yaml", composer: composer))
        } catch let error as HandoverError {
            return .error("\(error.code): \(error.message)")
        } catch {
            return .error("unexpected \(error)")
        }
    }

    /// Expects the same outcome from both composers and returns it.
    @discardableResult
    static func same(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let quick = parse(yaml, .quick)
        #expect(quick == parse(yaml, .standard), "\(yaml)", sourceLocation: sourceLocation)
        return quick
    }

    /// The maps of the repository: the demo's, the fuzz corpus's and the shop map of the tests.
    static var fixtures: [String] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let corpus = url.appendingPathComponent("Fuzz/Corpus/fuzz-map")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []
        return [SalesDemo.datasetMap, SalesDemo.datasetMap(mediaRoot: "media"), shopMap]
            + files.sorted().compactMap { try? String(contentsOf: corpus.appendingPathComponent($0), encoding: .utf8) }
    }

    @Test func fixturesParseIdenticallyAndTakeTheQuickPath() {
        let fixtures = Self.fixtures
        #expect(fixtures.count >= 5)
        for yaml in fixtures {
            guard case .map = Self.same(yaml) else {
                Issue.record("a fixture map does not parse: \(yaml.prefix(80))")
                continue
            }
            // The quick composition is kept (no fallback) for these maps.
            #expect(MapComposer.keepsQuickComposition(of: yaml))
        }
    }

    /// Every line of the demo map altered in ways that make keys collide, get types, tags, quotes or aliases.
    @Test func alteredDemoMapsParseIdentically() {
        let lines = SalesDemo.datasetMap.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var outcomes = Set<Bool>()
        for index in lines.indices {
            let line = lines[index]
            let indent = String(line.prefix { $0 == " " })
            let body = line.dropFirst(indent.count)
            var variants: [[String]] = []
            variants.append(lines[..<index] + [line, line] + lines[(index + 1)...])
            if let colon = body.firstIndex(of: ":") {
                let key = body[..<colon]
                let rest = body[colon...]
                for other in [
                    "'\(key)'", "\"\(key)\"", "!!str \(key)", "!!int \(key)", "!!bool \(key)", "? \(key)\n\(indent)",
                ] {
                    variants.append(lines[..<index] + [line, indent + other + rest] + lines[(index + 1)...])
                    variants.append(lines[..<index] + [indent + other + rest] + lines[(index + 1)...])
                }
                for value in ["1", "'1'", "!!int 1", "yes", "~", "<<", "=", "0x1F", "*x"] {
                    variants.append(lines[..<index] + [indent + key + ": " + value] + lines[(index + 1)...])
                    variants.append(lines[..<index] + [line, indent + value + rest] + lines[(index + 1)...])
                }
            }
            for variant in variants {
                let outcome = Self.same(variant.joined(separator: "\n"))
                if case .map = outcome { outcomes.insert(true) } else { outcomes.insert(false) }
            }
        }
        // Both accepted and refused variants were compared.
        #expect(outcomes == [true, false])
    }

    @Test func hostileDocumentsParseIdentically() {
        let head = "handover-map: 1\nexporter: {id: x}\n"
        let bomb = (1...9).map { level in
            "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]"
        }.joined(separator: "\n")
        let documents = [
            "", "# a comment only", "---\n...\n", "--- a\n--- b\n", "a: [1, 2\n", "a: *nowhere\n", "\t- x",
            head + head, head + "'handover-map': 1\n", head + "\"handover-map\": 1\n",
            "1: a\n'1': b\n" + head, "1: a\n!!int 1: b\n" + head, "1: a\n!!str 1: b\n" + head,
            "yes: a\n!!bool yes: b\n" + head, "yes: a\n'yes': b\n" + head, "~: a\nnull: b\n" + head,
            "~: a\n!!null ~: b\n" + head, "<<: {a: 1}\n" + head, "<<: {handover-map: 1}\nexporter: {id: x}\n",
            "=: 1\n'=': 2\n" + head, "2024-01-02: a\n!!timestamp 2024-01-02: b\n" + head,
            "? [a, b]\n: 1\n" + head, "? {a: 1}\n: x\n? {a: !!int 1}\n: y\n" + head,
            "? {a: 1}\n: x\n? {a: 1}\n: y\n" + head, "? [1]\n: x\n? ['1']\n: y\n" + head,
            "x: &a {b: 1}\ny: *a\n" + head, "x: &a {b: 1, b: 2}\n" + head,
            head + "exporter: {id: x, id: y}\n", "handover-map: 1\nexporter: {id: x, 'id': y}\n",
            "handover-map: 1\nexporter: {id: x, !!str id: y}\n", "handover-map: 1\nexporter: {id: x, !!int id: y}\n",
            "handover-map: !!str 1\nexporter: {id: x}\n", "handover-map: '1'\nexporter: {id: x}\n",
            "handover-map: 1.0\nexporter: {id: x}\n", "handover-map: 0x1\nexporter: {id: x}\n",
            "l0: &l0 x\n" + bomb + "\n" + head, head + "tables: *l9\nl0: &l0 x\n" + bomb + "\n",
            "l0: &l0 {a: 1}\n" + bomb + "\n" + head, "!!map {handover-map: 1, exporter: {id: x}}",
            "!!seq [1]", "[handover-map, 1]", "handover-map", "%YAML 1.2\n---\n" + head,
            "%TAG ! tag:yaml.org,2002:\n---\n!int 1: a\n1: b\n" + head,
        ]
        for document in documents { Self.same(document) }
    }

    @Test func fallsBackWhenKeysCouldCollideOrTheTreeIsTooLarge() {
        func differ(_ yaml: String, budget: Int = 1000) -> Bool {
            MapComposer.keepsQuickComposition(of: yaml, budget: budget)
        }
        #expect(differ("a: 1\nb: {c: 2, d: [e, {f: 3}]}"))
        #expect(!differ("a: 1\n'a': 2"))
        #expect(!differ("a: 1\nb: {c: 2, '2': [e, {f: 3, !!str f: 4}]}"))
        #expect(!differ("? [a]\n: 1"))
        #expect(!differ("a: [1, 2, 3, 4]", budget: 4))
        #expect(differ("a: [1, 2, 3, 4]", budget: 8))
        // Nine levels of nine aliases make 9^9 nodes from a few hundred bytes: the walk gives up at its budget.
        let bomb =
            "l0: &l0 x\n"
            + (1...9).map { level in
                "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]"
            }.joined(separator: "\n")
        #expect(!differ(bomb, budget: 2 * bomb.utf8.count + 64))
    }
}
