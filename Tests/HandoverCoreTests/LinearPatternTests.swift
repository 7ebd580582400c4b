import Testing

@testable import HandoverCore

@Suite struct LinearPatternTests {
    /// Pattern, input, whether a search finds a match, whether the whole input matches.
    static let cases: [(String, String, Bool, Bool)] = [
        ("abc", "xxabcxx", true, false),
        ("abc", "abc", true, true),
        ("^abc$", "abc\n", false, false),
        ("a|bc|", "zzz", true, false),
        ("^(a|bc)+$", "abcbca", true, true),
        ("^(a|bc)+$", "abcb", false, false),
        ("[A-Z]{2}-[0-9]{3}", "AB-123", true, true),
        ("[A-Z]{2}-[0-9]{3}", "ab-123", false, false),
        ("x{2,3}", "xxxx", true, false),
        ("x{2,3}", "xxx", true, true),
        ("x{2,}", "xxxxxxx", true, true),
        ("x{2}", "x", false, false),
        ("a{,2}", "a{,2}", true, true),
        ("[^abc]", "abc", false, false),
        ("[^abc]", "abcd", true, false),
        ("[]", "a", false, false),
        ("[^]", "\n", true, true),
        (".", "\n", false, false),
        (".", "\u{2028}", false, false),
        ("^.$", "é", true, true),
        ("^🐲*$", "🐲🐲", true, true),
        ("^🐲*$", "🐉", false, false),
        ("^\\d+$", "42", true, true),
        ("^\\d+$", "\u{09EA}\u{09E8}", false, false),
        ("^\\p{digit}+$", "\u{09EA}\u{09E8}", true, true),
        ("\\p{Letter}cole", "l'école", true, false),
        ("\\wcole", "l'école", false, false),
        ("^\\W$", "é", true, true),
        ("^\\s$", "\u{FEFF}", true, true),
        ("^\\S$", "\u{2013}", true, true),
        ("^\\S$", "\u{2003}", false, false),
        ("^[\\d\\s]+$", "1 2", true, true),
        ("^[^\\d]$", "x", true, true),
        ("^[\\D]$", "5", false, false),
        ("^[\\P{L}]$", "5", true, true),
        ("^\\cC$", "\u{3}", true, true),
        ("^\\t\\n\\r\\f\\v\\0$", "\t\n\r\u{C}\u{B}\u{0}", true, true),
        ("^\\x41\\u0042\\u{1F432}\\uD83D\\uDC32$", "AB🐲🐲", true, true),
        ("^\\.\\*\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/\\\\$", ".*()[]{}|^$/\\", true, true),
        ("^[a\\-z]+$", "a-z", true, true),
        ("^[a\\-z]+$", "b", false, false),
        ("\\bfoo\\b", "a foo b", true, false),
        ("\\bfoo\\b", "afoob", false, false),
        ("\\Boo\\B", "afoob", true, false),
        ("(?:ab)+?c", "ababc", true, true),
        ("(?<word>ab)*c", "ababc", true, true),
        ("a*?", "", true, true),
        ("(a*)*b", "aaaab", true, true),
        ("^$", "", true, true),
        ("", "anything", true, false),
    ]

    @Test(arguments: cases)
    func matchesAsECMAScriptDoes(pattern: String, input: String, search: Bool, whole: Bool) throws {
        let compiled = try LinearPattern(pattern)
        #expect(compiled.matches(in: input) == search, "search \(pattern)")
        #expect(compiled.matchesWhole(input) == whole, "whole \(pattern)")
    }

    /// Patterns the engine refuses, and the words its message must contain.
    static let refused: [(String, String)] = [
        ("(a)\\1", "back-references"),
        ("(?<x>a)\\k<x>", "back-references"),
        ("a(?=b)", "lookahead"),
        ("a(?!b)", "lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "lookbehind"),
        ("(?i)abc", "inline flags"),
        ("(ab", "unbalanced"),
        ("ab)", "unbalanced"),
        ("*a", "nothing to repeat"),
        ("a**", "nothing to repeat"),
        ("^*", "assertion"),
        ("[b-a]", "out of order"),
        ("x{3,2}", "out of order"),
        ("[abc", "not closed"),
        ("\\q", "\\q"),
        ("\\p{Script=Greek}", "Script=Greek"),
        ("\\xZZ", "\\x"),
        ("abc\\", "backslash"),
    ]

    @Test(arguments: refused)
    func refusesWhatItCannotRunNamingTheConstruct(pattern: String, words: String) {
        do {
            _ = try LinearPattern(pattern)
            Issue.record("accepted \(pattern)")
        } catch {
            #expect(error.message.contains(words), "\(error.message)")
            #expect(!error.isTooComplex)
        }
    }

    @Test func refusesProgramsTooLargeToRun() {
        for pattern in [
            "(a{1000}){1000}", "x{99999}",
            String(repeating: "(", count: 200) + "a"
                + String(repeating: ")", count: 200), "[a-z]{20000}",
        ] {
            do {
                _ = try LinearPattern(pattern)
                Issue.record("accepted a pattern of \(pattern.count) characters")
            } catch {
                #expect(error.isTooComplex)
                #expect(error.message.contains("too complex") || error.message.contains("nested"))
            }
        }
        // Just under the limit still compiles.
        #expect((try? LinearPattern("a{9000}")) != nil)
    }

    @Test func backtrackingBombsRunInLinearTime() throws {
        let nested = try LinearPattern("^(a+)+$")
        let hostile = String(repeating: "a", count: 34) + "!"
        #expect(!nested.matches(in: hostile))
        #expect(!nested.matchesWhole(hostile))
        #expect(nested.matches(in: String(repeating: "a", count: 34)))
        let map = try LinearPattern("([a-z0-9 ]+)*")
        #expect(!map.matchesWhole(String(repeating: "a", count: 30) + "!"))
        #expect(map.matchesWhole(String(repeating: "a b", count: 10)))
        // A long input: 200,000 scalars against the same patterns.
        let long = String(repeating: "a", count: 200_000) + "!"
        #expect(!nested.matches(in: long))
        #expect(!map.matchesWhole(long))
        #expect(try LinearPattern("(x+x+)+y").matches(in: String(repeating: "x", count: 20_000)) == false)
    }
}

@Suite struct PortablePatternTests {
    @Test func aTablePatternTheEngineCannotRunIsAnInvalidSchema() {
        let table = TableSchema(
            name: "people", fields: [Field("code", .string, constraints: Constraints(pattern: "(a{1000}){1000}"))])
        do {
            try table.validate()
            Issue.record("accepted a pattern too complex to run")
        } catch let error as HandoverError {
            #expect(error.code == .invalidSchema)
            #expect(error.message.contains("field code") && error.message.contains("too complex"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(Constraints.patternProblem("[A-Z]{2}-[0-9]{3}") == nil)
    }
}
