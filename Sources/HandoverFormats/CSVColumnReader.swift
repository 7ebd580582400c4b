public import HandoverCore

/// Reads some columns of a CSV file, typed, one record at a time, as a stream.
///
/// Used to check references between the CSV files of a bundle: only the named columns are kept, and only
/// for the record being read.
public enum CSVColumnReader {
    /// Calls `body` with the values of the columns named `columns` (of types `types`) of each data record.
    ///
    /// A value that does not cast to its type is passed as null (the file's schema check reports it); a
    /// record with fewer fields than the header is skipped.
    /// - Returns: The number of data records read; nil when the header lacks one of the columns or the file
    ///   is not well-formed CSV.
    /// - Throws: What `source` or `body` throws.
    public static func read<Source: ByteSource>(
        from source: inout Source, columns: [String], types: [FieldType], _ body: ([Value]) throws -> Void
    ) throws -> Int? {
        let input = PulledSource(source)
        defer { if let typed = input.source as? Source { source = typed } }
        var reader = CSVRecordReader()
        var record = CSVRecord()
        var positions: [Int] = []
        var records = 0
        var first = true
        var values: [Value] = []
        values.reserveCapacity(columns.count)
        while try reader.next(from: input, into: &record) {
            if first {
                first = false
                let names = record.fields.map { String(decoding: $0.bytes, as: UTF8.self) }
                for column in columns {
                    guard let position = names.firstIndex(of: column) else { return nil }
                    positions.append(position)
                }
                continue
            }
            records += 1
            guard positions.allSatisfy({ $0 < record.count }) else { continue }
            values.removeAll(keepingCapacity: true)
            record.withCells { bytes, ends, quoted in
                for (number, position) in positions.enumerated() {
                    let start = position == 0 ? 0 : ends[position - 1]
                    let cell = UnsafeBufferPointer(rebasing: bytes[start..<ends[position]])
                    values.append(CSVCell.value(cell, quoted: quoted[position], to: types[number]) ?? .null)
                }
            }
            try body(values)
        }
        return reader.problem == nil && !first ? records : nil
    }
}
