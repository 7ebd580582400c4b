/// A regular expression matched in time linear in its input: O(input length × program size), whatever the pattern.
///
/// Patterns use the ECMAScript (ECMA-262) syntax that JSON Schema and Table Schema name, with Unicode semantics and
/// matched over Unicode scalars: literals, `.`, classes with ranges and negation, the escapes `\d \w \s \D \W \S \t
/// \n \r \f \v \0 \cX \xHH \uHHHH \u{…}`, `\p{…}`/`\P{…}` for general categories and a few binary properties,
/// groups (capturing, named, non-capturing), alternation, greedy and lazy quantifiers, `^`, `$`, `\b` and `\B`.
/// Back-references and lookaround, which no linear-time engine runs, are refused when the pattern is compiled, as
/// are programs larger than ``maxProgramSize`` (counted repetitions such as `{1000}{1000}` would explode).
///
/// The pattern compiles to a Thompson NFA, simulated one input scalar at a time over the set of live states (no
/// backtracking), so a hostile pattern such as `^(a+)+$` costs no more than a plain one.
package struct LinearPattern: Sendable {
    /// The largest program, in instructions, a pattern may compile to.
    package static let maxProgramSize = 10_000

    /// The pattern as written.
    package let source: String
    private let program: [Instruction]
    private let sets: [ScalarSet]

    /// Compiles `source`.
    /// - Throws: ``PatternError`` naming the construct that cannot be used, or saying the pattern is too complex.
    package init(_ source: String) throws(PatternError) {
        self.source = source
        let tree = try PatternParser.parse(source)
        var compiler = PatternCompiler()
        try compiler.emit(tree)
        try compiler.append(Instruction(.match))
        program = compiler.program
        sets = compiler.sets
    }

    /// Whether some part of `string` matches (JSON Schema's unanchored search).
    package func matches(in string: String) -> Bool {
        run(string.unicodeScalars, whole: false)
    }

    /// Whether the whole of `string` matches (Table Schema and dataset-map patterns).
    package func matchesWhole(_ string: String) -> Bool {
        run(string.unicodeScalars, whole: true)
    }

    private func run(_ input: String.UnicodeScalarView, whole: Bool) -> Bool {
        program.withUnsafeBufferPointer { code in
            sets.withUnsafeBufferPointer { sets in
                Self.simulate(code, sets, input, whole: whole)
            }
        }
    }

    /// The NFA simulation: the threads alive before each scalar, each program position at most once.
    private static func simulate(
        _ code: UnsafeBufferPointer<Instruction>, _ sets: UnsafeBufferPointer<ScalarSet>,
        _ input: String.UnicodeScalarView, whole: Bool
    ) -> Bool {
        let count = code.count
        // The generation in which each position was last added; a thread list per step; the epsilon-closure stack
        // (each position is expanded once per generation and pushes at most two more).
        let marks = UnsafeMutablePointer<Int>.allocate(capacity: count)
        marks.initialize(repeating: -1, count: count)
        var current = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        var next = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        let stack = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * count + 1)
        defer {
            marks.deallocate()
            current.deallocate()
            next.deallocate()
            stack.deallocate()
        }
        var currentCount = 0
        var nextCount = 0

        // Adds the thread at `start` and every thread it reaches without input to `list`; true when one matches.
        func add(
            _ start: Int32, _ list: UnsafeMutablePointer<Int32>, _ listCount: inout Int, _ generation: Int,
            _ previous: UInt32?, _ ahead: UInt32?
        ) -> Bool {
            var matched = false
            var depth = 1
            stack[0] = start
            while depth > 0 {
                depth -= 1
                let pc = stack[depth]
                let index = Int(pc)
                if marks[index] == generation { continue }
                marks[index] = generation
                let instruction = code[index]
                switch instruction.op {
                case .jump:
                    stack[depth] = instruction.x
                    depth += 1
                case .split:
                    stack[depth] = instruction.y
                    stack[depth + 1] = instruction.x
                    depth += 2
                case .assert:
                    if holds(PatternAssertion(rawValue: instruction.x)!, previous, ahead) {
                        stack[depth] = pc + 1
                        depth += 1
                    }
                case .match:
                    matched = true
                case .scalar, .set:
                    list[listCount] = pc
                    listCount += 1
                }
            }
            return matched
        }

        var generation = 0
        var iterator = input.makeIterator()
        var ahead = iterator.next()?.value
        if add(0, current, &currentCount, generation, nil, ahead), !whole || ahead == nil { return true }
        while let value = ahead {
            ahead = iterator.next()?.value
            generation += 1
            nextCount = 0
            var matched = false
            for position in 0..<currentCount {
                let pc = current[position]
                let instruction = code[Int(pc)]
                let accepts =
                    instruction.op == .scalar
                    ? instruction.x == Int32(bitPattern: value) : sets[Int(instruction.x)].contains(value)
                if accepts && add(pc + 1, next, &nextCount, generation, value, ahead) { matched = true }
            }
            if !whole && add(0, next, &nextCount, generation, value, ahead) { matched = true }
            if matched && (!whole || ahead == nil) { return true }
            if nextCount == 0 { return false }
            swap(&current, &next)
            currentCount = nextCount
        }
        return false
    }

    private static func holds(_ assertion: PatternAssertion, _ previous: UInt32?, _ next: UInt32?) -> Bool {
        switch assertion {
        case .start: return previous == nil
        case .end: return next == nil
        case .wordBoundary, .notWordBoundary:
            let before = previous.map { ScalarSet.word.contains($0) } ?? false
            let after = next.map { ScalarSet.word.contains($0) } ?? false
            return (before != after) == (assertion == .wordBoundary)
        }
    }
}

/// One instruction of a compiled pattern.
struct Instruction: Sendable {
    enum Op: UInt8, Sendable {
        /// Consume the scalar `x`.
        case scalar
        /// Consume a scalar in set `x`.
        case set
        /// Go on at `x` and at `y`.
        case split
        /// Go on at `x`.
        case jump
        /// Go on when assertion `x` holds.
        case assert
        case match
    }

    var op: Op
    var x: Int32
    var y: Int32

    init(_ op: Op, _ x: Int32 = 0, _ y: Int32 = 0) {
        self.op = op
        self.x = x
        self.y = y
    }
}

/// Turns a parsed pattern into a program, refusing one larger than ``LinearPattern/maxProgramSize``.
struct PatternCompiler {
    var program: [Instruction] = []
    var sets: [ScalarSet] = []

    var here: Int32 { Int32(program.count) }

    mutating func append(_ instruction: Instruction) throws(PatternError) {
        guard program.count < LinearPattern.maxProgramSize else {
            throw PatternError(
                "the pattern is too complex (more than \(LinearPattern.maxProgramSize) states)", tooComplex: true)
        }
        program.append(instruction)
    }

    mutating func emit(_ node: PatternNode) throws(PatternError) {
        switch node {
        case .empty:
            break
        case .scalar(let value):
            try append(Instruction(.scalar, Int32(bitPattern: value)))
        case .set(let set):
            sets.append(set)
            try append(Instruction(.set, Int32(sets.count - 1)))
        case .sequence(let nodes):
            for node in nodes { try emit(node) }
        case .assertion(let assertion):
            try append(Instruction(.assert, assertion.rawValue))
        case .alternation(let branches):
            // split L1, next; L1: a; jump end; next: split L2, next2; … last branch; end:
            var jumps: [Int] = []
            for (position, branch) in branches.enumerated() {
                if position < branches.count - 1 {
                    let split = Int(here)
                    try append(Instruction(.split, here + 1, 0))
                    try emit(branch)
                    jumps.append(Int(here))
                    try append(Instruction(.jump))
                    program[split].y = here
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump].x = here }
        case .repetition(let body, let min, let max):
            // A count the program cannot hold is refused before anything is emitted.
            guard min <= LinearPattern.maxProgramSize, (max ?? min) <= LinearPattern.maxProgramSize else {
                throw PatternError(
                    "the pattern is too complex (more than \(LinearPattern.maxProgramSize) states)", tooComplex: true)
            }
            for _ in 0..<min { try emit(body) }
            if let max {
                // Optional copies: split body, end; body; … end.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(Int(here))
                    try append(Instruction(.split, here + 1, 0))
                    try emit(body)
                }
                for split in splits { program[split].y = here }
            } else {
                // loop: split body, end; body; jump loop; end:
                let loop = here
                try append(Instruction(.split, here + 1, 0))
                try emit(body)
                try append(Instruction(.jump, loop))
                program[Int(loop)].y = here
            }
        }
    }
}
