import Foundation
import HandoverCore
import HandoverFormats
import Testing

@testable import HandoverBundle

/// Validation of a file while it is written: the real validators, fed the writer's blocks from another thread.
@Suite struct StreamValidationTests {
    static let table = TableSchema(
        name: "people",
        fields: [
            Field("id", .integer, required: true), Field("name", .string, required: true),
            Field("born", .date), Field("score", .number),
        ],
        primaryKey: ["id"])

    /// `rows` rows of the table in `format`, as the writer writes them.
    static func document(_ format: TableFormat, rows: Int) throws -> [UInt8] {
        var writer = try format.makeWriter(for: table, into: MemorySink())
        for id in 0..<rows {
            try writer.write(
                Row([.integer(Int64(id)), .string("name \(id), \"quoted\"\n<&>"), .date("2001-02-03"), .number(0.5)]))
        }
        try writer.finish()
        return writer.sink.bytes
    }

    static func validation(_ format: TableFormat) -> StreamValidation {
        let kind = SchemaKind(describing: format)
        return StreamValidation(kind: kind, schema: SchemaGenerator.schema(kind, for: table), path: "data/x/people")
    }

    /// Pushes `bytes` in blocks of `block` bytes, then ends the file.
    static func push(_ bytes: [UInt8], in block: Int, to validation: StreamValidation) throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + block)
            try bytes[offset..<end].withUnsafeBytes { try validation.push($0) }
            offset = end
        }
        validation.end()
    }

    @Test(arguments: TableFormat.allCases)
    func aValidFileStreamedInBlocksOfAnySizeIsCountedWithoutProblems(format: TableFormat) throws {
        let bytes = try Self.document(format, rows: 2_000)
        // Far more blocks than the queue holds, so the writer waits for the validator; and single bytes.
        for block in [1, 7, 4096, 65_536] where block > 1 || format == .csv {
            let validation = Self.validation(format)
            try Self.push(block == 1 ? Array(bytes.prefix(20_000)) : bytes, in: block, to: validation)
            let verdict = try validation.outcome()
            if block == 1 {
                // Cut inside a record: the validator reads every byte it was given and no more.
                #expect(verdict.records < 2_000)
            } else {
                #expect(verdict.problems.isEmpty)
                #expect(verdict.records == 2_000)
            }
        }
    }

    @Test(arguments: TableFormat.allCases)
    func aValueThatBreaksTheSchemaIsFoundInTheStream(format: TableFormat) throws {
        var bytes = try Self.document(format, rows: 500)
        // Row 377, far into the file.
        let needle: [UInt8] =
            switch format {
            case .csv: Array("\r\n377,".utf8)
            case .json: Array("\"id\":377,".utf8)
            case .xml: Array("<id>377</id>".utf8)
            }
        guard let range = bytes.firstRange(of: needle) else {
            Issue.record("the \(format) file does not hold row 377 as expected")
            return
        }
        // 377 becomes 3.5: well-formed in every format, and not an integer.
        let digit = range.lowerBound + needle.firstIndex(of: UInt8(ascii: "3"))!
        bytes[digit + 1] = UInt8(ascii: ".")
        bytes[digit + 2] = UInt8(ascii: "5")
        let validation = Self.validation(format)
        try Self.push(bytes, in: 65_536, to: validation)
        let verdict = try validation.outcome()
        #expect(!verdict.problems.isEmpty)
        #expect(verdict.problems.allSatisfy { !$0.contains("3.5") }, "no value in a message")
    }

    @Test func aDocumentTheValidatorCannotParseFailsAndTheWriterIsNeverBlocked() throws {
        let validation = Self.validation(.json)
        let garbage = [UInt8](repeating: UInt8(ascii: "}"), count: 4096)
        // The validator gives up at the first block; the writer goes on writing far more than the queue holds.
        for _ in 0..<(StreamValidation.capacity * 8) { try garbage.withUnsafeBytes { try validation.push($0) } }
        validation.end()
        #expect(throws: HandoverError.self) { try validation.outcome() }
    }

    @Test func abortingStopsAValidatorThatWaitsForBytes() throws {
        let validation = Self.validation(.xml)
        let bytes = try Self.document(.xml, rows: 10)
        try bytes.prefix(100).withUnsafeBytes { try validation.push($0) }
        // Not ended: the validator waits for the rest; abort must wake it and return.
        validation.abort()
        let error = #expect(throws: HandoverError.self) { try validation.outcome() }
        #expect(error?.code == .cancelled)
        let late = #expect(throws: HandoverError.self) { try bytes.withUnsafeBytes { try validation.push($0) } }
        #expect(late?.code == .cancelled)
    }

    @Test func anUnusableSchemaIsReportedAsSuch() throws {
        let validation = StreamValidation(kind: .jsonSchema, schema: Array("{".utf8), path: "data/x/people.json")
        validation.end()
        let error = #expect(throws: HandoverError.self) { try validation.outcome() }
        #expect(error?.code == .invalidSchema || error?.code == .invalidData)
    }

    /// The worker compiles a validator's schema before its file ends, when it has nothing else to do; the file is then
    /// checked by that validator, with the same verdict as one compiled when the file ends. An unusable schema
    /// compiled ahead is reported as when it is compiled late.
    @Test(arguments: TableFormat.allCases)
    func schemasCompiledAheadGiveTheVerdictOfSchemasCompiledLate(format: TableFormat) throws {
        let bytes = try Self.document(format, rows: 50)
        let ahead = Self.validation(format)
        let deadline = Date().addingTimeInterval(30)
        while !ahead.isCompiledAhead && Date() < deadline { usleep(1_000) }
        #expect(ahead.isCompiledAhead, "the idle worker compiles the schema before the file is written")
        try Self.push(bytes, in: 4096, to: ahead)
        let verdict = try ahead.outcome()
        #expect(!ahead.isCompiledAhead, "the validation took the validator compiled ahead")
        let kind = SchemaKind(describing: format)
        let late = StreamValidation(
            kind: kind, schema: SchemaGenerator.schema(kind, for: Self.table), path: "data/x/people",
            compilingAhead: false)
        try Self.push(bytes, in: 4096, to: late)
        let expected = try late.outcome()
        #expect(verdict.records == 50 && verdict.problems.isEmpty)
        #expect(verdict.records == expected.records && verdict.problems == expected.problems)

        let unusable = StreamValidation(kind: kind, schema: Array("{".utf8), path: "data/x/people")
        while !unusable.isCompiledAhead && Date() < deadline { usleep(1_000) }
        #expect(unusable.isCompiledAhead)
        unusable.end()
        let error = #expect(throws: HandoverError.self) { try unusable.outcome() }
        #expect(error?.code == .invalidSchema || error?.code == .invalidData)
    }

    /// A file smaller than the queue is validated without a thread of its own, by the same validator over the same
    /// bytes: its verdict is the one a file streamed to its own thread gets, valid or not.
    @Test(arguments: TableFormat.allCases)
    func smallFilesGetTheVerdictOfStreamedFilesWithoutAThreadOfTheirOwn(format: TableFormat) throws {
        let valid = try Self.document(format, rows: 300)
        var broken = valid
        let needle: [UInt8] =
            switch format {
            case .csv: Array("\r\n277,".utf8)
            case .json: Array("\"id\":277,".utf8)
            case .xml: Array("<id>277</id>".utf8)
            }
        let range = try #require(broken.firstRange(of: needle))
        // 277 becomes 2.5: well-formed, and not an integer.
        let digit = range.lowerBound + needle.firstIndex(of: UInt8(ascii: "2"))!
        broken[digit + 1] = UInt8(ascii: ".")
        broken[digit + 2] = UInt8(ascii: "5")
        for bytes in [valid, broken] {
            let small = Self.validation(format)
            try Self.push(bytes, in: 65_536, to: small)
            let streamed = Self.validation(format)
            // Blocks of 64 bytes: far more than the queue holds, so the file gets its own thread before it ends.
            try Self.push(bytes, in: 64, to: streamed)
            let expected = try streamed.outcome()
            let verdict = try small.outcome()
            #expect(!small.hasOwnThread)
            #expect(streamed.hasOwnThread)
            #expect(verdict.records == expected.records)
            #expect(verdict.problems == expected.problems)
            #expect(verdict.problems.isEmpty == (bytes == valid))
        }
    }

    /// Many small files ended at once, their verdicts asked for from several threads while the worker also takes
    /// them: each gets its own verdict, and none waits for a thread of its own.
    @Test func manySmallFilesAreEachValidatedOnceByTheWorkerOrTheirCaller() async throws {
        let good = try Self.document(.json, rows: 20)
        let short = try Self.document(.json, rows: 7)
        let validations = try (0..<200).map { index in
            let validation = Self.validation(.json)
            try Self.push(index % 3 == 0 ? short : good, in: 65_536, to: validation)
            return validation
        }
        let records = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for (index, validation) in validations.enumerated() {
                group.addTask { (index, try validation.outcome().records) }
            }
            var records: [Int: Int] = [:]
            for try await (index, count) in group { records[index] = count }
            return records
        }
        #expect(records.count == 200)
        #expect((0..<200).allSatisfy { records[$0] == ($0 % 3 == 0 ? 7 : 20) })
        #expect(validations.allSatisfy { !$0.hasOwnThread })
    }

    @Test func abortingAnEndedFileNobodyValidatedYetCancelsIt() throws {
        let validation = Self.validation(.csv)
        let bytes = try Self.document(.csv, rows: 5)
        try bytes.withUnsafeBytes { try validation.push($0) }
        validation.abort()
        validation.end()
        let error = #expect(throws: HandoverError.self) { try validation.outcome() }
        #expect(error?.code == .cancelled)
    }
}
