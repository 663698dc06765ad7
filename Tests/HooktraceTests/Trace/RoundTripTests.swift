import Foundation
import HooktraceAnalysis
@testable import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim
import HooktraceTesting
import Testing

private func options(_ codec: Codec, blockEvents: Int = 8192, level: Int32? = nil) -> TraceWriter.Options {
    var o = TraceWriter.Options()
    o.codec = codec
    o.blockEvents = blockEvents
    o.level = level
    return o
}

/// One event of every kind and every effect, with awkward values.
let everyKind: [Event] = [
    .runStart(RunStart(
        source: "simulated", runner: "EpochBasedRunner", maxEpochs: 12, maxIters: nil,
        workflow: [WorkflowPhase("train", 2), WorkflowPhase("val", 1)], loaders: [LoaderLength("train", 7330), LoaderLength("val", 5000)],
        paramGroups: [ParamGroup(group: 0, lr: 0.02, momentum: 0.9), ParamGroup(optimizer: "disc", group: 1, lr: 1e-4, momentum: nil)],
        hooks: [HookInfo(name: "StepLrUpdaterHook", type: "StepLrUpdaterHook", priority: 10, config: #"{"step":[8,11]}"#)],
        seed: .max, config: #"{"a":1}"#, meta: [Field("rank", .int(0)), Field("host", .string("node-1"))])),
    .call(Call(stage: "before_run", epoch: 0, iter: 0, innerIter: 0, mode: .none, time: 0)),
    .call(Call(stage: "before_train_iter", epoch: 3, iter: 21_990, innerIter: 0, mode: .train, time: 9_000_000_000_123)),
    .observe(Observation(kind: .logVar, name: "loss", value: .double(0.5))),
    .observe(Observation(kind: .numSamples, name: "num_samples", value: .int(16))),
    .observe(Observation(kind: .metric, name: "bbox_mAP", value: .double(0.374))),
    .observe(Observation(kind: .other, name: "note", value: .string("x"))),
    .observe(Observation(kind: .timing, name: "data_time", value: .null)),
    .effect(Effect(hook: "StepLrUpdaterHook", .setLR(optimizer: "", group: 0, value: 0.02))),
    .effect(Effect(hook: "StepLrUpdaterHook", .setLR(optimizer: "gen", group: 7, value: -0.0))),
    .effect(Effect(hook: "CyclicMomentumUpdaterHook", .setMomentum(optimizer: "", group: 0, value: 0.85))),
    .effect(Effect(hook: "OptimizerHook", .optimizerStep(optimizer: "", stepped: true, gradNorm: 3.25))),
    .effect(Effect(hook: "GradientCumulativeOptimizerHook", .optimizerStep(optimizer: "", stepped: false, gradNorm: nil))),
    .effect(Effect(hook: "CheckpointHook", .checkpointSave(path: "work_dirs/x/epoch_4.pth"))),
    .effect(Effect(hook: "CheckpointHook", .checkpointRemove(path: "work_dirs/x/epoch_1.pth"))),
    .effect(Effect(hook: "CheckpointHook", .checkpointLink(link: "latest.pth", target: "epoch_4.pth"))),
    .effect(Effect(hook: "TextLoggerHook", .log([Field("mode", .string("train")), Field("lr", .double(0.02)), Field("ok", .bool(true)), Field("none", .null)]))),
    .effect(Effect(hook: "EvalHook", .evaluate([Field("bbox_mAP", .double(0.374)), Field("n", .int(-3))]))),
    .effect(Effect(hook: "EvalHook", .bestUpdate(key: "bbox_mAP", value: 0.374, checkpoint: "best_bbox_mAP_epoch_4.pth"))),
    .effect(Effect(hook: "EMAHook", .emaUpdate(momentum: 0.0002))),
    .effect(Effect(hook: "EarlyStop", .stop(reason: "patience exhausted"))),
    .effect(Effect(hook: "MyHook", .note("unknown hook type kept as passive"))),
    .effect(Effect(hook: "MyHook", .custom(kind: "swap", fields: []))),
    .hookSpan(HookSpan(hook: "CheckpointHook", start: 9_000_000_000_200, duration: 1_500_000)),
    .hookSpan(HookSpan(hook: "Early", start: 5, duration: 0)),
    .runEnd(RunEnd(status: .failed, exitCode: -9, message: "killed")),
]

@Suite("Encode/decode round trips")
struct RoundTripTests {
    @Test("every event kind survives every codec", arguments: Codec.allCases)
    func everyKindEveryCodec(codec: Codec) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("t.htrace")
        try writeTrace(everyKind, to: path, options: options(codec))
        let back = try readTrace(path).map(\.event)
        #expect(identical(back, everyKind))
    }

    @Test("one event per block round-trips and restates the call context", arguments: [Codec.zstd, .none])
    func tinyBlocks(codec: Codec) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("t.htrace")
        try writeTrace(everyKind, to: path, options: options(codec, blockEvents: 1))
        let entries = try readTrace(path)
        #expect(identical(entries.map(\.event), everyKind))
        // Events after the second call belong to it even though each sits in its own block.
        #expect(entries[5].context?.iter == 21_990)
        #expect(entries[5].context?.stage == "before_train_iter")
        #expect(entries[0].context == nil)
        #expect(entries.map(\.sequence) == (0..<UInt64(everyKind.count)).map { $0 })
    }

    @Test("random streams round-trip (property, fixed seeds)", arguments: Array(UInt64(1)...UInt64(24)))
    func randomStreams(seed: UInt64) throws {
        var g = RandomEvents(seed: seed)
        let events = g.stream(count: 300 + Int(seed) * 37)
        let codec = Codec.allCases[Int(seed) % 3]
        let blockEvents = [1, 7, 64, 8192][Int(seed) % 4]
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("t.htrace")
        try writeTrace(events, to: path, options: options(codec, blockEvents: blockEvents))
        let back = try readTrace(path).map(\.event)
        #expect(identical(back, events), "seed \(seed), codec \(codec), block \(blockEvents)")
    }

    @Test("NaN payloads and signed zeros keep their exact bits")
    func nanBits() throws {
        let odd = Double(bitPattern: 0x7FF8_0000_DEAD_BEEF)
        let events: [Event] = [
            .observe(Observation(kind: .logVar, name: "loss", value: .double(.nan))),
            .observe(Observation(kind: .logVar, name: "loss", value: .double(odd))),
            .effect(Effect(hook: "h", .setLR(optimizer: "", group: 0, value: -0.0))),
            .effect(Effect(hook: "h", .setLR(optimizer: "", group: 0, value: 0.0))),
        ]
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeTrace(events, to: dir.file("t"))
        let back = try readTrace(dir.file("t")).map(\.event)
        guard case .observe(let o) = back[1], case .double(let d) = o.value else {
            Issue.record("expected an observation")
            return
        }
        #expect(d.bitPattern == odd.bitPattern)
        #expect(identical(back, events))
    }

    @Test("writing the same events twice gives identical bytes", arguments: Codec.allCases)
    func deterministicBytes(codec: Codec) throws {
        var g = RandomEvents(seed: 99)
        let events = g.stream(count: 5_000)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let a = try writeTrace(events, to: dir.file("a"), options: options(codec, blockEvents: 333))
        let b = try writeTrace(events, to: dir.file("b"), options: options(codec, blockEvents: 333))
        #expect(a == b)
    }

    @Test("the synthetic example is deterministic and reads back whole")
    func synthetic() throws {
        let run = SyntheticRun.tiny
        var first: [Event] = []
        run.generate { first.append($0) }
        var second: [Event] = []
        run.generate { second.append($0) }
        #expect(identical(first, second))
        #expect(first.count == run.eventCount)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeTrace(first, to: dir.file("t"), options: options(.zstd, blockEvents: 50))
        #expect(identical(try readTrace(dir.file("t")).map(\.event), first))
    }

    @Test("compression levels are validated")
    func levels() {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect(throws: HooktraceError.self) { try TraceWriter(path: dir.file("t"), options: options(.zstd, level: 40)) }
        #expect(throws: HooktraceError.self) { try TraceWriter(path: dir.file("t"), options: options(.zlib, level: 0)) }
        #expect(throws: HooktraceError.self) { try TraceWriter(path: dir.file("t"), options: options(.zstd, blockEvents: 0)) }
    }
}

@Suite("Hook stages record (format 1.1)")
struct HookStagesRecordTests {
    private func encoded(_ start: RunStart) -> (bytes: [UInt8], names: [String]) {
        var encoder = EventEncoder()
        encoder.beginBlock()
        var sink = ByteSink()
        encoder.encode(.runStart(start), into: &sink)
        return (sink.bytes, encoder.newNames)
    }

    private func decode(_ bytes: [UInt8], _ names: [String]) throws(DecodeFailure) -> Event {
        var decoder = EventDecoder()
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        defer { raw.deallocate() }
        raw.copyBytes(from: bytes)
        var c = ByteCursor(UnsafeRawBufferPointer(raw))
        return try decoder.nextEvent(&c, names)
    }

    private let start = RunStart(source: "t", runner: "EpochBasedRunner", hooks: [
        HookInfo(name: "A", type: "A", priority: 10, stages: ["before_run", "after_train_iter"]),
        HookInfo(name: "B", type: "B", priority: 50, stages: nil),
        HookInfo(name: "C", type: "C", priority: 90, stages: []),
    ])

    @Test("stages round-trip: listed, unknown (nil) and none ([]) stay apart")
    func roundTrip() throws {
        let (bytes, names) = encoded(start)
        #expect(try decode(bytes, names) == .runStart(start))
        // Without any stages known, no record is written (a 1.0 run_start).
        var plain = start
        for i in plain.hooks.indices { plain.hooks[i].stages = nil }
        let (plainBytes, plainNames) = encoded(plain)
        #expect(plainBytes.count < bytes.count && !plainBytes.contains(Tag.hookStages))
        #expect(try decode(plainBytes, plainNames) == .runStart(plain))
    }

    @Test("a damaged record is refused with a reason, never read past")
    func damaged() throws {
        let (bytes, names) = encoded(start)
        let at = try #require(bytes.lastIndex(of: Tag.hookStages))
        // The payload: length, then the hook count (3).
        var wrongCount = bytes
        wrongCount[at + 2] = 4
        #expect(throws: DecodeFailure.self) { try decode(wrongCount, names) }
        var shortLength = bytes
        shortLength[at + 1] -= 1
        #expect(throws: DecodeFailure.self) { try decode(shortLength, names) }
        #expect(throws: DecodeFailure.self) { try decode(Array(bytes.dropLast()), names) }
    }
}

/// Traces written before format 2 (payloads of records only) read as they did: two goldens
/// recorded by the format 1.1 writer, kept with their dumps (Tests/Fixtures/format-1.1).
@Suite("Format 1.1 traces")
struct FormatOneTests {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/format-1.1").path
    }()

    @Test("a 1.1 trace reads event for event as its dump says, checks intact, and rewrites as 2.0 with the same events",
          arguments: ["eval-save-best", "momentum-step-adam-two-groups"])
    func reads(_ name: String) throws {
        let path = "\(Self.directory)/\(name).htrace"
        let reader = try TraceReader(path: path)
        #expect(reader.header.majorVersion == 1 && reader.header.minorVersion == 1)
        var lines: [String] = [EventText.header]
        var events: [Event] = []
        while let e = try reader.next() {
            lines.append(EventText.line(e))
            events.append(e.event)
        }
        let dump = try readTextFile("\(Self.directory)/\(name).txt").split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        #expect(lines == Array(dump.dropLast()).map(String.init))
        #expect(try IntegrityReport.check(path: path).verdict == .intact)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try writeTrace(events, to: dir.file("v2"))
        let again = try TraceReader(path: dir.file("v2"))
        #expect(again.header.majorVersion == 2)
        var back: [Event] = []
        while let e = try again.next() { back.append(e.event) }
        #expect(back.count == events.count && zip(back, events).allSatisfy { $0.isIdentical(to: $1) })
    }
}
