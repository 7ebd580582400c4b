import HandoverCore

/// The vocabularies a schema resource uses, from its meta-schema's `$vocabulary`.
struct Vocabularies: OptionSet {
    let rawValue: UInt8

    static let core = Vocabularies(rawValue: 1)
    static let applicator = Vocabularies(rawValue: 2)
    static let unevaluated = Vocabularies(rawValue: 4)
    static let validation = Vocabularies(rawValue: 8)
    static let metaData = Vocabularies(rawValue: 16)
    static let formatAnnotation = Vocabularies(rawValue: 32)
    static let formatAssertion = Vocabularies(rawValue: 64)
    static let content = Vocabularies(rawValue: 128)

    /// What the draft 2020-12 meta-schema declares, and what a schema without a known meta-schema gets.
    static let standard: Vocabularies = [
        .core, .applicator, .unevaluated, .validation, .metaData, .formatAnnotation, .content,
    ]

    static let known: [String: Vocabularies] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .core,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .metaData,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .formatAnnotation,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .formatAssertion,
        "https://json-schema.org/draft/2020-12/vocab/content": .content,
    ]
}

/// Turns a schema document (and the documents it references) into a graph of ``SchemaNode``s.
///
/// First every document is indexed: its schema resources (`$id`), anchors (`$anchor`, `$dynamicAnchor`) and the
/// vocabularies of each resource. Then schemas are compiled on demand, each location once, keyed by its canonical
/// location (the URI of its resource and a JSON pointer within it), so cycles of references close on themselves.
final class SchemaCompiler {
    /// A schema resource found while indexing.
    struct ResourceEntry {
        /// Its canonical URI (no fragment).
        let uri: String
        let value: JSONValue
        let vocabularies: Vocabularies
    }

    /// The URI given to a root schema without a base URI and without `$id`.
    static let defaultBaseURI = "urn:handover:json-schema:root"

    /// Keywords whose value is one subschema.
    static let singleSubschemaKeywords = [
        "not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    /// Keywords whose value is an array of subschemas.
    static let arraySubschemaKeywords = ["allOf", "anyOf", "oneOf", "prefixItems"]
    /// Keywords whose value is an object of subschemas.
    static let objectSubschemaKeywords = ["$defs", "properties", "patternProperties", "dependentSchemas"]

    private let retrieve: (@Sendable (String) -> JSONValue?)?
    private let formatAssertion: Bool

    /// Resources by canonical URI and by the URI they were retrieved from.
    private var resources: [String: ResourceEntry] = [:]
    /// Anchors (`$anchor` and `$dynamicAnchor`) by `resource#name`: the resource and the pointer within it.
    private var anchors: [String: (resource: String, pointer: [String])] = [:]
    /// Dynamic anchors by resource, then name: the pointer within the resource.
    private var dynamicAnchors: [String: [String: [String]]] = [:]
    /// Documents fetched by URI (nil when they could not be had).
    private var documents: [String: JSONValue?] = [:]

    private var nodes: [String: SchemaNode] = [:]
    private var allNodes: [SchemaNode] = []
    private var runtimeResources: [String: SchemaResource] = [:]
    private var resourcesToFill: [SchemaResource] = []
    private var patterns: [String: Pattern] = [:]

    init(retrieve: (@Sendable (String) -> JSONValue?)?, formatAssertion: Bool) {
        self.retrieve = retrieve
        self.formatAssertion = formatAssertion
    }

    /// Compiles `schema`, whose retrieval URI is `baseURI`.
    func compile(_ schema: JSONValue, baseURI: String?) throws -> SchemaStore {
        let base = baseURI.map { URIReference($0).withoutFragment.description } ?? Self.defaultBaseURI
        let entry = try indexDocument(schema, uri: base)
        let root = try node(entry, [], schema)
        while let resource = resourcesToFill.popLast() {
            guard let entry = resources[resource.uri] else { continue }
            for (name, pointer) in dynamicAnchors[resource.uri] ?? [:] {
                let value = try self.value(in: entry.value, at: pointer, location: resource.uri)
                resource.dynamicAnchors[name] = NodeReference(node: try node(entry, pointer, value))
            }
        }
        return SchemaStore(root: root, nodes: allNodes, resources: Array(runtimeResources.values))
    }

    // MARK: Errors

    private func invalid(_ message: String) -> HandoverError {
        HandoverError(.invalidSchema, "JSON Schema: \(message)")
    }

    private static func pointerText(_ pointer: [String]) -> String {
        pointer.map { "/" + escapePointerToken($0) }.joined()
    }

    static func escapePointerToken(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    private static func location(_ entry: ResourceEntry, _ pointer: [String]) -> String {
        entry.uri + "#" + pointerText(pointer)
    }

    // MARK: Documents and indexing

    /// A document by URI: a built-in meta-schema, or what `retrieve` returns.
    private func document(_ uri: String) -> JSONValue? {
        if let known = documents[uri] { return known }
        let found = MetaSchemas.documents[uri] ?? retrieve?(uri)
        documents[uri] = found
        return found
    }

    /// The vocabularies declared by the meta-schema at `uri`; the standard set when it is unknown or declares none.
    private func vocabularies(metaSchema uri: String) throws -> Vocabularies {
        guard let metaSchema = document(URIReference(uri).withoutFragment.description),
            case .object(let declared)? = metaSchema["$vocabulary"]
        else { return .standard }
        var result: Vocabularies = .core
        for (vocabulary, required) in declared {
            if let known = Vocabularies.known[vocabulary] {
                result.insert(known)
            } else if required == .bool(true) {
                throw invalid("the meta-schema \(uri) requires the unsupported vocabulary \(vocabulary)")
            }
        }
        return result
    }

    /// Indexes a document retrieved from `uri`; returns its root resource.
    @discardableResult
    private func indexDocument(_ document: JSONValue, uri: String) throws -> ResourceEntry {
        var canonical = uri
        var vocabularies = Vocabularies.standard
        if case .object(let object) = document {
            if case .string(let metaSchema)? = object["$schema"] {
                vocabularies = try self.vocabularies(metaSchema: URIReference.resolve(metaSchema, against: uri))
            }
            if case .string(let id)? = object["$id"] {
                canonical = URIReference(id).resolved(against: URIReference(uri)).withoutFragment.description
            }
        }
        let entry = ResourceEntry(uri: canonical, value: document, vocabularies: vocabularies)
        if resources[canonical] == nil { resources[canonical] = entry }
        if resources[uri] == nil { resources[uri] = entry }
        try index(document, in: entry, at: [])
        return entry
    }

    /// Records the anchors of the schema at `pointer` in `entry`, and indexes its subschemas.
    private func index(_ schema: JSONValue, in entry: ResourceEntry, at pointer: [String]) throws {
        guard case .object(let object) = schema else { return }
        if case .string(let name)? = object["$anchor"] {
            let key = entry.uri + "#" + name
            if anchors[key] == nil { anchors[key] = (entry.uri, pointer) }
        }
        if case .string(let name)? = object["$dynamicAnchor"] {
            let key = entry.uri + "#" + name
            if anchors[key] == nil { anchors[key] = (entry.uri, pointer) }
            if dynamicAnchors[entry.uri, default: [:]][name] == nil {
                dynamicAnchors[entry.uri, default: [:]][name] = pointer
            }
        }
        for (tokens, subschema) in Self.subschemas(of: object) {
            try indexSubschema(subschema, in: entry, at: pointer + tokens)
        }
    }

    private func indexSubschema(_ schema: JSONValue, in entry: ResourceEntry, at pointer: [String]) throws {
        guard case .object(let object) = schema, case .string(let id)? = object["$id"] else {
            try index(schema, in: entry, at: pointer)
            return
        }
        let uri = URIReference(id).resolved(against: URIReference(entry.uri)).withoutFragment.description
        var vocabularies = entry.vocabularies
        if case .string(let metaSchema)? = object["$schema"] {
            vocabularies = try self.vocabularies(metaSchema: URIReference.resolve(metaSchema, against: uri))
        }
        let inner = ResourceEntry(uri: uri, value: schema, vocabularies: vocabularies)
        if resources[uri] == nil { resources[uri] = inner }
        try index(schema, in: inner, at: [])
    }

    /// The subschemas directly inside a schema object, with the pointer tokens leading to each.
    private static func subschemas(of object: JSONObject) -> [([String], JSONValue)] {
        var result: [([String], JSONValue)] = []
        for (key, value) in object {
            if singleSubschemaKeywords.contains(key) {
                result.append(([key], value))
            } else if arraySubschemaKeywords.contains(key), case .array(let elements) = value {
                for (index, element) in elements.enumerated() { result.append(([key, String(index)], element)) }
            } else if objectSubschemaKeywords.contains(key), case .object(let members) = value {
                for (name, member) in members { result.append(([key, name], member)) }
            }
        }
        return result
    }

    /// The resource a URI without fragment names, fetching and indexing its document when needed.
    private func resource(_ uri: String) throws -> ResourceEntry? {
        if let entry = resources[uri] { return entry }
        guard let document = document(uri) else { return nil }
        try indexDocument(document, uri: uri)
        return resources[uri]
    }

    /// The value at `pointer` inside `root`.
    private func value(in root: JSONValue, at pointer: [String], location: String) throws -> JSONValue {
        var current = root
        for token in pointer {
            guard let next = Self.step(current, token) else {
                throw invalid("no schema at \(location)#\(Self.pointerText(pointer))")
            }
            current = next
        }
        return current
    }

    private static func step(_ value: JSONValue, _ token: String) -> JSONValue? {
        switch value {
        case .object(let object):
            return object[token]
        case .array(let elements):
            guard let index = Int(token), index >= 0, index < elements.count, String(index) == token else { return nil }
            return elements[index]
        default:
            return nil
        }
    }

    // MARK: References

    /// Where a `$ref` or `$dynamicRef` in `entry` points, and the anchor name when it is a dynamic anchor.
    private func resolve(_ reference: String, from entry: ResourceEntry, keyword: String, at pointer: [String])
        throws -> (node: SchemaNode, dynamicAnchor: String?)
    {
        let target = URIReference(reference).resolved(against: URIReference(entry.uri))
        let documentURI = target.withoutFragment.description
        let fragment = URIReference.percentDecoded(target.fragment ?? "")
        guard let base = try resource(documentURI) else {
            throw invalid("cannot resolve \(keyword) '\(reference)' at \(Self.location(entry, pointer))")
        }
        if fragment.isEmpty {
            return (try node(base, [], base.value), nil)
        }
        if fragment.hasPrefix("/") {
            let tokens = fragment.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
                String($0).replacing("~1", with: "/").replacing("~0", with: "~")
            }
            var current = base
            var currentPointer: [String] = []
            var value = base.value
            for token in tokens {
                guard let next = Self.step(value, token) else {
                    throw invalid("cannot resolve \(keyword) '\(reference)' at \(Self.location(entry, pointer))")
                }
                value = next
                currentPointer.append(token)
                // Entering an embedded resource: continue from its own root.
                if case .object(let object) = value, case .string(let id)? = object["$id"] {
                    let uri = URIReference(id).resolved(against: URIReference(current.uri)).withoutFragment.description
                    if let inner = resources[uri] {
                        current = inner
                        currentPointer = []
                    }
                }
            }
            return (try node(current, currentPointer, value), nil)
        }
        guard let anchor = anchors[base.uri + "#" + fragment], let owner = resources[anchor.resource] else {
            throw invalid("cannot resolve \(keyword) '\(reference)' at \(Self.location(entry, pointer))")
        }
        let value = try self.value(in: owner.value, at: anchor.pointer, location: owner.uri)
        let isDynamic = dynamicAnchors[base.uri]?[fragment] != nil
        return (try node(owner, anchor.pointer, value), isDynamic ? fragment : nil)
    }

    // MARK: Compiling

    private func runtimeResource(_ uri: String) -> SchemaResource {
        if let resource = runtimeResources[uri] { return resource }
        let resource = SchemaResource(uri: uri)
        runtimeResources[uri] = resource
        resourcesToFill.append(resource)
        return resource
    }

    /// The node for the schema `value` at `pointer` in `entry`, compiled once.
    private func node(_ entry: ResourceEntry, _ pointer: [String], _ value: JSONValue) throws -> SchemaNode {
        let key = Self.location(entry, pointer)
        if let existing = nodes[key] { return existing }
        let node = SchemaNode(resource: runtimeResource(entry.uri))
        nodes[key] = node
        allNodes.append(node)
        switch value {
        case .bool(true): node.kind = .accept
        case .bool(false): node.kind = .reject
        case .object(let object): try compileKeywords(of: object, into: node, entry: entry, pointer: pointer)
        default: throw invalid("the schema at \(key) is neither an object nor a boolean")
        }
        return node
    }

    /// The child schema at `tokens` below `pointer`; an embedded resource becomes its own root.
    private func child(_ value: JSONValue, _ entry: ResourceEntry, _ pointer: [String], _ tokens: [String]) throws
        -> Child
    {
        let path = Self.pointerText(tokens)
        if case .object(let object) = value, case .string(let id)? = object["$id"] {
            let uri = URIReference(id).resolved(against: URIReference(entry.uri)).withoutFragment.description
            if let inner = resources[uri] {
                return Child(node: try node(inner, [], value), path: path)
            }
        }
        return Child(node: try node(entry, pointer + tokens, value), path: path)
    }

    private func pattern(_ source: String, at location: String) throws -> Pattern {
        if let cached = patterns[source] { return cached }
        do throws(PatternError) {
            let compiled = try Pattern(source)
            patterns[source] = compiled
            return compiled
        } catch {
            throw invalid("the regular expression at \(location) cannot be used: \(error.message)")
        }
    }

    private func compileKeywords(of object: JSONObject, into node: SchemaNode, entry: ResourceEntry, pointer: [String])
        throws
    {
        let vocabularies = entry.vocabularies
        let here = Self.location(entry, pointer)
        var keywords: [Keyword] = []
        var applicators: [Keyword] = []

        func sub(_ keyword: String) throws -> Child? {
            guard let value = object[keyword] else { return nil }
            return try child(value, entry, pointer, [keyword])
        }
        func subArray(_ keyword: String) throws -> [Child]? {
            guard let value = object[keyword] else { return nil }
            guard case .array(let elements) = value, !elements.isEmpty else {
                throw invalid("'\(keyword)' at \(here) must be a non-empty array of schemas")
            }
            return try elements.enumerated().map { try child($1, entry, pointer, [keyword, String($0)]) }
        }
        func subObject(_ keyword: String) throws -> [(String, Child)]? {
            guard let value = object[keyword] else { return nil }
            guard case .object(let members) = value else {
                throw invalid("'\(keyword)' at \(here) must be an object of schemas")
            }
            return try members.map { ($0.key, try child($0.value, entry, pointer, [keyword, $0.key])) }
        }
        func count(_ keyword: String) throws -> Int? {
            guard let value = object[keyword] else { return nil }
            guard case .number(let number) = value, number.isInteger, number.double >= 0 else {
                throw invalid("'\(keyword)' at \(here) must be a non-negative integer")
            }
            return number.int.map { Int(clamping: $0) } ?? Int.max
        }
        func number(_ keyword: String) throws -> JSONNumber? {
            guard let value = object[keyword] else { return nil }
            guard case .number(let number) = value else { throw invalid("'\(keyword)' at \(here) must be a number") }
            return number
        }
        func strings(_ value: JSONValue, _ keyword: String) throws -> [String] {
            guard case .array(let elements) = value else {
                throw invalid("'\(keyword)' at \(here) must be an array of strings")
            }
            return try elements.map {
                guard case .string(let string) = $0 else {
                    throw invalid("'\(keyword)' at \(here) must be an array of strings")
                }
                return string
            }
        }

        // Core.
        if case .string(let reference)? = object["$ref"] {
            let (target, _) = try resolve(reference, from: entry, keyword: "$ref", at: pointer)
            applicators.append(.ref(ReferenceEdge(target: target)))
        }
        if case .string(let reference)? = object["$dynamicRef"] {
            let (target, anchor) = try resolve(reference, from: entry, keyword: "$dynamicRef", at: pointer)
            applicators.append(.dynamicRef(DynamicReferenceEdge(target: target, anchor: anchor)))
        }

        // Validation.
        if vocabularies.contains(.validation) {
            if let value = object["type"] {
                var mask: TypeMask = []
                let names: [JSONValue]
                if case .array(let elements) = value { names = elements } else { names = [value] }
                for name in names {
                    guard case .string(let text) = name, let bit = TypeMask.names.first(where: { $0.0 == text })
                    else { throw invalid("'type' at \(here) names an unknown type") }
                    mask.insert(bit.1)
                }
                keywords.append(.type(mask))
            }
            if let value = object["const"] { keywords.append(.constant(value)) }
            if let value = object["enum"] {
                guard case .array(let elements) = value else { throw invalid("'enum' at \(here) must be an array") }
                keywords.append(.enumeration(elements))
            }
            if let divisor = try number("multipleOf") {
                guard divisor.double > 0 else { throw invalid("'multipleOf' at \(here) must be greater than 0") }
                keywords.append(.multipleOf(divisor))
            }
            if let limit = try number("maximum") { keywords.append(.maximum(limit)) }
            if let limit = try number("exclusiveMaximum") { keywords.append(.exclusiveMaximum(limit)) }
            if let limit = try number("minimum") { keywords.append(.minimum(limit)) }
            if let limit = try number("exclusiveMinimum") { keywords.append(.exclusiveMinimum(limit)) }
            if let limit = try count("maxLength") { keywords.append(.maxLength(limit)) }
            if let limit = try count("minLength") { keywords.append(.minLength(limit)) }
            if let value = object["pattern"] {
                guard case .string(let source) = value else { throw invalid("'pattern' at \(here) must be a string") }
                keywords.append(.pattern(try pattern(source, at: here + "/pattern")))
            }
            if let limit = try count("maxItems") { keywords.append(.maxItems(limit)) }
            if let limit = try count("minItems") { keywords.append(.minItems(limit)) }
            if object["uniqueItems"] == .bool(true) { keywords.append(.uniqueItems) }
            if let limit = try count("maxProperties") { keywords.append(.maxProperties(limit)) }
            if let limit = try count("minProperties") { keywords.append(.minProperties(limit)) }
            if let value = object["required"] {
                let names = try strings(value, "required")
                if !names.isEmpty { keywords.append(.required(names)) }
            }
            if let value = object["dependentRequired"] {
                guard case .object(let members) = value else {
                    throw invalid("'dependentRequired' at \(here) must be an object")
                }
                keywords.append(
                    .dependentRequired(try members.map { ($0.key, try strings($0.value, "dependentRequired")) }))
            }
        }

        // Format.
        if let value = object["format"], case .string(let name) = value,
            vocabularies.contains(.formatAssertion)
                || (formatAssertion && !vocabularies.isDisjoint(with: [.formatAnnotation, .formatAssertion])),
            let check = Formats.checker(for: name)
        {
            keywords.append(.format(name, check))
        }

        // Applicators.
        if vocabularies.contains(.applicator) {
            if let children = try subArray("allOf") { applicators.append(.allOf(children)) }
            if let children = try subArray("anyOf") { applicators.append(.anyOf(children)) }
            if let children = try subArray("oneOf") { applicators.append(.oneOf(children)) }
            if let negated = try sub("not") { applicators.append(.not(negated)) }
            if let condition = try sub("if") {
                applicators.append(.conditional(if: condition, then: try sub("then"), else: try sub("else")))
            }
            if let members = try subObject("dependentSchemas") { applicators.append(.dependentSchemas(members)) }
            var prefixCount = 0
            if let children = try subArray("prefixItems") {
                prefixCount = children.count
                applicators.append(.prefixItems(children))
            }
            if let items = try sub("items") { applicators.append(.items(items, from: prefixCount)) }
            if let contained = try sub("contains") {
                var minimum = 1
                var maximum: Int? = nil
                if vocabularies.contains(.validation) {
                    minimum = try count("minContains") ?? 1
                    maximum = try count("maxContains")
                }
                applicators.append(.contains(contained, minimum: minimum, maximum: maximum))
            }
            var group = PropertyApplicators()
            var hasGroup = false
            if let members = try subObject("properties") {
                hasGroup = true
                for (name, child) in members {
                    group.properties[name, default: []].append((name, child))
                    group.ordered.append((name, child))
                }
            }
            if let members = try subObject("patternProperties") {
                hasGroup = true
                group.patterns = try members.map {
                    (try pattern($0.0, at: here + "/patternProperties"), $0.1)
                }
            }
            if let additional = try sub("additionalProperties") {
                hasGroup = true
                group.additional = additional
            }
            if hasGroup { applicators.append(.properties(group)) }
            if let names = try sub("propertyNames") { applicators.append(.propertyNames(names)) }
        }

        // Unevaluated, last: they depend on the annotations of everything else.
        if vocabularies.contains(.unevaluated) {
            if let child = try sub("unevaluatedItems") {
                applicators.append(.unevaluatedItems(child))
                node.tracksUnevaluated = true
            }
            if let child = try sub("unevaluatedProperties") {
                applicators.append(.unevaluatedProperties(child))
                node.tracksUnevaluated = true
            }
        }
        node.keywords = keywords + applicators
    }
}
