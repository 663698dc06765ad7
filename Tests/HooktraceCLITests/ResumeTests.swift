import Foundation
import HooktraceFormat
import Testing

/// `record --resume-from TRACE[:CHECKPOINT]`: mmcv 1.x's `runner.resume`, from a checkpoint
/// of a recorded (interrupted) run. Expected behaviour from mmcv 1.7.2's BaseRunner.resume,
/// IterBasedRunner.resume and the runners' save_checkpoint.
@Suite("resume (mmcv 1.x)")
struct ResumeTests {
    struct Run {
        var calls: [String] = []
        var lr: [Int: Double] = [:]  // by iteration: the lr in force at before_train_iter
        var momentum: [Int: Double] = [:]
        var saved: [String] = []
        var bests: [String] = []
        var meta: [Field] = []
        var start: RunStart?
        var end: RunEnd?
    }

    static func read(_ path: String) throws -> Run {
        var run = Run()
        var iter = 0, lr = 0.0, mom = 0.0
        var stage = ""
        try TraceReader(path: path).forEach { e in
            switch e.event {
            case .runStart(let s):
                run.start = s
                lr = s.paramGroups.first?.lr ?? 0
                mom = s.paramGroups.first?.momentum ?? 0
            case .call(let c):
                stage = c.stage
                iter = c.iter
                run.calls.append("\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter)")
                if c.stage == "before_train_iter" { run.lr[iter] = lr; run.momentum[iter] = mom }
            case .effect(let x):
                switch x.action {
                case .setLR(_, 0, let v):
                    lr = v
                    if stage == "before_train_iter" { run.lr[iter] = v }
                case .setMomentum(_, 0, let v):
                    mom = v
                    if stage == "before_train_iter" { run.momentum[iter] = v }
                case .checkpointSave(let p): run.saved.append((p as NSString).lastPathComponent)
                case .bestUpdate(let k, let v, let c): run.bests.append("\(k)=\(v) \((c as NSString).lastPathComponent)")
                case .log(let f) where stage == "before_run" && run.meta.isEmpty: run.meta = f
                default: break
                }
            case .runEnd(let r): run.end = r
            default: break
            }
        }
        return run
    }

    static func record(_ scratch: Scratch, _ config: String, _ name: String, _ extra: [String] = []) throws -> (String, CLI.Result) {
        let path = scratch.file(name + ".json")
        if !FileManager.default.fileExists(atPath: path) { try config.write(toFile: path, atomically: true, encoding: .utf8) }
        let trace = scratch.file(name + "-\(extra.joined().hashValue).htrace")
        let r = try CLI.run(["record", "--config", path, "-o", trace] + extra)
        return (trace, r)
    }

    static let schedules = [
        #""lr_config": {"policy": "step", "step": [3, 5], "warmup": "linear", "warmup_iters": 6, "warmup_ratio": 0.1}, "momentum_config": {"policy": "cyclic", "target_ratio": [0.8947, 1], "cyclic_times": 1, "step_ratio_up": 0.4}"#,
        #""lr_config": {"policy": "CosineAnnealing", "min_lr": 0.0001, "warmup": "exp", "warmup_iters": 3, "warmup_ratio": 0.01}"#,
        #""lr_config": {"policy": "CosineRestart", "periods": [8, 16], "restart_weights": [1, 0.5], "min_lr": 0.001, "by_epoch": false}"#,
        #""lr_config": {"policy": "OneCycle", "max_lr": 0.1, "total_steps": 24}"#,
    ]

    static func epochConfig(_ schedule: String, lr: String = "0.02") -> String {
        #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 6}, "optimizer": {"type": "SGD", "lr": \#(lr), "momentum": 0.9}, \#(schedule), "checkpoint_config": {"interval": 1, "max_keep_ckpts": 3}, "evaluation": {"interval": 1, "save_best": "mAP"}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]}, "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"mAP": {"epoch": {"1": 0.3, "2": 0.35, "3": 0.33, "4": 0.4, "5": 0.38, "6": 0.39}}}}}"#
    }

    @Test("EpochBasedRunner resumed at every epoch boundary: the LR and momentum of every later iteration, the checkpoints and the best equal the uninterrupted run's", arguments: schedules.indices)
    func epochBoundaries(schedule: Int) throws {
        let scratch = Scratch()
        let config = Self.epochConfig(Self.schedules[schedule])
        let (fullPath, f) = try Self.record(scratch, config, "c")
        #expect(f.status == 0, "\(f.stderr)")
        let full = try Self.read(fullPath)
        for epoch in 1...5 {
            let (cut, c) = try Self.record(scratch, config, "c", ["--stop-at", "epoch=\(epoch)"])
            #expect(c.status == 0, "\(c.stderr)")
            let (resumedPath, r) = try Self.record(scratch, config, "c", ["--resume-from", cut])
            #expect(r.status == 0, "\(r.stderr)")
            let resumed = try Self.read(resumedPath)
            let from = epoch * 4
            #expect(resumed.calls.first == "before_run \(epoch) \(from) 0", "\(resumed.calls.prefix(2))")
            for i in from..<24 {
                #expect(resumed.lr[i] == full.lr[i], "schedule \(schedule), resumed at epoch \(epoch): lr at iteration \(i) \(resumed.lr[i] ?? -1) vs \(full.lr[i] ?? -1)")
                #expect(resumed.momentum[i] == full.momentum[i], "schedule \(schedule), epoch \(epoch): momentum at \(i)")
            }
            let regular = { (names: [String]) in names.filter { $0.hasPrefix("epoch_") } }
            #expect(regular(resumed.saved) == regular(full.saved).filter { (Int($0.filter(\.isNumber)) ?? 0) > epoch }, "\(resumed.saved) vs \(full.saved)")
            // The checkpoint of epoch N is saved before epoch N's evaluation (CheckpointHook runs
            // before EvalHook): its hook_msgs hold the best of epochs 1…N-1, and the resumed run
            // judges epochs N+1… against that (mmcv's own behaviour: epoch N's best is forgotten).
            let scores = [0.3, 0.35, 0.33, 0.4, 0.38, 0.39]
            var best = scores.prefix(epoch - 1).max() ?? -.infinity
            var expected: [String] = []
            for e in (epoch + 1)...6 where scores[e - 1] > best {
                best = scores[e - 1]
                expected.append("mAP=\(best) best_mAP_epoch_\(e).pth")
            }
            #expect(resumed.bests == expected, "epoch \(epoch): \(resumed.bests) vs \(expected)")
            #expect(resumed.meta.map(\.key) == ["env_info", "config", "seed", "exp_name", "hook_msgs", "epoch", "iter", "mmcv_version", "time"], "\(resumed.meta.map(\.key))")
            #expect(resumed.meta.contains(Field("iter", .int(Int64(from)))) && resumed.meta.contains(Field("epoch", .int(Int64(epoch)))))
            #expect(resumed.start?.meta.contains(Field("resumed_trace", .string(cut))) == true)
            // A resumed trace replays on its own (launch.resume is in its config).
            let replay = try CLI.run(["replay", resumedPath])
            #expect(replay.status == 0 && replay.stdout.hasSuffix("result: same\n"), "\(replay.stdout)\(replay.stderr)")
        }
    }

    @Test("a config with another optimizer lr resumes with the checkpoint's initial_lr (LrUpdaterHook's setdefault keeps it): the schedule is the old one")
    func initialLR() throws {
        let scratch = Scratch()
        let (cut, _) = try Self.record(scratch, Self.epochConfig(Self.schedules[0]), "a", ["--stop-at", "epoch=2"])
        let (resumedPath, r) = try Self.record(scratch, Self.epochConfig(Self.schedules[0], lr: "0.08"), "b", ["--resume-from", cut])
        #expect(r.status == 0, "\(r.stderr)")
        let (fullPath, _) = try Self.record(scratch, Self.epochConfig(Self.schedules[0]), "a")
        let full = try Self.read(fullPath), resumed = try Self.read(resumedPath)
        #expect(resumed.lr[8] == full.lr[8] && resumed.lr[8] != nil, "\(resumed.lr[8] ?? -1) vs \(full.lr[8] ?? -1)")
    }

    @Test("IterBasedRunner: the checkpoint's meta iter is the saving iteration's index, so the resumed run does that iteration again; hook_msgs are not restored, so the best is forgotten")
    func iterBased() throws {
        let scratch = Scratch()
        let config = #"{"runner": {"type": "IterBasedRunner", "max_iters": 12}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}, "lr_config": {"policy": "poly", "power": 1.0, "min_lr": 0.0}, "checkpoint_config": {"interval": 4}, "evaluation": {"interval": 4, "save_best": "mAP"}, "data": {"train": 5, "val": 2}, "simulation": {"metrics": {"mAP": {"iter": {"4": 0.5, "8": 0.4, "12": 0.45}}}}}"#
        let (cut, c) = try Self.record(scratch, config, "i", ["--stop-at", "iter=6"])
        #expect(c.status == 0, "\(c.stderr)")
        let (resumedPath, r) = try Self.record(scratch, config, "i", ["--resume-from", cut + ":iter_4.pth"])
        #expect(r.status == 0, "\(r.stderr)")
        let resumed = try Self.read(resumedPath)
        // Saved at iter index 3 (iter_4.pth): the resumed run starts at index 3 again, inner_iter = iter.
        #expect(resumed.calls.first == "before_run 1 3 3", "\(resumed.calls.prefix(3))")
        #expect(resumed.calls.contains("before_train_iter 0 3 0"))
        // Iteration 4 runs again and is evaluated again: with no best restored, 0.5 is a new
        // best once more (its file written again), and 0.4 at iteration 8 is not.
        #expect(resumed.bests == ["mAP=0.5 best_mAP_iter_4.pth"], "\(resumed.bests)")
        #expect(resumed.saved.first == "iter_4.pth", "\(resumed.saved)")
        #expect(resumed.meta.first { $0.key == "epoch" } == nil)
    }

    @Test("an EpochBasedRunner checkpoint saved mid-epoch (by iterations) resumes at the next epoch: meta epoch is runner.epoch + 1")
    func midEpoch() throws {
        let scratch = Scratch()
        let config = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 3}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}, "checkpoint_config": {"interval": 3, "by_epoch": false}, "data": {"train": 5}}"#
        let (cut, _) = try Self.record(scratch, config, "m", ["--stop-at", "iter=4"])
        // mmcv's EpochBasedRunner names a checkpoint by epoch even when saved by iterations.
        let (resumedPath, r) = try Self.record(scratch, config, "m", ["--resume-from", cut + ":epoch_1.pth"])
        #expect(r.status == 0, "\(r.stderr)")
        let resumed = try Self.read(resumedPath)
        // epoch_1.pth: saved in epoch 0 at iteration index 2: meta epoch 1, iter 2.
        #expect(resumed.calls.first == "before_run 1 2 0", "\(resumed.calls.prefix(2))")
        #expect(resumed.calls.filter { $0.hasPrefix("before_train_epoch") }.count == 2)
    }

    @Test("bad resumes: a checkpoint removed before the run ended, a name it never saved, another runner, an mmengine trace")
    func errors() throws {
        let scratch = Scratch()
        let config = Self.epochConfig(Self.schedules[0])
        let (cut, _) = try Self.record(scratch, config, "e", ["--stop-at", "epoch=5"])
        let removed = try CLI.run(["record", "--config", scratch.file("e.json"), "--resume-from", cut + ":epoch_1.pth", "-o", scratch.file("x.htrace")])
        #expect(removed.status == 2 && removed.stderr.contains("epoch_1.pth was removed before the run ended"), "\(removed.stderr)")
        let never = try CLI.run(["record", "--config", scratch.file("e.json"), "--resume-from", cut + ":epoch_9.pth", "-o", scratch.file("x.htrace")])
        #expect(never.status == 2 && never.stderr.contains("the run saved no checkpoint epoch_9.pth"), "\(never.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.htrace")))
        let iterConfig = scratch.file("iter.json")
        try #"{"runner": {"type": "IterBasedRunner", "max_iters": 4}, "optimizer": {"type": "SGD", "lr": 0.02}, "data": {"train": 2}}"#.write(toFile: iterConfig, atomically: true, encoding: .utf8)
        let other = try CLI.run(["record", "--config", iterConfig, "--resume-from", cut, "-o", scratch.file("x.htrace")])
        #expect(other.status == 2 && other.stderr.contains("the checkpoint was saved by an EpochBasedRunner"), "\(other.stderr)")
        let engineConfig = scratch.file("engine.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 2}}"#.write(toFile: engineConfig, atomically: true, encoding: .utf8)
        let engineTrace = scratch.file("engine.htrace")
        #expect(try CLI.run(["record", "--config", engineConfig, "-o", engineTrace, "-q"]).status == 0)
        // A checkpoint of one framework's run does not resume the other's.
        let engine = try CLI.run(["record", "--config", engineConfig, "--resume-from", cut, "-o", scratch.file("x.htrace")])
        #expect(engine.status == 2 && engine.stderr.contains("the checkpoint is from an mmcv 1.x run and the config is an mmengine one"), "\(engine.stderr)")
        let mmcvFromEngine = try CLI.run(["record", "--config", scratch.file("e.json"), "--resume-from", engineTrace, "-o", scratch.file("x.htrace")])
        #expect(mmcvFromEngine.status == 2 && mmcvFromEngine.stderr.contains("the checkpoint is from an mmengine run and the config is an mmcv 1.x one"), "\(mmcvFromEngine.stderr)")
        let iterLoop = scratch.file("engine-iter.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 8}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 2}}"#.write(toFile: iterLoop, atomically: true, encoding: .utf8)
        let loops = try CLI.run(["record", "--config", iterLoop, "--resume-from", engineTrace, "-o", scratch.file("x.htrace")])
        #expect(loops.status == 2 && loops.stderr.contains("the checkpoint was saved by an EpochBasedTrainLoop and this config runs an IterBasedTrainLoop"), "\(loops.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.htrace")))
    }
}

/// `hooktrace resume-check CONFIG`.
@Suite("resume-check")
struct ResumeCheckTests {
    static let saveBest = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 6}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}, "lr_config": {"policy": "step", "step": [3, 5], "warmup": "linear", "warmup_iters": 5, "warmup_ratio": 0.1}, "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2}, "evaluation": {"interval": 1, "save_best": "mAP"}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]}, "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"mAP": [0.3, 0.35, 0.33, 0.4, 0.38, 0.39]}}}"#

    @Test("save_best does not survive a resume from the epoch of a new best (its checkpoint is written before the evaluation): those points differ, the others are the same; exit 1")
    func saveBestPitfall() throws {
        let scratch = Scratch()
        let path = scratch.file("c.json")
        try Self.saveBest.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run(["resume-check", path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func line(_ name: String) -> String { lines.first { $0.hasPrefix(name + " ") } ?? "" }
        // New bests at epochs 1, 2 and 4: resuming from those checkpoints forgets them.
        for name in ["epoch_1.pth", "epoch_2.pth", "epoch_4.pth"] { #expect(line(name).contains(": differs "), "\(line(name))") }
        for name in ["epoch_3.pth", "epoch_5.pth", "epoch_6.pth"] { #expect(line(name).hasSuffix(": same"), "\(line(name))") }
        #expect(line("epoch_4.pth").contains("resumed: checkpoint save best_mAP_epoch_5.pth"), "\(line("epoch_4.pth"))")
        #expect(r.stdout.contains("best checkpoint: uninterrupted best_mAP_epoch_4.pth, resumed best_mAP_epoch_6.pth"))
        #expect(lines.last == "summary: 3 same, 3 differ")
        let json = try CLI.run(["resume-check", path, "--format", "json", "--at", "epoch_3.pth", "epoch_4.pth"])
        let v = try JSONValue.parse(json.stdout)
        #expect(v["same"] == .int(1) && v["differ"] == .int(1), "\(json.stdout)")
        #expect(json.status == 1)
    }

    @Test("without save_best every epoch checkpoint resumes to the same run; an IterBasedRunner's resume repeats the saving iteration")
    func sameAndIterBased() throws {
        let scratch = Scratch()
        let path = scratch.file("c.json")
        try Self.saveBest.replacingOccurrences(of: #", "save_best": "mAP""#, with: "").write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run(["resume-check", path])
        #expect(r.status == 0 && r.stdout.hasSuffix("summary: 6 same, 0 differ\n"), "\(r.stdout)\(r.stderr)")
        let iter = scratch.file("iter.json")
        try #"{"runner": {"type": "IterBasedRunner", "max_iters": 12}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "poly", "power": 1.0, "min_lr": 0.0, "by_epoch": false}, "checkpoint_config": {"interval": 4}, "data": {"train": 5}}"#.write(toFile: iter, atomically: true, encoding: .utf8)
        let i = try CLI.run(["resume-check", iter])
        #expect(i.status == 1 && i.stdout.contains("iter_4.pth               resumed at epoch 1, iter 3: differs"), "\(i.stdout)")
    }

    @Test("mmengine: save_best survives every resume of an epoch loop (CheckpointHook saves the regular checkpoint again after a new best); an iteration loop resumed between a regular save and a new best loses that second save (last_ckpt is not restored)")
    func mmengine() throws {
        let scratch = Scratch()
        let epochs = scratch.file("e.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 6, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5}, {"type": "CosineAnnealingLR", "T_max": 6, "by_epoch": true, "begin": 0, "end": 6}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 2, "save_best": "acc", "rule": "greater"}}, "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": [0.3, 0.5, 0.4, 0.6, 0.55, 0.7]}}}"#.write(toFile: epochs, atomically: true, encoding: .utf8)
        let e = try CLI.run(["resume-check", epochs])
        #expect(e.status == 0 && e.stdout.hasSuffix("summary: 6 same, 0 differ\n"), "\(e.stdout)\(e.stderr)")
        let iters = scratch.file("i.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 30, "val_interval": 10}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5}, {"type": "OneCycleLR", "eta_max": 0.05, "total_steps": 30, "by_epoch": false}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 4}, "checkpoint": {"type": "CheckpointHook", "interval": 7, "by_epoch": false, "max_keep_ckpts": 2, "save_best": "acc", "rule": "greater"}}, "custom_hooks": [{"type": "EMAHook", "momentum": 0.01, "ema_type": "MomentumAnnealingEMA", "gamma": 10}], "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": [0.3, 0.5, 0.4]}}}"#.write(toFile: iters, atomically: true, encoding: .utf8)
        let i = try CLI.run(["resume-check", iters, "--format", "json"])
        #expect(i.status == 1, "\(i.stdout)\(i.stderr)")
        guard case .array(let rows)? = (try? JSONValue.parse(i.stdout))?["resume_points"] else { Issue.record("not JSON: \(i.stdout)"); return }
        var outcome: [String: String] = [:]
        for row in rows {
            guard case .string(let name)? = row["checkpoint"], case .bool(let same)? = row["same"] else { continue }
            if case .string(let d)? = row["first_divergence"] { outcome[name] = d } else { outcome[name] = same ? "same" : "end" }
        }
        // Resumed from iter_7 (before the new best at 10) or iter_14 (before the one at 20): the
        // regular checkpoint mmengine saves again with a new best is missing.
        #expect(outcome["iter_7.pth"]?.contains("checkpoint save iter_10.pth") == true, "\(outcome)")
        #expect(outcome["iter_14.pth"]?.contains("checkpoint remove iter_10.pth") == true, "\(outcome)")
        for name in ["iter_10.pth", "iter_20.pth", "iter_21.pth", "iter_28.pth", "iter_30.pth"] { #expect(outcome[name] == "same", "\(name): \(outcome)") }
        // Warmup + cosine restarts (by epoch, converted to iterations), keep 3, save_best on a
        // metric named "loss" (lower is better; scripted apart from the training loss): the
        // schedule survives every resume. What does not: mmengine logs a metric whose name
        // matches its mean pattern (loss, time) averaged over the message hub's history, and
        // epoch_6.pth (no new best, so not saved again after the validation) lacks epoch 6's
        // value: the resumed run's epoch-8 record averages 0.9, 0.7, 0.6 instead of 0.9, 0.7,
        // 0.8, 0.6.
        let restarts = scratch.file("cr.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 8, "val_interval": 2}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.01, "by_epoch": false, "end": 6}, {"type": "CosineRestartLR", "periods": [3, 5], "restart_weights": [1, 0.5], "eta_min": 0.0001, "by_epoch": true, "convert_to_iter_based": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 3, "save_best": "loss", "rule": "less"}}, "work_dir": "wd", "data": {"train": 5, "val": 2}, "simulation": {"metrics": {"loss": [0.9, 0.7, 0.8, 0.6]}}}"#.write(toFile: restarts, atomically: true, encoding: .utf8)
        let c = try CLI.run(["resume-check", restarts])
        #expect(c.status == 1 && c.stdout.contains("epoch_6.pth              resumed at epoch 6, iter 30: differs at epoch 9, iter 41 (after_val_epoch): uninterrupted: log loss=0.7500000000000001 step=8; resumed: log loss=0.7333333333333334 step=8")
                && c.stdout.hasSuffix("summary: 7 same, 1 differ\n"), "\(c.stdout)\(c.stderr)")
        // ReduceOnPlateauLR: a checkpoint is saved before the validation that steps it, and a
        // resumed run does not validate that epoch again: a reduction due then never comes
        // (checked against real mmengine in RealMMEngineTests). Here acc stalls at 0.3 for
        // epochs 1-3 (patience 1: halved after epoch 3's validation) and at 0.4 from epoch 5.
        let plateau = scratch.file("pl.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 8, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "ReduceOnPlateauLR", "monitor": "acc", "rule": "greater", "patience": 1, "factor": 0.5, "by_epoch": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 3}}, "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": [0.3, 0.3, 0.3, 0.5, 0.4, 0.4, 0.4, 0.4]}}}"#.write(toFile: plateau, atomically: true, encoding: .utf8)
        let p = try CLI.run(["resume-check", plateau])
        #expect(p.status == 1 && p.stdout.contains("epoch_3.pth              resumed at epoch 3, iter 12: differs at epoch 4, iter 16 (after_train_iter): uninterrupted: log lr=0.01")
                && p.stdout.contains("epoch_7.pth              resumed at epoch 7, iter 28: same") && p.stdout.hasSuffix("summary: 2 same, 6 differ\n"), "\(p.stdout)")
    }

    @Test("a resumed config that differs from the recorded run's: each differing key named with what the resume makes of it; the same config: no note")
    func differingConfig() throws {
        let scratch = Scratch()
        let path = scratch.file("e.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 4, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "MultiStepLR", "milestones": [2, 3], "by_epoch": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1}}, "work_dir": "wd", "data": {"train": 4, "val": 2}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let trace = scratch.file("run.htrace")
        #expect(try CLI.run(["record", "--config", path, "-o", trace, "-q"]).status == 0)
        let same = try CLI.run(["record", "--config", path, "--resume-from", trace + ":epoch_2.pth", "-o", scratch.file("a.htrace")])
        #expect(same.status == 0 && !same.stderr.contains("differs from the recorded run's"), "\(same.stderr)")
        let changed = try CLI.run(["record", "--config", path, "--resume-from", trace + ":epoch_2.pth", "-o", scratch.file("b.htrace"),
                                   "--cfg-options", "param_scheduler.0.milestones=[3]", "optim_wrapper.optimizer.lr=0.1"])
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(changed.stderr.contains("differs from the recorded run's in param_scheduler: mmengine's load_state_dict keeps the checkpoint's scheduler settings"), "\(changed.stderr)")
        #expect(changed.stderr.contains("differs from the recorded run's in optim_wrapper: the checkpoint's param groups and base_param_settings are loaded over it"), "\(changed.stderr)")
    }

    @Test("mid-epoch checkpoints (by iteration) do not survive a resume: mmcv goes on at the next epoch with the saving iteration's index (one-cycle, cyclic lr and momentum), mmengine runs the epoch's batches again past the schedule's end (one-cycle)")
    func midEpoch() throws {
        let scratch = Scratch()
        let oneCycle = scratch.file("m1.json"), cyclic = scratch.file("m2.json"), engine = scratch.file("m3.json")
        try #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 3}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}, "lr_config": {"policy": "OneCycle", "max_lr": 0.1}, "checkpoint_config": {"interval": 4, "by_epoch": false}, "data": {"train": 10}}"#.write(toFile: oneCycle, atomically: true, encoding: .utf8)
        try #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 3}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}, "lr_config": {"policy": "cyclic", "target_ratio": [10, 1e-4], "cyclic_times": 1, "step_ratio_up": 0.4}, "momentum_config": {"policy": "cyclic", "target_ratio": [0.85, 1], "cyclic_times": 1, "step_ratio_up": 0.4}, "checkpoint_config": {"interval": 4, "by_epoch": false}, "data": {"train": 10}}"#.write(toFile: cyclic, atomically: true, encoding: .utf8)
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "param_scheduler": [{"type": "OneCycleLR", "eta_max": 0.1, "total_steps": 15, "by_epoch": false}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 4, "by_epoch": false}}, "work_dir": "wd", "data": {"train": 5}}"#.write(toFile: engine, atomically: true, encoding: .utf8)
        for path in [oneCycle, cyclic] {
            let r = try CLI.run(["resume-check", path])
            // epoch_1.pth is written at iteration 4 (index 3) of epoch 1: resumed at epoch 1 (the
            // next one), iter 3, so the lr jumps ahead of the uninterrupted run's at once.
            #expect(r.status == 1 && r.stdout.contains("epoch_1.pth              resumed at epoch 1, iter 3: differs uninterrupted: lr lr[0]=")
                    && r.stdout.hasSuffix("summary: 0 same, 3 differ\n"), "\(path): \(r.stdout)")
        }
        let e = try CLI.run(["resume-check", engine])
        // iter_4.pth: resumed at iteration 4 of epoch 0, whose 5 batches run again: 19 iterations
        // in all instead of 15, and a checkpoint (iter_16.pth) the uninterrupted run never saves.
        #expect(e.status == 1 && e.stdout.contains("iter_4.pth               resumed at epoch 0, iter 4: differs")
                && e.stdout.contains("resumed [iter_4.pth, iter_8.pth, iter_12.pth, iter_15.pth, iter_16.pth]")
                && e.stdout.hasSuffix("summary: 0 same, 4 differ\n"), "\(e.stdout)")
    }

    @Test("refusals: a config without checkpoints, a checkpoint the run never saves")
    func refusals() throws {
        let scratch = Scratch()
        let engine = scratch.file("engine.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"checkpoint": null}, "data": {"train": 2}}"#.write(toFile: engine, atomically: true, encoding: .utf8)
        let e = try CLI.run(["resume-check", engine])
        #expect(e.status == 2 && e.stderr.contains("the run saves no checkpoint to resume from"), "\(e.stderr)")
        let path = scratch.file("c.json")
        try Self.saveBest.write(toFile: path, atomically: true, encoding: .utf8)
        let at = try CLI.run(["resume-check", path, "--at", "epoch_9.pth"])
        #expect(at.status == 2 && at.stderr.contains("--at epoch_9.pth: the run saves no such checkpoint"), "\(at.stderr)")
    }
}

/// `hooktrace sweep run.htrace --vary …`.
@Suite("sweep")
struct SweepTests {
    /// The save_best example recorded in `scratch`.
    static func recorded(_ scratch: Scratch) throws -> String {
        let config = scratch.file("c.json")
        try ResumeCheckTests.saveBest.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("run.htrace")
        #expect(try CLI.run(["record", "--config", config, "-o", trace, "-q"]).status == 0)
        return trace
    }

    @Test("every combination replayed: one row each, the recording's own settings the same, the others' first divergence, final lr, kept files, best on disk, evaluations; json and csv")
    func combinations() throws {
        let scratch = Scratch()
        let trace = try Self.recorded(scratch)
        let json = try CLI.run(["sweep", trace, "--vary", "lr_config.step=[3,5];[2,4]", "--vary", "checkpoint_config.max_keep_ckpts=2;1", "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        guard case .array(let rows)? = try JSONValue.parse(json.stdout)["variants"] else { Issue.record("no variants: \(json.stdout)"); return }
        #expect(rows.count == 4)
        #expect(rows[0]["settings"] == .array([.string("lr_config.step=[3,5]"), .string("checkpoint_config.max_keep_ckpts=2")]))
        #expect(rows[0]["differs"] == .bool(false) && rows[0]["evaluations"] == .int(6) && rows[0]["best_on_disk"] == .bool(true))
        #expect(rows[0]["kept"] == .array([.string("best_mAP_epoch_4.pth"), .string("epoch_5.pth"), .string("epoch_6.pth")]), "\(rows[0])")
        #expect(rows[2]["differs"] == .bool(true) && rows[2]["first_divergence"]?.description.contains("lr at epoch 3") == true, "\(rows[2])")
        #expect(rows[1]["kept"] == .array([.string("best_mAP_epoch_4.pth"), .string("epoch_6.pth")]), "\(rows[1])")
        let csv = try CLI.run(["sweep", trace, "--vary", "evaluation.interval=1;2", "--format", "csv"])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "settings,differs,first_divergence,final_lr,kept,best_on_disk,evaluations,error")
        #expect(lines[2].hasPrefix("evaluation.interval=2,yes,") && lines[2].contains(",3,"), "\(lines)")
        // The same sweep twice: the same table (replays are deterministic, whatever the order they ran in).
        let again = try CLI.run(["sweep", trace, "--vary", "lr_config.step=[3,5];[2,4]", "--vary", "checkpoint_config.max_keep_ckpts=2;1", "--format", "json"])
        #expect(again.stdout == json.stdout)
    }

    @Test("an mmengine run's variants: evaluations counted by validation (mmengine has no evaluate effect); a constant lr is the final lr")
    func mmengine() throws {
        let scratch = Scratch()
        let config = scratch.file("e.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 6, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "save_best": "acc", "rule": "greater"}}, "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("e.htrace")
        #expect(try CLI.run(["record", "--config", config, "-o", trace, "-q"]).status == 0)
        let r = try CLI.run(["sweep", trace, "--vary", "default_hooks.checkpoint.max_keep_ckpts=1;2", "--format", "json"])
        guard case .array(let rows)? = try JSONValue.parse(r.stdout)["variants"] else { Issue.record("no variants: \(r.stdout)\(r.stderr)"); return }
        #expect(rows.count == 2 && rows.allSatisfy { $0["evaluations"] == .int(6) && $0["final_lr"] == .double(0.01) }, "\(rows)")
        // val_interval shapes the recorded calls: not a what-if of a replay.
        let shaping = try CLI.run(["sweep", trace, "--vary", "train_cfg.val_interval=1;2"])
        #expect(shaping.status == 2 && shaping.stderr.contains("train_cfg.val_interval: cannot change in a replay"), "\(shaping.stderr)")
    }

    @Test("bad --vary values, keys that shape the recorded calls, --stop-at beyond the run: exit 2, nothing written")
    func errors() throws {
        let scratch = Scratch()
        let trace = try Self.recorded(scratch)
        for bad in [["--vary", "lr_config.step"], ["--vary", "lr_config.step=[1];"], []] {
            let r = try CLI.run(["sweep", trace] + bad)
            #expect(r.status == 2, "\(bad): \(r.stderr)")
        }
        // Keys that shape the recorded calls: refused before any variant runs.
        for key in ["runner.max_epochs=3;4", "data.train=5;6", "workflow=[[\"train\",1]];[[\"train\",2]]"] {
            let r = try CLI.run(["sweep", trace, "--vary", key])
            #expect(r.status == 2 && r.stderr.contains("cannot change in a replay") && r.stdout.isEmpty, "\(key): \(r.stdout)\(r.stderr)")
        }
        // --stop-at beyond the run: exit 2, nothing written.
        let config = scratch.file("c.json")
        let beyond = try CLI.run(["record", "--config", config, "--stop-at", "epoch=7", "-o", scratch.file("x.htrace")])
        #expect(beyond.status == 2 && beyond.stderr.contains("epoch=7 is beyond the run, which trains 6 epochs"), "\(beyond.stderr)")
        let beyondIter = try CLI.run(["record", "--config", config, "--stop-at", "iter=1000", "-o", scratch.file("x.htrace")])
        #expect(beyondIter.status == 2 && beyondIter.stderr.contains("iter=1000 is beyond the run"), "\(beyondIter.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.htrace")))
    }
}

/// `record --config … --observations-from real.htrace`.
@Suite("observations from a recorded run")
struct ObservationsFromTests {
    static func observed(_ path: String) throws -> (losses: [Double], metrics: [String]) {
        var losses: [Double] = [], metrics: [String] = [], pending: Double?
        try TraceReader(path: path).forEach { e in
            switch e.event {
            case .observe(let o) where o.kind == .logVar && o.name == "loss":
                if case .double(let v) = o.value { pending = v }
            case .call(let c):
                if c.stage == "after_train_iter", let p = pending { losses.append(p) }
                pending = nil
            case .effect(let x):
                if case .evaluate(let f) = x.action { metrics.append(f.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
            default: break
            }
        }
        return (losses, metrics)
    }

    @Test("another config run on a recorded run's losses, metrics and timings: the same values, step by step and evaluation by evaluation, each phase's time as the recording's mean and spread; a longer run is an error naming the count")
    func taken() throws {
        let scratch = Scratch()
        let trace = try SweepTests.recorded(scratch)
        let other = scratch.file("other.json")
        try ResumeCheckTests.saveBest.replacingOccurrences(of: #""step": [3, 5]"#, with: #""step": [4]"#)
            .replacingOccurrences(of: #", "simulation": {"metrics": {"mAP": [0.3, 0.35, 0.33, 0.4, 0.38, 0.39]}}"#, with: "")
            .write(toFile: other, atomically: true, encoding: .utf8)
        let out = scratch.file("other.htrace")
        let r = try CLI.run(["record", "--config", other, "--observations-from", trace, "-o", out, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Self.observed(trace), b = try Self.observed(out)
        #expect(!a.losses.isEmpty && a.losses == b.losses)
        #expect(a.metrics.count == 6 && a.metrics == b.metrics, "\(a.metrics) vs \(b.metrics)")
        // Timings: each phase's mean and spread (as mean ± jitter) taken into the run's config.
        func stepSeconds(_ path: String) throws -> (train: [Double], data: [Double]) {
            var train: [Double] = [], data: [Double] = [], previous: Call?
            try TraceReader(path: path).forEach { e in
                guard case .call(let c) = e.event else { return }
                if let p = previous, p.stage == "before_train_iter", c.stage == "after_train_iter" { train.append(Double(c.time - p.time) / 1e9) }
                if let p = previous, p.stage == "after_train_iter", c.stage == "before_train_iter" { data.append(Double(c.time - p.time) / 1e9) }
                previous = c
            }
            return (train, data)
        }
        let recorded = try stepSeconds(trace)
        guard case .runStart(let start)? = try TraceReader(path: out).next()?.event, let config = try? JSONValue.parse(start.config) else { Issue.record("no config"); return }
        for (key, samples) in [("iter_time", recorded.train), ("data_time", recorded.data)] {
            let mean = samples.reduce(0, +) / Double(samples.count)
            let fitted = config["simulation"]?[key]?["mean"]?.number ?? .nan
            #expect(!samples.isEmpty && abs(fitted - mean) < 1e-6, "\(key): \(fitted) vs \(mean)")
        }
        let simulatedSteps = try stepSeconds(out).train
        let simulatedMean: Double = simulatedSteps.reduce(0, +) / Double(simulatedSteps.count)
        let recordedMean: Double = recorded.train.reduce(0, +) / Double(recorded.train.count)
        #expect(abs(simulatedMean - recordedMean) < 0.02, "\(simulatedMean) vs \(recordedMean)")
        // Two more epochs than the recording had.
        let longer = try CLI.run(["record", "--config", other, "--observations-from", trace, "--cfg-options", "runner.max_epochs=8", "-o", scratch.file("x.htrace")])
        #expect(longer.status == 2 && longer.stderr.contains("training step 25 needs a value, and the list gives 24"), "\(longer.stderr)")
    }
}
