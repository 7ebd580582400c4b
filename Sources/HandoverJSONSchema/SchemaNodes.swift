import HandoverCore

/// A compiled schema (an object or a boolean): its keywords, ready to evaluate.
///
/// Nodes are created and filled by ``SchemaCompiler`` and never change afterwards, so sharing them between threads
/// is safe. A ``SchemaStore`` owns every node of a compiled schema; references between nodes that can form cycles
/// (`$ref`, `$dynamicRef`, dynamic anchors) are unowned.
final class SchemaNode: @unchecked Sendable {
    enum Kind {
        /// `true`: everything is valid.
        case accept
        /// `false`: nothing is valid.
        case reject
        /// An object schema.
        case keywords
    }

    var kind: Kind = .keywords
    /// The schema resource this schema belongs to, for the dynamic scope.
    let resource: SchemaResource
    /// In evaluation order: unevaluatedItems and unevaluatedProperties come last.
    var keywords: [Keyword] = []
    /// Whether this schema has unevaluatedItems or unevaluatedProperties, and so needs annotations.
    var tracksUnevaluated = false

    init(resource: SchemaResource) {
        self.resource = resource
    }
}

/// A schema resource: the schemas under one `$id` (or a document root), with its dynamic anchors.
final class SchemaResource: @unchecked Sendable {
    let uri: String
    var dynamicAnchors: [String: NodeReference] = [:]

    init(uri: String) {
        self.uri = uri
    }
}

/// A reference to a node that the ``SchemaStore`` keeps alive.
struct NodeReference {
    unowned(unsafe) let node: SchemaNode
}

/// Everything a compiled schema needs at run time; keeps every node and resource alive.
final class SchemaStore: @unchecked Sendable {
    let root: SchemaNode
    private let nodes: [SchemaNode]
    private let resources: [SchemaResource]

    init(root: SchemaNode, nodes: [SchemaNode], resources: [SchemaResource]) {
        self.root = root
        self.nodes = nodes
        self.resources = resources
    }
}

/// A subschema reached lexically from its parent, with the keyword-location path from the parent to it (`/items`,
/// `/properties/name`).
struct Child {
    let node: SchemaNode
    let path: String
}

/// A compiled regular expression (`pattern`, `patternProperties`), run on Handover's linear-time engine.
final class Pattern: Sendable {
    let source: String
    private let compiled: LinearPattern

    /// - Throws: ``PatternError`` naming what the engine cannot run (back-references, lookaround, a program too
    ///   large).
    init(_ source: String) throws(PatternError) {
        self.source = source
        self.compiled = try LinearPattern(source)
    }

    /// Whether some part of `string` matches (ECMA-262 patterns are not anchored).
    func matches(_ string: String) -> Bool {
        compiled.matches(in: string)
    }
}

/// The JSON types named by `type`, as bits.
struct TypeMask: OptionSet {
    let rawValue: UInt8

    static let null = TypeMask(rawValue: 1)
    static let boolean = TypeMask(rawValue: 2)
    static let object = TypeMask(rawValue: 4)
    static let array = TypeMask(rawValue: 8)
    static let number = TypeMask(rawValue: 16)
    static let string = TypeMask(rawValue: 32)
    static let integer = TypeMask(rawValue: 64)

    static let names: [(String, TypeMask)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array), ("number", .number),
        ("string", .string), ("integer", .integer),
    ]

    /// The bits a value satisfies (a number with no fraction is also an integer).
    static func of(_ value: JSONValue) -> TypeMask {
        switch value {
        case .null: .null
        case .bool: .boolean
        case .object: .object
        case .array: .array
        case .string: .string
        case .number(let number): number.isInteger ? [.number, .integer] : .number
        }
    }

    var description: String {
        Self.names.filter { contains($0.1) }.map(\.0).joined(separator: " or ")
    }
}

/// `properties`, `patternProperties` and `additionalProperties` of one schema, evaluated together.
struct PropertyApplicators {
    /// By name; names that Swift deems equal (canonically equivalent) share a slot.
    var properties: [String: [(name: String, child: Child)]] = [:]
    /// The same, in the order the schema lists them.
    var ordered: [(name: String, child: Child)] = []
    var patterns: [(Pattern, Child)] = []
    var additional: Child? = nil

    /// The subschema in `properties` for `name`, compared by code points.
    func property(_ name: String) -> Child? {
        guard let candidates = properties[name] else { return nil }
        for candidate in candidates where candidate.name.isIdentical(to: name) { return candidate.child }
        return nil
    }
}

/// A `$ref`, or a `$dynamicRef` that is static.
struct ReferenceEdge {
    unowned(unsafe) let target: SchemaNode
}

/// A `$dynamicRef`: where it resolves statically, and the anchor name to look up in the dynamic scope (nil when the
/// static target has no matching `$dynamicAnchor`, in which case it behaves like `$ref`).
struct DynamicReferenceEdge {
    unowned(unsafe) let target: SchemaNode
    let anchor: String?
}

/// One compiled keyword.
enum Keyword {
    case ref(ReferenceEdge)
    case dynamicRef(DynamicReferenceEdge)
    case type(TypeMask)
    case enumeration([JSONValue])
    case constant(JSONValue)
    case multipleOf(JSONNumber)
    case maximum(JSONNumber)
    case exclusiveMaximum(JSONNumber)
    case minimum(JSONNumber)
    case exclusiveMinimum(JSONNumber)
    case maxLength(Int)
    case minLength(Int)
    case pattern(Pattern)
    case format(String, @Sendable (String) -> Bool)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    case dependentRequired([(String, [String])])
    case prefixItems([Child])
    case items(Child, from: Int)
    case contains(Child, minimum: Int, maximum: Int?)
    case properties(PropertyApplicators)
    case propertyNames(Child)
    case dependentSchemas([(String, Child)])
    case allOf([Child])
    case anyOf([Child])
    case oneOf([Child])
    case not(Child)
    case conditional(if: Child, then: Child?, else: Child?)
    case unevaluatedItems(Child)
    case unevaluatedProperties(Child)

    /// Whether the keyword leaves arrays alone (it applies to other types only).
    var ignoresArrays: Bool {
        switch self {
        case .multipleOf, .maximum, .exclusiveMaximum, .minimum, .exclusiveMinimum, .maxLength, .minLength,
            .pattern, .format, .maxProperties, .minProperties, .required, .dependentRequired, .properties,
            .propertyNames, .dependentSchemas:
            true
        default:
            false
        }
    }
}
