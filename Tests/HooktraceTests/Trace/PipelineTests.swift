@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Synchronization
import Testing

/// The background threads (block writing, block decoding) change when work happens, never
/// what comes out.
@Suite("background threads: same bytes, same groups")
struct PipelineTests {
    @Test("a pipelined writer writes the same bytes as a synchronous one", arguments: [1, 7, 64, 8192])
    func pipelinedWriterSameBytes(blockEvents: Int) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var g = RandomEvents(seed: UInt64(blockEvents))
        let events = g.stream(count: 3_000)
        var o = TraceWriter.Options()
        o.blockEvents = blockEvents
        o.pipelined = true
        let piped = try writeTrace(events, to: dir.file("piped"), options: o)
        o.pipelined = false
        let plain = try writeTrace(events, to: dir.file("plain"), options: o)
        #expect(piped == plain)
        #expect(identical(try readTrace(dir.file("piped")).map(\.event), events))
    }

    @Test("a pipelined writer's byte count waits for the blocks in flight")
    func bytesWrittenIsComplete() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var g = RandomEvents(seed: 3)
        var o = TraceWriter.Options()
        o.blockEvents = 10
        let writer = try TraceWriter(path: dir.file("t"), options: o)
        try writer.append(contentsOf: g.stream(count: 500))
        try writer.flush()
        let written = writer.bytesWritten
        #expect(written == UInt64(try readBytes(dir.file("t")).count))
        try writer.close()
    }

    private func groups(_ path: String, prefetch: Bool) throws -> (groups: [CallGroup], damage: String?) {
        let reader = try CallGroupReader(path: path, prefetch: prefetch)
        var out: [CallGroup] = []
        while let g = reader.next() { out.append(g) }
        return (out, reader.damage?.message)
    }

    private func same(_ x: CallGroup, _ y: CallGroup) -> Bool {
        x.key == y.key && x.sequence == y.sequence && x.cutShort == y.cutShort && x.call == y.call
            && x.effects.elementsEqual(y.effects, by: { $0.hook == $1.hook && $0.action.isIdentical(to: $1.action) })
            && x.observations.elementsEqual(y.observations, by: { $0.isIdentical(to: $1) })
            && (x.runStart == nil) == (y.runStart == nil) && (x.runEnd == nil) == (y.runEnd == nil)
    }

    @Test("prefetched call groups equal groups read on one thread, intact and damaged", arguments: [false, true])
    func prefetchedGroupsSame(damaged: Bool) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var g = RandomEvents(seed: damaged ? 11 : 12)
        let events = g.stream(count: 2_000)
        var o = TraceWriter.Options()
        o.blockEvents = 29  // groups straddle block ends
        var bytes = try writeTrace(events, to: dir.file("t"), options: o)
        if damaged {
            bytes[bytes.count / 2] ^= 0x40
            try writeBytes(bytes, to: dir.file("t"))
        }
        let threaded = try groups(dir.file("t"), prefetch: true)
        let plain = try groups(dir.file("t"), prefetch: false)
        #expect(threaded.groups.count == plain.groups.count)
        #expect(zip(threaded.groups, plain.groups).allSatisfy { same($0, $1) })
        #expect(threaded.damage == plain.damage)
        #expect((plain.damage != nil) == damaged)
        // Every event is in exactly one group (up to the damage).
        if !damaged {
            let counted = plain.groups.reduce(0) { n, g in
                n + (g.call != nil ? 1 : 0) + g.effects.count + g.observations.count + g.spans.count
                    + (g.runStart != nil ? 1 : 0) + (g.runEnd != nil ? 1 : 0)
            }
            #expect(counted == events.count)
        }
    }

    @Test("a prefetching reader dropped early stops its thread")
    func abandonedReader() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var g = RandomEvents(seed: 4)
        var o = TraceWriter.Options()
        o.blockEvents = 16
        _ = try writeTrace(g.stream(count: 5_000), to: dir.file("t"), options: o)
        for _ in 0..<50 {
            let reader = try CallGroupReader(path: dir.file("t"))
            #expect(reader.next() != nil)
        }
    }

    @Test("the prefetcher hands items over in order and ends once")
    func prefetcherOrder() {
        for depth in [1, 3] {
            // The producer runs on another thread: its state is behind a lock (the closure
            // must be @Sendable, so a captured `var` would not compile).
            let n = Mutex(0)
            let p = Prefetcher<Int>(depth: depth) {
                n.withLock { n in
                    defer { n += 1 }
                    return n < 1_000 ? n : nil
                }
            }
            var seen: [Int] = []
            while let x = p.next() { seen.append(x) }
            p.join()
            #expect(seen == Array(0..<1_000))
            #expect(p.next() == nil)
        }
    }

    @Test("the background worker runs jobs in order, and drain waits for them")
    func workerOrder() {
        final class Log: @unchecked Sendable { var items: [Int] = [] }
        let log = Log()
        let worker = BackgroundWorker(depth: 2)
        for i in 0..<500 { worker.submit { log.items.append(i) } }
        worker.drain()
        #expect(log.items == Array(0..<500))
        worker.submit { log.items.append(500) }
        worker.stop()
        #expect(log.items.count == 501)
    }
}
