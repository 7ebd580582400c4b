internal import HandoverCore
internal import HandoverFormats

/// Receives one exporter's rows and hands each to the writers of its table.
struct BundleRowSink: RowSink {
    /// Reports the final row count of the table last written to.
    func reportFinal() {
        guard let progress, current >= 0, let table = tables[current] else { return }
        progress(
            ExportProgress(
                phase: .exporting, exporter: exporterID, item: table.schema.name, rows: table.records,
                total: table.total))
    }

    let exporterID: String
    let progress: ExportProgressObserver?
    /// The table last written to, so that a change of table is reported at once.
    var current = -1

    /// One table's writers and counts; a class, so that each row's writes mutate the writers in place.
    final class Table {
        init(
            schema: TableSchema, checker: RowChecker, writers: [any TableWriter<FileSink>], paths: [String],
            total: Int?
        ) {
            self.schema = schema
            self.checker = checker
            self.writers = writers
            self.paths = paths
            self.total = total
        }

        let schema: TableSchema
        let checker: RowChecker
        var writers: [any TableWriter<FileSink>]
        /// Each writer's file, as the bundle names it (`data/<exporter>/<table>.<ext>`), for messages.
        let paths: [String]
        var records = 0
        /// The first rows, as text, for `data/index.html`.
        var sample: [[String?]] = []
        /// The rows expected, when the exporter could tell.
        var total: Int?
        /// Once every row is written: each file's size and SHA-256, in writer order.
        private(set) var written: [(bytes: Int64, sha256: String)]?
        /// Whether every file's validator has given its verdict and it was checked.
        private(set) var settled = false

        /// Ends every file (the validators then read to its end); once.
        /// - Throws: What the writers and files throw.
        func complete() throws {
            guard written == nil else { return }
            var files: [(bytes: Int64, sha256: String)] = []
            for position in writers.indices {
                try writers[position].finish()
                let file = writers[position].sink
                files.append((file.bytes, try file.close()))
            }
            written = files
        }

        /// Waits for the validators of the completed files and checks their verdicts; once.
        /// - Throws: ``HandoverError/Code/formatFailed`` when a file breaks its own schema or holds another number
        ///   of records than were written; what a validator threw.
        func settle() throws {
            guard !settled else { return }
            try complete()
            for (position, path) in paths.enumerated() {
                guard let validation = writers[position].sink.validation else { continue }
                let verdict = try validation.outcome()
                guard verdict.problems.isEmpty else {
                    throw HandoverError(
                        .formatFailed, "\(path) breaks its own schema: " + verdict.problems.joined(separator: "; "))
                }
                guard verdict.records == records else {
                    throw HandoverError(
                        .formatFailed, "\(path) holds \(verdict.records) records where \(records) were written")
                }
            }
            settled = true
        }

        /// Stops the validators still running; the export failed.
        func abort() {
            for writer in writers { writer.sink.validation?.abort() }
        }
    }

    var tables: [Table?] = []
    /// The files rows name, carried into the bundle; nil when the exporter's rows name none yet.
    var contents: ContentFiles?
    /// Checks which references hold among the rows written.
    var references = ReferenceTracker(tables: [], included: [])
    /// Tables completed whose validators may still run; waited for when the next table is finished, so that one
    /// table's files are checked while the next is written, and no more threads than that run.
    var unsettled: [Int] = []

    /// Says every row of table `index` is written: its files are completed (their validators read on), and the
    /// validators of the table finished before it are waited for.
    mutating func finish(table index: Int) async throws {
        guard index >= 0, index < tables.count, let table = tables[index] else {
            throw HandoverError(
                .exporterFailed, "table number \(index) was finished, but it is not part of this export")
        }
        try table.complete()
        for earlier in unsettled where earlier != index { try tables[earlier]?.settle() }
        unsettled = [index]
    }

    /// Completes every table and waits for every validator's verdict.
    /// - Throws: What ``Table/settle()`` throws.
    func settleAll() throws {
        for table in tables { try table?.complete() }
        for table in tables { try table?.settle() }
    }

    /// Stops every validator still running (the export failed).
    func abortAll() {
        for table in tables { table?.abort() }
    }

    mutating func write(_ row: Row, table index: Int) async throws {
        let table = try open(index)
        try put(row, into: table, index: index)
    }

    mutating func write(rows: [Row], table index: Int) async throws {
        let table = try open(index)
        for row in rows { try put(row, into: table, index: index) }
    }

    /// The table at `index`, which takes rows.
    /// - Throws: ``HandoverError/Code/exporterFailed`` when the table is not part of this export, or finished.
    private func open(_ index: Int) throws -> Table {
        guard index >= 0, index < tables.count, let table = tables[index] else {
            throw HandoverError(
                .exporterFailed, "a row for table number \(index), which is not part of this export")
        }
        guard table.written == nil else {
            throw HandoverError(
                .exporterFailed, "a row for table \(table.schema.name) after the exporter finished it")
        }
        return table
    }

    /// Checks one row and hands it to the table's writers; synchronous, so that a batch of rows costs one
    /// suspension point.
    private mutating func put(_ row: Row, into table: Table, index: Int) throws {
        if table.records & 1023 == 1023 { try BundleBuilder.checkCancellation() }
        try table.checker.check(row)
        for position in table.writers.indices {
            try table.writers[position].write(row)
        }
        table.records += 1
        references.note(row, table: index)
        if let progress, index != current || table.records & 4095 == 0 {
            if index != current { reportFinal() }
            current = index
            progress(
                ExportProgress(
                    phase: .exporting, exporter: exporterID, item: table.schema.name, rows: table.records,
                    total: table.total))
        }
        if table.sample.count < IndexPage.rowLimit {
            table.sample.append(row.values.map(IndexPage.text))
        }
    }

    mutating func attach(_ file: ExportFile, table index: Int) async throws {
        guard index >= 0, index < tables.count, let table = tables[index], let contents else {
            throw HandoverError(
                .exporterFailed, "a file for table number \(index), which is not part of this export")
        }
        try contents.carry(file, table: table.schema.name)
    }
}
