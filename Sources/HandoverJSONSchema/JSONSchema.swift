public import HandoverCore

/// One way in which an instance fails a schema.
///
/// The message never quotes the instance's values (it validates personal data): it names the expectation
/// ("expected integer, found string", "string longer than 64", "missing required property 'email'").
public struct JSONSchemaError: Sendable, Hashable, CustomStringConvertible {
    /// Where in the instance, as a JSON pointer (`""` for the whole instance, `/0/email`).
    public var instanceLocation: String
    /// Which keyword failed, as a JSON pointer through the schema as evaluated, references included
    /// (`/items/properties/email/$ref/format`).
    public var keywordLocation: String
    /// What is wrong, without the instance's values.
    public var message: String

    /// Creates an error.
    public init(instanceLocation: String, keywordLocation: String, message: String) {
        self.instanceLocation = instanceLocation
        self.keywordLocation = keywordLocation
        self.message = message
    }

    /// The instance location, the message and the keyword location, on one line.
    public var description: String {
        let instance = instanceLocation.isEmpty ? "/" : instanceLocation
        let keyword = keywordLocation.isEmpty ? "/" : keywordLocation
        return "\(instance): \(message) (at \(keyword))"
    }
}

/// A compiled JSON Schema (draft 2020-12), ready to validate instances.
///
/// References (`$ref`, `$dynamicRef`, anchors, embedded `$id`s, remote documents) are all resolved when the schema
/// is compiled, so validation never looks anything up by URI. The draft 2020-12 meta-schema and its vocabulary
/// meta-schemas are built in. `format` is an annotation unless `formatAssertion` is set (or the meta-schema declares
/// the format-assertion vocabulary); then date-time, date, time, email, uuid, uri, ipv4 and ipv6 are checked and
/// other formats are ignored.
///
/// A compiled schema is immutable and can be used from several threads at once.
public struct JSONSchema: Sendable {
    let store: SchemaStore
    private let plan: StreamingPlan
    /// The fast check of flat rows, when the array's `items` schema describes them (see ``FlatRowPlan``).
    private let flat: FlatRowPlan?
    /// Whether ``validateArray(from:maxErrors:)`` uses ``flat``; the tests turn it off to compare.
    var usesFlatRows = true

    /// Compiles `schema`.
    ///
    /// - Parameters:
    ///   - schema: The schema document.
    ///   - baseURI: The URI the schema was retrieved from, against which its `$id` and references resolve; without
    ///     one (and without `$id`) the schema's URI is `urn:handover:json-schema:root`.
    ///   - formatAssertion: Whether `format` is checked rather than only an annotation.
    ///   - retrieve: Returns the document at an absolute URI (without fragment), for references to other documents
    ///     and for `$schema`; nil when there is none.
    /// - Throws: ``HandoverError/Code/invalidArgument`` when the schema is malformed (a keyword of the wrong type,
    ///   an unsupported regular expression), a reference cannot be resolved, or the meta-schema requires a
    ///   vocabulary this validator does not know.
    public init(
        _ schema: JSONValue, baseURI: String? = nil, formatAssertion: Bool = false,
        retrieve: (@Sendable (String) -> JSONValue?)? = nil
    ) throws {
        let compiler = SchemaCompiler(retrieve: retrieve, formatAssertion: formatAssertion)
        self.store = try compiler.compile(schema, baseURI: baseURI)
        self.plan = StreamingPlan(store.root)
        if case .streaming(let items?, _) = plan {
            self.flat = FlatRowPlan(items)
        } else {
            self.flat = nil
        }
    }

    /// Every error of `instance` against the schema; empty when it is valid.
    ///
    /// Evaluation has a budget of steps (schemas evaluated) proportional to the instance's size: 100,000 plus 1,000
    /// for each value in it. A schema that would take more (nested `anyOf`/`$ref` levels that double the work at
    /// each level) makes the instance invalid, with the one error "schema too complex".
    public func validate(_ instance: JSONValue) -> [JSONSchemaError] {
        var evaluator = Evaluator(reporting: true)
        evaluator.startBudget(for: instance)
        var annotations = Annotations()
        _ = evaluator.evaluate(store.root, instance, collect: false, &annotations)
        evaluator.reportExhaustion()
        return evaluator.errors
    }

    /// Whether `instance` is valid against the schema (faster than ``validate(_:)``: stops at the first failure);
    /// false when evaluation runs past its budget (see ``validate(_:)``).
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = Evaluator(reporting: false)
        evaluator.startBudget(for: instance)
        var annotations = Annotations()
        return evaluator.evaluate(store.root, instance, collect: false, &annotations) && !evaluator.exhausted
    }

    /// Parses a whole JSON document from `source` and validates it.
    ///
    /// The document is materialised in memory; use ``validateArray(from:maxErrors:)`` for large arrays.
    /// - Throws: ``HandoverError/Code/invalidData`` with the byte offset when the document is not valid JSON, or
    ///   what the source throws.
    public func validate(from source: inout some ByteSource) throws -> [JSONSchemaError] {
        let reader = JSONReader(source: source)
        defer { source = reader.source(as: type(of: source)) }
        return validate(try reader.parseDocument())
    }

    /// Validates a JSON document whose top level is an array, one element at a time, without loading the document.
    ///
    /// The array is parsed incrementally from `source` (in 64 KiB blocks); each element is materialised, validated
    /// against the root schema's `items` subschema (instance locations `/0`, `/1`, …) and discarded. The root's
    /// `type`, `minItems` and `maxItems` are checked at the end; root keywords that only concern other types (string,
    /// number and object keywords) are ignored since the instance is an array.
    ///
    /// When the root schema needs the whole array (`prefixItems`, `contains`, `uniqueItems`, `unevaluatedItems`,
    /// `enum`, `const`, `$ref`, `allOf` and the other applicators), or when the document's top level is not an
    /// array, the whole document is parsed into memory and checked with ``validate(_:)`` instead.
    ///
    /// Each element has its own budget of steps (see ``validate(_:)``); the first element past it is reported as
    /// "schema too complex" and validation stops there.
    ///
    /// Once `maxErrors` errors are found, elements are still parsed (to count them and to check that the document
    /// is well formed) but no longer validated.
    ///
    /// - Returns: The number of elements in the array (0 when the top level is not an array) and the errors, at
    ///   most `maxErrors` of them.
    /// - Throws: ``HandoverError/Code/invalidData`` with the byte offset when the document is not valid JSON (for
    ///   example truncated, or followed by more data), or what the source throws.
    public func validateArray(from source: inout some ByteSource, maxErrors: Int = 100) throws -> (
        count: Int, errors: [JSONSchemaError]
    ) {
        var skimmed = 0
        return try validateArray(from: &source, maxErrors: maxErrors, skimmed: &skimmed)
    }

    /// ``validateArray(from:maxErrors:)``, counting in `skimmed` the rows found valid by
    /// ``JSONReader/skimFlatRow(_:_:)`` (for the tests).
    func validateArray(from source: inout some ByteSource, maxErrors: Int, skimmed: inout Int) throws -> (
        count: Int, errors: [JSONSchemaError]
    ) {
        let reader = JSONReader(source: source)
        defer { source = reader.source(as: type(of: source)) }
        guard case .streaming(let items, let rootChecks) = plan else {
            let value = try reader.parseDocument()
            return (Self.arrayCount(value), Array(validate(value).prefix(maxErrors)))
        }
        guard try reader.beginTopLevelArray() else {
            let value = try reader.parseRemainingDocument()
            return (0, Array(validate(value).prefix(maxErrors)))
        }
        var evaluator = Evaluator(reporting: true, maxErrors: maxErrors)
        evaluator.scope = [store.root.resource]
        var count = 0
        var ended = false
        if let items, let flat, usesFlatRows {
            // Rows that pass the fast check are valid; the others are evaluated as below.
            var members: [(key: String, value: JSONValue)] = []
            var marks = [Int](repeating: -1, count: flat.names.count)
            var checker = Evaluator(reporting: false)
            elements: while evaluator.reporting {
                let element: JSONValue
                switch try reader.nextTopLevelMembers(index: count, into: &members, plan: flat, checker: &checker) {
                case .end:
                    ended = true
                    break elements
                case .validRow:
                    count += 1
                    skimmed += 1
                    continue elements
                case .other(let value): element = value
                case .object:
                    if flat.isValid(members, marks: &marks, mark: count, &checker) {
                        count += 1
                        continue elements
                    }
                    var object = JSONObject()
                    for member in members { object[member.key] = member.value }
                    element = .object(object)
                }
                evaluator.startBudget(for: element)
                _ = evaluator.evaluateItem(items, element, index: count)
                evaluator.reportExhaustion(at: [.index(count)])
                count += 1
            }
        }
        while !ended, let element = try reader.nextTopLevelElement(index: count) {
            if let items, evaluator.reporting {
                evaluator.startBudget(for: element)
                _ = evaluator.evaluateItem(items, element, index: count)
                evaluator.reportExhaustion(at: [.index(count)])
            }
            count += 1
        }
        try reader.finish()
        evaluator.scope = []
        for check in rootChecks {
            switch check {
            case .type(let mask) where !mask.contains(.array):
                evaluator.report("type", "expected \(mask.description), found array")
            case .minItems(let limit) where count < limit:
                evaluator.report("minItems", "array has fewer than \(limit) items")
            case .maxItems(let limit) where count > limit:
                evaluator.report("maxItems", "array has more than \(limit) items")
            default:
                break
            }
        }
        return (count, evaluator.errors)
    }

    private static func arrayCount(_ value: JSONValue) -> Int {
        if case .array(let elements) = value { return elements.count }
        return 0
    }
}

/// How ``JSONSchema/validateArray(from:maxErrors:)`` can check a top-level array.
enum StreamingPlan {
    /// Element by element against `items`, then the root's own checks (type, minItems, maxItems) on the count.
    case streaming(items: Child?, rootChecks: [Keyword])
    /// The root needs the whole array.
    case wholeDocument

    init(_ root: SchemaNode) {
        switch root.kind {
        case .accept:
            self = .streaming(items: nil, rootChecks: [])
            return
        case .reject:
            self = .wholeDocument
            return
        case .keywords:
            break
        }
        var items: Child? = nil
        var checks: [Keyword] = []
        for keyword in root.keywords {
            switch keyword {
            case .items(let child, from: 0): items = child
            case .type, .minItems, .maxItems: checks.append(keyword)
            case _ where keyword.ignoresArrays: break
            default:
                self = .wholeDocument
                return
            }
        }
        self = .streaming(items: items, rootChecks: checks)
    }
}
