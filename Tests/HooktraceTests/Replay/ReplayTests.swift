@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

/// Records `json` to a file in `dir` (blocks of `blockEvents` events when given); returns
/// the path and the events.
func recordFile(_ json: String, _ dir: TemporaryDirectory, name: String = "base.htrace", blockEvents: Int? = nil) throws -> (String, [Event]) {
    let config = try RunConfig(text: json, name: "base")
    var events: [Event] = []
    let path = dir.file(name)
    var options = TraceWriter.Options()
    if let blockEvents { options.blockEvents = blockEvents }
    let writer = try TraceWriter(path: path, options: options)
    try Simulator.record(config) { e throws(HooktraceError) in
        events.append(e)
        try writer.append(e)
    }
    try writer.close()
    return (path, events)
}

func replayEvents(_ path: String, _ hooks: String?, overrides: [(path: String, value: JSONValue)] = []) throws -> [Event] {
    var events: [Event] = []
    let h = try hooks.map { text throws -> JSONValue in try JSONValue.parse(text) }
    try Replayer.replay(trace: path, hooks: h, overrides: overrides) { e throws(HooktraceError) in events.append(e) }
    return events
}

/// Events without run_start (whose config and meta legitimately differ in a replay).
func body(_ events: [Event]) -> [Event] {
    events.filter { if case .runStart = $0 { false } else { true } }
}

let replayBase = #"""
{"runner": {"type": "EpochBasedRunner", "max_epochs": 4}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9},
 "optimizer_config": {"grad_clip": {"max_norm": 10}},
 "lr_config": {"policy": "step", "step": [2, 3], "warmup": "linear", "warmup_iters": 3, "warmup_ratio": 0.1},
 "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2},
 "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
 "evaluation": {"interval": 1, "save_best": "bbox_mAP"},
 "custom_hooks": [{"type": "EMAHook", "priority": "HIGHEST"}, {"type": "MyHook"}],
 "workflow": [["train", 1], ["val", 1]],
 "data": {"train": 5, "val": 2}, "simulation": {"seed": 5}}
"""#

@Suite("Replay")
struct ReplayTests {
    @Test("replaying with the recorded hooks reproduces every event exactly")
    func selfReplay() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, recorded) = try recordFile(replayBase, dir)
        let replayed = try replayEvents(path, nil)
        #expect(identical(body(replayed), body(recorded)))
        let again = try replayEvents(path, "{}")
        #expect(identical(again, replayed), "replay is deterministic")
    }

    @Test("the same replay twice writes byte-identical files")
    func identicalFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        let hooks = try JSONValue.parse(#"{"lr_config": {"policy": "CosineAnnealing", "min_lr": 0.0}}"#)
        var files: [[UInt8]] = []
        for name in ["r1.htrace", "r2.htrace"] {
            let w = try TraceWriter(path: dir.file(name))
            try Replayer.replay(trace: path, hooks: hooks) { e throws(HooktraceError) in try w.append(e) }
            try w.close()
            files.append(try readBytes(dir.file(name)))
        }
        #expect(files[0] == files[1])
    }

    @Test("replaying the examples with their own hooks reproduces them", arguments: ["iter_based_schedule.json", "custom_hooks_mixed_priorities.json", "gradient_accumulation.json", "cosine_warmup.json"])
    func selfReplayExamples(file: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, recorded) = try recordFile(try readText(examplePath(file)), dir)
        #expect(identical(body(try replayEvents(path, nil)), body(recorded)))
    }

    @Test("a new schedule keeps the inputs and changes only the effects")
    func newSchedule() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, recorded) = try recordFile(replayBase, dir)
        let replayed = try replayEvents(path, #"{"lr_config": {"policy": "step", "step": [1]}}"#)
        func inputs(_ e: [Event]) -> [Event] {
            e.filter { if case .call = $0 { return true }; if case .observe = $0 { return true }; return false }
        }
        #expect(identical(inputs(replayed), inputs(recorded)))
        #expect(!identical(body(replayed), body(recorded)))
        // Epoch 1 now runs at 0.002 (one milestone passed).
        let lrs = effects(replayed, "StepLrUpdaterHook").compactMap { a -> Double? in if case .setLR(_, _, let v) = a { v } else { nil } }
        #expect(lrs.contains(0.002))
        if case .runStart(let start) = replayed.first {
            #expect(start.config.contains("\"step\":[1]"))
            #expect(start.meta.contains(Field("replay", .bool(true))))
        } else {
            Issue.record("no run_start")
        }
    }

    @Test("evaluating at epochs the recording did not evaluate uses the simulation's metrics")
    func newEvaluations() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let base = replayBase.replacingOccurrences(of: #""evaluation": {"interval": 1, "save_best": "bbox_mAP"}"#, with: #""evaluation": {"interval": 2}"#)
        let (path, _) = try recordFile(base, dir)
        let every = try replayEvents(path, #"{"evaluation": {"interval": 1}}"#)
        let direct = try recordFile(replayBase.replacingOccurrences(of: #", "save_best": "bbox_mAP""#, with: ""), dir, name: "direct.htrace").1
        let metrics = { (e: [Event]) in e.compactMap { x -> Double? in if case .observe(let o) = x, o.kind == .metric { o.value.number } else { nil } } }
        #expect(metrics(every) == metrics(direct), "metrics depend on where they are evaluated, not on the hooks")
    }

    @Test("inputs that shape the calls cannot change; unknown keys are named", arguments: [
        (#"{"runner": {"type": "EpochBasedRunner", "max_epochs": 5}}"#, "runner: cannot change in a replay"),
        (#"{"data": {"train": 6, "val": 2}}"#, "data: cannot change in a replay"),
        (#"{"lr_confg": {"policy": "fixed"}}"#, #"lr_confg: is not a hook setting (did you mean "lr_config"?)"#),
        (#"{"lr_config": {"policy": "cosineannealing"}}"#, "CosineannealingLrUpdaterHook, which is not in the hook registry"),
        (#"[1]"#, "a hooks file must be a JSON object"),
    ])
    func rejected(hooks: String, expected: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        #expect {
            try replayEvents(path, hooks)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("--cfg-options nesting is capped like JSON's (512 levels) and long lists parse in linear time")
    func cfgOptionLimits() throws {
        let deep = String(repeating: "[", count: 513) + "1" + String(repeating: "]", count: 513)
        #expect {
            try Replayer.parseOption(deep)
        } throws: { error in
            (error as? HooktraceError)?.message.contains("deeper than 512") == true
        }
        // 8,000 levels took 18 s before the cap; now it is refused at once.
        #expect(throws: HooktraceError.self) {
            try Replayer.parseOption(String(repeating: "[", count: 8000) + String(repeating: "]", count: 8000))
        }
        let ok = String(repeating: "[", count: 512) + "1" + String(repeating: "]", count: 512)
        var v = try Replayer.parseOption(ok)
        var levels = 0
        while case .array(let a) = v, let first = a.first { v = first; levels += 1 }
        #expect(levels == 512 && v == .int(1))
        let long = "[" + (0..<20_000).map(String.init).joined(separator: ",") + "]"
        guard case .array(let items) = try Replayer.parseOption(long) else {
            Issue.record("not a list")
            return
        }
        #expect(items.count == 20_000 && items.last == .int(19_999))
    }

    @Test("--cfg-options set single values, parsed as mmcv's DictAction does")
    func cfgOptions() throws {
        func parse(_ s: String) -> JSONValue? { try? Replayer.parseOption(s) }
        // What mmcv's DictAction._parse_iterable returns for each (mmcv/utils/config.py, 1.7).
        #expect(parse("[16,22]") == .array([.int(16), .int(22)]))
        #expect(parse("(16, 22)") == .array([.int(16), .int(22)]))
        #expect(parse("[bbox, segm]") == .array([.string("bbox"), .string("segm")]))
        #expect(parse("[(1,2),(3,4)]") == .array([.array([.int(1), .int(2)]), .array([.int(3), .int(4)])]))
        #expect(parse("[1,[2,3]]") == .array([.int(1), .array([.int(2), .int(3)])]))
        #expect(parse("[]") == .array([]))
        #expect(parse("a,b") == .array([.string("a"), .string("b")]))
        #expect(parse("True") == .bool(true))
        #expect(parse("TRUE") == .bool(true))
        #expect(parse("false") == .bool(false))
        #expect(parse("None") == .null)
        #expect(parse("null") == .string("null"))
        #expect(parse("0.01") == .double(0.01))
        #expect(parse("512.") == .double(512))
        #expect(parse(".5") == .double(0.5))
        #expect(parse("1e-3") == .double(0.001))
        #expect(parse("1_000") == .int(1000))
        #expect(parse("007") == .int(7))
        #expect(parse("-3") == .int(-3))
        #expect(parse("99999999999999999999") == .double(1e20))
        #expect(parse("inf") == .double(.infinity))
        #expect(parse("1__0") == .string("1__0"))
        #expect(parse("0x10") == .string("0x10"))
        #expect(parse("e5") == .string("e5"))
        #expect(parse("cos") == .string("cos"))
        #expect(parse("'cos'") == .string("cos"))
        #expect(parse("\"step\"") == .string("step"))
        #expect(parse(#"{"max_norm": 35}"#) == .object([("max_norm", .int(35))]))
        #expect(throws: HooktraceError.self) { try Replayer.parseOption("[1,2") }
        // Brackets that do not nest: mmcv recurses on the same text until Python gives up.
        #expect(throws: HooktraceError.self) { try Replayer.parseOption("[a,(b],c)") }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        let a = try replayEvents(path, nil, overrides: [("lr_config.step", .array([.int(1)])), ("lr_config.warmup", .null)])
        let b = try replayEvents(path, #"{"lr_config": {"policy": "step", "step": [1], "warmup": null, "warmup_iters": 3, "warmup_ratio": 0.1}}"#)
        #expect(identical(body(a), body(b)))
    }

    @Test("a recording damaged halfway replays up to the damage and says where it stopped")
    func damaged() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir, name: "small-blocks.htrace", blockEvents: 20)
        let bytes = try readBytes(path)
        try writeBytes(Array(bytes[0..<(bytes.count / 2)]), to: path)
        var events: [Event] = []
        #expect {
            try Replayer.replay(trace: path, hooks: nil) { e throws(HooktraceError) in events.append(e) }
        } throws: { error in
            "\(error)".contains("replay stopped after")
        }
        guard case .runEnd(let end) = events.last else {
            Issue.record("the replay must end with run_end")
            return
        }
        #expect(end.status == .failed && end.message.contains("replay stopped"))
        #expect(events.count > 10)
    }

    @Test("a real run's start without a loader length: replay counts it from the recorded calls")
    func inferredLoaders() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let json = #"""
        {"runner": {"type": "EpochBasedRunner", "max_epochs": 3}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9},
         "lr_config": {"policy": "step", "step": [2]}, "checkpoint_config": {"interval": 1},
         "workflow": [["train", 1], ["val", 1]], "data": {"train": 4, "val": 3}}
        """#
        let (_, events) = try recordFile(json, dir)
        // As a live recorder writes it when the val loader's length was only seen later:
        // a real run's start, the config's data and the loaders without val.
        let path = dir.file("real.htrace")
        let writer = try TraceWriter(path: path)
        for e in events {
            guard case .runStart(var start) = e else {
                try writer.append(e)
                continue
            }
            start.source = "mmcv 1.7.2"
            start.loaders = start.loaders.filter { $0.mode != "val" }
            start.config = start.config.replacingOccurrences(of: #""data":{"train":4,"val":3}"#, with: #""data":{"train":4}"#)
            #expect(!start.config.contains(#""val":3"#), "the test must remove the length: \(start.config)")
            try writer.append(.runStart(start))
        }
        try writer.close()
        #expect(try RecordedLoaders.infer(trace: path, modes: ["train", "val"], iterBased: false) == ["train": 4, "val": 3])
        let replayed = try replayEvents(path, nil)
        #expect(identical(body(replayed), body(events)), "the replay with the inferred lengths reproduces the run")
    }

    @Test("an IterBasedRunner's train loader length is read from where runner.epoch first moves", arguments: [1, 3, 4, 7])
    func inferredIterLoader(length: Int) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let json = #"{"runner": {"type": "IterBasedRunner", "max_iters": 20}, "optimizer": {"type": "SGD", "lr": 0.02}, "data": {"train": \#(length)}}"#
        let (path, _) = try recordFile(json, dir)
        #expect(try RecordedLoaders.infer(trace: path, modes: ["train"], iterBased: true) == ["train": length])
    }
}

/// The replay's inline comparison holds recorded groups by handles without reference
/// counting (``CallGroupReader/nextRef()``), valid for two calls: with blocks of a few
/// events a batch boundary falls between almost every call and the one before it.
@Suite("Replay compared as it runs, across block boundaries")
struct ReplayComparisonBoundaryTests {
    @Test("with 3-event blocks, the inline comparison reports what diff reports for the kept replay", arguments: [
        #"{"lr_config": {"policy": "step", "step": [1, 3]}, "checkpoint_config": {"interval": 2}}"#,
        #"{"evaluation": {"interval": 2, "save_best": "bbox_mAP"}}"#,
        "null",
    ])
    func smallBlocks(hooks: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (recording, _) = try recordFile(replayBase, dir, name: "tiny-blocks.htrace", blockEvents: 3)
        let hookSet = hooks == "null" ? nil : try JSONValue.parse(hooks)
        let kept = dir.file("kept.htrace")
        let writer = try TraceWriter(path: kept)
        try Replayer.replay(trace: recording, hooks: hookSet, to: writer)
        try writer.close()
        let comparison = ReplayComparison(recorded: recording, replay: kept, options: TraceDiff.Options())
        try Replayer.replay(trace: recording, hooks: hookSet, prepare: { comparison.prepare(start: $0, inputs: $1) }, to: comparison)
        let inline = comparison.finish()
        let diff = try TraceDiff.compare(recording, kept)
        #expect(inline.json == diff.json)
        #expect(inline.same == (hooks == "null"))
    }
}
