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
/// blocks, without a thread started for each small file. The validator's schema is compiled from the schema file's
/// bytes ahead of time, by the worker when it has no complete file to check (a subject's export then waits for no
/// compile: the worker compiles the next tables' schemas while the first are written), else by the thread that
/// validates. A compiled validator is handed over under this object's lock and used by one thread at a time.
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
    /// The validator compiled ahead by the ``ValidationWorker`` (or why it could not be), until a validation takes it.
    private var compiled: Result<PayloadValidator, any Error>?
    /// The worker is compiling the validator now.
    private var compiling = false

    private let kind: SchemaKind
    private let schema: [UInt8]
    private let path: String
    private let maxErrors: Int

    /// Prepares to validate against the schema file `schema` of `kind`; `path` names the file in messages.
    /// The ``ValidationWorker`` compiles the schema ahead, when it is idle; with `compilingAhead` false, the thread that
    /// validates does.
    init(kind: SchemaKind, schema: [UInt8], path: String, maxErrors: Int = 3, compilingAhead: Bool = true) {
        self.kind = kind
        self.schema = schema
        self.path = path
        self.maxErrors = maxErrors
        if compilingAhead { ValidationWorker.shared.compile(self) }
    }

    deinit {
        // A validator compiled ahead and never used (the export stopped) no longer counts as waiting.
        if compiled != nil { ValidationWorker.shared.taken() }
    }

    /// Compiles the validator ahead of the file's end, unless the validation has started or stopped: the
    /// ``ValidationWorker``'s side.
    fileprivate func compileIfUnclaimed() {
        condition.lock()
        guard !claimed, !aborted, compiled == nil else {
            condition.unlock()
            return
        }
        compiling = true
        condition.unlock()
        let validator = Result { try PayloadValidator(kind: kind, schema: schema) }
        ValidationWorker.shared.compiledAhead()
        condition.lock()
        compiled = validator
        compiling = false
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the validator was compiled ahead and is waiting to be used; for tests.
    var isCompiledAhead: Bool { condition.withLock { compiled != nil } }

    /// The validator: the one compiled ahead (waiting for the worker if it is compiling it now), else compiled here.
    private func validator() throws -> PayloadValidator {
        condition.lock()
        while compiling { condition.wait() }
        let ready = compiled
        compiled = nil
        condition.unlock()
        if let ready {
            ValidationWorker.shared.taken()
            return try ready.get()
        }
        return try PayloadValidator(kind: kind, schema: schema)
    }

    /// Validates the file's blocks as ``next()`` hands them out, on the calling thread, and records the verdict.
    /// Called once, by whoever claimed the validation.
    private func validate() {
        let verdict: Result<Verdict, HandoverError>
        do {
            let validator = try validator()
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
        if compiled != nil {
            compiled = nil
            ValidationWorker.shared.taken()
        }
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

/// The thread that validates the small files of every export in turn, started at its first file, and that compiles
/// the schemas of files still being written while no complete file waits.
///
/// A file waiting for it is validated by whoever comes first: the worker, or the thread that asks for the file's
/// verdict (``StreamValidation/outcome()``), so a busy worker never delays an export.
final class ValidationWorker: @unchecked Sendable {
    /// The process's worker.
    static let shared = ValidationWorker()

    private let condition = NSCondition()
    /// Files waiting, oldest first (guarded by `condition`).
    private var waiting: [StreamValidation] = []
    /// Validations whose schemas to compile ahead, oldest first, after every waiting file (guarded by `condition`).
    private var compiling: [StreamValidation] = []
    /// Validators compiled ahead and not yet used (guarded by `condition`): at ``lookAhead``, the worker compiles no
    /// more until one is used, so that an export of many tables does not hold every table's compiled schemas at once.
    private var ahead = 0
    /// The most validators compiled ahead and waiting: three tables' in three formats.
    static let lookAhead = 9
    private var started = false

    /// Queues `validation`, whose file is complete.
    func submit(_ validation: StreamValidation) {
        enqueue { $0.waiting.append(validation) }
    }

    /// Queues the compiling of `validation`'s schema, done when no complete file waits.
    func compile(_ validation: StreamValidation) {
        enqueue { $0.compiling.append(validation) }
    }

    /// Counts a validator compiled ahead, until ``taken()``.
    fileprivate func compiledAhead() {
        condition.withLock { ahead += 1 }
    }

    /// Says a validator compiled ahead was used or dropped.
    fileprivate func taken() {
        condition.lock()
        ahead -= 1
        condition.signal()
        condition.unlock()
    }

    private func enqueue(_ add: (ValidationWorker) -> Void) {
        condition.lock()
        add(self)
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
            while waiting.isEmpty && (compiling.isEmpty || ahead >= Self.lookAhead) { condition.wait() }
            if !waiting.isEmpty {
                let next = waiting.removeFirst()
                condition.unlock()
                next.runIfUnclaimed()
            } else {
                let next = compiling.removeFirst()
                condition.unlock()
                next.compileIfUnclaimed()
            }
        }
    }
}
