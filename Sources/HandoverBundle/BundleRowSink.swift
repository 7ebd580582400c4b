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
        init(schema: TableSchema, checker: RowChecker, writers: [any TableWriter<FileSink>], total: Int?) {
            self.schema = schema
            self.checker = checker
            self.writers = writers
            self.total = total
        }

        let schema: TableSchema
        let checker: RowChecker
        var writers: [any TableWriter<FileSink>]
        var records = 0
        /// The first rows, as text, for `data/index.html`.
        var sample: [[String?]] = []
        /// The rows expected, when the exporter could tell.
        var total: Int?
    }

    var tables: [Table?] = []
    /// The files rows name, carried into the bundle; nil when the exporter's rows name none yet.
    var contents: ContentFiles?
    /// Checks which references hold among the rows written.
    var references = ReferenceTracker(tables: [], included: [])

    mutating func write(_ row: Row, table index: Int) async throws {
        guard index >= 0, index < tables.count, tables[index] != nil else {
            throw HandoverError(
                .exporterFailed, "a row for table number \(index), which is not part of this export")
        }
        let table = tables[index]!
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
