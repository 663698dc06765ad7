import Foundation
import HooktraceFormat
@testable import HooktraceSim
import Testing

/// Whether real mmengine (with torch) is importable here; the integration test runs only then.
let realMMEngineAvailable = pythonImports("torch, mmengine.runner")

/// The simulator against real mmengine 0.10.7: the same config run by mmengine's Runner
/// (Tests/Fixtures/real_mmengine_train.py: a one-layer stand-in model, loaders of the
/// config's lengths) under the recorder, and simulated. The calls with their counters,
/// the learning rate and momentum in force at every iteration (bit for bit) and the
/// checkpoint files must be the same. Losses, timings and metrics are the run's own.
@Suite("Simulation against real mmengine (skipped unless torch and mmengine are importable)")
struct RealMMEngineTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("traces/golden").path

    static func epochs(_ schedulers: String, optimizer: String = #"{"type": "SGD", "lr": 0.01, "momentum": 0.9}"#, extra: String = "") -> String {
        #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 5, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": \#(schedulers), "optim_wrapper": {"type": "OptimWrapper", "optimizer": \#(optimizer)}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 2, "max_keep_ckpts": 2}}, "work_dir": "wd", "data": {"train": 5, "val": 2}\#(extra)}"#
    }

    static let cases: [(String, String)] = [
        ("warmup + multistep (mmdetection 3.x's schedule)", epochs(#"[{"type": "LinearLR", "start_factor": 0.001, "by_epoch": false, "begin": 0, "end": 7}, {"type": "MultiStepLR", "by_epoch": true, "milestones": [2, 4], "gamma": 0.1}]"#)),
        ("OneCycleLR", epochs(#"[{"type": "OneCycleLR", "eta_max": 0.1, "total_steps": 25, "by_epoch": false}]"#)),
        ("CosineRestartLR", epochs(#"[{"type": "CosineRestartLR", "periods": [10, 15], "restart_weights": [1, 0.5], "eta_min": 0.001, "by_epoch": false}]"#)),
        ("PolyLR then ExponentialLR", epochs(#"[{"type": "PolyLR", "eta_min": 0.0001, "power": 2.0, "by_epoch": false, "begin": 0, "end": 12}, {"type": "ExponentialLR", "gamma": 0.9, "begin": 12, "end": 25, "by_epoch": false}]"#)),
        ("StepLR converted, CosineAnnealingMomentum by epoch", epochs(#"[{"type": "StepLR", "step_size": 2, "gamma": 0.5, "convert_to_iter_based": true}, {"type": "CosineAnnealingMomentum", "T_max": 5, "eta_min": 0.8}]"#)),
        ("LinearMomentum on Adam's betas, ConstantLR", epochs(#"[{"type": "LinearMomentum", "start_factor": 0.95, "end": 10, "by_epoch": false}, {"type": "ConstantLR", "factor": 0.3, "end": 2}]"#, optimizer: #"{"type": "Adam", "lr": 0.001, "betas": [0.9, 0.999]}"#)),
        ("ReduceOnPlateauLR", epochs(#"[{"type": "ReduceOnPlateauLR", "monitor": "acc", "rule": "greater", "patience": 0, "factor": 0.5}]"#, extra: #", "simulation": {"metrics": {"acc": {"start": 0.5, "end": 0.9}}}"#)),
        ("save_best, clip_grad, EMAHook", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 4, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 4}, {"type": "MultiStepLR", "milestones": [2, 3]}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}, "clip_grad": {"max_norm": 35, "norm_type": 2}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 1, "save_best": "acc", "rule": "greater"}}, "custom_hooks": [{"type": "EMAHook", "ema_type": "ExponentialMovingAverage", "momentum": 0.001, "begin_iter": 3, "priority": 49}], "work_dir": "wd", "data": {"train": 5, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
        ("IterBasedTrainLoop: val_begin, dynamic_intervals, save_last, AdamW", #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 22, "val_interval": 6, "val_begin": 2, "dynamic_intervals": [[12, 4]]}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.2, "by_epoch": false, "end": 5}, {"type": "CosineAnnealingLR", "by_epoch": false, "begin": 5, "end": 22, "eta_min": 0.0001}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "AdamW", "lr": 0.001, "betas": [0.9, 0.999], "weight_decay": 0.05}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 3, "log_metric_by_epoch": false}, "checkpoint": {"type": "CheckpointHook", "interval": 4, "by_epoch": false, "max_keep_ckpts": 2, "save_last": true}}, "log_processor": {"type": "LogProcessor", "window_size": 4, "by_epoch": false}, "work_dir": "wd", "data": {"train": 5, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
        ("EpochBasedTrainLoop: val_begin, dynamic_intervals, save_begin, save_best auto, nesterov", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 7, "val_interval": 3, "val_begin": 2, "dynamic_intervals": [[4, 1]]}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.001, "by_epoch": false, "end": 6}, {"type": "CosineAnnealingLR", "T_max": 5, "begin": 2, "end": 7, "by_epoch": true, "convert_to_iter_based": true, "eta_min_ratio": 0.05}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.937, "nesterov": true}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2, "ignore_last": false}, "checkpoint": {"type": "CheckpointHook", "interval": 2, "save_begin": 1, "save_last": true, "max_keep_ckpts": 3, "save_best": "auto"}}, "work_dir": "wd", "data": {"train": 3, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
        ("two param groups (own lr, own momentum): LinearLR, CosineAnnealingLR, StepMomentum; base_lr logged", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 4, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5}, {"type": "CosineAnnealingLR", "T_max": 3, "begin": 1, "end": 4, "eta_min": 0.001}, {"type": "StepMomentum", "step_size": 2, "gamma": 0.9}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "param_groups": [{"lr": 0.01}, {"momentum": 0.8}]}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}}, "work_dir": "wd", "data": {"train": 4, "val": 2}}"#),
        ("golden mmengine-iter-cosine", "golden:mmengine-iter-cosine"),
        ("auto_scale_lr: every group's lr scaled before the schedulers are built", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 3}, {"type": "MultiStepLR", "milestones": [1]}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.03, "momentum": 0.9, "param_groups": [{"lr": 0.07}, {}]}}, "auto_scale_lr": {"enable": true, "base_batch_size": 3}, "work_dir": "wd", "data": {"train": 3, "val": 2, "samples_per_gpu": 1}}"#),
        ("accumulative_counts 3 with a remainder, clip_grad by norm (grad_norm only on update steps)", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.2, "by_epoch": false, "end": 4}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}, "accumulative_counts": 3, "clip_grad": {"max_norm": 10}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}}, "work_dir": "wd", "data": {"train": 5, "val": 2}}"#),
        ("accumulative_counts 2 in an IterBasedTrainLoop, no remainder", #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 8, "val_interval": 4}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}, "accumulative_counts": 2}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 3}, "checkpoint": {"type": "CheckpointHook", "interval": 4, "by_epoch": false}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 3, "val": 1}}"#),
        ("paramwise_cfg: custom_keys lr_mult for the backbone, bias_lr_mult; AdamW; the logged lr is the backbone's", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 4}, {"type": "MultiStepLR", "milestones": [2]}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "AdamW", "lr": 0.0001, "weight_decay": 0.05}, "paramwise_cfg": {"custom_keys": {"backbone": {"lr_mult": 0.1, "decay_mult": 1.0}}, "bias_lr_mult": 2.0, "norm_decay_mult": 0.0}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}}, "work_dir": "wd", "data": {"train": 3, "val": 1}}"#),
        ("paramwise_cfg with decay multipliers only (RTMDet's): one lr, base_lr logged", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.01, "by_epoch": false, "end": 3}, {"type": "CosineAnnealingLR", "T_max": 2, "eta_min": 0.0002, "by_epoch": true, "convert_to_iter_based": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "AdamW", "lr": 0.004, "weight_decay": 0.05}, "paramwise_cfg": {"norm_decay_mult": 0, "bias_decay_mult": 0, "bypass_duplicate": true}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}}, "work_dir": "wd", "data": {"train": 3, "val": 1}}"#),
        ("EarlyStoppingHook: a flat metric stops the run after patience validations, before save_last", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 6, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "MultiStepLR", "milestones": [2]}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 2, "save_last": true}}, "custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "flat_acc", "rule": "greater", "patience": 2}], "work_dir": "wd", "data": {"train": 3, "val": 1}, "simulation": {"metrics": {"flat_acc": {"start": 0.5, "end": 0.5, "noise": 0}}}}"#),
        ("EarlyStoppingHook in an IterBasedTrainLoop, stopping_threshold", #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 20, "val_interval": 4}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 4, "by_epoch": false}}, "custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "flat_loss", "stopping_threshold": 0.6}], "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 3, "val": 1}, "simulation": {"metrics": {"flat_loss": {"start": 0.5, "end": 0.5, "noise": 0}}}}"#),
        ("OptimWrapperDict (a multi-optimizer constructor): per-optimizer schedulers, accumulation without a known end, clip_grad on one, update_every", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"constructor": "MultiOptimWrapperConstructor", "backbone": {"optimizer": {"type": "Adam", "lr": 0.0002, "betas": [0.5, 0.999]}, "accumulative_counts": 2}, "head": {"optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}, "clip_grad": {"max_norm": 10}}}, "param_scheduler": {"backbone": [{"type": "LinearLR", "start_factor": 0.5, "by_epoch": false, "end": 3}], "head": {"type": "MultiStepLR", "milestones": [1, 2], "gamma": 0.5}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}}, "work_dir": "wd", "data": {"train": 5, "val": 2}, "simulation": {"update_every": {"head": 2}}}"#),
        ("a list of schedulers on every wrapper of an OptimWrapperDict, with CosineAnnealingMomentum on Adam's betas and SGD's momentum", #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 9, "val_interval": 3}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"constructor": "MultiOptimWrapperConstructor", "backbone": {"optimizer": {"type": "Adam", "lr": 0.001}}, "head": {"optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}}, "param_scheduler": [{"type": "CosineAnnealingLR", "T_max": 9, "by_epoch": false, "eta_min": 0.0001}, {"type": "CosineAnnealingMomentum", "T_max": 9, "by_epoch": false, "eta_min": 0.8}], "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 3, "by_epoch": false}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 4, "val": 1}}"#),
        ("OneCycleLR then CosineAnnealingLR with eta_min_ratio: OneCycle's initial_lr is the base after it", epochs(#"[{"type": "OneCycleLR", "eta_max": 0.1, "total_steps": 10, "by_epoch": false, "end": 10}, {"type": "CosineAnnealingLR", "begin": 10, "end": 25, "T_max": 15, "by_epoch": false, "eta_min_ratio": 0.1}]"#)),
        ("last_step: a second ExponentialLR continues from step 3 on the first's initial_lr", epochs(#"[{"type": "ExponentialLR", "gamma": 0.9, "end": 2}, {"type": "ExponentialLR", "gamma": 0.8, "begin": 2, "last_step": 3}, {"type": "StepParamScheduler", "param_name": "lr", "step_size": 4, "gamma": 0.5, "by_epoch": false}]"#)),
        ("load_from (after_load_checkpoint), priorities written as strings and ints", #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "priority": "very_low"}}, "custom_hooks": [{"type": "EMAHook", "priority": "normal"}, {"type": "EmptyCacheHook", "priority": 50}, {"type": "SyncBuffersHook", "priority": 49}], "load_from": "weights.pth", "work_dir": "wd", "data": {"train": 3, "val": 2}}"#),
    ]

    /// (stage, epoch, iter, inner_iter, mode) of every call, and the checkpoint files saved
    /// and removed, the links written and the new bests at each call (by name: a real run's paths are absolute, a simulation's
    /// relative; in name order within a call, as the recorder finds them by a directory scan).
    /// A nested `before_save_checkpoint` counts as part of the call that saves: mmengine
    /// removes the oldest file before that nested call, the recorder sees it after.
    static func outline(_ path: String) throws -> (calls: [String], files: [String]) {
        var calls: [String] = [], files: [(Int, String)] = []
        var owner = 0, hubOrder = 0
        try TraceReader(path: path).forEach { e in
            switch e.event {
            case .call(let c):
                calls.append("\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)")
                if c.stage != "before_save_checkpoint" { hubOrder = 0 }
                if c.stage != "before_save_checkpoint" { owner = calls.count }
            case .effect(let x):
                if case .checkpointSave(let p) = x.action { files.append((owner, "save " + (p as NSString).lastPathComponent)) }
                if case .checkpointRemove(let p) = x.action { files.append((owner, "remove " + (p as NSString).lastPathComponent)) }
                if case .bestUpdate(let k, _, let c) = x.action {
                    // The score is the run's own metric; the key and the file are the policy's.
                    files.append((owner, "best " + k + " " + (c as NSString).lastPathComponent))
                }
                if case .log = x.action {
                    // Each log record at the call that wrote it (its values are the run's own).
                    files.append((owner, "log"))
                }
                if case .custom("loss_factor", let fields) = x.action {
                    // Gradient accumulation's loss factor, when it changes (the recorder reads it from the wrapper).
                    files.append((owner, "loss_factor " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
                }
                if case .checkpointLink(let l, let t) = x.action {
                    files.append((owner, "link " + (l as NSString).lastPathComponent + " -> " + (t as NSString).lastPathComponent))
                }
                if case .custom("message_hub", let fields) = x.action {
                    // CheckpointHook's state in the message hub, in the order set (numbered
                    // within the call): kept ids as they are, paths by file name; a best score
                    // is the run's own metric.
                    for f in fields {
                        let value: String
                        switch f.value {
                        case .string(let t) where f.key.hasPrefix("best_ckpt") || f.key == "last_ckpt": value = (t as NSString).lastPathComponent
                        case _ where f.key.hasPrefix("best_score"): value = "score"
                        default: value = "\(f.value)"
                        }
                        hubOrder += 1
                        files.append((owner, "hub \(hubOrder) \(f.key)=\(value)"))
                    }
                }
            default: break
            }
        }
        return (calls, files.sorted { $0 < $1 }.map { "call \($0.0): \($0.1)" })
    }

    /// The bit patterns of `keys` in every log record that has them, in order.
    static func loggedValues(_ path: String, _ keys: [String]) throws -> [String] {
        var out: [String] = []
        try TraceReader(path: path).forEach { e in
            guard case .effect(let x) = e.event, case .log(let fields) = x.action else { return }
            for f in fields where keys.contains(f.key) { out.append("\(f.key)=\(f.value.number.map { String($0.bitPattern, radix: 16) } ?? "-")") }
        }
        return out
    }

    /// The keys of every log record, in order (the values are the run's own).
    static func logKeys(_ path: String) throws -> [[String]] {
        var out: [[String]] = []
        try TraceReader(path: path).forEach { e in
            if case .effect(let x) = e.event, case .log(let fields) = x.action { out.append(fields.map(\.key)) }
        }
        return out
    }

    @Test("effects credited by hook identity: the second of two EarlyStoppingHooks stops the run, the second CheckpointHook's files are its own",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the stand-in runner tests cover the shim"))
    func identity() throws {
        let scratch = Scratch()
        let config = scratch.file("c.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 6, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 2, "max_keep_ckpts": 1}}, "custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "rising", "rule": "greater", "patience": 5}, {"type": "EarlyStoppingHook", "monitor": "flat", "rule": "greater", "patience": 2}, {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 2, "out_dir": "\#(scratch.file("other"))"}], "work_dir": "wd", "data": {"train": 3, "val": 1}, "simulation": {"metrics": {"rising": {"start": 0.1, "end": 0.9, "noise": 0}, "flat": {"start": 0.5, "end": 0.5, "noise": 0}}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let real = scratch.file("real.htrace")
        let r = try CLI.run(["record", "-o", real, "--", "python3", Self.fixtures + "/real_mmengine_train.py", config, scratch.file("wd")])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        var stops: [String] = [], saves: [String: Set<String>] = [:], removes: [String: Set<String>] = [:]
        try TraceReader(path: real).forEach { e in
            guard case .effect(let x) = e.event else { return }
            switch x.action {
            case .stop: stops.append(x.hook)
            case .checkpointSave(let p): saves[x.hook, default: []].insert(p.contains("/other/") ? "other" : "work_dir")
            case .checkpointRemove(let p): removes[x.hook, default: []].insert(p.contains("/other/") ? "other" : "work_dir")
            default: break
            }
        }
        #expect(stops == ["EarlyStoppingHook#2"], "\(stops)")
        #expect(saves["CheckpointHook"] == ["work_dir"] && saves["CheckpointHook#2"] == ["other"], "\(saves)")
        // Its out_dir is followed like work_dir: the epoch_1.pth that max_keep_ckpts=2 removes there is seen, and is its removal.
        #expect(removes["CheckpointHook#2"] == ["other"], "\(removes)")
        #expect(removes["CheckpointHook"].map { $0 == ["work_dir"] } ?? true, "\(removes)")
    }

    /// The step values (protocol 4 reads them from the message hub's histories in columns,
    /// when a batch is sent): every value of every output, in order and bit for bit, as the
    /// run's own message hub kept it, each just before the after_train_iter of its step —
    /// with the outputs' names changing mid-run (a second loss at iterations 10 to 19),
    /// saves nested in after_train_iter (every 7th) and batches sent mid-run.
    @Test("step values read from the message hub in columns equal the hub's own, each at its step, as the outputs' names change",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the decoder tests cover the columns"))
    func stepValues() throws {
        let scratch = Scratch()
        let config = scratch.file("c.json"), dump = scratch.file("hub.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 40, "val_interval": 100}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 30}], "default_hooks": {"logger": {"type": "LoggerHook", "interval": 5}, "checkpoint": {"type": "CheckpointHook", "interval": 7, "by_epoch": false}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 6, "val": 1}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("real.htrace")
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.fixtures + "/real_mmengine_train.py", config, scratch.file("wd")],
                            environment: ["HOOKTRACE_TEST_AUX": "10-19", "HOOKTRACE_TEST_HUB_DUMP": dump])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(!r.stderr.contains("could not read") && !r.stderr.contains("malformed"), "\(r.stderr.suffix(2000))")
        guard let hub = try? JSONValue.parse(String(contentsOfFile: dump, encoding: .utf8)) else {
            Issue.record("no message-hub dump")
            return
        }
        // Each step's optimizer step (told by the wrapper's counter: the stand-in's train_step is
        // mmengine's own) goes before its after_train_iter, with the step's values.
        var observed: [String: [Double]] = [:], before: [String] = [], steps: [String] = []
        try TraceReader(path: trace).forEach { e in
            switch e.event {
            case .observe(let o) where o.kind == .logVar:
                observed[o.name, default: []].append(o.value.number ?? .nan)
                before.append(o.name)
            case .effect(let x):
                if case .optimizerStep(_, let stepped, _) = x.action { before.append(stepped ? "step" : "no step") }
            case .call(let c):
                if c.stage == "after_train_iter" { steps.append("\(c.iter): \(before.joined(separator: ","))") }
                before = []
            default: break
            }
        }
        for name in ["loss", "loss_aux"] {
            guard case .array(let values)? = hub[name] else { Issue.record("no \(name) in the hub"); continue }
            let expected = values.map { $0.number ?? .nan }
            #expect(observed[name]?.map { $0.bitPattern } == expected.map { $0.bitPattern }, "\(name): \(observed[name] ?? []) against \(expected)")
        }
        #expect(steps == (0..<40).map { "\($0): step," + ((10...19).contains($0) ? "loss,loss_aux" : "loss") }, "\(steps)")
    }

    /// Another writer of `train/loss` (a hook after RuntimeInfoHook, iterations 20 to 24):
    /// the hub's history no longer has one value per step, so the values of the steps it
    /// touches cannot be told from it. They are recorded as null, never as the other
    /// writer's; every other step's value is the model's own.
    @Test("a second writer of a step value's history: the steps it touches are null, never a wrong value; the rest exact",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the decoder tests cover null values"))
    func secondWriter() throws {
        let scratch = Scratch()
        let config = scratch.file("c.json"), dump = scratch.file("hub.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 40, "val_interval": 100}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 5}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 6, "val": 1}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("real.htrace")
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.fixtures + "/real_mmengine_train.py", config, scratch.file("wd")],
                            environment: ["HOOKTRACE_TEST_SECOND_WRITER": "20-24", "HOOKTRACE_TEST_HUB_DUMP": dump])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        guard let hub = try? JSONValue.parse(String(contentsOfFile: dump, encoding: .utf8)), case .array(let history)? = hub["loss"] else {
            Issue.record("no message-hub dump")
            return
        }
        // The model's own values: the history without the other writer's -1.0s.
        let own = history.compactMap { $0.number }.filter { $0 != -1.0 }
        var observed: [Double?] = []
        try TraceReader(path: trace).forEach { e in
            if case .observe(let o) = e.event, o.kind == .logVar, o.name == "loss" { observed.append(o.value.number) }
        }
        try #require(own.count == 40 && observed.count == 40, "\(own.count) \(observed.count)")
        for i in 0..<40 {
            if let v = observed[i] {
                #expect(v.bitPattern == own[i].bitPattern, "step \(i): \(v) against \(own[i])")
            }
        }
        // The first step's value is read from the outputs themselves; how many of the others
        // are null depends on where batches were sent (a whole run of rows is null when the
        // other writer wrote within it).
        #expect(observed[0] != nil, "\(observed)")
    }

    /// A user's hook that writes the learning rate in after_train_iter besides mmengine's
    /// ParamSchedulerHook (and one more user hook that only reads it): the shim keeps the
    /// fast path there and looks at the lr after each hook that may write it, so each change
    /// is credited to its hook, in order, and the value after each call is the run's own.
    @Test("two writers of the lr in after_train_iter on real mmengine: each change credited to its hook, the lr after each call bit for bit",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the stand-in hot-path test covers two writers"))
    func twoLRWriters() throws {
        let scratch = Scratch()
        let config = scratch.file("c.json"), dump = scratch.file("lr.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 30, "val_interval": 100}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "param_scheduler": [{"type": "CosineAnnealingLR", "T_max": 30, "by_epoch": false}], "default_hooks": {"logger": {"type": "LoggerHook", "interval": 5}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 6, "val": 1}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("real.htrace")
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.fixtures + "/real_mmengine_train.py", config, scratch.file("wd")],
                            environment: ["HOOKTRACE_TEST_LR_KICK": "12", "HOOKTRACE_TEST_LR_DUMP": dump])
        #expect(r.status == 0 && !r.stderr.contains("could not read"), "\(r.stderr.suffix(2000))")
        guard case .array(let dumped)? = try? JSONValue.parse(String(contentsOfFile: dump, encoding: .utf8)) else {
            Issue.record("no lr dump")
            return
        }
        let real = dumped.compactMap(\.number)
        // The changes of each after_train_iter, by hook, and the lr after it.
        var byCall: [Int: [String]] = [:], lastLR: [Int: Double] = [:]
        var at = -1
        try TraceReader(path: trace).forEach { e in
            if case .call(let c) = e.event { at = c.stage == "after_train_iter" ? c.iter : -1 }
            if case .effect(let x) = e.event, case .setLR(_, 0, let v) = x.action, at >= 0 {
                byCall[at, default: []].append(x.hook)
                lastLR[at] = v
            }
        }
        try #require(real.count == 30)
        #expect(byCall[12] == ["KickHook", "ParamSchedulerHook"], "\(byCall[12] ?? [])")
        #expect(byCall.filter { $0.key != 12 }.values.allSatisfy { $0 == ["ParamSchedulerHook"] }, "\(byCall)")
        // Each call's last value is the run's lr after it (a call without a change: the lr
        // of the call before).
        var lr = 0.01
        for i in 0..<30 {
            lr = lastLR[i] ?? lr
            #expect(lr.bitPattern == real[i].bitPattern, "iteration \(i): \(lr) against \(real[i])")
        }
    }

    /// The recorder's fault inside a nested call: the second save's before_save_checkpoint
    /// fails in the shim while mmengine's after_train_iter, which saves, is still under way
    /// (the shim's fast path holds that call until its hooks have run). The training runs
    /// to its end; the trace keeps the calls before the fault, then says why it ends, and
    /// nothing the held call adds after the fault reaches it.
    @Test("a fault of the recorder inside a save nested in after_train_iter: the run goes on, nothing after the fault is recorded",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the stand-in runner tests cover the fault barrier"))
    func nestedFault() throws {
        let scratch = Scratch()
        let config = scratch.file("c.json")
        try #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 10, "val_interval": 100}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01}}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 10}], "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 3, "by_epoch": false}}, "log_processor": {"by_epoch": false}, "work_dir": "wd", "data": {"train": 4, "val": 1}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let trace = scratch.file("real.htrace"), wd = scratch.file("wd")
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.fixtures + "/real_mmengine_fault.py", config, wd, "2"])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(r.stderr.contains("hooktrace: the recorder failed in before_save_checkpoint (RuntimeError: a bug in the recorder (planted by the test))"), "\(r.stderr.suffix(2000))")
        // The training ran to its end: all three checkpoints are there.
        for name in ["iter_3.pth", "iter_6.pth", "iter_9.pth"] {
            #expect(FileManager.default.fileExists(atPath: wd + "/" + name), "\(name)")
        }
        var entries: [TraceEntry] = []
        try TraceReader(path: trace).forEach { entries.append($0) }
        let note = entries.firstIndex { e in
            if case .effect(let x) = e.event, case .note(let text) = x.action { return text.hasPrefix("the recorder shim failed in before_save_checkpoint") }
            return false
        }
        guard let note else { Issue.record("no note of the fault"); return }
        // Before it: the calls up to the sixth iteration's before_train_iter (its after_train_iter,
        // whose save failed, was still being written); after it, only the run's end.
        let calls = entries[..<note].compactMap { e -> String? in
            if case .call(let c) = e.event { return "\(c.stage) \(c.iter)" }
            return nil
        }
        #expect(calls.last == "before_train_iter 5", "\(calls.suffix(4))")
        #expect(calls.filter { $0 == "after_train_iter 2" }.count == 1, "\(calls)")
        let after = entries[(note + 1)...].map { e -> String in
            if case .runEnd = e.event { return "run_end" }
            return "\(e.event)"
        }
        #expect(after == ["run_end"], "\(after)")
        if case .runEnd(let end)? = entries.last?.event {
            #expect(end.status == .failed && end.message.hasPrefix("recording stopped: the recorder shim failed in before_save_checkpoint"), "\(end)")
        }
        #expect(try CLI.run(["check", trace]).status == 0)
    }

    /// A real run crashed at an iteration, resumed in a new process from one of its
    /// checkpoints (Runner's load_from + resume=True), against `record --resume-from` of
    /// the crashed run's recording: the same calls from before_run on, learning rates and
    /// momenta bit for bit, optimizer steps, checkpoints saved and removed, the message
    /// hub's entries in order, bests and log records at the same calls.
    @Test("a real mmengine run crashed and resumed from its checkpoint equals record --resume-from of its recording", .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed"),
          arguments: [
            ("iteration loop, warmup + one-cycle, keep 2, save_best; resumed from iter_14 of a crash at 16", 16, "iter_14.pth", 1,
             #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 30, "val_interval": 10}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 5}, {"type": "OneCycleLR", "eta_max": 0.05, "total_steps": 30, "by_epoch": false}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 4}, "checkpoint": {"type": "CheckpointHook", "interval": 7, "by_epoch": false, "max_keep_ckpts": 2, "save_best": "acc", "rule": "greater"}}, "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
            ("epoch loop, warmup + multistep, keep 2, save_best, EMA; resumed from epoch_2 of a crash in epoch 4", 13, "epoch_2.pth", 2,
             #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 5, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "end": 6}, {"type": "MultiStepLR", "milestones": [3, 4], "by_epoch": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 3}, "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 2, "save_best": "acc", "rule": "greater"}}, "custom_hooks": [{"type": "EMAHook", "ema_type": "MomentumAnnealingEMA", "momentum": 0.01, "gamma": 10, "priority": 49}], "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
            ("epoch loop, ReduceOnPlateauLR (patience 1); resumed from epoch_2, saved before the validation that steps it", 13, "epoch_2.pth", 2,
             #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 6, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "param_scheduler": [{"type": "ReduceOnPlateauLR", "monitor": "acc", "rule": "less", "patience": 1, "factor": 0.5, "by_epoch": true}], "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 2}, "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 3}}, "work_dir": "wd", "data": {"train": 4, "val": 2}, "simulation": {"metrics": {"acc": {"start": 0.1, "end": 0.9, "noise": 0}}}}"#),
          ])
    func resumed(name: String, crashAt: Int, checkpoint: String, evaluationsDone: Int, config: String) throws {
        let scratch = Scratch()
        let configPath = scratch.file("c.json"), wd = scratch.file("wd")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let crashed = scratch.file("crashed.htrace"), real = scratch.file("real.htrace"), sim = scratch.file("sim.htrace")
        let first = try CLI.run(["record", "-o", crashed, "--", "python3", Self.fixtures + "/real_mmengine_train.py", configPath, wd],
                                environment: ["HOOKTRACE_TEST_CRASH_AT": String(crashAt)])
        #expect(first.status == 1 && first.stderr.contains("crashed at iteration"), "\(name): \(first.stderr.suffix(1500))")
        let second = try CLI.run(["record", "-o", real, "--", "python3", Self.fixtures + "/real_mmengine_train.py", configPath, wd],
                                 environment: ["HOOKTRACE_TEST_RESUME": wd + "/" + checkpoint, "HOOKTRACE_TEST_EVALS_DONE": String(evaluationsDone)])
        #expect(second.status == 0, "\(name): \(second.stderr.suffix(2000))")
        let r = try CLI.run(["record", "--config", configPath, "--resume-from", crashed + ":" + checkpoint, "-o", sim, "--quiet"])
        #expect(r.status == 0, "\(name): \(r.stderr)")
        let (simCalls, simFiles) = try Self.outline(sim)
        let (realCalls, realFiles) = try Self.outline(real)
        #expect(simCalls == realCalls, "\(name): calls differ: \(simCalls.prefix(8)) vs \(realCalls.prefix(8))")
        #expect(simFiles == realFiles, "\(name): checkpoints, hub entries, bests or log records at other calls: \(simFiles) vs \(realFiles)")
        let user = try CLI.run(["diff", sim, real, "--only", "lr,momentum,checkpoint,order,optimizer"])
        #expect(user.status == 0, "\(name): \(user.stdout)")
        // The resumed run's recording replays on its own: its "resumed" effect carries what
        // Runner.resume loaded (hub entries and histories, files), the rest is derived.
        let replay = try CLI.run(["replay", real])
        if config.contains("ReduceOnPlateauLR") {
            // Its state at the checkpoint depends on the metrics before the resume, which the
            // resumed run's recording does not hold: said, exit 2.
            #expect(replay.status == 2 && replay.stderr.contains("its recording does not hold") && replay.stderr.contains("--resume-from INTERRUPTED.htrace:\(checkpoint)"), "\(name): \(replay.stderr)")
        } else {
            #expect(replay.status == 0 && replay.stdout.hasSuffix("result: same\n"), "\(name): \(replay.stdout)\(replay.stderr)")
        }
    }

    @Test("calls, LRs, momenta, checkpoints and log records' keys equal real mmengine's", .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the ported mmengine tests and the goldens cover the simulator"),
          arguments: cases)
    func sameAsReal(name: String, config: String) throws {
        let scratch = Scratch()
        let configPath = scratch.file("c.json")
        if config.hasPrefix("golden:") {
            try FileManager.default.copyItem(atPath: Self.goldens + "/" + config.dropFirst(7) + "/config.json", toPath: configPath)
        } else {
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        }
        let real = scratch.file("real.htrace"), sim = scratch.file("sim.htrace")
        let r = try CLI.run(["record", "-o", real, "--", "python3", Self.fixtures + "/real_mmengine_train.py", configPath, scratch.file("wd")])
        #expect(r.status == 0, "\(name): \(r.stderr.suffix(2000))")
        #expect(try CLI.run(["record", "--config", configPath, "-o", sim, "--quiet"]).status == 0)
        // The recording replays from the runner's own objects (no config given): the same
        // calls and effects, exit 0.
        let replay = try CLI.run(["replay", real])
        #expect(replay.status == 0, "\(name): replay of the real run: \(replay.stdout.suffix(3000)) \(replay.stderr.suffix(1500))")
        if name.hasPrefix("warmup + multistep") {
            // What-if on the real run: other milestones change the lr from epoch 3 on, nothing else.
            let whatIf = try CLI.run(["replay", real, "--cfg-options", "param_scheduler.1.milestones=[3,4]", "default_hooks.checkpoint.max_keep_ckpts=1"])
            #expect(whatIf.status == 1 && whatIf.stdout.contains("lr[0]: 5 of 25 iterations differ (iters 10-14)") && whatIf.stdout.contains("checkpoints kept at the end: A [epoch_4.pth, epoch_5.pth], B [epoch_5.pth]"), "\(whatIf.stdout)")
        }
        let (simCalls, simFiles) = try Self.outline(sim)
        let (realCalls, realFiles) = try Self.outline(real)
        #expect(simCalls == realCalls, "\(name): calls differ")
        #expect(simFiles == realFiles, "\(name): checkpoints, bests, loss factors or log records at other calls")
        #expect(try Self.logKeys(sim) == Self.logKeys(real), "\(name): log records' keys differ")
        // The hook listing of both traces (mmengine's get_hooks_info from the recorded stages and priorities).
        let simHooks = try CLI.run(["hooks", sim]), realHooks = try CLI.run(["hooks", real])
        #expect(simHooks.status == 0 && realHooks.status == 0)
        #expect(simHooks.stdout == realHooks.stdout, "\(name): hook listings differ")
        // paramwise_cfg: the real optimizer has a group per parameter, the simulation one per
        // class of them; what both show the user is the logged lr (the first parameter's
        // group) and base_lr, compared bit for bit.
        guard !config.contains("paramwise_cfg") else {
            let simLR = try Self.loggedValues(sim, ["lr", "base_lr"]), realLR = try Self.loggedValues(real, ["lr", "base_lr"])
            #expect(!simLR.isEmpty && simLR == realLR, "\(name): logged lr differ: \(simLR) vs \(realLR)")
            #expect(try CLI.run(["diff", sim, real, "--only", "checkpoint,order,optimizer"]).status == 0)
            return
        }
        // What a user runs: the simulation and the real run are the same in these kinds.
        let user = try CLI.run(["diff", sim, real, "--only", "lr,momentum,checkpoint,order,optimizer"])
        #expect(user.status == 0, "\(name): \(user.stdout)")
        let d = try CLI.run(["diff", sim, real, "--only", "lr,momentum", "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(d.stdout.utf8)) as? [String: Any])
        let series = try #require(json["series"] as? [[String: Any]])
        #expect(!series.isEmpty)
        for s in series {
            #expect(s["differing"] as? Int == 0, "\(name): \(s)")
            #expect((s["iterations"] as? Int ?? 0) > 0)
        }
    }

    @Test("*ParamScheduler on weight_decay and eps: every epoch's value bit for bit as real mmengine's", .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the ported tests cover the generic schedulers"),
          arguments: [
            ("weight_decay", #"{"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0005, "param_groups": [{}, {"weight_decay": 0.001}]}"#,
             #"[{"type": "LinearParamScheduler", "param_name": "weight_decay", "start_factor": 0.3, "end": 4}, {"type": "CosineAnnealingParamScheduler", "param_name": "weight_decay", "begin": 4, "end": 12, "T_max": 8, "eta_min": 0.0001}]"#),
            ("weight_decay", #"{"type": "AdamW", "lr": 0.001}"#,
             #"[{"type": "PolyParamScheduler", "param_name": "weight_decay", "power": 2.0, "eta_min": 0.001, "end": 9}, {"type": "MultiStepParamScheduler", "param_name": "weight_decay", "milestones": [10], "gamma": 0.5}]"#),
            ("eps", #"{"type": "Adam", "lr": 0.001, "eps": 1e-06}"#,
             #"[{"type": "ExponentialParamScheduler", "param_name": "eps", "gamma": 0.7}, {"type": "CosineRestartParamScheduler", "param_name": "eps", "periods": [5, 7], "restart_weights": [1, 0.5], "eta_min_ratio": 0.1}]"#),
          ])
    func genericParams(param: String, optimizer: String, schedulers: String) throws {
        let scratch = Scratch()
        let epochs = 12
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": \#(epochs)}, "optim_wrapper": {"optimizer": \#(optimizer)}, "data": {"train": 1}, "param_scheduler": \#(schedulers)}"#
        let path = scratch.file("c.json")
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let real = try CLI.run(["python3", Self.fixtures + "/real_param_schedule.py", path, param, String(epochs)], executable: "/usr/bin/env")
        #expect(real.status == 0, "\(real.stderr.suffix(1500))")
        let realValues = try #require(try JSONSerialization.jsonObject(with: Data(real.stdout.utf8)) as? [[String]])
        // The simulation: run_start's param_settings, then each epoch's set_param effects.
        let config = try RunConfig(text: json, name: "t")
        var current: [Double] = [], simulated: [[String]] = []
        _ = try Simulator.record(config) { e throws(HooktraceError) in
            switch e {
            case .runStart(let r):
                guard case .string(let text)? = r.meta.first(where: { $0.key == "param_settings" })?.value,
                      case .array(let items)? = try? JSONValue.parse(text)[param]?[""] else { return }
                current = items.compactMap(\.number)
            case .call(let c) where c.stage == "before_train_epoch":
                simulated.append(current.map { hexFloat($0) })
            case .effect(let x):
                if case .custom("set_param", let f) = x.action, case .int(let g)? = f.first(where: { $0.key == "group" })?.value,
                   let v = f.first(where: { $0.key == "value" })?.value.number { current[Int(g)] = v }
            default: break
            }
        }
        #expect(simulated == realValues, "simulated \(simulated)\nreal      \(realValues)")
    }
}

/// Python's float.hex() of a normal `x`: 0x1.<13 hex digits>p<exponent>.
func hexFloat(_ x: Double) -> String {
    if x == 0 { return x.sign == .minus ? "-0x0.0p+0" : "0x0.0p+0" }
    let bits = x.bitPattern
    let mantissa = bits & 0xF_FFFF_FFFF_FFFF
    let exponent = Int((bits >> 52) & 0x7FF) - 1023
    var digits = String(mantissa, radix: 16)
    digits = String(repeating: "0", count: 13 - digits.count) + digits
    return (x < 0 ? "-" : "") + "0x1." + digits + "p" + (exponent >= 0 ? "+" : "") + String(exponent)
}
