#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a producer on its own thread, a few items ahead of the consumer.
///
/// Reading a trace (decompressing and decoding its blocks) and using what was read
/// (comparing, re-running hooks) are independent until they meet at the hand-over, so on a
/// machine with two cores they overlap. The producer is called on the background thread
/// only, the consumer calls ``next()``; items come out in the order they were produced, so
/// what the consumer sees does not depend on thread timing.
///
/// The thread ends when the producer returns nil, or at ``cancel()`` (which the owner calls
/// when it stops early, e.g. at an error): an abandoned producer never keeps running.
///
/// `@unchecked Sendable`: every mutable field is guarded by `monitor`, and the items cross
/// threads only as `Sendable` values.
final class Prefetcher<Item: Sendable>: @unchecked Sendable {
    private let monitor = Monitor()
    // Guarded by `monitor`.
    private var queue = HandOverQueue<Item>()
    private var ended = false
    private var cancelled = false
    /// Whether a thread was started (fixed at init).
    private var threaded = false
    /// Whether that thread still has to be joined (consumer side only).
    private var running = false
    private var thread = pthread_t()

    private let depth: Int
    private let produce: @Sendable () -> Item?

    /// - Parameters:
    ///   - depth: how many items may wait for the consumer.
    ///   - produce: the next item, or nil at the end; called on the background thread.
    init(depth: Int, produce: @escaping @Sendable () -> Item?) {
        precondition(depth > 0)
        self.depth = depth
        self.produce = produce
        if let thread = startThread(ThreadBody { [self] in loop() }) {
            self.thread = thread
            threaded = true
            running = true
        }
        // Without a thread the consumer produces its own items (same results, no overlap).
    }

    private func loop() {
        while true {
            monitor.lock()
            while queue.count >= depth && !cancelled { monitor.wait() }
            if cancelled {
                ended = true
                monitor.broadcast()
                monitor.unlock()
                return
            }
            monitor.unlock()
            let item = produce()
            monitor.lock()
            if let item {
                queue.push(item)
            } else {
                ended = true
            }
            monitor.broadcast()
            monitor.unlock()
            if item == nil { return }
        }
    }

    /// The next item, waiting for it if needed; nil at the end.
    func next() -> Item? {
        guard threaded else { return produce() }
        monitor.lock()
        defer { monitor.unlock() }
        while queue.isEmpty && !ended { monitor.wait() }
        guard let item = queue.pop() else { return nil }
        monitor.broadcast()
        return item
    }

    /// Stops the producer (after the item it is making) and waits for its thread to end.
    /// Safe to call more than once.
    func cancel() {
        guard running else { return }
        monitor.lock()
        cancelled = true
        monitor.broadcast()
        monitor.unlock()
        pthread_join(thread, nil)
        running = false
    }

    /// Waits for the producer to finish on its own (the consumer saw the end).
    func join() {
        guard running else { return }
        pthread_join(thread, nil)
        running = false
    }
}

/// Runs jobs in order on its own thread, at most `depth` waiting.
///
/// The trace writer hands it finished blocks: compressing, checksumming and writing a block
/// then overlaps with encoding the next. ``submit(_:)`` waits while the queue is full, so
/// memory stays bounded; ``drain()`` waits until every submitted job has run.
final class BackgroundWorker: @unchecked Sendable {
    private let monitor = Monitor()
    // Guarded by `monitor`.
    private var jobs = HandOverQueue<() -> Void>()
    private var busy = false
    private var stopping = false
    private var thread: pthread_t?
    private let depth: Int

    init(depth: Int) {
        precondition(depth > 0)
        self.depth = depth
        thread = startThread(ThreadBody { [self] in loop() })
    }

    private func loop() {
        monitor.lock()
        while true {
            while jobs.isEmpty && !stopping { monitor.wait() }
            guard let job = jobs.pop() else {
                monitor.unlock()
                return
            }
            busy = true
            monitor.broadcast()
            monitor.unlock()
            job()
            monitor.lock()
            busy = false
            monitor.broadcast()
        }
    }

    /// Queues `job`; runs it right here when there is no thread.
    ///
    /// With `soon` false the thread is woken only once half the queue is full: a wake-up
    /// costs two context switches, and a writer filling blocks hands one over about every
    /// third of a millisecond. A job that must not wait for the next (an explicit flush)
    /// passes true; ``drain()`` and ``stop()`` wake the thread for what is left.
    func submit(soon: Bool = true, _ job: @escaping () -> Void) {
        guard thread != nil else { return job() }
        monitor.lock()
        while jobs.count >= depth { monitor.wait() }
        jobs.push(job)
        if soon || jobs.count >= (depth + 1) / 2 { monitor.broadcast() }
        monitor.unlock()
    }

    /// Waits until every submitted job has run.
    func drain() {
        guard thread != nil else { return }
        monitor.lock()
        monitor.broadcast()
        while !jobs.isEmpty || busy { monitor.wait() }
        monitor.unlock()
    }

    /// Runs what is queued, then ends the thread. Safe to call more than once.
    func stop() {
        guard let t = thread else { return }
        monitor.lock()
        stopping = true
        monitor.broadcast()
        monitor.unlock()
        pthread_join(t, nil)
        thread = nil
    }
}

/// First in, first out, for the hand-over between two threads (guarded by the owner's
/// ``Monitor``): taken items leave the front by index, and the storage is reused once empty.
private struct HandOverQueue<Element> {
    private var items: [Element?] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }

    mutating func push(_ item: Element) {
        if head > 0 && head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        items.append(item)
    }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        head += 1
        return items[head - 1].take()
    }
}

/// A mutex with one condition: the hand-over point between two threads (where a thread
/// must wait for the other, which `Synchronization.Mutex` alone does not offer; plain
/// locking uses `Mutex`). `@unchecked Sendable`: the pthread objects are made for sharing.
final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
    private let condition: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)

    init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits (the mutex held) until another thread broadcasts.
    func wait() { pthread_cond_wait(condition, mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// What a background thread runs (a class, so that it crosses the C entry point as one pointer).
private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Starts a thread running `body`; nil if the system has none to give.
private func startThread(_ body: ThreadBody) -> pthread_t? {
    var thread = pthread_t()
    let context = Unmanaged.passRetained(body).toOpaque()
    let rc = pthread_create(&thread, nil, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
        return nil
    }, context)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        return nil
    }
    return thread
}
