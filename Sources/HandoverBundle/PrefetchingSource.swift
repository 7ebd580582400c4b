internal import Foundation
internal import HandoverCore

/// Reads a source ahead on a thread of its own while its bytes are checked, so that decompressing and hashing an
/// entry (the source's work) and validating it (the reader's) run side by side on two cores.
///
/// The reader gets exactly the bytes the source gives, in order, then the source's error where it threw, or the
/// end; only how they are cut into blocks differs, which no validator depends on. At most ``blockCount`` blocks of
/// ``blockSize`` bytes are held. The source is used by one thread at a time: the reading thread until
/// ``run(_:_:)`` returns it.
final class Prefetcher<Base: ByteSource>: @unchecked Sendable {
    /// The bytes of each block read ahead.
    static var blockSize: Int { 256 * 1024 }
    /// The most blocks held (read ahead, or being read).
    static var blockCount: Int { 4 }

    private var base: Base
    private let condition = NSCondition()
    /// Blocks read and not yet taken, in order, with how many bytes each holds.
    private var filled: [(block: [UInt8], count: Int)] = []
    /// Blocks free to be read into.
    private var free: [[UInt8]] = []
    /// Set when the source has ended (or thrown `failure`); the thread then stops.
    private var ended = false
    private var failure: (any Error)?
    /// Set by the reader when it stops before the end: the thread stops too.
    private var cancelled = false
    /// Set by the thread as it exits, after its last use of `base`.
    private var exited = false

    private init(_ base: Base) {
        self.base = base
        free = Array(repeating: [UInt8](repeating: 0, count: Self.blockSize), count: Self.blockCount)
    }

    /// Calls `body` with a source that yields what `source` yields, read ahead on a thread, then reads what `body`
    /// left to the end (as if drained) and hands `source` back, read through.
    /// - Throws: What `body` throws (the thread is stopped first, and `source` left where it was), or the source's
    ///   error met while draining.
    static func run<Result>(
        _ source: inout Base, _ body: (inout PrefetchedSource<Base>) throws -> Result
    ) throws -> Result {
        let prefetcher = Prefetcher(source)
        let thread = Thread { prefetcher.produce() }
        thread.stackSize = 1 << 20
        thread.start()
        var reader = PrefetchedSource(prefetcher: prefetcher)
        defer {
            prefetcher.stop()
            source = prefetcher.base
        }
        let result = try body(&reader)
        try reader.drain()
        return result
    }

    /// The thread's loop: reads blocks while there is room, until the source ends or throws, or the reader stops.
    private func produce() {
        while true {
            condition.lock()
            while free.isEmpty && !cancelled { condition.wait() }
            if cancelled {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var block = free.removeLast()
            condition.unlock()
            var count = 0
            var thrown: (any Error)?
            do {
                count = try block.withUnsafeMutableBytes { try base.read(into: $0) }
            } catch {
                thrown = error
            }
            condition.lock()
            if let thrown {
                failure = thrown
                ended = true
            } else if count == 0 {
                ended = true
            } else {
                filled.append((block, count))
            }
            if ended { exited = true }
            condition.broadcast()
            condition.unlock()
            if ended { return }
        }
    }

    /// The next block read, giving back `previous` (a block taken before) to be read into again; nil at the end.
    /// - Throws: The source's error, once every block read before it has been taken.
    fileprivate func next(givingBack previous: [UInt8]?) throws -> (block: [UInt8], count: Int)? {
        condition.lock()
        defer { condition.unlock() }
        if let previous {
            free.append(previous)
            condition.broadcast()
        }
        while filled.isEmpty && !ended { condition.wait() }
        if !filled.isEmpty { return filled.removeFirst() }
        if let failure { throw failure }
        return nil
    }

    /// Stops the thread and waits until it no longer uses the source.
    private func stop() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
    }
}

/// The reading side of a ``Prefetcher``: the blocks read ahead, one after another.
struct PrefetchedSource<Base: ByteSource>: ByteSource {
    fileprivate let prefetcher: Prefetcher<Base>
    private var block: [UInt8]?
    private var count = 0
    private var offset = 0
    private var atEnd = false

    fileprivate init(prefetcher: Prefetcher<Base>) {
        self.prefetcher = prefetcher
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0, !atEnd else { return 0 }
        if offset == count, !(try advance()) { return 0 }
        let taken = min(buffer.count, count - offset)
        block?.withUnsafeBytes { bytes in
            buffer.baseAddress?.copyMemory(from: bytes.baseAddress! + offset, byteCount: taken)
        }
        offset += taken
        return taken
    }

    /// Takes every block left.
    mutating func drain() throws {
        while !atEnd { _ = try advance() }
    }

    /// Gives back the block read and takes the next; false (at the end) when there is none.
    private mutating func advance() throws -> Bool {
        let previous = block
        block = nil
        guard let next = try prefetcher.next(givingBack: previous) else {
            atEnd = true
            return false
        }
        block = next.block
        count = next.count
        offset = 0
        return true
    }
}
