@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

private func writeEvents(_ events: [Event], _ path: String) throws {
    let w = try TraceWriter(path: path)
    for e in events { try w.append(e) }
    try w.close()
}

@Suite("Diff")
struct DiffTests {
    @Test("values compare bit for bit, except that every NaN equals every NaN (torch's NaN loss is negative, a JSON log's positive)")
    func nanEqualsNaN() {
        let torchNaN = Double(bitPattern: 0xFFF8_0000_0000_0000), jsonNaN = Double.nan
        #expect(Scalar.double(torchNaN).isIdentical(to: .double(jsonNaN)))
        #expect(EffectAction.log([Field("loss", .double(torchNaN))]).isIdentical(to: .log([Field("loss", .double(jsonNaN))])))
        #expect(!Scalar.double(0.0).isIdentical(to: .double(-0.0)))
        #expect(!Scalar.double(0.1).isIdentical(to: .double(0.1.nextUp)))
    }

    @Test("a trace is the same as itself and as its self-replay")
    func same() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        #expect(try TraceDiff.compare(path, path).same)
        try writeEvents(try replayEvents(path, nil), dir.file("self.htrace"))
        let d = try TraceDiff.compare(path, dir.file("self.htrace"))
        #expect(d.same, "\(d.text)")
        #expect(d.text.hasSuffix("result: same\n"))
    }

    @Test("a damaged copy is compared up to the damage: no false observation difference, and it is said to end, not to be another run")
    func damagedCopy() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Blocks of 7 events end inside call groups.
        let (path, _) = try recordFile(replayBase, dir, name: "small-blocks.htrace", blockEvents: 7)
        let bytes = try readBytes(path)
        try writeBytes(Array(bytes[0..<(bytes.count / 2)]), to: dir.file("cut.htrace"))
        let d = try TraceDiff.compare(path, dir.file("cut.htrace"))
        #expect(!d.same)
        #expect(d.b.damage != nil)
        #expect(d.observationMismatches == 0, "\(d.warnings)")
        #expect(d.warnings.contains { $0.hasPrefix("B ends after") && $0.contains("it is damaged") }, "\(d.warnings)")
        #expect(!d.warnings.contains { $0.contains("different runs") })
        #expect(d.series.allSatisfy { $0.differing == 0 })
    }

    @Test("an effect that differs before the first call (a warning in the prelude) makes the traces different")
    func preludeDifference() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, events) = try recordFile(replayBase, dir)
        var changed = events
        changed.insert(.effect(Effect(hook: "MyHook", .note("a warning only B has"))), at: 1)
        try writeEvents(changed, dir.file("b.htrace"))
        let d = try TraceDiff.compare(path, dir.file("b.htrace"))
        #expect(!d.same)
        #expect(d.otherEffects.differing == 1)
        #expect(d.text.hasSuffix("result: different\n"))
    }

    @Test("a changed schedule: first divergence, LR ranges, largest difference, log records")
    func schedule() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        try writeEvents(try replayEvents(path, #"{"lr_config": {"policy": "step", "step": [1, 3], "warmup": "linear", "warmup_iters": 3, "warmup_ratio": 0.1}}"#), dir.file("b.htrace"))
        let d = try TraceDiff.compare(path, dir.file("b.htrace"))
        #expect(!d.same)
        let first = try #require(d.firstDivergence)
        #expect(first.kind == .lr && first.iter == 5 && first.epoch == 1 && first.hook == "StepLrUpdaterHook")
        #expect(first.a == "lr[0]=0.02 in force" && first.b == "lr[0]=0.002 in force")
        let lr = try #require(d.series.first { $0.kind == .lr })
        #expect(lr.ranges == [5...9], "epoch 1 (iterations 5-9) differs; epoch 2 onwards both have passed their milestones")
        #expect(lr.differing == 5 && lr.compared == 20)
        #expect(lr.maxAbs?.diff == 0.02 - 0.002)
        #expect(d.logRecords.differing > 0)
        #expect(d.optimizerSteps.differing == 0)
        #expect(d.text.contains("lr[0]: 5 of 20 iterations differ (iters 5-9)"))
        // --only restricts what is compared.
        var o = TraceDiff.Options()
        o.kinds = [.checkpoint, .order]
        #expect(try TraceDiff.compare(path, dir.file("b.htrace"), options: o).same)
    }

    @Test("mmengine writes the next iteration's LR in after_train_iter: compared as in force during the iteration, wherever a trace records the write")
    func mmengineInForce() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        func config(warmup: Int) -> String {
            #"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": \#(warmup)}], "data": {"train": 4}}"#
        }
        let events = try simulate(config(warmup: 5)).events
        try writeEvents(events, dir.file("a.htrace"))
        // The same run as a recorder that looks at the next call would write it: each
        // set_lr of after_train_iter follows the next call instead.
        var late: [Event] = []
        var held: [Event] = []
        var inAfterIter = false
        for e in events {
            switch e {
            case .call(let c):
                late.append(e)
                late += held
                held = []
                inAfterIter = c.stage == "after_train_iter"
            case .effect(let x) where inAfterIter && { if case .setLR = x.action { true } else { false } }():
                held.append(e)
            default:
                late.append(e)
            }
        }
        #expect(late.count == events.count)
        try writeEvents(late, dir.file("late.htrace"))
        let same = try TraceDiff.compare(dir.file("a.htrace"), dir.file("late.htrace"))
        let lr = try #require(same.series.first { $0.kind == .lr })
        #expect(lr.compared == 8 && lr.differing == 0, "\(same.text)")
        // A longer warmup: iteration 0 runs at start_factor · lr in both; iteration 1 differs
        // first, and the ends stay apart in the last bits (LinearLR multiplies step by step:
        // 0.10000000000000003 after 4 steps, 0.1 after 6).
        try writeEvents(try simulate(config(warmup: 7)).events, dir.file("b.htrace"))
        let d = try TraceDiff.compare(dir.file("a.htrace"), dir.file("b.htrace"))
        let changed = try #require(d.series.first { $0.kind == .lr })
        #expect(changed.ranges == [1...7], "\(d.text)")
        #expect(d.firstDivergence?.iter == 1)
    }

    @Test("checkpoint paths compare relative to each run's work_dir (a real mmengine run's are absolute); other paths as written")
    func workDirRelative() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": 3}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 1}}, "work_dir": "wd", "data": {"train": 2}}"#
        let events = try simulate(json).events
        try writeEvents(events, dir.file("a.htrace"))
        func moved(to root: String, only prefix: String = "wd/") -> [Event] {
            events.map { e in
                func p(_ s: String) -> String { s.hasPrefix(prefix) ? root + s.dropFirst(3) : s }
                switch e {
                case .runStart(var r):
                    r.meta = r.meta.map { $0.key == "work_dir" ? Field($0.key, .string(String(root.dropLast()))) : $0 }
                    return .runStart(r)
                case .effect(let x):
                    switch x.action {
                    case .checkpointSave(let s): return .effect(Effect(hook: x.hook, .checkpointSave(path: p(s))))
                    case .checkpointRemove(let s): return .effect(Effect(hook: x.hook, .checkpointRemove(path: p(s))))
                    case .checkpointLink(let l, let t): return .effect(Effect(hook: x.hook, .checkpointLink(link: p(l), target: p(t))))
                    default: return e
                    }
                default: return e
                }
            }
        }
        #expect(events.contains { if case .effect(let x) = $0, case .checkpointRemove = x.action { true } else { false } })
        try writeEvents(moved(to: "/abs/run/wd/"), dir.file("abs.htrace"))
        let d = try TraceDiff.compare(dir.file("a.htrace"), dir.file("abs.htrace"))
        #expect(d.same, "\(d.text)")
        // The work_dir says where B's files are; a file elsewhere is another file.
        try writeEvents(moved(to: "/abs/run/wd/").map { e in
            if case .runStart(var r) = e {
                r.meta = r.meta.map { $0.key == "work_dir" ? Field($0.key, .string("/elsewhere")) : $0 }
                return .runStart(r)
            }
            return e
        }, dir.file("other.htrace"))
        #expect(try !TraceDiff.compare(dir.file("a.htrace"), dir.file("other.htrace")).same)
    }

    @Test("checkpoint policies: saved, removed and kept files per trace")
    func checkpoints() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        try writeEvents(try replayEvents(path, #"{"checkpoint_config": {"interval": 1, "max_keep_ckpts": 1}}"#), dir.file("b.htrace"))
        let d = try TraceDiff.compare(path, dir.file("b.htrace"))
        #expect(d.checkpoints.keptA.map(fileName).filter { $0.hasPrefix("epoch") } == ["epoch_3.pth", "epoch_4.pth"])
        #expect(d.checkpoints.keptB.map(fileName).filter { $0.hasPrefix("epoch") } == ["epoch_4.pth"])
        #expect(d.checkpoints.removedB.map(fileName) == ["epoch_3.pth"], "A removes epoch_1 and epoch_2 too")
        #expect(d.text.contains("checkpoints removed only in B: epoch_3.pth"))
    }

    @Test("hook order changes are reported as moves")
    func order() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        try writeEvents(try replayEvents(path, #"{"custom_hooks": [{"type": "EMAHook", "priority": "HIGHEST"}, {"type": "MyHook", "priority": 5}]}"#), dir.file("b.htrace"))
        let d = try TraceDiff.compare(path, dir.file("b.htrace"))
        #expect(d.order.contains("MyHook: priority NORMAL → 5"))
        #expect(d.order.contains("MyHook moved before StepLrUpdaterHook"))
        #expect(!d.same)
    }

    @Test("traces of different runs are matched by call with a warning")
    func differentRuns() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (a, _) = try recordFile(replayBase, dir, name: "a.htrace")
        let (b, _) = try recordFile(replayBase.replacingOccurrences(of: #""max_epochs": 4"#, with: #""max_epochs": 3"#), dir, name: "b.htrace")
        let d = try TraceDiff.compare(a, b)
        #expect(!d.same)
        #expect(d.callMismatches > 0)
        #expect(d.warnings.contains { $0.contains("different runs") })
        #expect(d.a.calls > d.b.calls)
    }

    @Test("the JSON report parses and carries the same facts")
    func json() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try recordFile(replayBase, dir)
        try writeEvents(try replayEvents(path, #"{"lr_config": {"policy": "fixed"}}"#), dir.file("b.htrace"))
        let d = try TraceDiff.compare(path, dir.file("b.htrace"))
        let v = try JSONValue.parse(d.json)
        #expect(v["same"] == .bool(false))
        #expect(v["first_divergence"]?["kind"] == .string("lr"))
        guard case .array(let series)? = v["series"] else {
            Issue.record("no series")
            return
        }
        #expect(series.first?["differing"] == .int(Int64(d.series[0].differing)))
    }
}
