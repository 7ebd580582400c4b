internal import Foundation
internal import HandoverCore
internal import HandoverFormats

/// Validates one file while it is being written: every block the writer hands to the file is handed, in the same
/// order, to a ``PayloadValidator`` running on a thread of its own, so that checking a file costs no second pass
/// over it and runs on another core than the writer.
///
/// The writer side calls ``push(_:)`` for each block (the bytes that are hashed and stored, exactly), ``end()`` when
/// the file is complete, and ``outcome()`` to wait for the verdict; ``abort()`` stops the validator when the export
/// fails. At most ``capacity`` blocks wait between the two sides: a writer faster than its validator waits, so
/// memory does not grow with the file. The validator compiles its schema on its own thread from the schema file's
/// bytes, so nothing of it is shared between threads.
final class StreamValidation: @unchecked Sendable {
    /// What the validator found: the records it counted and its problems (without data values).
    typealias Verdict = (records: Int, problems: [String])

    /// Blocks that may wait for the validator (64 KiB each from the writers): 512 KiB per file. With 16, a 10M-row
    /// tenant in every format (up to six files checked at once) peaked 1-3 MiB higher, and ran no faster.
    static let capacity = 8

    private let condition = NSCondition()
    /// Blocks written and not yet read (guarded by `condition`).
    private var blocks: [[UInt8]] = []
    private var head = 0
    /// The writer has written the last block.
    private var ended = false
    /// The export stopped; the validator gives up at its next read.
    private var aborted = false
    /// The validator's verdict, once it has one.
    private var result: Result<Verdict, HandoverError>?

    /// Starts validating against the schema file `schema` of `kind`; `path` names the file in messages.
    init(kind: SchemaKind, schema: [UInt8], path: String, maxErrors: Int = 3) {
        let thread = Thread { [self] in
            let verdict: Result<Verdict, HandoverError>
            do {
                let validator = try PayloadValidator(kind: kind, schema: schema)
                var source = Source(channel: self)
                verdict = .success(try validator.validate(from: &source, maxErrors: maxErrors))
            } catch let error as HandoverError {
                verdict = .failure(error)
            } catch {
                verdict = .failure(HandoverError(.formatFailed, "\(path) could not be checked against its schema"))
            }
            condition.lock()
            result = verdict
            // Whatever the writer still sends is not read: drop it, and wake a writer waiting for room.
            blocks = []
            head = 0
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "handover-validate"
        thread.start()
    }

    /// Hands the next bytes of the file to the validator, waiting while ``capacity`` blocks are queued.
    /// - Throws: ``HandoverError/Code/cancelled`` after ``abort()``.
    func push(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        let block = [UInt8](bytes)
        condition.lock()
        defer { condition.unlock() }
        while result == nil && !aborted && blocks.count - head >= Self.capacity { condition.wait() }
        if aborted { throw HandoverError(.cancelled, "the export was stopped") }
        // A validator that has its verdict already (it stopped reading) needs no more bytes.
        guard result == nil else { return }
        if head > 0 && head == blocks.count {
            blocks.removeAll(keepingCapacity: true)
            head = 0
        }
        blocks.append(block)
        condition.broadcast()
    }

    /// Says that the file is complete.
    func end() {
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the validator's verdict.
    /// - Throws: What the validator threw: ``HandoverError/Code/invalidData`` for a file it cannot parse,
    ///   ``HandoverError/Code/invalidSchema`` for an unusable schema, ``HandoverError/Code/cancelled`` after
    ///   ``abort()``.
    func outcome() throws -> Verdict {
        condition.lock()
        while result == nil { condition.wait() }
        let result = self.result!
        condition.unlock()
        return try result.get()
    }

    /// Stops the validator (the export failed) and waits until its thread lets go of this object.
    func abort() {
        condition.lock()
        aborted = true
        condition.broadcast()
        while result == nil { condition.wait() }
        condition.unlock()
    }

    /// The validator's next block; nil at the end of the file.
    /// - Throws: ``HandoverError/Code/cancelled`` after ``abort()``.
    private func next() throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while head == blocks.count && !ended && !aborted { condition.wait() }
        if aborted { throw HandoverError(.cancelled, "the export was stopped") }
        guard head < blocks.count else { return nil }
        let block = blocks[head]
        blocks[head] = []
        head += 1
        condition.broadcast()
        return block
    }

    /// The file's bytes as the validator reads them.
    private struct Source: ByteSource {
        let channel: StreamValidation
        var block: [UInt8] = []
        var offset = 0

        init(channel: StreamValidation) {
            self.channel = channel
        }

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if offset == block.count {
                guard let next = try channel.next() else { return 0 }
                block = next
                offset = 0
            }
            let count = min(buffer.count, block.count - offset)
            block.withUnsafeBytes { bytes in
                buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            }
            offset += count
            return count
        }
    }
}
