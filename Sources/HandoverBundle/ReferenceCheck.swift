internal import Foundation
internal import HandoverArchive
internal import HandoverCore
internal import HandoverFormats

extension Limits {
    /// The most key values `verify` holds at once to check the foreign keys `datapackage.json` declares (in
    /// ``DenseKeySet``s: a bit each for runs of ids, at most 8 bytes each in their bitmaps, some 11 to 23 bytes each
    /// for keys far apart: at most about 96 MiB).
    static let referenceKeys = 4 << 20
    /// The most declared foreign keys checked (each costs a look-up per row of its file).
    static let foreignKeys = 4096
}

/// The foreign keys of `datapackage.json`, checked against the CSV files they describe.
struct ReferenceCheck {
    /// A referenced resource's key fields, and the keys read from its file.
    struct Target {
        var path: String
        var resource: String
        var fields: [String]
        var types: [FieldType]
        var keys = DenseKeySet()
        var read = false
        var overflow = false
    }

    /// One declared foreign key, and the rows found to break it.
    struct Key {
        var path: String
        var fields: [String]
        var types: [FieldType]
        var target: Int
        var broken = 0
        var checked = false
    }

    var targets: [Target] = []
    var keys: [Key] = []
    var problems: [VerificationReport.Problem] = []
    /// Files whose schema check failed already: that they cannot be read again is not reported twice.
    var schemaFailures: Set<String> = []

    /// The declared foreign keys of CSV resources in `descriptor`; problems for those that name what the
    /// package does not describe.
    init(descriptor bytes: [UInt8]) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let resources = root["resources"] as? [[String: Any]]
        else {
            problems.append(
                .init(
                    kind: .reference, path: "datapackage.json",
                    message: "is not a Data Package with resources, so its foreign keys cannot be checked"))
            return
        }
        func names(_ value: Any?) -> [String]? {
            if let name = value as? String { return [name] }
            return value as? [String]
        }
        func fieldTypes(_ resource: [String: Any]) -> [String: FieldType] {
            var types: [String: FieldType] = [:]
            for field in (resource["schema"] as? [String: Any])?["fields"] as? [[String: Any]] ?? [] {
                guard let name = field["name"] as? String else { continue }
                switch (field["type"] as? String, field["format"] as? String) {
                case ("string", "binary"): types[name] = .binary
                case ("integer", _): types[name] = .integer
                case ("number", _): types[name] = .number
                case ("boolean", _): types[name] = .boolean
                case ("date", _): types[name] = .date
                case ("datetime", _): types[name] = .datetime
                default: types[name] = .string
                }
            }
            return types
        }
        let byName = Dictionary(
            resources.compactMap { resource in (resource["name"] as? String).map { ($0, resource) } },
            uniquingKeysWith: { first, _ in first })
        for resource in resources {
            guard let path = resource["path"] as? String, let name = resource["name"] as? String,
                let declared = (resource["schema"] as? [String: Any])?["foreignKeys"] as? [[String: Any]],
                !declared.isEmpty
            else { continue }
            // Handover declares foreign keys between CSV files only; others are not checked.
            guard path.hasSuffix(".csv") else { continue }
            let types = fieldTypes(resource)
            for entry in declared {
                let reference = entry["reference"] as? [String: Any] ?? [:]
                let targetName = (reference["resource"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? name
                guard let fields = names(entry["fields"]), let targetFields = names(reference["fields"]),
                    !fields.isEmpty, fields.count == targetFields.count
                else {
                    problems.append(
                        .init(
                            kind: .reference, path: path,
                            message: "a foreign key of resource \(name.prefix(64)) is malformed"))
                    continue
                }
                guard let target = byName[targetName], let targetPath = target["path"] as? String,
                    targetPath.hasSuffix(".csv")
                else {
                    problems.append(
                        .init(
                            kind: .reference, path: path,
                            message:
                                "a foreign key of field \(fields.joined(separator: ",").prefix(64)) names resource \(targetName.prefix(64)), which the package does not describe as a CSV file"
                        ))
                    continue
                }
                guard keys.count < Limits.foreignKeys else {
                    problems.append(
                        .init(
                            kind: .reference, path: "datapackage.json",
                            message:
                                "declares more than \(Limits.foreignKeys) foreign keys; verify checks the first \(Limits.foreignKeys)"
                        ))
                    return
                }
                let targetTypes = fieldTypes(target)
                let slot =
                    targets.firstIndex { $0.path == targetPath && $0.fields == targetFields }
                    ?? {
                        targets.append(
                            Target(
                                path: targetPath, resource: targetName, fields: targetFields,
                                types: targetFields.map { targetTypes[$0] ?? .string }))
                        return targets.count - 1
                    }()
                keys.append(
                    Key(path: path, fields: fields, types: fields.map { types[$0] ?? .string }, target: slot))
            }
        }
    }

    /// Whether `types` are compared as plain integers.
    static func integer(_ types: [FieldType]) -> Bool { types.count == 1 && types[0] == .integer }

    /// Reads the key columns of the referenced file at `path`.
    mutating func readTargets(at path: String, from source: inout some ByteSource, held: inout Int) throws {
        let slots = targets.indices.filter { targets[$0].path == path && !targets[$0].read }
        guard !slots.isEmpty else { return }
        let columns = slots.flatMap { targets[$0].fields }
        let types = slots.flatMap { targets[$0].types }
        var limitHit = false
        let read = try CSVColumnReader.read(from: &source, columns: columns, types: types) { values in
            var offset = 0
            for slot in slots {
                let count = targets[slot].fields.count
                defer { offset += count }
                guard !targets[slot].overflow,
                    case .some(.some(let key)) = ReferenceTracker.key(
                        of: Array(values[offset..<offset + count]), integer: Self.integer(targets[slot].types),
                        emptyIsUnsure: false)
                else { continue }
                if targets[slot].keys.insert(key).inserted {
                    held += 1
                    if held > Limits.referenceKeys {
                        held -= targets[slot].keys.count
                        targets[slot].keys = DenseKeySet()
                        targets[slot].overflow = true
                        limitHit = true
                    }
                }
            }
        }
        if read == nil && !schemaFailures.contains(path) {
            problems.append(
                .init(
                    kind: .reference, path: path,
                    message:
                        "lacks a key column a foreign key names, or is not well-formed CSV; its references are not checked"
                ))
        }
        for slot in slots {
            targets[slot].read = read != nil
            if targets[slot].overflow && limitHit {
                problems.append(
                    .init(
                        kind: .reference, path: path,
                        message:
                            "holds more than \(Limits.referenceKeys) keys, more than verify holds; foreign keys to resource \(targets[slot].resource.prefix(64)) are not checked"
                    ))
            }
        }
    }

    /// Checks the foreign keys of the referencing file at `path`.
    mutating func checkKeys(at path: String, from source: inout some ByteSource) throws {
        let numbers = keys.indices.filter {
            keys[$0].path == path && !keys[$0].checked && targets[keys[$0].target].read
                && !targets[keys[$0].target].overflow
        }
        guard !numbers.isEmpty else { return }
        let columns = numbers.flatMap { keys[$0].fields }
        let types = numbers.flatMap { keys[$0].types }
        let read = try CSVColumnReader.read(from: &source, columns: columns, types: types) { values in
            var offset = 0
            for number in numbers {
                let count = keys[number].fields.count
                defer { offset += count }
                let target = targets[keys[number].target]
                switch ReferenceTracker.key(
                    of: Array(values[offset..<offset + count]), integer: Self.integer(target.types),
                    emptyIsUnsure: false)
                {
                case .none: continue
                case .some(.none): keys[number].broken += 1
                case .some(.some(let key)): if !target.keys.contains(key) { keys[number].broken += 1 }
                }
            }
        }
        if read == nil && !schemaFailures.contains(path) {
            problems.append(
                .init(
                    kind: .reference, path: path,
                    message: "lacks a column its foreign keys name, or is not well-formed CSV; they are not checked"))
        }
        for number in numbers {
            keys[number].checked = read != nil
            guard keys[number].broken > 0 else { continue }
            let key = keys[number]
            let target = targets[key.target]
            problems.append(
                .init(
                    kind: .reference, path: path,
                    message:
                        "\(key.broken) row\(key.broken == 1 ? "" : "s") of field \(key.fields.joined(separator: ",").prefix(64)) refer to no row of resource \(target.resource.prefix(64)) (field \(target.fields.joined(separator: ",").prefix(64)))"
                ))
        }
    }
}

extension BundleVerifier.State {
    /// Checks the foreign keys `datapackage.json` declares: a pass over the archives reads the referenced key
    /// columns into sets of 8-byte keys (at most ``Limits/referenceKeys`` in all), a second pass streams the
    /// referencing columns against them. Files already found damaged are left out; nothing is read when no
    /// foreign key is declared. When the first pass could read every key column as it validated the CSV files
    /// (``InlineReferences``), neither pass runs: the same problems come from what it read.
    mutating func checkReferences(_ paths: [String], keys: VerificationKeys) {
        guard let root,
            let descriptor = tagFiles.keys.sorted().compactMap({ tagFiles[$0]?["datapackage.json"] }).first
        else { return }
        if var inline = inlineReferences, let found = inline.resolve(problems: problems) {
            problems += found
            return
        }
        var check = ReferenceCheck(descriptor: descriptor)
        check.schemaFailures = Set(problems.filter { $0.kind == .schema }.compactMap(\.path))
        let damaged = Set(
            problems.filter { [.checksum, .size, .missing].contains($0.kind) }.compactMap(\.path))
        let wantedTargets = Set(check.targets.map(\.path)).subtracting(damaged)
        let wantedKeys = Set(check.keys.map(\.path)).subtracting(damaged)
        if !check.keys.isEmpty {
            var held = 0
            for (pass, wanted) in [wantedTargets, wantedKeys].enumerated() where !wanted.isEmpty {
                for (index, path) in paths.enumerated() {
                    do {
                        var encrypted = false
                        try BundleVerifier.withArchive(path, keys: keys, encrypted: &encrypted) { reader in
                            while let entry = try reader.nextEntry() {
                                guard let name = SafePath.normalise(entry.name), name.hasPrefix(root + "/") else {
                                    continue
                                }
                                let file = String(name.dropFirst(root.count + 1))
                                guard wanted.contains(file), entry.isRegularFile else { continue }
                                var source = reader.entrySource()
                                if pass == 0 {
                                    try check.readTargets(at: file, from: &source, held: &held)
                                } else {
                                    try check.checkKeys(at: file, from: &source)
                                }
                            }
                        }
                    } catch {
                        problem(
                            .archive, nil,
                            "\(BundleVerifier.label(path, paths)) cannot be read to check references (part \(index + 1))"
                        )
                    }
                }
            }
        }
        problems += check.problems
    }
}

/// The foreign keys of `datapackage.json`, with the key columns read while the first pass validates the CSV files:
/// the referenced keys into their sets, the referencing keys counted by value, to be looked up once every file has
/// been read. ``resolve(problems:)`` then gives the problems ``BundleVerifier/State/checkReferences(_:keys:)``'s
/// separate passes would, in the same order; when the first pass could not read what those passes would (a file it
/// did not validate as CSV, one read twice or found damaged, more referencing keys than it holds), it gives nil and
/// the separate passes run.
struct InlineReferences {
    var check: ReferenceCheck
    var held = 0
    /// Set when the separate passes must run.
    var abandoned = false
    /// The files read, in archive order: the targets and keys they hold, the column reader's result, and whether the
    /// key limit was reached while reading them.
    var files: [(path: String, slots: [Int], numbers: [Int], read: Int?, limitHit: Bool)] = []
    var tapped: Set<String> = []
    /// For each key (by number): the key values its rows hold, and how many rows are broken whatever the target.
    /// When a value turns out not to be in the target, ``resolve(problems:)`` leaves the counting of the rows that
    /// hold it to the separate passes.
    var pending: [DenseKeySet]
    var pendingBroken: [Int]
    /// Distinct referencing values noted since ``pendingBytes`` was last checked.
    var pendingSinceCheck = 0
    /// For each target: whether its keys compare as plain integers (``ReferenceCheck/integer(_:)``).
    let integerTargets: [Bool]
    /// The most bytes the referencing key values take (the bitmaps and hash tables of ``pending``); checked every
    /// ``pendingCheckInterval`` distinct values.
    static let pendingLimit = 16 << 20
    static let pendingCheckInterval = 1 << 12

    /// The bytes ``pending`` takes.
    var pendingBytes: Int { pending.reduce(0) { $0 + $1.bytes } }

    init(descriptor: [UInt8]) {
        check = ReferenceCheck(descriptor: descriptor)
        pending = Array(repeating: DenseKeySet(), count: check.keys.count)
        pendingBroken = Array(repeating: 0, count: check.keys.count)
        integerTargets = check.targets.map { ReferenceCheck.integer($0.types) }
    }

    /// What to read of the file at `path`: its targets, its keys, and their columns; nil when it holds none.
    func columns(at path: String) -> (slots: [Int], numbers: [Int], columns: [String], types: [FieldType])? {
        guard !abandoned, !check.keys.isEmpty else { return nil }
        let slots = check.targets.indices.filter { check.targets[$0].path == path }
        let numbers = check.keys.indices.filter { check.keys[$0].path == path }
        guard !slots.isEmpty || !numbers.isEmpty else { return nil }
        return (
            slots, numbers, slots.flatMap { check.targets[$0].fields } + numbers.flatMap { check.keys[$0].fields },
            slots.flatMap { check.targets[$0].types } + numbers.flatMap { check.keys[$0].types }
        )
    }

    /// Takes the values of one record (``columns(at:)``'s columns, in order).
    mutating func note(_ values: [Value], slots: [Int], numbers: [Int], limitHit: inout Bool) {
        // The separate passes will decide: nothing more is held.
        guard !abandoned else { return }
        var offset = 0
        for slot in slots {
            let count = check.targets[slot].fields.count
            defer { offset += count }
            guard !check.targets[slot].overflow,
                case .some(.some(let key)) = Self.key(values, offset, count, integer: integerTargets[slot])
            else { continue }
            // As ReferenceCheck.readTargets does.
            if check.targets[slot].keys.insert(key).inserted {
                held += 1
                if held > Limits.referenceKeys {
                    held -= check.targets[slot].keys.count
                    check.targets[slot].keys = DenseKeySet()
                    check.targets[slot].overflow = true
                    limitHit = true
                }
            }
        }
        for number in numbers {
            let count = check.keys[number].fields.count
            defer { offset += count }
            switch Self.key(values, offset, count, integer: integerTargets[check.keys[number].target]) {
            case .none: continue
            case .some(.none): pendingBroken[number] += 1
            case .some(.some(let key)):
                if pending[number].insert(key).inserted {
                    pendingSinceCheck += 1
                    if pendingSinceCheck >= Self.pendingCheckInterval {
                        pendingSinceCheck = 0
                        if pendingBytes > Self.pendingLimit { abandoned = true }
                    }
                }
            }
        }
    }

    /// `ReferenceTracker.key(of:integer:emptyIsUnsure:)` of `values[offset..<offset + count]`, without copying the
    /// values for a single integer.
    @inline(__always)
    static func key(_ values: [Value], _ offset: Int, _ count: Int, integer: Bool) -> Int64?? {
        if integer, count == 1, case .integer(let value) = values[offset] { return .some(value) }
        return ReferenceTracker.key(of: Array(values[offset..<offset + count]), integer: integer, emptyIsUnsure: false)
    }

    /// Takes note of a file read: what the column reader would have returned, and how many records it skipped.
    mutating func finish(
        _ path: String, slots: [Int], numbers: [Int], read: Int?, shortRecords: Int, limitHit: Bool
    ) {
        // A file read twice, or whose key columns the separate pass could read differently: that pass decides.
        if tapped.contains(path) || (!numbers.isEmpty && (read == nil || shortRecords > 0)) { abandoned = true }
        tapped.insert(path)
        files.append((path, slots, numbers, read, limitHit))
    }

    /// The problems the separate passes would find, given every problem found so far; nil when they must run.
    mutating func resolve(problems: [VerificationReport.Problem]) -> [VerificationReport.Problem]? {
        guard !abandoned else { return nil }
        let damaged = Set(problems.filter { [.checksum, .size, .missing].contains($0.kind) }.compactMap(\.path))
        guard !check.keys.isEmpty else { return check.problems }
        let wanted = Set(check.targets.map(\.path)).union(check.keys.map(\.path))
        // A damaged file is left out by the separate passes; what was read of it here could differ.
        guard wanted.isDisjoint(with: damaged), wanted == tapped else { return nil }
        check.schemaFailures = Set(problems.filter { $0.kind == .schema }.compactMap(\.path))
        // The first separate pass: the targets, file by file.
        for file in files where !file.slots.isEmpty {
            if file.read == nil && !check.schemaFailures.contains(file.path) {
                check.problems.append(
                    .init(
                        kind: .reference, path: file.path,
                        message:
                            "lacks a key column a foreign key names, or is not well-formed CSV; its references are not checked"
                    ))
            }
            for slot in file.slots {
                check.targets[slot].read = file.read != nil
                if check.targets[slot].overflow && file.limitHit {
                    check.problems.append(
                        .init(
                            kind: .reference, path: file.path,
                            message:
                                "holds more than \(Limits.referenceKeys) keys, more than verify holds; foreign keys to resource \(check.targets[slot].resource.prefix(64)) are not checked"
                        ))
                }
            }
        }
        // The second: the keys, file by file, as ReferenceCheck.checkKeys counts them.
        for file in files where !file.numbers.isEmpty {
            let numbers = file.numbers.filter {
                !check.keys[$0].checked && check.targets[check.keys[$0].target].read
                    && !check.targets[check.keys[$0].target].overflow
            }
            guard !numbers.isEmpty else { continue }
            for number in numbers {
                let target = check.targets[check.keys[number].target]
                // Rows that refer to no row of the target: the separate passes count them.
                guard pending[number].allSatisfy({ target.keys.contains($0) }) else { return nil }
                let broken = pendingBroken[number]
                check.keys[number].broken = broken
                check.keys[number].checked = true
                guard broken > 0 else { continue }
                let key = check.keys[number]
                check.problems.append(
                    .init(
                        kind: .reference, path: file.path,
                        message:
                            "\(key.broken) row\(key.broken == 1 ? "" : "s") of field \(key.fields.joined(separator: ",").prefix(64)) refer to no row of resource \(target.resource.prefix(64)) (field \(target.fields.joined(separator: ",").prefix(64)))"
                    ))
            }
        }
        return check.problems
    }
}
