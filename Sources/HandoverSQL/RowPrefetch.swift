internal import Foundation
package import HandoverCore

/// Reads a large SQLite query's rows on a thread of its own, a few batches ahead of the code that writes them, so
/// that stepping SQLite runs on one core while the rows are made into values, checked, encoded, hashed and validated
/// on the other. The reading thread only copies each row's cells out of SQLite (``RawRows``); the caller's thread
/// turns a batch into rows (`decode`) just before handing them on, so the work of a table is shared between the two.
///
/// The first `batchSize` rows are read on the caller's thread: a query with fewer rows (every table of a typical
/// subject export) never starts a thread. Rows reach `body` in batches, in the order SQLite returns them, and an
/// error the reader or `decode` meets reaches the caller after the rows before it, as when reading on one thread. At
/// most `depth` batches wait, and at most two that the caller is done with wait to be emptied and filled again, so
/// memory does not grow with the table. When `body` throws, the reading thread is stopped and joined before the error
/// is passed on: the statement is never stepped after ``stream(_:batchSize:depth:decode:into:)`` returns.
///
/// The connection runs in SQLite's multi-thread mode: it may be used by one thread at a time, and while the thread
/// reads, nothing else touches it (the caller only handles the copied cells and rows).
package final class RowPrefetch<Producer: BatchProducing>: @unchecked Sendable {
    /// Rows read at a time.
    let batchSize: Int
    /// Batches that may wait for the consumer.
    let depth: Int

    private let condition = NSCondition()
    /// Read and not yet taken (guarded by `condition`).
    private var batches: [Producer.Batch] = []
    /// Batches the consumer is done with, for the reading thread to empty and fill again, keeping their memory
    /// (guarded by `condition`).
    private var used: [Producer.Batch] = []
    /// How reading ended, once it has: nil for the end of the rows, or the reader's error.
    private var failure: (any Error)?
    /// The reading thread has let go of the reader and of this object.
    private var exited = false
    /// The consumer stopped; the reading thread stops at its next batch.
    private var stopped = false
    /// The consumer waits for a batch, or the reading thread for room (guarded by `condition`): a side is woken only
    /// when it waits, as a wake-up costs more than the lock.
    private var consumerWaits = false
    private var readerWaits = false

    /// Streams the rows of `reader` through `body`, a batch at a time, reading ahead on a thread once there are more
    /// than a batch.
    /// - Parameters:
    ///   - reader: Where the rows come from; the reading thread owns it while it reads.
    ///   - batchSize: Rows read at a time, at most (1024: about 300 KiB of a typical table's rows; a reader may stop a
    ///     batch sooner, when its rows are large).
    ///   - depth: Batches that may wait for `body`.
    ///   - decode: Appends the rows of a batch, as read, to the array given, on the caller's thread; when it throws,
    ///     the rows it appended before reach `body` first.
    ///   - body: Called with each batch of rows (never empty), in order, on the caller's thread.
    /// - Throws: What the reader, `decode` or `body` throws.
    package static func stream(
        _ reader: consuming Producer, batchSize: Int = 1024, depth: Int = 4,
        decode: (Producer.Batch, inout [Row]) throws -> Void, into body: ([Row]) async throws -> Void
    ) async throws {
        var reader = reader
        var rows: [Row] = []
        rows.reserveCapacity(batchSize)
        var first = reader.makeBatch(capacity: batchSize)
        var failure: (any Error)?
        var ended = false
        do {
            ended = try reader.read(into: &first, limit: batchSize)
        } catch {
            failure = error
        }
        guard failure == nil, !ended else {
            do {
                try decode(first, &rows)
            } catch {
                if !rows.isEmpty { try await body(rows) }
                throw error
            }
            if !rows.isEmpty { try await body(rows) }
            if let failure { throw failure }
            return
        }
        let prefetch = RowPrefetch(reading: reader, batchSize: batchSize, depth: depth)
        do {
            var batch: Producer.Batch? = consume first
            while let next = batch {
                rows.removeAll(keepingCapacity: true)
                var decoded: (any Error)?
                do {
                    try decode(next, &rows)
                } catch {
                    decoded = error
                }
                if !rows.isEmpty { try await body(rows) }
                if let decoded { throw decoded }
                batch = try prefetch.next(givingBack: next)
            }
        } catch {
            prefetch.stop()
            throw error
        }
    }

    /// Starts the reading thread, which owns `reader` from now on.
    private init(reading reader: Producer, batchSize: Int, depth: Int) {
        self.batchSize = batchSize
        self.depth = depth
        let box = ReaderBox(reader)
        let thread = Thread { [self] in read(box) }
        thread.name = "handover-read"
        thread.start()
    }

    /// The reading thread: batches until the rows end, the reader throws, or the consumer stops.
    private func read(_ box: ReaderBox) {
        while true {
            condition.lock()
            var batch = used.popLast()
            condition.unlock()
            if batch != nil {
                Producer.empty(&batch!)
            } else {
                batch = box.reader.makeBatch(capacity: batchSize)
            }
            var rows = batch.take()!
            var failure: (any Error)?
            var ended = false
            do {
                ended = try box.reader.read(into: &rows, limit: batchSize)
            } catch {
                failure = error
            }
            let count = Producer.count(of: rows)
            let last = failure != nil || ended
            condition.lock()
            while !last && !stopped && batches.count >= depth {
                readerWaits = true
                condition.wait()
                readerWaits = false
            }
            if stopped {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if count > 0 { batches.append(rows) }
            if last {
                self.failure = failure
                exited = true
            }
            if consumerWaits || last { condition.broadcast() }
            condition.unlock()
            if last { return }
        }
    }

    /// The next batch, giving back `previous` (a batch taken before, which the consumer is done with); nil after the
    /// last one.
    /// - Throws: The reader's error, after every batch read before it.
    private func next(givingBack previous: consuming Producer.Batch?) throws -> Producer.Batch? {
        condition.lock()
        defer { condition.unlock() }
        if let previous, !exited, used.count < 2 { used.append(previous) }
        while batches.isEmpty && !exited {
            consumerWaits = true
            condition.wait()
            consumerWaits = false
        }
        if !batches.isEmpty {
            if readerWaits { condition.broadcast() }
            return batches.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the reading thread and waits until it has let go of the reader.
    private func stop() {
        condition.lock()
        stopped = true
        batches = []
        used = []
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }

    /// The reader, handed to the reading thread (which alone uses it from then on).
    private final class ReaderBox: @unchecked Sendable {
        var reader: Producer
        init(_ reader: Producer) { self.reader = reader }
    }
}

extension RowPrefetch where Producer: RowProducing {
    /// Streams the rows of `reader` through `body` as it makes them (see
    /// ``stream(_:batchSize:depth:decode:into:)``).
    package static func stream(
        _ reader: consuming Producer, batchSize: Int = 1024, depth: Int = 4, into body: ([Row]) async throws -> Void
    ) async throws {
        try await stream(reader, batchSize: batchSize, depth: depth, decode: { $1 += $0 }, into: body)
    }
}

/// Something that reads rows a batch at a time, into batches of its own kind, which the consumer turns into rows
/// (as a query's reader does: SQLite's cells are copied on the reading thread, and made into values on the other).
package protocol BatchProducing {
    /// A batch of rows as read.
    associatedtype Batch
    /// An empty batch with room for `capacity` rows.
    func makeBatch(capacity: Int) -> Batch
    /// The rows `batch` holds.
    static func count(of batch: Batch) -> Int
    /// Empties `batch`, keeping its memory.
    static func empty(_ batch: inout Batch)
    /// Reads rows into `batch` until it holds `limit` rows (or as many as its memory allows), or the rows end.
    /// - Returns: Whether the rows ended.
    /// - Throws: The reader's error; the rows read before it stay in `batch`.
    mutating func read(into batch: inout Batch, limit: Int) throws -> Bool
}

/// Something that gives rows one at a time, as values; its batches are arrays of rows.
package protocol RowProducing: BatchProducing where Batch == [Row] {
    /// The next row, or nil at the end.
    mutating func next() throws -> Row?
}

extension RowProducing {
    /// An empty array with room for `capacity` rows.
    package func makeBatch(capacity: Int) -> [Row] {
        var batch: [Row] = []
        batch.reserveCapacity(capacity)
        return batch
    }

    /// The rows `batch` holds.
    package static func count(of batch: [Row]) -> Int { batch.count }

    /// Empties `batch`, keeping its memory.
    package static func empty(_ batch: inout [Row]) { batch.removeAll(keepingCapacity: true) }

    /// Appends rows from ``next()`` until `batch` holds `limit` rows or the rows end; whether they ended.
    package mutating func read(into batch: inout [Row], limit: Int) throws -> Bool {
        while batch.count < limit {
            guard let row = try next() else { return true }
            batch.append(row)
        }
        return false
    }
}
