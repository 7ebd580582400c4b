internal import CLibXML2
package import HandoverCore
internal import HandoverJSONSchema

/// A quick check of an XML table file against an XML Schema that ``SchemaGenerator/xmlSchema(for:)`` wrote, which
/// can only ever say "valid" or "not sure".
///
/// It exists for speed: libxml2's parser and its schema validation cost three quarters of `verify` on an XML bundle.
/// The checker reads the document in one pass over its bytes, in the one form ``XMLTableWriter`` writes (its prolog,
/// its tags, two-space indents, `xsi:nil="true"`, `encoding="base64"`, the five predefined references and character
/// references), and checks each value against its field's type and facets. Anything else, valid or not (a comment, a
/// CDATA section, a value with white space around a number, a year 0, an unexpected attribute, a damaged byte), is
/// "not sure": the caller then validates the whole document with ``XMLSchemaValidator``, whose verdict and messages
/// are the ones reported. So the checker never rejects, and it accepts only what libxml2 accepts, which the
/// differential tests check on generated documents and on many thousands of mutations of them.
///
/// It is made only for a schema whose bytes are exactly those the generator writes for the table it reads back from
/// them (``init(schema:)``), so the rules it applies are those of that schema and of no other; and only where every
/// field's facets are of the kinds it checks (length limits on text, an enumeration or a pattern on text, numbers
/// and integers, bounds on numbers and integers). A pattern is matched with libxml2's own XML Schema regular
/// expressions, compiled as libxml2 compiles a pattern facet.
package final class XMLTableChecker: @unchecked Sendable {
    // The compiled patterns are read-only once made; `xmlRegexpExec` keeps its state in a context of its own.
    /// The fields' rules, read through a pointer so that the scan copies none of them.
    fileprivate let rules: UnsafeMutableBufferPointer<FieldRule>
    /// `<?xml …?>\n<table name="…" xmlns:xsi="…"`: the start of every document the writer writes.
    fileprivate let start: [UInt8]
    private let patterns: [xmlRegexpPtr]

    /// The checker for `schema`, when it is exactly the schema the generator writes for a table and every facet it
    /// declares is one the checker knows; nil otherwise.
    package convenience init?(schema bytes: [UInt8]) {
        guard let table = Self.table(fromSchema: bytes), SchemaGenerator.xmlSchema(for: table) == bytes else {
            return nil
        }
        self.init(table: table)
    }

    /// The checker for the XML files of `table`; nil when a field has facets the checker does not know (it then
    /// has nothing to add to libxml2's validation).
    package init?(table: TableSchema) {
        _ = libxml2Initialised
        var rules: [FieldRule] = []
        var patterns: [xmlRegexpPtr] = []
        var supported = true
        for field in table.fields {
            guard
                let rule = FieldRule(
                    field,
                    compile: { pattern in
                        let compiled = pattern.withCString {
                            xmlRegexpCompile(UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self))
                        }
                        if let compiled { patterns.append(compiled) }
                        return compiled
                    })
            else {
                supported = false
                break
            }
            rules.append(rule)
        }
        self.patterns = patterns
        guard supported, !rules.isEmpty, Self.isPlainAttribute(table.name) else {
            self.rules = UnsafeMutableBufferPointer(start: nil, count: 0)
            self.start = []
            return nil
        }
        self.rules = .allocate(capacity: rules.count)
        _ = self.rules.initialize(from: rules)
        self.start =
            Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<table name=\"".utf8) + Array(table.name.utf8)
            + Array("\" xmlns:xsi=\"\(XMLTableWriter<MemorySink>.schemaInstanceNamespace)\"".utf8)
    }

    deinit {
        for pattern in patterns { xmlRegFreeRegexp(pattern) }
        if let base = rules.baseAddress {
            base.deinitialize(count: rules.count)
            base.deallocate()
        }
    }

    /// What a quick check found.
    package enum Outcome {
        /// The document is valid, with this many rows.
        case valid(rows: Int)
        /// The check is not sure: what it read from the last point where the document can be taken up again.
        case notSure(Replay)
    }

    /// Where a check that is not sure stopped, so that a full validation need not read the document again: the rows
    /// before are valid, and the document can be taken up again at `bytes` (the start of a row, or of the document).
    package struct Replay {
        /// The rows before `bytes`, all valid.
        package var rows: Int
        /// The line breaks before `bytes`.
        package var lines: Int
        /// Whether `bytes` start the document (nothing was found valid yet).
        package var fromStart: Bool
        /// The bytes read from that point on; the rest of the document is still in the source.
        package var bytes: [UInt8]
    }

    /// The most bytes of one row kept to be handed over to a full validation; a longer row is left to it whole.
    static let replayLimit = 1 << 20

    /// Reads the document from `source`: to its end when it is valid, and as far as it is sure otherwise.
    /// - Returns: The row count of a valid document, or where a full validation takes it up.
    /// - Throws: What `source` throws.
    package func check(from source: inout some ByteSource) throws -> Outcome {
        var scanner = Scanner(checker: self)
        let blockSize = 64 * 1024
        let carryLimit = 16 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize + carryLimit, alignment: 16)
        defer { buffer.deallocate() }
        let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        /// The bytes consumed since the last point a full validation can start from, in the blocks before this one.
        var pending: [UInt8] = []
        var kept = 0
        func range(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: bytes + from, count: to - from)
        }
        /// Not sure: `bytes` are what was read from the scanner's last resume point.
        func notSure(_ bytes: [UInt8]) -> Outcome {
            .notSure(
                Replay(
                    rows: scanner.rowsAtResume, lines: scanner.linesAtResume, fromStart: scanner.atDocumentStart,
                    bytes: bytes))
        }
        /// Not sure, with `total` bytes in the buffer.
        func replay(_ total: Int) -> Outcome {
            if let resume = scanner.resume { return notSure(Array(range(resume, total))) }
            return notSure(pending + range(0, total))
        }
        while true {
            let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[kept..<kept + blockSize]))
            let total = kept + count
            guard let consumed = scanner.run(bytes, total, final: count == 0) else { return replay(total) }
            if count == 0 {
                return consumed == total && scanner.isComplete ? .valid(rows: scanner.rows) : replay(total)
            }
            if let resume = scanner.resume {
                pending.removeAll(keepingCapacity: true)
                pending.append(contentsOf: range(resume, consumed))
            } else {
                pending.append(contentsOf: range(0, consumed))
            }
            scanner.resume = nil
            kept = total - consumed
            guard kept <= carryLimit, pending.count <= Self.replayLimit else {
                return notSure(pending + range(consumed, total))
            }
            if kept > 0 && consumed > 0 { bytes.update(from: bytes + consumed, count: kept) }
        }
    }

    /// The bytes a full validation reads before a ``Replay`` that does not start the document: the writer's prolog
    /// and root tag, and line breaks up to the replay's line, so that the lines it reports are the document's.
    package func prefix(before replay: Replay) -> [UInt8] {
        guard !replay.fromStart else { return [] }
        return start + [UInt8(ascii: ">")] + [UInt8](repeating: 0x0A, count: max(0, replay.lines - 1))
    }

    /// Whether `text`, as the `name` attribute's value, is written and read back as it is: no markup, no reference,
    /// no white space that attribute normalisation would change.
    static func isPlainAttribute(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy {
                $0 >= 0x20 && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: "&") && $0 != UInt8(ascii: "\"")
            }
    }
}

// MARK: - The rules of one field

/// What a field's element may hold, as its part of the schema says.
fileprivate struct FieldRule {
    enum Kind {
        case text, long, double, boolean, date, dateTime, binary
    }

    var kind: Kind
    var nullable: Bool
    /// Whether `encoding="base64"` may stand on the element (text without an enumeration or a pattern).
    var base64Attribute: Bool
    /// The fewest and most characters, for text.
    var minLength = 0
    var maxLength = Int.max
    var hasLengths = false
    /// Whether text that breaks the length limits is valid all the same when it matches `base64.text` (the union
    /// the generator writes for text with length limits only).
    var orBase64Text = false
    /// Whether the value is read as base64 as it comes: binary, and text with ``orBase64Text``.
    var readsBase64 = false
    /// The allowed values, as they must be written (compared byte for byte).
    var enumeration: [[UInt8]]?
    var pattern: xmlRegexpPtr?
    var minimumInteger: Int64?
    var maximumInteger: Int64?
    var minimumNumber: Double?
    var maximumNumber: Double?
    /// Whether the value is gathered (to compare, to match, to parse).
    var gathers: Bool
    /// The most bytes gathered; a longer value is "not sure".
    var gatherLimit: Int

    /// The tags of the element as the writer writes them: `<name>`, `<name/>`, `<name xsi:nil="true"/>`,
    /// `<name encoding="base64">`, `</name>`.
    var open: [UInt8]
    var empty: [UInt8]
    var null: [UInt8]
    var base64: [UInt8]
    var close: [UInt8]
    var longestTag: Int

    init?(_ field: Field, compile: (String) -> xmlRegexpPtr?) {
        let c = field.constraints
        let name = Array(field.name.utf8)
        guard Self.isSimpleName(name) else { return nil }
        open = Array("<".utf8) + name + Array(">".utf8)
        empty = Array("<".utf8) + name + Array("/>".utf8)
        null = Array("<".utf8) + name + Array(" xsi:nil=\"true\"/>".utf8)
        base64 = Array("<".utf8) + name + Array(" encoding=\"base64\">".utf8)
        close = Array("</".utf8) + name + Array(">".utf8)
        longestTag = max(null.count, base64.count)
        nullable = !field.required
        base64Attribute = false
        gathers = false
        gatherLimit = 64
        if let enumeration = c.enumeration { self.enumeration = enumeration.map { Array($0.utf8) } }
        if let pattern = c.pattern {
            // A pattern libxml2 cannot compile made the schema unusable before any checker is asked for.
            guard let compiled = compile(pattern) else { return nil }
            self.pattern = compiled
        }
        let restrictedText = c.enumeration != nil || c.pattern != nil
        switch field.type {
        case .string:
            kind = .text
            guard c.minimum == nil, c.maximum == nil else { return nil }
            base64Attribute = !restrictedText
            if c.minLength != nil || c.maxLength != nil {
                hasLengths = true
                minLength = c.minLength ?? 0
                maxLength = c.maxLength ?? Int.max
                orBase64Text = !restrictedText
            }
            gathers = restrictedText
            gatherLimit = 64 * 1024
        case .integer, .number:
            kind = field.type == .integer ? .long : .double
            guard c.minLength == nil, c.maxLength == nil else { return nil }
            gathers = true
            if field.type == .integer {
                // The bounds as the generator writes them; one it writes in another form is not checked here.
                if let minimum = c.minimum {
                    guard let bound = Int64(SchemaGenerator.bound(minimum, .integer)) else { return nil }
                    minimumInteger = bound
                }
                if let maximum = c.maximum {
                    guard let bound = Int64(SchemaGenerator.bound(maximum, .integer)) else { return nil }
                    maximumInteger = bound
                }
            } else {
                minimumNumber = c.minimum
                maximumNumber = c.maximum
                if let minimum = c.minimum, !minimum.isFinite { return nil }
                if let maximum = c.maximum, !maximum.isFinite { return nil }
            }
        case .boolean, .date, .datetime, .binary:
            guard c.isEmpty else { return nil }
            switch field.type {
            case .boolean: kind = .boolean
            case .date: kind = .date
            case .datetime: kind = .dateTime
            default: kind = .binary
            }
            gathers = kind != .binary
        }
        readsBase64 = orBase64Text || kind == .binary
    }

    /// An element name the checker compares byte for byte: ASCII letters, digits, `_`, `-` and `.`, starting with a
    /// letter or `_`, and not starting with `xml` in any case (names XML reserves).
    static func isSimpleName(_ name: [UInt8]) -> Bool {
        guard let first = name.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        if name.count >= 3, name[0...2].map({ $0 | 0x20 }) == Array("xml".utf8) { return false }
        return name.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }
    }

    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}

// MARK: - Reading the schema back

extension XMLTableChecker {
    /// The table whose XML Schema `bytes` would be, read back from it; nil when it is not in the generator's form.
    /// The caller compares the schema the generator writes for the result with `bytes`: nothing read wrongly here can
    /// pass that comparison.
    static func table(fromSchema bytes: [UInt8]) -> TableSchema? {
        _ = denyAllExternalEntities
        guard
            let reader = bytes.withUnsafeBufferPointer({ raw -> xmlTextReaderPtr? in
                raw.withMemoryRebound(to: CChar.self) {
                    xmlReaderForMemory(
                        $0.baseAddress, Int32($0.count), "schema.xsd", "UTF-8", Int32(XML_PARSE_NONET.rawValue))
                }
            })
        else { return nil }
        defer { xmlFreeTextReader(reader) }
        xmlTextReaderSetStructuredErrorHandler(reader, { _, _ in }, nil)
        func attribute(_ name: String) -> String? { XMLSchemaReader.attribute(name, of: reader) }

        var tableName: String?
        var tableDocumentation: String?
        var annotation: String?
        var fields: [Field] = []
        var textFacets: [String: Constraints] = [:]
        var rowDepth: Int32?
        var fieldDepth: Int32?
        var textType: String?
        /// What the text node being read belongs to.
        enum TextTarget { case tableDocumentation, annotation, fieldDocumentation }
        var textTarget: TextTarget?
        func addFacet(_ name: String, _ value: String, to c: inout Constraints) -> Bool {
            switch name {
            case "enumeration": c.enumeration = (c.enumeration ?? []) + [value]
            case "pattern":
                guard c.pattern == nil else { return false }
                c.pattern = value
            case "minInclusive":
                guard c.minimum == nil, let bound = Double(value) else { return false }
                c.minimum = bound
            case "maxInclusive":
                guard c.maximum == nil, let bound = Double(value) else { return false }
                c.maximum = bound
            case "minLength":
                guard c.minLength == nil, let length = Int(value) else { return false }
                c.minLength = length
            case "maxLength":
                guard c.maxLength == nil, let length = Int(value) else { return false }
                c.maxLength = length
            default: return false
            }
            return true
        }
        let facetNames: Set<String> = [
            "enumeration", "pattern", "minInclusive", "maxInclusive", "minLength", "maxLength",
        ]

        while true {
            let status = xmlTextReaderRead(reader)
            if status == 0 { break }
            guard status == 1 else { return nil }
            let type = xmlTextReaderNodeType(reader)
            let depth = xmlTextReaderDepth(reader)
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) { return nil }
            if type == Int32(XML_READER_TYPE_TEXT.rawValue) {
                guard let target = textTarget, let value = xmlTextReaderConstValue(reader) else { continue }
                let text = String(cString: value)
                switch target {
                case .tableDocumentation: tableDocumentation = (tableDocumentation ?? "") + text
                case .annotation: annotation = (annotation ?? "") + text
                case .fieldDocumentation:
                    guard !fields.isEmpty else { return nil }
                    fields[fields.count - 1].title = (fields[fields.count - 1].title ?? "") + text
                }
                continue
            }
            if type == Int32(XML_READER_TYPE_END_ELEMENT.rawValue) {
                textTarget = nil
                if depth == fieldDepth { fieldDepth = nil }
                if depth == 1 { textType = nil }
                continue
            }
            guard type == Int32(XML_READER_TYPE_ELEMENT.rawValue) else { continue }
            textTarget = nil
            guard let local = xmlTextReaderConstLocalName(reader) else { return nil }
            let name = String(cString: local)
            if depth == 1 && name != "simpleType" { textType = nil }
            if let current = fieldDepth, depth <= current { fieldDepth = nil }
            switch (depth, name) {
            case (2, "documentation") where rowDepth == nil:
                textTarget = .tableDocumentation
            case (2, "appinfo") where rowDepth == nil && attribute("source") == XMLSchemaReader.annotationSource:
                textTarget = .annotation
            case (1, "simpleType"):
                if let typeName = attribute("name"), typeName.hasPrefix("text.") {
                    textType = String(typeName.dropFirst(5))
                }
            case (3, "attribute") where attribute("name") == "name":
                tableName = attribute("fixed")
            case (_, "element") where attribute("name") == "row" && rowDepth == nil:
                rowDepth = depth
            case (_, "element") where rowDepth.map({ depth == $0 + 3 }) ?? false:
                guard let fieldName = attribute("name") else { return nil }
                let fieldType = attribute("type").flatMap(XMLSchemaReader.fieldType) ?? .string
                fields.append(Field(fieldName, fieldType, required: attribute("nillable") != "true"))
                fieldDepth = depth
            case (_, "documentation") where fieldDepth.map({ depth == $0 + 2 }) ?? false:
                textTarget = .fieldDocumentation
            case (_, "restriction") where fieldDepth.map({ depth == $0 + 2 }) ?? false:
                guard let base = attribute("base"), let fieldType = XMLSchemaReader.fieldType(base) else { return nil }
                fields[fields.count - 1].type = fieldType
            case (_, _) where facetNames.contains(name):
                guard let value = attribute("value") else { return nil }
                if let current = fieldDepth, depth == current + 3 {
                    guard addFacet(name, value, to: &fields[fields.count - 1].constraints) else { return nil }
                } else if let textType, depth == 5 {
                    guard addFacet(name, value, to: &textFacets[textType, default: Constraints()]) else { return nil }
                }
            default:
                break
            }
        }
        guard let tableName, !fields.isEmpty else { return nil }
        for (index, field) in fields.enumerated() {
            if let facets = textFacets[field.name] { fields[index].constraints = facets }
        }
        var primaryKey: [String] = []
        var foreignKeys: [ForeignKey] = []
        if let annotation {
            guard let tree = try? JSONValue.parse(Array(annotation.utf8)) else { return nil }
            func strings(_ value: JSONValue?) -> [String]? {
                guard case .array(let items)? = value else { return nil }
                var result: [String] = []
                for item in items {
                    guard case .string(let text) = item else { return nil }
                    result.append(text)
                }
                return result
            }
            if let key = tree["x-handover-primaryKey"] {
                guard let names = strings(key) else { return nil }
                primaryKey = names
            }
            if case .array(let references)? = tree["x-handover-references"] {
                for reference in references {
                    guard let fields = strings(reference["fields"]), let target = reference["reference"],
                        case .string(let table)? = target["table"], let referenced = strings(target["fields"])
                    else { return nil }
                    var pseudonymized = false
                    if case .bool(let flag)? = reference["pseudonymized"] { pseudonymized = flag }
                    foreignKeys.append(
                        ForeignKey(
                            fields: fields, table: table, referencedFields: referenced, pseudonymized: pseudonymized))
                }
            }
        }
        return TableSchema(
            name: tableName, title: tableDocumentation, fields: fields, primaryKey: primaryKey, foreignKeys: foreignKeys
        )
    }
}

// MARK: - The scan

/// The scan of one document: where it is, and the value being read.
private struct Scanner {
    enum State {
        case start, table, rows, row, text, after
    }

    unowned(unsafe) let checker: XMLTableChecker
    let rules: UnsafeBufferPointer<FieldRule>
    var state = State.start
    var rows = 0
    var field = 0
    var isComplete = false
    /// Line breaks read.
    var lines = 0
    /// The last point in the bytes of this run where a full validation could start (after the root tag, or after a
    /// row), and the rows and line breaks before it.
    var resume: Int?
    var rowsAtResume = 0
    var linesAtResume = 0
    var atDocumentStart = true
    // The value being read.
    var value: [UInt8] = []
    var scalars = 0
    /// The value as base64: for binary, and for text whose length limits give way to `base64.text`.
    var base64 = Base64Text()

    init(checker: XMLTableChecker) {
        self.checker = checker
        self.rules = UnsafeBufferPointer(checker.rules)
        value.reserveCapacity(64)
    }

    /// Reads `count` bytes at `p`, as far as it can.
    /// - Returns: How many bytes it consumed (the rest come again, with more after them, unless `final`); nil when
    ///   it is not sure.
    mutating func run(_ p: UnsafePointer<UInt8>, _ count: Int, final: Bool) -> Int? {
        var i = 0
        /// Whether `bytes` are at `i`; nil when too few bytes remain to tell.
        @inline(__always) func matches(_ bytes: [UInt8], at i: Int) -> Bool? {
            guard count - i >= bytes.count else { return nil }
            return bytes.withUnsafeBufferPointer { expected in
                var k = 0
                while k < expected.count {
                    if p[i &+ k] != expected[k] { return false }
                    k &+= 1
                }
                return true
            }
        }
        @inline(__always) func skipSpace() {
            while i < count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x09 {
                if p[i] == 0x0A { lines &+= 1 }
                i &+= 1
            }
        }
        @inline(__always) func markResume() {
            resume = i
            rowsAtResume = rows
            linesAtResume = lines
            atDocumentStart = false
        }
        while true {
            switch state {
            case .start:
                guard let found = matches(checker.start, at: i) else { return final ? nil : i }
                guard found else { return nil }
                i += checker.start.count
                lines = 1
                state = .table
            case .table:
                guard count - i >= 2 else { return final ? nil : i }
                if p[i] == UInt8(ascii: ">") {
                    i += 1
                    markResume()
                    state = .rows
                } else if p[i] == UInt8(ascii: "/") && p[i + 1] == UInt8(ascii: ">") {
                    i += 2
                    state = .after
                } else {
                    return nil
                }
            case .rows:
                skipSpace()
                guard count - i >= 8 else { return final ? nil : i }
                guard p[i] == UInt8(ascii: "<") else { return nil }
                if matches(Self.rowOpen, at: i) == true {
                    i += Self.rowOpen.count
                    rows &+= 1
                    field = 0
                    state = .row
                } else if matches(Self.tableClose, at: i) == true {
                    i += Self.tableClose.count
                    state = .after
                } else {
                    return nil
                }
            case .row:
                skipSpace()
                if i == count { return final ? nil : i }
                guard p[i] == UInt8(ascii: "<") else { return nil }
                guard field < rules.count else {
                    guard let found = matches(Self.rowClose, at: i) else { return final ? nil : i }
                    guard found else { return nil }
                    i += Self.rowClose.count
                    markResume()
                    state = .rows
                    continue
                }
                // The tag ends at the first `>`: tags are compared whole.
                var end = i &+ 1
                let rule = rules.baseAddress! + field
                let limit = min(count, i &+ rule.pointee.longestTag)
                while end < limit, p[end] != UInt8(ascii: ">") { end &+= 1 }
                guard end < limit else { return end == count && !final ? i : nil }
                let length = end &+ 1 &- i
                if length == rule.pointee.open.count, matches(rule.pointee.open, at: i) == true {
                    begin()
                    state = .text
                } else if length == rule.pointee.empty.count, matches(rule.pointee.empty, at: i) == true {
                    begin()
                    guard finish(rule) else { return nil }
                    field &+= 1
                } else if length == rule.pointee.null.count, rule.pointee.nullable,
                    matches(rule.pointee.null, at: i) == true
                {
                    field &+= 1
                } else if length == rule.pointee.base64.count, rule.pointee.base64Attribute,
                    matches(rule.pointee.base64, at: i) == true
                {
                    begin()
                    state = .text
                } else {
                    return nil
                }
                i = end &+ 1
            case .text:
                let rule = rules.baseAddress! + field
                let run = i
                var cut = false
                while i < count {
                    let byte = p[i]
                    if byte >= 0x20 && byte < 0x80 {
                        if byte == UInt8(ascii: "<") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "]") { break }
                        i &+= 1
                    } else if byte >= 0x80 {
                        guard let length = Self.scalarLength(p, i, count) else { return nil }
                        if length == 0 {
                            // A character the block cuts: it comes again whole, with the next bytes.
                            cut = true
                            break
                        }
                        i &+= length
                    } else if byte == 0x0A || byte == 0x09 {
                        if byte == 0x0A { lines &+= 1 }
                        i &+= 1
                    } else {
                        return nil
                    }
                }
                if i > run { take(rule, p + run, i &- run) }
                if i == count || cut { return final ? nil : i }
                switch p[i] {
                case UInt8(ascii: "<"):
                    guard let found = matches(rule.pointee.close, at: i) else { return final ? nil : i }
                    guard found, finish(rule) else { return nil }
                    i &+= rule.pointee.close.count
                    field &+= 1
                    state = .row
                case UInt8(ascii: "]"):
                    guard count - i >= 3 else { return final ? nil : i }
                    if p[i + 1] == UInt8(ascii: "]") && p[i + 2] == UInt8(ascii: ">") { return nil }
                    take(rule, p + i, 1)
                    i &+= 1
                default:
                    // A reference.
                    var end = i &+ 1
                    let limit = min(count, i &+ 12)
                    while end < limit, p[end] != UInt8(ascii: ";") { end &+= 1 }
                    guard end < limit else { return end == count && !final ? i : nil }
                    guard let scalar = Self.reference(p + i + 1, end &- i &- 1) else { return nil }
                    var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                    let length = withUnsafeMutableBytes(of: &utf8) { out -> Int in
                        var n = 0
                        for byte in UTF8.encode(scalar)! {
                            out[n] = byte
                            n += 1
                        }
                        return n
                    }
                    withUnsafeBytes(of: utf8) {
                        take(rule, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), length)
                    }
                    i = end &+ 1
                }
            case .after:
                skipSpace()
                guard i == count else { return nil }
                isComplete = final
                return i
            }
        }
    }

    static let rowOpen = Array("<row>".utf8)
    static let rowClose = Array("</row>".utf8)
    static let tableClose = Array("</table>".utf8)

    mutating func begin() {
        value.removeAll(keepingCapacity: true)
        scalars = 0
        base64 = Base64Text()
    }

    /// Takes `count` bytes of the value (whole characters).
    @inline(__always)
    mutating func take(_ rule: UnsafePointer<FieldRule>, _ bytes: UnsafePointer<UInt8>, _ count: Int) {
        if rule.pointee.gathers {
            if value.count <= rule.pointee.gatherLimit {
                value.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
            }
        }
        if rule.pointee.hasLengths {
            for index in 0..<count where bytes[index] & 0xC0 != 0x80 { scalars &+= 1 }
        }
        if rule.pointee.readsBase64 { base64.take(bytes, count) }
    }

    /// Whether the value read is valid for `rule`.
    mutating func finish(_ rule: UnsafePointer<FieldRule>) -> Bool {
        if rule.pointee.gathers && value.count > rule.pointee.gatherLimit { return false }
        switch rule.pointee.kind {
        case .text:
            if rule.pointee.hasLengths {
                let fits = scalars >= rule.pointee.minLength && scalars <= rule.pointee.maxLength
                guard fits || (rule.pointee.orBase64Text && base64.isPatternValid) else { return false }
            }
            if let enumeration = rule.pointee.enumeration, !enumeration.contains(value) { return false }
            if let pattern = rule.pointee.pattern, !matches(pattern) { return false }
            return true
        case .long:
            guard let number = Self.long(value) else { return false }
            if let enumeration = rule.pointee.enumeration, !enumeration.contains(value) { return false }
            if let pattern = rule.pointee.pattern, !matches(pattern) { return false }
            if let minimum = rule.pointee.minimumInteger, number < minimum { return false }
            if let maximum = rule.pointee.maximumInteger, number > maximum { return false }
            return true
        case .double:
            guard Self.isDouble(value) else { return false }
            if let enumeration = rule.pointee.enumeration, !enumeration.contains(value) { return false }
            if let pattern = rule.pointee.pattern, !matches(pattern) { return false }
            if rule.pointee.minimumNumber != nil || rule.pointee.maximumNumber != nil {
                guard let number = Double(String(decoding: value, as: UTF8.self)) else { return false }
                if let minimum = rule.pointee.minimumNumber, !(number >= minimum) { return false }
                if let maximum = rule.pointee.maximumNumber, !(number <= maximum) { return false }
            }
            return true
        case .boolean:
            return value == Array("true".utf8) || value == Array("false".utf8) || value == [0x31] || value == [0x30]
        case .date:
            return Self.isDate(value, time: false)
        case .dateTime:
            return Self.isDate(value, time: true)
        case .binary:
            return base64.isCanonical
        }
    }

    /// Whether the value matches `pattern` (libxml2's XML Schema regular expression).
    func matches(_ pattern: xmlRegexpPtr) -> Bool {
        guard !value.contains(0) else { return false }
        var text = value
        text.append(0)
        return text.withUnsafeBufferPointer { xmlRegexpExec(pattern, $0.baseAddress) == 1 }
    }

    /// The length of the UTF-8 character at `i`, when it is a character XML 1.0 allows; 0 when it is cut off by
    /// the end of the bytes; nil when it is not one (a malformed sequence, a surrogate, U+FFFE, U+FFFF).
    @inline(__always)
    static func scalarLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int? {
        let lead = p[i]
        let length: Int
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF:
            length = 2
            scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF:
            length = 3
            scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4:
            length = 4
            scalar = UInt32(lead & 0x07)
        default: return nil
        }
        guard count - i >= length else { return 0 }
        for k in 1..<length {
            let byte = p[i + k]
            guard byte & 0xC0 == 0x80 else { return nil }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        switch length {
        case 3:
            guard scalar >= 0x800, !(0xD800...0xDFFF).contains(scalar), scalar != 0xFFFE, scalar != 0xFFFF else {
                return nil
            }
        case 4:
            guard scalar >= 0x10000, scalar <= 0x10FFFF else { return nil }
        default: break
        }
        return length
    }

    /// The character a reference's name (between `&` and `;`) stands for, when it is one of the five predefined
    /// entities or a character reference to a character XML 1.0 allows.
    static func reference(_ p: UnsafePointer<UInt8>, _ count: Int) -> Unicode.Scalar? {
        let name = UnsafeBufferPointer(start: p, count: count)
        switch String(decoding: name, as: UTF8.self) {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default: break
        }
        guard count >= 2, name[0] == UInt8(ascii: "#") else { return nil }
        var code: UInt32 = 0
        if name[1] == UInt8(ascii: "x") {
            guard count >= 3, count <= 8 else { return nil }
            for byte in name[2...] {
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: return nil
                }
                code = code << 4 | UInt32(digit)
            }
        } else {
            guard count <= 8 else { return nil }
            for byte in name[1...] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                code = code * 10 + UInt32(byte - 0x30)
            }
        }
        switch code {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return Unicode.Scalar(code)
        default: return nil
        }
    }

    /// An `xs:long` written plainly: an optional `-` and one to 19 digits, within range.
    static func long(_ value: [UInt8]) -> Int64? {
        var index = 0
        let negative = value.first == UInt8(ascii: "-")
        if negative { index = 1 }
        let digits = value.count - index
        guard digits >= 1, digits <= 19 else { return nil }
        var magnitude: UInt64 = 0
        while index < value.count {
            let byte = value[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            magnitude = magnitude * 10 + UInt64(byte - 0x30)
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// An `xs:double` written plainly: `-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?`.
    static func isDouble(_ value: [UInt8]) -> Bool {
        var index = 0
        let count = value.count
        func digits(_ most: Int = .max) -> Int {
            var n = 0
            while index < count, n < most, value[index] >= 0x30 && value[index] <= 0x39 {
                index += 1
                n += 1
            }
            return n
        }
        if index < count, value[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { return false }
        if index < count, value[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < count, value[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < count, value[index] == UInt8(ascii: "-") || value[index] == UInt8(ascii: "+") { index += 1 }
            let exponent = digits(3)
            guard exponent > 0 else { return false }
        }
        return index == count
    }

    /// An `xs:date` (`YYYY-MM-DD`) or `xs:dateTime` (`YYYY-MM-DDThh:mm:ss`, with up to six digits of a second's
    /// fraction) written plainly, of a year from 1 to 9999, with `Z` or no time zone.
    static func isDate(_ value: [UInt8], time: Bool) -> Bool {
        var count = value.count
        if count > 0, value[count - 1] == UInt8(ascii: "Z") { count -= 1 }
        func number(_ at: Int, _ length: Int) -> Int? {
            var n = 0
            for index in at..<at + length {
                let byte = value[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                n = n * 10 + Int(byte - 0x30)
            }
            return n
        }
        guard count >= 10, value[4] == UInt8(ascii: "-"), value[7] == UInt8(ascii: "-"),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            year >= 1, month >= 1, month <= 12, day >= 1
        else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { return false }
        guard time else { return count == 10 }
        guard count >= 19, value[10] == UInt8(ascii: "T"), value[13] == UInt8(ascii: ":"),
            value[16] == UInt8(ascii: ":"), let hour = number(11, 2), let minute = number(14, 2),
            let second = number(17, 2), hour <= 23, minute <= 59, second <= 59
        else { return false }
        if count == 19 { return true }
        guard value[19] == UInt8(ascii: "."), count - 20 >= 1, count - 20 <= 6 else { return false }
        return number(20, count - 20) != nil
    }
}

/// A streaming check of base64 text: as `base64.text`'s pattern has it (groups of four of the 64 characters, the last
/// group perhaps ending in `=` or `==`), and whether it is also canonical `xs:base64Binary` (the bits the padding
/// leaves over are zero).
private struct Base64Text {
    var characters = 0
    var padding = 0
    var bad = false
    /// The value of the last character before any padding.
    var last: UInt8 = 0

    @inline(__always)
    mutating func take(_ bytes: UnsafePointer<UInt8>, _ count: Int) {
        guard !bad else { return }
        for index in 0..<count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "=") {
                padding += 1
                characters += 1
                if padding > 2 { bad = true }
                continue
            }
            guard padding == 0, let value = Self.value(byte) else {
                bad = true
                return
            }
            last = value
            characters += 1
        }
    }

    @inline(__always)
    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x41...0x5A: byte - 0x41
        case 0x61...0x7A: byte - 0x61 + 26
        case 0x30...0x39: byte - 0x30 + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// Whether the text matches `([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?`.
    var isPatternValid: Bool {
        !bad && characters % 4 == 0 && (padding == 0 || characters >= 4)
    }

    /// Whether the text is canonical base64 (the pattern, and zero bits under the padding).
    var isCanonical: Bool {
        guard isPatternValid else { return false }
        switch padding {
        case 1: return last & 0x03 == 0
        case 2: return last & 0x0F == 0
        default: return true
        }
    }
}
