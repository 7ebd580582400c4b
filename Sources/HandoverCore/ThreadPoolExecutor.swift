#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A task executor with threads of its own, for work that blocks: SQLite steps, file writes, libarchive,
/// validation.
///
/// Swift's cooperative pool has one thread per core. Blocking work there starves every other task of the
/// process: a worker's lease renewal, an HTTP handler. Run such work with this executor as the task's preference
/// (`withTaskExecutorPreference(executor) { … }` or `Task(executorPreference:)`), as swift-nio sends blocking calls
/// to its `NIOThreadPool` and GRDB serialises each connection on a queue of its own. Child tasks inherit the
/// preference, so a task group inside (one validation per file) runs on these threads too.
///
/// An executor and its threads live as long as the process: use the shared ones, or make a few and keep them.
public final class ThreadPoolExecutor: TaskExecutor, @unchecked Sendable {
    /// For exports, validation and packing: as many threads as the machine has cores, at least two.
    public static let blocking = ThreadPoolExecutor(threads: max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    /// For keeping leases: one thread, so that a renewal never waits behind an export.
    public static let leases = ThreadPoolExecutor(threads: 1)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var head = 0

    /// An executor with `threads` threads of its own (at least one).
    /// - Parameter threads: How many threads run its jobs.
    public init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for _ in 0..<max(1, threads) {
            let context = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { context in
                    let executor = Unmanaged<ThreadPoolExecutor>.fromOpaque(context!).takeRetainedValue()
                    executor.runJobs()
                }, context)
            precondition(status == 0, "cannot start a thread for blocking work")
            pthread_detach(thread)
        }
    }

    /// Queues a job; one of the executor's threads runs it.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func runJobs() -> Never {
        while true {
            pthread_mutex_lock(mutex)
            while head == jobs.count { pthread_cond_wait(condition, mutex) }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(mutex)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
