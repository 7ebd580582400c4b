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
/// The shared executors live as long as the process; one made for a while is ended with ``shutdown()``.
public final class ThreadPoolExecutor: TaskExecutor, @unchecked Sendable {
    /// For exports, validation and packing: as many threads as the machine has cores, at least two.
    public static let blocking = ThreadPoolExecutor(threads: max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    /// For a worker's own steps when it is driven one request at a time (``RequestWorker`` runs make their own).
    public static let leases = ThreadPoolExecutor(threads: 1)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var stopping = false
    private var threads = 0

    /// An executor with `threads` threads of its own (at least one).
    /// - Parameter threads: How many threads run its jobs.
    public init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        pthread_mutex_lock(mutex)
        for _ in 0..<max(1, threads) { startThread() }
        pthread_mutex_unlock(mutex)
    }

    /// Lets the threads end once no job is waiting. A job that arrives later still runs, on a thread started
    /// for it. The shared executors are never shut down.
    public func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Queues a job; one of the executor's threads runs it.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        if threads == 0 { startThread() }
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Starts one thread; called with the mutex held. The thread holds the executor until it ends.
    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { context in
                let executor = Unmanaged<ThreadPoolExecutor>.fromOpaque(context!).takeRetainedValue()
                executor.runJobs()
                return nil
            }, context)
        precondition(status == 0, "cannot start a thread for blocking work")
        pthread_detach(thread)
        threads += 1
    }

    private func runJobs() {
        while true {
            pthread_mutex_lock(mutex)
            while head == jobs.count && !stopping { pthread_cond_wait(condition, mutex) }
            if head == jobs.count {
                // Asked to stop, and nothing is waiting.
                threads -= 1
                pthread_mutex_unlock(mutex)
                return
            }
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
