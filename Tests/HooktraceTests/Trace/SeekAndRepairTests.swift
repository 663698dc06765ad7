@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func syntheticTrace(_ dir: TemporaryDirectory, blockEvents: Int = 64) throws -> (path: String, events: [Event]) {
    var run = SyntheticRun()
    run.epochs = 4
    run.itersPerEpoch = 50
    run.steps = [2, 3]
    run.warmupIters = 10
    run.logInterval = 10
    var events: [Event] = []
    run.generate { events.append($0) }
    var o = TraceWriter.Options()
    o.blockEvents = blockEvents
    let path = dir.file("syn.htrace")
    try writeTrace(events, to: path, options: o)
    return (path, events)
}

/// The filter applied to a full read, the slow obvious way.
private func bruteForce(_ path: String, _ filter: TraceFilter) throws -> [TraceEntry] {
    try readTrace(path).filter { filter.matches($0) }
}

@Suite("Seeking, filtering, check and repair")
struct SeekAndRepairTests {
    @Test("filters give the same events as a full scan, and skip blocks", arguments: [
        TraceFilter(epochs: 2...2),
        TraceFilter(epochs: 1...2, stage: "before_train_iter"),
        TraceFilter(iters: 120...130),
        TraceFilter(iters: 0...0),
        TraceFilter(epochs: 3...10),
        TraceFilter(hook: "CheckpointHook"),
        TraceFilter(stage: "after_train_epoch"),
        TraceFilter(sequences: 500...510),
        TraceFilter(epochs: 99...100),
    ])
    func filters(filter: TraceFilter) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try syntheticTrace(dir)
        let expected = try bruteForce(path, filter)
        let reader = try TraceReader(path: path, filter: filter)
        var got: [TraceEntry] = []
        try reader.forEach { got.append($0) }
        #expect(got == expected)
        // The pull interface agrees with forEach.
        let pull = try TraceReader(path: path, filter: filter)
        var pulled: [TraceEntry] = []
        while let e = try pull.next() { pulled.append(e) }
        #expect(pulled == expected)
        if filter.epochs != nil || filter.iters != nil || filter.sequences != nil {
            #expect(reader.decodedBlocks < reader.blockCount - 1, "a range filter must skip blocks")
        }
    }

    @Test("events carry the counters of the call they follow, also right after a skipped block")
    func contextsAfterSkip() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, events) = try syntheticTrace(dir, blockEvents: 5)
        var expected: [Call?] = []
        var last: Call?
        for e in events {
            if case .call(let c) = e { last = c }
            expected.append(last)
        }
        let all = try readTrace(path)
        #expect(all.map(\.context) == expected)
        let some = try readTrace(path, filter: TraceFilter(iters: 77...77))
        #expect(!some.isEmpty)
        for entry in some { #expect(entry.context == expected[Int(entry.sequence)]) }
    }

    @Test("check reports intact, ended early and damaged traces")
    func checkVerdicts() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, events) = try syntheticTrace(dir)
        let intact = try IntegrityReport.check(path: path)
        #expect(intact.verdict == .intact)
        #expect(intact.goodEvents == UInt64(events.count))
        #expect(intact.closed && intact.runEnded)

        // A writer that never closes (a killed recorder): blocks flushed so far are intact.
        let unfinished = dir.file("unfinished.htrace")
        do {
            var o = TraceWriter.Options()
            o.blockEvents = 100
            let writer = try TraceWriter(path: unfinished, options: o)
            for e in events.prefix(250) { try writer.append(e) }
            // No close: the writer is dropped with 50 events pending, as in a crash.
        }
        let early = try IntegrityReport.check(path: unfinished)
        #expect(early.verdict == .endedEarly)
        #expect(early.goodEvents == 200)
        #expect(!early.runEnded)

        var bytes = try readBytes(path)
        let middle = bytes.count / 2
        bytes[middle] ^= 0x40
        let damagedPath = dir.file("damaged.htrace")
        try writeBytes(bytes, to: damagedPath)
        let damaged = try IntegrityReport.check(path: damagedPath)
        #expect(damaged.verdict == .damaged)
        #expect(damaged.goodEvents < UInt64(events.count))
        #expect(damaged.problem?.offset != nil)
        #expect(!damaged.laterBlocks.isEmpty, "blocks after the damage are found by scanning")
        #expect(damaged.lostSequences?.lowerBound == damaged.goodEvents)
    }

    @Test("repair keeps every intact block, writes a closed trace and never loses the original")
    func repair() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, events) = try syntheticTrace(dir)
        let bytes = try readBytes(path)
        let torn = dir.file("torn.htrace")
        try writeBytes(Array(bytes[0..<(bytes.count * 2 / 3)]), to: torn)
        let before = try IntegrityReport.check(path: torn)
        #expect(before.verdict == .damaged)

        // To another file: the original stays as it was.
        let fixed = dir.file("fixed.htrace")
        let result = try #require(try TraceRepair.repair(path: torn, output: fixed))
        #expect(result.keptEvents == before.goodEvents)
        #expect(try readBytes(torn) == Array(bytes[0..<(bytes.count * 2 / 3)]))
        let after = try IntegrityReport.check(path: fixed)
        #expect(after.verdict == .intact)
        #expect(identical(try readTrace(fixed).map(\.event), Array(events.prefix(Int(before.goodEvents)))))

        // In place: the original is kept as .bak.
        let inPlace = try #require(try TraceRepair.repair(path: torn, output: nil))
        #expect(inPlace.backup == torn + ".bak")
        #expect(try readBytes(torn + ".bak") == Array(bytes[0..<(bytes.count * 2 / 3)]))
        #expect(try IntegrityReport.check(path: torn).verdict == .intact)

        // An intact trace needs nothing.
        #expect(try TraceRepair.repair(path: path, output: nil) == nil)
    }

    @Test("repair drops bytes after the end block")
    func trailingGarbage() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, events) = try syntheticTrace(dir)
        try writeBytes(try readBytes(path) + [1, 2, 3], to: path)
        let report = try IntegrityReport.check(path: path)
        #expect(report.verdict == .damaged && report.closed)
        let result = try #require(try TraceRepair.repair(path: path, output: dir.file("ok")))
        #expect(result.droppedBytes == 3)
        #expect(identical(try readTrace(dir.file("ok")).map(\.event), events))
    }

    @Test("a time-based flush writes blocks while recording")
    func timedFlush() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var o = TraceWriter.Options()
        o.flushInterval = .zero
        o.blockEvents = 1 << 20
        let path = dir.file("live.htrace")
        let writer = try TraceWriter(path: path, options: o)
        for i in 0..<200 {
            try writer.append(.call(Call(stage: "before_train_iter", epoch: 0, iter: i, innerIter: i, mode: .train, time: Int64(i))))
        }
        // Without close: blocks of 64 events were flushed by the timer check.
        let report = try IntegrityReport.check(path: path)
        #expect(report.verdict == .endedEarly)
        #expect(report.goodEvents == 192)
        try writer.close()
    }
}
