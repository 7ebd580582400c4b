/// A set of small non-negative integers: the positions of evaluated object members or array items.
struct BitSet {
    private var words: [UInt64] = []

    func contains(_ index: Int) -> Bool {
        let word = index >> 6
        return word < words.count && words[word] & (1 << UInt64(index & 63)) != 0
    }

    mutating func insert(_ index: Int) {
        let word = index >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        words[word] |= 1 << UInt64(index & 63)
    }

    mutating func insert(_ range: Range<Int>) {
        for index in range { insert(index) }
    }

    mutating func formUnion(_ other: BitSet) {
        if other.words.count > words.count {
            words.append(contentsOf: repeatElement(0, count: other.words.count - words.count))
        }
        for index in other.words.indices { words[index] |= other.words[index] }
    }
}

/// The annotations that unevaluatedProperties and unevaluatedItems depend on, for one instance location: which
/// members and which items some keyword has evaluated.
struct Annotations {
    var properties = BitSet()
    var items = BitSet()

    mutating func formUnion(_ other: Annotations) {
        properties.formUnion(other.properties)
        items.formUnion(other.items)
    }
}

/// One step of an instance location.
enum InstanceStep {
    case key(String)
    case index(Int)
}

/// Evaluates compiled schemas against instances, collecting errors.
///
/// Annotations are collected only where an unevaluated keyword needs them. When errors are not wanted (inside
/// `anyOf`, `not`, for ``JSONSchema/isValid(_:)``) evaluation stops at the first failing keyword.
struct Evaluator {
    var errors: [JSONSchemaError] = []
    /// Whether errors are being recorded; when false, evaluation may stop at the first failure.
    var reporting: Bool
    let maxErrors: Int
    /// Keyword-location steps, each already in JSON-pointer form (`/properties/name`).
    var keywordPath: [String] = []
    var instancePath: [InstanceStep] = []
    /// The schema resources entered so far, outermost first.
    var scope: [SchemaResource] = []
    /// How many schemas are being evaluated, one inside the other.
    private var depth = 0
    /// The most schemas evaluated one inside the other: a guard against exhausting the stack (a 512-level
    /// instance, the parser's limit, against a schema that recurses once per level needs about 1,030).
    static var maximumDepth: Int { 1600 }
    /// References being followed, with the instance depth at which each was followed, to stop infinite loops.
    private var references: [(node: ObjectIdentifier, depth: Int)] = []
    /// Schemas evaluated so far under the current budget.
    private var steps = 0
    /// The most schemas that may be evaluated for the current value (see ``startBudget(for:)``).
    private var budget = Evaluator.budget(forNodes: 1)
    /// Whether the budget ran out: evaluation then stops, and the value is invalid ("schema too complex").
    private(set) var exhausted = false
    /// How many errors there were when the budget ran out: those reported while evaluation unwound are not kept.
    private var errorsBeforeExhaustion = 0

    /// Steps allowed whatever the value's size.
    static var baseBudget: Int { 100_000 }
    /// Steps allowed for each node (value, member, item) of the value.
    static var budgetPerNode: Int { 1_000 }

    /// The budget for a value of `nodes` nodes: proportional to its size, so that evaluation stays linear in the
    /// instance whatever the schema (nested `anyOf`/`$ref` levels would otherwise double the work at each level).
    static func budget(forNodes nodes: Int) -> Int {
        baseBudget + budgetPerNode * nodes
    }

    /// Starts a new budget, sized for `value`.
    mutating func startBudget(for value: JSONValue) {
        steps = 0
        budget = Self.budget(forNodes: value.nodeCount)
    }

    /// Adds the "schema too complex" error for the value at `location` when the budget ran out (in place of the
    /// errors reported while evaluation unwound, and of the last error when the list is full), and stops reporting.
    mutating func reportExhaustion(at location: [InstanceStep] = []) {
        guard exhausted else { return }
        // What failed as evaluation stopped failed because it stopped, not because of the value.
        errors.removeSubrange(min(errorsBeforeExhaustion, errors.count)...)
        if errors.count >= maxErrors && !errors.isEmpty { errors.removeLast() }
        errors.append(
            JSONSchemaError(
                instanceLocation: Self.pointer(location), keywordLocation: "",
                message: "schema too complex: evaluating this value took more than \(budget) steps"))
        reporting = false
    }

    init(reporting: Bool, maxErrors: Int = .max) {
        self.reporting = reporting && maxErrors > 0
        self.maxErrors = maxErrors
    }

    // MARK: Errors

    static func pointer(_ steps: [InstanceStep]) -> String {
        var result = ""
        for step in steps {
            switch step {
            case .key(let key): result += "/" + SchemaCompiler.escapePointerToken(key)
            case .index(let index): result += "/" + String(index)
            }
        }
        return result
    }

    /// Records an error at the current locations; `keyword` is appended to the keyword location.
    mutating func report(_ keyword: String?, _ message: @autoclosure () -> String) {
        guard reporting else { return }
        var location = keywordPath.joined()
        if let keyword { location += "/" + keyword }
        errors.append(
            JSONSchemaError(
                instanceLocation: Self.pointer(instancePath), keywordLocation: location, message: message()))
        if errors.count >= maxErrors { reporting = false }
    }

    /// Runs `body` without recording errors.
    private mutating func silently<T>(_ body: (inout Evaluator) -> T) -> T {
        let saved = reporting
        reporting = false
        defer { reporting = saved }
        return body(&self)
    }

    // MARK: Schemas

    /// Evaluates `node` against `value`. `annotations` receives what this schema evaluated when `collect` is set
    /// (it must be empty on entry; the caller keeps it only when the result is true).
    mutating func evaluate(_ node: SchemaNode, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations)
        -> Bool
    {
        switch node.kind {
        case .accept:
            return true
        case .reject:
            let message = Self.falseSchemaMessage(keywordPath.last)
            report(nil, message)
            return false
        case .keywords:
            break
        }
        steps += 1
        guard steps <= budget, !exhausted else {
            if !exhausted { errorsBeforeExhaustion = errors.count }
            exhausted = true
            return false
        }
        guard depth < Self.maximumDepth else {
            report(nil, "the instance is nested too deeply to validate")
            return false
        }
        depth += 1
        defer { depth -= 1 }
        let entered = scope.last !== node.resource
        if entered { scope.append(node.resource) }
        defer { if entered { scope.removeLast() } }
        let collectHere = collect || node.tracksUnevaluated
        var valid = true
        for keyword in node.keywords {
            if !evaluate(keyword, value, collect: collectHere, &annotations) {
                valid = false
                if !reporting { return false }
            }
        }
        return valid
    }

    private static func falseSchemaMessage(_ path: String?) -> String {
        guard let path else { return "no value is allowed (the schema is false)" }
        if path.hasSuffix("/additionalProperties") { return "property is not allowed" }
        if path.hasSuffix("/unevaluatedProperties") { return "property is not allowed (not evaluated)" }
        if path.hasSuffix("/items") { return "item is not allowed" }
        if path.hasSuffix("/unevaluatedItems") { return "item is not allowed (not evaluated)" }
        return "no value is allowed here (the schema is false)"
    }

    /// Evaluates a subschema at the same instance location; merges its annotations when it is valid.
    private mutating func evaluateInPlace(
        _ child: Child, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        keywordPath.append(child.path)
        defer { keywordPath.removeLast() }
        var own = Annotations()
        let valid = evaluate(child.node, value, collect: collect, &own)
        if valid && collect { annotations.formUnion(own) }
        return valid
    }

    /// Evaluates a subschema against a member of an object.
    mutating func evaluateMember(_ child: Child, _ value: JSONValue, key: String) -> Bool {
        keywordPath.append(child.path)
        instancePath.append(.key(key))
        defer {
            keywordPath.removeLast()
            instancePath.removeLast()
        }
        var ignored = Annotations()
        return evaluate(child.node, value, collect: false, &ignored)
    }

    /// Evaluates a subschema against an item of an array.
    mutating func evaluateItem(_ child: Child, _ value: JSONValue, index: Int) -> Bool {
        keywordPath.append(child.path)
        instancePath.append(.index(index))
        defer {
            keywordPath.removeLast()
            instancePath.removeLast()
        }
        var ignored = Annotations()
        return evaluate(child.node, value, collect: false, &ignored)
    }

    /// Follows a `$ref` or `$dynamicRef` to `target`, unless that would loop without progressing in the instance.
    private mutating func follow(
        _ target: SchemaNode, keyword: String, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        let identifier = ObjectIdentifier(target)
        let depth = instancePath.count
        if references.contains(where: { $0.node == identifier && $0.depth == depth }) {
            report(keyword, "the schema refers to itself without end")
            return false
        }
        references.append((identifier, depth))
        keywordPath.append("/" + keyword)
        defer {
            references.removeLast()
            keywordPath.removeLast()
        }
        var own = Annotations()
        let valid = evaluate(target, value, collect: collect, &own)
        if valid && collect { annotations.formUnion(own) }
        return valid
    }

    // MARK: Keywords

    /// Evaluates one keyword. The recursive path (applicators) goes through small functions, so that deeply nested
    /// instances use little stack, even in debug builds.
    private mutating func evaluate(
        _ keyword: Keyword, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        switch keyword {
        case .ref(let edge):
            return follow(edge.target, keyword: "$ref", value, collect: collect, &annotations)
        case .dynamicRef(let edge):
            return followDynamic(edge, value, collect: collect, &annotations)
        case .properties(let group):
            return evaluateProperties(group, value, collect: collect, &annotations)
        case .prefixItems, .items, .contains, .unevaluatedItems:
            return evaluateArrayApplicator(keyword, value, collect: collect, &annotations)
        case .propertyNames, .dependentSchemas, .unevaluatedProperties:
            return evaluateObjectApplicator(keyword, value, collect: collect, &annotations)
        case .allOf, .anyOf, .oneOf, .not, .conditional:
            return evaluateCombinator(keyword, value, collect: collect, &annotations)
        default:
            return check(keyword, value)
        }
    }

    /// Follows a `$dynamicRef`: to the outermost dynamic anchor of its name in the dynamic scope, if it has one.
    private mutating func followDynamic(
        _ edge: DynamicReferenceEdge, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        var target = edge.target
        if let anchor = edge.anchor {
            for resource in scope {
                if let found = resource.dynamicAnchors[anchor] {
                    target = found.node
                    break
                }
            }
        }
        return follow(target, keyword: "$dynamicRef", value, collect: collect, &annotations)
    }

    /// prefixItems, items, contains and unevaluatedItems.
    private mutating func evaluateArrayApplicator(
        _ keyword: Keyword, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        switch keyword {
        case .prefixItems(let children):
            guard case .array(let items) = value else { return true }
            var valid = true
            for index in 0..<min(children.count, items.count) {
                if !evaluateItem(children[index], items[index], index: index) {
                    valid = false
                    if !reporting { return false }
                }
            }
            if collect { annotations.items.insert(0..<min(children.count, items.count)) }
            return valid

        case .items(let child, let start):
            guard case .array(let items) = value, items.count > start else { return true }
            var valid = true
            for index in start..<items.count {
                if !evaluateItem(child, items[index], index: index) {
                    valid = false
                    if !reporting { return false }
                }
            }
            if collect { annotations.items.insert(start..<items.count) }
            return valid

        case .contains(let child, let minimum, let maximum):
            guard case .array(let items) = value else { return true }
            var matches = 0
            silently { evaluator in
                for (index, item) in items.enumerated() {
                    if evaluator.evaluateItem(child, item, index: index) {
                        matches += 1
                        if collect { annotations.items.insert(index) }
                    }
                    if !collect && maximum == nil && matches >= minimum { break }
                }
            }
            if matches < minimum {
                report(
                    "contains",
                    minimum == 1
                        ? "array has no item that matches 'contains'"
                        : "array has fewer than \(minimum) items that match 'contains'")
                return false
            }
            if let maximum, matches > maximum {
                report("maxContains", "array has more than \(maximum) items that match 'contains'")
                return false
            }
            return true

        case .unevaluatedItems(let child):
            guard case .array(let items) = value else { return true }
            var valid = true
            for index in items.indices where !annotations.items.contains(index) {
                if !evaluateItem(child, items[index], index: index) {
                    valid = false
                    if !reporting { return false }
                }
            }
            annotations.items.insert(0..<items.count)
            return valid

        default:
            return true
        }
    }

    /// propertyNames, dependentSchemas and unevaluatedProperties.
    private mutating func evaluateObjectApplicator(
        _ keyword: Keyword, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        switch keyword {
        case .propertyNames(let child):
            guard case .object(let object) = value else { return true }
            for (key, _) in object {
                let valid = silently { evaluator in
                    var ignored = Annotations()
                    evaluator.keywordPath.append(child.path)
                    defer { evaluator.keywordPath.removeLast() }
                    return evaluator.evaluate(child.node, .string(key), collect: false, &ignored)
                }
                if !valid {
                    report("propertyNames", "a property name does not match 'propertyNames'")
                    return false
                }
            }
            return true

        case .dependentSchemas(let dependencies):
            guard case .object(let object) = value else { return true }
            var valid = true
            for (name, child) in dependencies where object.index(forKey: name) != nil {
                if !evaluateInPlace(child, value, collect: collect, &annotations) {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid

        case .unevaluatedProperties(let child):
            guard case .object(let object) = value else { return true }
            var valid = true
            for index in object.indices where !annotations.properties.contains(index) {
                let (key, member) = object[index]
                if !evaluateMember(child, member, key: key) {
                    valid = false
                    if !reporting { return false }
                }
            }
            annotations.properties.insert(0..<object.count)
            return valid

        default:
            return true
        }
    }

    /// allOf, anyOf, oneOf, not and if/then/else.
    private mutating func evaluateCombinator(
        _ keyword: Keyword, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        switch keyword {
        case .allOf(let children):
            var valid = true
            for child in children where !evaluateInPlace(child, value, collect: collect, &annotations) {
                valid = false
                if !reporting { return false }
            }
            return valid

        case .anyOf(let children):
            let matched = silently { evaluator in
                var matched = false
                for child in children where evaluator.evaluateInPlace(child, value, collect: collect, &annotations) {
                    matched = true
                    if !collect { break }
                }
                return matched
            }
            if !matched { report("anyOf", "value does not match any of the \(children.count) 'anyOf' schemas") }
            return matched

        case .oneOf(let children):
            var matches = 0
            silently { evaluator in
                var matchedAnnotations = Annotations()
                for child in children {
                    var own = Annotations()
                    if evaluator.evaluateInPlace(child, value, collect: collect, &own) {
                        matches += 1
                        matchedAnnotations = own
                        if matches > 1 { break }
                    }
                }
                if matches == 1 && collect { annotations.formUnion(matchedAnnotations) }
            }
            if matches == 0 {
                report("oneOf", "value does not match any of the \(children.count) 'oneOf' schemas")
            } else if matches > 1 {
                report("oneOf", "value matches more than one of the 'oneOf' schemas")
            }
            return matches == 1

        case .not(let child):
            let matched = silently { evaluator in
                var ignored = Annotations()
                return evaluator.evaluateInPlace(child, value, collect: false, &ignored)
            }
            if matched { report("not", "value matches the schema under 'not'") }
            return !matched

        case .conditional(let condition, let then, let otherwise):
            if !collect && then == nil && otherwise == nil { return true }
            let holds = silently { evaluator in
                evaluator.evaluateInPlace(condition, value, collect: collect, &annotations)
            }
            if holds {
                return then.map { evaluateInPlace($0, value, collect: collect, &annotations) } ?? true
            }
            return otherwise.map { evaluateInPlace($0, value, collect: collect, &annotations) } ?? true

        default:
            return true
        }
    }

    /// The assertions: keywords that look at the value itself and apply no subschema.
    mutating func check(_ keyword: Keyword, _ value: JSONValue) -> Bool {
        switch keyword {
        case .type(let mask):
            let actual = TypeMask.of(value)
            if mask.isDisjoint(with: actual) {
                report("type", "expected \(mask.description), found \(value.typeName)")
                return false
            }
            return true

        case .constant(let expected):
            if value != expected {
                report("const", "value is not the constant the schema requires")
                return false
            }
            return true

        case .enumeration(let allowed):
            if !allowed.contains(value) {
                report("enum", "value is not one of the \(allowed.count) allowed values")
                return false
            }
            return true

        case .multipleOf(let divisor):
            guard case .number(let number) = value else { return true }
            if !Self.isMultiple(number, of: divisor) {
                report("multipleOf", "number is not a multiple of \(divisor)")
                return false
            }
            return true

        case .maximum(let limit):
            guard case .number(let number) = value else { return true }
            if limit < number {
                report("maximum", "number greater than \(limit)")
                return false
            }
            return true

        case .exclusiveMaximum(let limit):
            guard case .number(let number) = value else { return true }
            if !(number < limit) {
                report("exclusiveMaximum", "number not less than \(limit)")
                return false
            }
            return true

        case .minimum(let limit):
            guard case .number(let number) = value else { return true }
            if number < limit {
                report("minimum", "number less than \(limit)")
                return false
            }
            return true

        case .exclusiveMinimum(let limit):
            guard case .number(let number) = value else { return true }
            if !(limit < number) {
                report("exclusiveMinimum", "number not greater than \(limit)")
                return false
            }
            return true

        case .maxLength(let limit):
            guard case .string(let string) = value else { return true }
            // Fast path: a string can have no more scalars than it has UTF-8 bytes.
            if string.utf8.count > limit && string.unicodeScalars.count > limit {
                report("maxLength", "string longer than \(limit)")
                return false
            }
            return true

        case .minLength(let limit):
            guard case .string(let string) = value else { return true }
            if string.unicodeScalars.count < limit {
                report("minLength", "string shorter than \(limit)")
                return false
            }
            return true

        case .pattern(let pattern):
            guard case .string(let string) = value else { return true }
            if !pattern.matches(string) {
                report("pattern", "string does not match the pattern \(pattern.source)")
                return false
            }
            return true

        case .format(let name, let check):
            guard case .string(let string) = value else { return true }
            if !check(string) {
                report("format", "string is not a valid \(name)")
                return false
            }
            return true

        case .maxItems(let limit):
            guard case .array(let items) = value else { return true }
            if items.count > limit {
                report("maxItems", "array has more than \(limit) items")
                return false
            }
            return true

        case .minItems(let limit):
            guard case .array(let items) = value else { return true }
            if items.count < limit {
                report("minItems", "array has fewer than \(limit) items")
                return false
            }
            return true

        case .uniqueItems:
            guard case .array(let items) = value, items.count > 1 else { return true }
            var seen = Set<JSONValue>(minimumCapacity: items.count)
            for (index, item) in items.enumerated() where !seen.insert(item).inserted {
                report("uniqueItems", "array items are not unique (item \(index) repeats an earlier one)")
                return false
            }
            return true

        case .maxProperties(let limit):
            guard case .object(let object) = value else { return true }
            if object.count > limit {
                report("maxProperties", "object has more than \(limit) properties")
                return false
            }
            return true

        case .minProperties(let limit):
            guard case .object(let object) = value else { return true }
            if object.count < limit {
                report("minProperties", "object has fewer than \(limit) properties")
                return false
            }
            return true

        case .required(let names):
            guard case .object(let object) = value else { return true }
            var valid = true
            for name in names where object.index(forKey: name) == nil {
                report("required", "missing required property '\(name)'")
                valid = false
                if !reporting { return false }
            }
            return valid

        case .dependentRequired(let dependencies):
            guard case .object(let object) = value else { return true }
            var valid = true
            for (name, required) in dependencies where object.index(forKey: name) != nil {
                for other in required where object.index(forKey: other) == nil {
                    report("dependentRequired", "property '\(name)' requires property '\(other)'")
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid

        default:
            return true
        }
    }

    private mutating func evaluateProperties(
        _ group: PropertyApplicators, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations
    ) -> Bool {
        guard case .object(let object) = value else { return true }
        var valid = true
        for index in object.indices {
            let (key, member) = object[index]
            var evaluated = false
            if let child = group.property(key) {
                evaluated = true
                if !evaluateMember(child, member, key: key) {
                    valid = false
                    if !reporting { return false }
                }
            }
            for (pattern, child) in group.patterns where pattern.matches(key) {
                evaluated = true
                if !evaluateMember(child, member, key: key) {
                    valid = false
                    if !reporting { return false }
                }
            }
            if !evaluated, let additional = group.additional {
                evaluated = true
                if !evaluateMember(additional, member, key: key) {
                    valid = false
                    if !reporting { return false }
                }
            }
            if evaluated && collect { annotations.properties.insert(index) }
        }
        return valid
    }

    /// Whether `number` is an integer multiple of `divisor` (> 0); a quotient that overflows is not.
    static func isMultiple(_ number: JSONNumber, of divisor: JSONNumber) -> Bool {
        if let value = number.int, let step = divisor.int, step != 0 {
            return value.remainderReportingOverflow(dividingBy: step).partialValue == 0
        }
        let quotient = number.double / divisor.double
        guard quotient.isFinite else {
            // Too large to divide; an integer is still a multiple of a divisor whose reciprocal is an integer.
            let reciprocal = 1 / divisor.double
            return number.isInteger && reciprocal.isFinite && reciprocal.rounded() == reciprocal
        }
        let rounded = quotient.rounded()
        // Allow for the rounding of decimal fractions in binary (0.0075 / 0.0001).
        return abs(quotient - rounded) <= 4 * quotient.ulp
    }
}

extension JSONValue {
    /// The number of values in this one: itself, and every member and item at any depth.
    var nodeCount: Int {
        var count = 0
        var pending: [JSONValue] = [self]
        while let value = pending.popLast() {
            count += 1
            switch value {
            case .array(let items): pending.append(contentsOf: items)
            case .object(let object): for (_, member) in object { pending.append(member) }
            default: break
            }
        }
        return count
    }
}
