internal import Foundation
package import HandoverCore

/// Reads a large SQLite query's rows on a thread of its own, a few batches ahead of the code that writes them, so
/// that stepping SQLite and turning its values into rows runs on one core while the rows are checked, encoded,
/// hashed and validated on the other.
///
/// The first `batchSize` rows are read on the caller's thread: a query with fewer rows (every table of a typical
/// subject export) never starts a thread. Rows reach `body` in batches, in the order SQLite returns them, and an
/// error the reader meets reaches the caller after the rows before it, as when reading on one thread. At most `depth`
/// batches wait, and at most two that `body` is done with wait to be emptied and filled again, so memory does not
/// grow with the table. When `body` throws, the reading thread is stopped and joined before the error is passed on:
/// the statement is never stepped after ``stream(_:batchSize:depth:into:)`` returns.
///
/// The connection runs in SQLite's multi-thread mode: it may be used by one thread at a time, and while the thread
/// reads, nothing else touches it (the caller only handles rows).
package final class RowPrefetch<Producer: RowProducing>: @unchecked Sendable {
    /// Rows read at a time.
    let batchSize: Int
    /// Batches that may wait for the consumer.
    let depth: Int

    private let condition = NSCondition()
    /// Read and not yet taken (guarded by `condition`).
    private var batches: [[Row]] = []
    /// Batches the consumer is done with, for the reading thread to empty and fill again (guarded by `condition`):
    /// their rows are then freed on the thread that made them, where the allocator is fastest.
    private var used: [[Row]] = []
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
    ///   - batchSize: Rows read at a time (1024: about 300 KiB of a typical table's rows).
    ///   - depth: Batches that may wait for `body`.
    ///   - body: Called with each batch of rows (never empty), in order, on the caller's thread.
    /// - Throws: What the reader or `body` throws.
    package static func stream(
        _ reader: consuming Producer, batchSize: Int = 1024, depth: Int = 4, into body: ([Row]) async throws -> Void
    ) async throws {
        var reader = reader
        var first: [Row] = []
        first.reserveCapacity(batchSize)
        do {
            while first.count < batchSize, let row = try reader.next() { first.append(row) }
        } catch {
            if !first.isEmpty { try await body(first) }
            throw error
        }
        guard first.count == batchSize else {
            if !first.isEmpty { try await body(first) }
            return
        }
        let prefetch = RowPrefetch(reading: reader, batchSize: batchSize, depth: depth)
        do {
            try await body(first)
            var used: [Row]? = consume first
            while var rows = try prefetch.next(givingBack: used.take()) {
                try await body(rows)
                used = consume rows
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
            var rows = used.popLast() ?? []
            condition.unlock()
            rows.removeAll(keepingCapacity: true)
            rows.reserveCapacity(batchSize)
            var failure: (any Error)?
            do {
                while rows.count < batchSize, let row = try box.reader.next() { rows.append(row) }
            } catch {
                failure = error
            }
            let last = failure != nil || rows.count < batchSize
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
            if !rows.isEmpty { batches.append(rows) }
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
    private func next(givingBack previous: consuming [Row]?) throws -> [Row]? {
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

/// Something that gives rows one at a time, as a query's reader does.
package protocol RowProducing {
    /// The next row, or nil at the end.
    mutating func next() throws -> Row?
}

extension RowReader: RowProducing {}
