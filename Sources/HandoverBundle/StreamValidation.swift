internal import Foundation
internal import HandoverCore
internal import HandoverFormats

/// Validates one file while it is being written: every block the writer hands to the file is handed, in the same
/// order, to a ``PayloadValidator``, so that checking a file costs no second pass over it and runs on another core
/// than the writer.
///
/// The writer side calls ``push(_:)`` for each block (the bytes that are hashed and stored, exactly), ``end()`` when
/// the file is complete, and ``outcome()`` to wait for the verdict; ``abort()`` stops the validator when the export
/// fails. At most ``capacity`` blocks wait for the validator: a file that grows beyond them gets a thread of its own
/// that reads them as they come, and a writer faster than that thread waits, so memory does not grow with the file.
/// A file that ends before (most files of a subject's export) is checked by the process's ``ValidationWorker``, or
/// by the thread that asks for its verdict if the worker has not started on it yet: the same validator reads the same
/// blocks, without a thread started for each small file. The validator compiles its schema from the schema file's
/// bytes on the thread that validates, so nothing of it is shared between threads.
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
    /// Some thread (the file's own, the worker or a waiting caller) has taken on the validation.
    private var claimed = false
    /// The validator's verdict, once it has one.
    private var result: Result<Verdict, HandoverError>?

    private let kind: SchemaKind
    private let schema: [UInt8]
    private let path: String
    private let maxErrors: Int

    /// Prepares to validate against the schema file `schema` of `kind`; `path` names the file in messages.
    init(kind: SchemaKind, schema: [UInt8], path: String, maxErrors: Int = 3) {
        self.kind = kind
        self.schema = schema
        self.path = path
        self.maxErrors = maxErrors
    }

    /// Compiles the schema and validates the file's blocks as ``next()`` hands them out, on the calling thread, and
    /// records the verdict. Called once, by whoever claimed the validation.
    private func validate() {
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

    /// Claims the validation if nobody has (the caller holds `condition`); true when the caller must run it.
    private func claim() -> Bool {
        guard !claimed else { return false }
        claimed = true
        return true
    }

    /// Whether the file got a thread of its own (it outgrew ``capacity`` before it ended); for tests.
    private(set) var hasOwnThread = false

    /// Starts a thread of the file's own for a file too large to wait for its end (the caller holds `condition`).
    private func startThread() {
        hasOwnThread = true
        let thread = Thread { [self] in validate() }
        thread.name = "handover-validate"
        thread.start()
    }

    /// Runs the validation if nobody has taken it on yet: the ``ValidationWorker``'s side.
    fileprivate func runIfUnclaimed() {
        condition.lock()
        let mine = claim()
        condition.unlock()
        if mine { validate() }
    }

    /// Hands the next bytes of the file to the validator, waiting while ``capacity`` blocks are queued.
    /// - Throws: ``HandoverError/Code/cancelled`` after ``abort()``.
    func push(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        let block = [UInt8](bytes)
        condition.lock()
        defer { condition.unlock() }
        // A file that outgrows the queue before anyone validates it gets a thread that reads it as it is written.
        if !aborted && blocks.count - head >= Self.capacity && claim() { startThread() }
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

    /// Says that the file is complete; a file that no thread reads yet is handed to the ``ValidationWorker``.
    func end() {
        condition.lock()
        ended = true
        condition.broadcast()
        let waiting = !claimed && !aborted
        condition.unlock()
        if waiting { ValidationWorker.shared.submit(self) }
    }

    /// Waits for the validator's verdict.
    /// - Throws: What the validator threw: ``HandoverError/Code/invalidData`` for a file it cannot parse,
    ///   ``HandoverError/Code/invalidSchema`` for an unusable schema, ``HandoverError/Code/cancelled`` after
    ///   ``abort()``.
    func outcome() throws -> Verdict {
        condition.lock()
        // Nobody has started on the file yet: validate it here rather than wait for the worker.
        if ended && claim() {
            condition.unlock()
            validate()
            condition.lock()
        }
        while result == nil { condition.wait() }
        let result = self.result!
        condition.unlock()
        return try result.get()
    }

    /// Stops the validator (the export failed) and waits until its thread lets go of this object.
    func abort() {
        condition.lock()
        aborted = true
        // A validation nobody has started never will.
        if claim() { result = .failure(HandoverError(.cancelled, "the export was stopped")) }
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

/// The thread that validates the small files of every export in turn, started at its first file.
///
/// A file waiting for it is validated by whoever comes first: the worker, or the thread that asks for the file's
/// verdict (``StreamValidation/outcome()``), so a busy worker never delays an export.
final class ValidationWorker: @unchecked Sendable {
    /// The process's worker.
    static let shared = ValidationWorker()

    private let condition = NSCondition()
    /// Files waiting, oldest first (guarded by `condition`).
    private var waiting: [StreamValidation] = []
    private var started = false

    /// Queues `validation`, whose file is complete.
    func submit(_ validation: StreamValidation) {
        condition.lock()
        waiting.append(validation)
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.name = "handover-validate"
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while waiting.isEmpty { condition.wait() }
            let next = waiting.removeFirst()
            condition.unlock()
            next.runIfUnclaimed()
        }
    }
}
