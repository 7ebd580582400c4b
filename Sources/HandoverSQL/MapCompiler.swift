internal import HandoverCore

/// Checks a ``DatasetMap`` against a database's catalog and turns it into query plans. No I/O: the catalog was
/// read before.
struct MapCompiler {
    let map: DatasetMap
    let catalog: SourceCatalog
    let dialect: SQLDialect

    struct Output {
        var plans: [TablePlan]
        var subject: SubjectPlan?
        var tenant: TenantPlan?
        var unindexed: [String]
        var unindexedForSubjects: [String]
        var unindexedForTenants: [String]
        var columnFindings: [ColumnFindings]
        /// References the map declares that no foreign key of the database backs, as `table.column → table.column`.
        var referencesWithoutForeignKey: [String] = []
    }

    /// A mapped table with its columns resolved against the database.
    struct Resolved {
        var table: DatasetMap.Table
        var fields: [Field]
        var sourceColumns: [String]
        /// The catalog's columns, one per field.
        var catalogColumns: [CatalogColumn]
        var pseudonymize: [Bool]
        /// For each field: its `on-invalid`, from the column, the table or the map.
        var policies: [DatasetMap.InvalidValuePolicy]
        /// For each field: the root of the files it names, if it names files.
        var fileRoots: [String?]
        var primaryKey: [String]
        /// What `map check` reports about the table's columns.
        var findings: ColumnFindings
    }

    func fail(_ location: DatasetMap.Location, _ message: String) -> HandoverError {
        HandoverError(.invalidDatasetMap, "\(map.source): \(location): \(message)")
    }

    func compile() throws -> Output {
        let databaseTables = Set(catalog.tables.keys)
        var resolved: [String: Resolved] = [:]
        var order: [String] = []
        for table in map.tables {
            guard databaseTables.contains(table.source) else {
                throw fail(table.location, "unknown table '\(table.source)' in database '\(catalog.label)'")
            }
            resolved[table.name] = try resolveColumns(table)
            order.append(table.name)
        }

        var unindexed: [String] = []
        var unindexedFor: [String: [String]] = ["subject": [], "tenant": []]
        var indexCache: [String: Set<String>] = [:]
        func noteLookup(table: String, column: String, kind: String) throws {
            if indexCache[table] == nil { indexCache[table] = catalog.tables[table]?.leadingIndexedColumns ?? [] }
            let name = "\(table).\(column)"
            guard !indexCache[table]!.contains(column) else { return }
            if !unindexed.contains(name) { unindexed.append(name) }
            if !unindexedFor[kind, default: []].contains(name) { unindexedFor[kind, default: []].append(name) }
        }

        let subject = try map.subject.map { try anchorColumns($0, databaseTables: databaseTables) }
        let tenant = try map.tenant.map { try anchorColumns($0, databaseTables: databaseTables) }

        var plans: [TablePlan] = []
        var unbacked: [String] = []
        for name in order {
            let entry = resolved[name]!
            let table = entry.table
            // References: from an exported column to an exported column of a mapped table.
            var references: [String: (table: Resolved, column: String)] = [:]
            var foreignKeys: [ForeignKey] = []
            for reference in table.references {
                guard entry.fields.contains(where: { $0.name == reference.column }) else {
                    throw fail(
                        reference.location,
                        "table \(name) has no exported column \(reference.column)"
                            + entry.withheldHint(reference.column))
                }
                guard let target = resolved[reference.table] else {
                    throw fail(
                        reference.location, "unknown table \(reference.table): a reference must name a table of the map"
                    )
                }
                guard target.fields.contains(where: { $0.name == reference.referencedColumn }) else {
                    throw fail(
                        reference.location,
                        "table \(reference.table) has no exported column \(reference.referencedColumn)"
                            + target.withheldHint(reference.referencedColumn))
                }
                references[reference.column] = (target, reference.referencedColumn)
                if let from = entry.source(of: reference.column),
                    let to = target.source(of: reference.referencedColumn),
                    !(catalog.tables[table.source]?.foreignKeys ?? []).contains(where: {
                        $0.columns == [from] && $0.table == target.table.source && $0.referencedColumns == [to]
                    })
                {
                    unbacked.append("\(table.source).\(from) → \(target.table.source).\(to)")
                }
                let pseudonymized =
                    entry.fields.firstIndex { $0.name == reference.column }.map {
                        entry.pseudonymize[$0]
                    } ?? false
                foreignKeys.append(
                    ForeignKey(
                        fields: [reference.column], table: reference.table,
                        referencedFields: [reference.referencedColumn], pseudonymized: pseudonymized))
            }

            func resolvePath(_ path: DatasetMap.Path, kind: String) throws -> ResolvedPath {
                var current = entry
                var currentReferences = references
                var hops: [ResolvedPath.Hop] = []
                for step in path.via {
                    guard let column = current.source(of: step) else {
                        throw fail(
                            path.location,
                            "table \(current.table.name) has no exported column \(step)" + current.withheldHint(step))
                    }
                    guard let (target, key) = currentReferences[step] else {
                        throw fail(
                            path.location, "column \(current.table.name).\(step) has no declared reference to follow")
                    }
                    try noteLookup(table: current.table.source, column: column, kind: kind)
                    hops.append(.init(column: column, table: target.table.source, key: target.source(of: key)!))
                    current = target
                    currentReferences = try referenceMap(of: target, resolved: resolved)
                    guard hops.count <= 8 else { throw fail(path.location, "a path may follow at most 8 references") }
                }
                guard let column = current.source(of: path.column) else {
                    throw fail(
                        path.location,
                        "table \(current.table.name) has no exported column \(path.column) for the \(kind) path"
                            + current.withheldHint(path.column)
                            + (path.via.isEmpty ? " (a path names a column, or '\(kind): all' takes every row)" : ""))
                }
                try noteLookup(table: current.table.source, column: column, kind: kind)
                if let matches = path.matches {
                    guard let subject, subject.columns[matches] != nil else {
                        throw fail(
                            path.location, "'matches' names \(matches), which is not a column of the subject table")
                    }
                }
                let compared = catalog.tables[current.table.source]?.column(column)
                return ResolvedPath(
                    hops: hops, column: column, matches: path.matches, parameter: dialect.parameter(for: compared))
            }

            // `all` too needs the anchor: the subject or tenant asked for must be found there.
            if let scope = table.subject, map.subject == nil {
                throw fail(
                    table.location,
                    "table \(name) has \(scope == .all ? "'subject: all'" : "a subject path") but the map declares no "
                        + "'subject' table")
            }
            if let scope = table.tenant, map.tenant == nil {
                throw fail(
                    table.location,
                    "table \(name) has \(scope == .all ? "'tenant: all'" : "a tenant path") but the map declares no "
                        + "'tenant' table")
            }
            // A map built in code may hold what the YAML cannot say.
            if case .paths(let paths)? = table.subject, paths.isEmpty {
                throw fail(table.location, "table \(name) lists no subject path")
            }
            if case .paths(let paths)? = table.tenant, paths.count != 1 {
                throw fail(table.location, "table \(name) reaches its tenant by exactly one path")
            }
            let subjectPaths = try (table.subject?.paths ?? []).map { try resolvePath($0, kind: "subject") }
            let tenantPath = try table.tenant?.paths.first.map { try resolvePath($0, kind: "tenant") }

            var domains: [String?] = []
            var referencesSubject: [Bool] = []
            for (index, field) in entry.fields.enumerated() {
                guard entry.pseudonymize[index] else {
                    domains.append(nil)
                    referencesSubject.append(false)
                    continue
                }
                if let (target, key) = references[field.name] {
                    domains.append(target.table.name)
                    referencesSubject.append(
                        map.subject.map { $0.table == target.table.source && $0.key == target.source(of: key) } ?? false
                    )
                } else {
                    domains.append("\(name).\(field.name)")
                    referencesSubject.append(false)
                }
            }
            var fields = entry.fields
            for index in fields.indices where domains[index] != nil { fields[index].type = .string }
            // Key fields and the fields that tie a row to its subject or tenant are never repaired (null there
            // would name no row, or no one): they fail.
            let selecting = Set(
                entry.primaryKey
                    + ((table.subject?.paths ?? []) + (table.tenant?.paths ?? [])).map { $0.via.first ?? $0.column }
            )
            let policies = fields.indices.map { index in
                selecting.contains(fields[index].name) ? .fail : entry.policies[index]
            }
            // Under on-invalid: replace, a typed field gets a string field beside it for the text of unfit values.
            var companions: [Int?] = Array(repeating: nil, count: fields.count)
            for index in 0..<entry.fields.count
            where policies[index] == .replace && fields[index].type != .string && fields[index].type != .binary {
                let original = fields[index].name
                let name = original + "_invalid"
                guard Identifier.isValid(name), !fields.contains(where: { $0.name == name }) else {
                    throw fail(
                        table.location,
                        "on-invalid: replace needs a field \(name.prefix(70)) for the text of unfit values of "
                            + "\(original), and the table has one already or the name is too long")
                }
                fields[index].required = false
                fields[index].description =
                    (fields[index].description.map { $0 + " " } ?? "")
                    + "Null where the database holds a value that does not fit the type; its text is in \(name)."
                companions[index] = fields.count
                fields.append(
                    Field(
                        name, .string,
                        description:
                            "The text of a value of \(original) that does not fit its type "
                            + "(\(fields[index].type.rawValue)), written under on-invalid: replace; null when "
                            + "\(original) holds the value. Bytes are written in base64."))
            }

            let schema = TableSchema(
                name: name, title: table.title, description: table.description, fields: fields,
                primaryKey: entry.primaryKey, foreignKeys: foreignKeys)
            do { try schema.validate() } catch let error as HandoverError { throw fail(table.location, error.message) }
            let selections = zip(entry.sourceColumns, entry.catalogColumns).map { source, column in
                dialect.select(source, form: column.selectForm)
            }
            plans.append(
                TablePlan(
                    schema: schema, source: table.source, sourceColumns: entry.sourceColumns,
                    selections: selections, kinds: entry.catalogColumns.map(\.kind), dialect: dialect,
                    policies: policies, companions: companions, fileRoots: entry.fileRoots,
                    orderBy: entry.primaryKey.map { entry.source(of: $0)! }, subjectPaths: subjectPaths,
                    tenantPath: tenantPath, everyRowForSubjects: table.subject == .all,
                    everyRowForTenants: table.tenant == .all, pseudonymDomains: domains,
                    referencesSubject: referencesSubject))
        }

        var subjectPlan: SubjectPlan?
        if let anchor = map.subject, let subject {
            let attributes = Set(plans.flatMap { $0.subjectPaths.compactMap(\.matches) }).sorted()
            let mapped = plans.first { $0.source == anchor.table }
            let anchorTable = catalog.tables[anchor.table]
            subjectPlan = SubjectPlan(
                table: anchor.table, source: anchor.table, keySource: anchor.key, columns: subject.columns,
                integerColumns: subject.integerColumns, attributeColumns: attributes,
                tenantCondition: mapped?.tenantPath?.condition(), dialect: dialect,
                catalogColumns: Dictionary(
                    (anchorTable?.columns ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))
            subjectPlan?.indexedColumns = anchorTable?.leadingIndexedColumns ?? []
        }
        var tenantPlan: TenantPlan?
        if let anchor = map.tenant, let tenant {
            let key = catalog.tables[anchor.table]?.column(anchor.key)
            tenantPlan = TenantPlan(
                table: anchor.table,
                existsSQL: "SELECT 1 FROM " + quoted(anchor.table) + " WHERE " + quoted(anchor.key) + " = "
                    + dialect.parameter(for: key),
                integerKey: tenant.integerColumns.contains(anchor.key), numbered: dialect.numberedParameters)
        }
        return Output(
            plans: plans, subject: subjectPlan, tenant: tenantPlan, unindexed: unindexed,
            unindexedForSubjects: unindexedFor["subject"] ?? [], unindexedForTenants: unindexedFor["tenant"] ?? [],
            columnFindings: order.map { resolved[$0]!.findings }, referencesWithoutForeignKey: unbacked)
    }

    /// The column names of an anchor table and which of them hold integers.
    private func anchorColumns(_ anchor: DatasetMap.Anchor, databaseTables: Set<String>) throws -> (
        columns: [String: String], integerColumns: Set<String>
    ) {
        guard databaseTables.contains(anchor.table), let columns = catalog.tables[anchor.table]?.columns else {
            throw fail(anchor.location, "unknown table '\(anchor.table)' in database '\(catalog.label)'")
        }
        guard columns.contains(where: { $0.name == anchor.key }) else {
            throw fail(anchor.location, "table \(anchor.table) has no column \(anchor.key)")
        }
        var names: [String: String] = [:]
        var integers = Set<String>()
        for column in columns {
            names[column.name] = column.name
            if column.inferredType == .integer { integers.insert(column.name) }
        }
        return (names, integers)
    }

    private func referenceMap(of table: Resolved, resolved: [String: Resolved]) throws -> [String: (
        table: Resolved, column: String
    )] {
        var result: [String: (table: Resolved, column: String)] = [:]
        for reference in table.table.references {
            guard let target = resolved[reference.table], target.source(of: reference.referencedColumn) != nil else {
                throw fail(
                    reference.location, "unknown table or column \(reference.table).\(reference.referencedColumn)")
            }
            result[reference.column] = (target, reference.referencedColumn)
        }
        return result
    }

    private func resolveColumns(_ table: DatasetMap.Table) throws -> Resolved {
        guard let info = catalog.tables[table.source]?.columns else {
            throw fail(table.location, "unknown table '\(table.source)' in database '\(catalog.label)'")
        }
        let byName = Dictionary(info.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for excluded in table.exclude where byName[excluded] == nil {
            throw fail(table.location, "excluded column \(excluded) is not a column of table \(table.source)")
        }
        for included in table.includeSecrets where byName[included] == nil {
            throw fail(table.location, "included column \(included) is not a column of table \(table.source)")
        }
        var fields: [Field] = []
        var sources: [String] = []
        var catalogColumns: [CatalogColumn] = []
        var pseudonymize: [Bool] = []
        var policies: [DatasetMap.InvalidValuePolicy] = []
        var fileRoots: [String?] = []
        var findings = ColumnFindings(table: table.name)
        if let columns = table.columns {
            for column in columns {
                guard let database = byName[column.source] else {
                    throw fail(column.location, "unknown column '\(column.source)' in table \(table.source)")
                }
                if SecretNames.looksSecret(column.source) { findings.namedSecrets.append(column.source) }
                let type = try fieldType(of: database, declared: column.type, table: table, location: column.location)
                var constraints = column.constraints
                if constraints.enumeration == nil, type == .string, !column.pseudonymize {
                    constraints.enumeration = database.enumeration
                }
                fields.append(
                    Field(
                        column.name, type, required: column.required ?? database.notNull, title: column.title,
                        description: column.description, constraints: constraints))
                sources.append(column.source)
                catalogColumns.append(database)
                pseudonymize.append(column.pseudonymize)
                policies.append(column.onInvalid ?? table.onInvalid ?? map.onInvalid)
                if column.fileRoot != nil {
                    guard type == .string, !column.pseudonymize else {
                        throw fail(
                            column.location,
                            "a 'file' column holds paths: its type is string, and it is not pseudonymized")
                    }
                }
                fileRoots.append(column.fileRoot)
            }
        } else {
            for column in info where !table.exclude.contains(column.name) {
                // A column nobody listed that looks like a secret stays out unless the map names it.
                if SecretNames.looksSecret(column.name) {
                    guard table.includeSecrets.contains(column.name) else {
                        findings.withheldSecrets.append(column.name)
                        continue
                    }
                    findings.namedSecrets.append(column.name)
                }
                guard Identifier.isValid(column.name) else {
                    throw fail(
                        table.location,
                        "column '\(column.name.prefix(64))' of table \(table.source) is not a valid field name; list the columns and rename it with 'from'"
                    )
                }
                let type = try fieldType(of: column, declared: nil, table: table, location: table.location)
                var constraints = Constraints()
                if type == .string { constraints.enumeration = column.enumeration }
                fields.append(Field(column.name, type, required: column.notNull, constraints: constraints))
                if !table.includeSecrets.contains(column.name) { findings.implicit.append(column.name) }
                sources.append(column.name)
                catalogColumns.append(column)
                pseudonymize.append(false)
                policies.append(table.onInvalid ?? map.onInvalid)
                fileRoots.append(nil)
            }
        }
        guard !fields.isEmpty else { throw fail(table.location, "table \(table.name) exports no columns") }
        var primaryKey: [String]
        if let declared = table.primaryKey {
            for key in declared where !fields.contains(where: { $0.name == key }) {
                throw fail(
                    table.location,
                    "primary key column \(key) is not an exported column of table \(table.name)"
                        + findings.withheldHint(key))
            }
            primaryKey = declared
        } else {
            let keyColumns = info.filter { $0.primaryKeyPosition > 0 }.sorted {
                $0.primaryKeyPosition < $1.primaryKeyPosition
            }
            primaryKey = keyColumns.compactMap { column in sources.firstIndex(of: column.name).map { fields[$0].name } }
            if primaryKey.count != keyColumns.count { primaryKey = [] }
        }
        // Key fields are never null.
        for index in fields.indices where primaryKey.contains(fields[index].name) { fields[index].required = true }
        return Resolved(
            table: table, fields: fields, sourceColumns: sources, catalogColumns: catalogColumns,
            pseudonymize: pseudonymize, policies: policies, fileRoots: fileRoots, primaryKey: primaryKey,
            findings: findings)
    }

    /// The field type of `column`: the map's, or the one its database type suggests. A type the source cannot
    /// read is refused, naming the column, unless the map declares it `string` (its text is then exported).
    private func fieldType(
        of column: CatalogColumn, declared: FieldType?, table: DatasetMap.Table, location: DatasetMap.Location
    ) throws -> FieldType {
        if let inferred = column.inferredType { return declared ?? inferred }
        if declared == .string { return .string }
        throw fail(
            location,
            "column \(table.source).\(column.name) has type \(column.declaredType), which Handover does not read; "
                + "declare it 'type: string' to export its text, or leave it out")
    }
}

extension ColumnFindings {
    /// A hint for an error about `column`, when it is missing because its name looks like a secret.
    func withheldHint(_ column: String) -> String {
        withheldSecrets.contains(column)
            ? " (its name looks like a secret, so it is withheld; name it under include-secrets to export it)" : ""
    }
}

extension MapCompiler.Resolved {
    /// A hint for an error about `column`, when it is missing because its name looks like a secret.
    func withheldHint(_ column: String) -> String { findings.withheldHint(column) }

    /// The source column of an exported column.
    func source(of exported: String) -> String? {
        fields.firstIndex { $0.name == exported }.map { sourceColumns[$0] }
    }
}
