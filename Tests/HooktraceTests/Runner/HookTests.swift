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

private func paths(_ actions: [EffectAction]) -> [String] {
    actions.compactMap { a -> String? in
        switch a {
        case .checkpointSave(let p): "save \(fileName(p))"
        case .checkpointRemove(let p): "remove \(fileName(p))"
        default: nil
        }
    }
}

@Suite("Priorities, registration and the hook listing")
struct RegistrationTests {
    @Test("custom hooks interleave with the defaults by priority; ties run after the defaults (mmcv test_custom_hook)")
    func customHookOrder() throws {
        let json = config(#"""
            "lr_config": {"policy": "step", "step": [1]}, "optimizer_config": {}, "checkpoint_config": {"interval": 1},
            "log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]},
            "custom_hooks": [{"type": "ToyHook", "priority": 1}, {"type": "ToyHook"}, {"type": "ToyHook", "priority": 89},
                             {"type": "ToyHook", "priority": "very_low"}, {"type": "ToyHook", "priority": "HIGHEST"}]
            """#)
        let (_, runner) = try simulate(json)
        let order = runner.hooks.map { "\($0.name):\($0.priority)" }
        #expect(order == ["ToyHook#5:0", "ToyHook:1", "StepLrUpdaterHook:10", "OptimizerHook:40", "CheckpointHook:50", "ToyHook#2:50",
                          "IterTimerHook:70", "ToyHook#3:89", "TextLoggerHook:90", "ToyHook#4:90"])
        #expect(order.first == "ToyHook#5:0")
        #expect(order.firstIndex(of: "CheckpointHook:50")! < order.firstIndex(of: "ToyHook#2:50")!)
        #expect(order.firstIndex(of: "TextLoggerHook:90")! < order.firstIndex(of: "ToyHook#4:90")!)
    }

    @Test("policy names resolve as mmcv's register_lr_hook does", arguments: [
        ("step", "StepLrUpdaterHook"), ("Step", "StepLrUpdaterHook"), ("fixed", "FixedLrUpdaterHook"),
    ])
    func policyNames(policy: String, type: String) throws {
        let (_, runner) = try simulate(config(#""lr_config": {"policy": "\#(policy)", "step": [1]}"#.replacingOccurrences(of: #", "step": [1]"#, with: policy.lowercased() == "step" ? #", "step": [1]"# : "")))
        #expect(runner.hooks.first?.hook.type == type)
        #expect(ScheduleHook.normalisePolicy("cosine_annealing") == "Cosine_Annealing")
        #expect(ScheduleHook.normalisePolicy("step2x") == "Step2X")
        #expect(ScheduleHook.normalisePolicy("CosineAnnealing") == "CosineAnnealing")
    }

    @Test("lower-case multi-word policies fail as in mmcv, with the CamelCase name suggested")
    func badPolicies() {
        let message = configErrorMessage(config(#""lr_config": {"policy": "cosineannealing", "min_lr": 0}"#))
        #expect(message?.contains("CosineannealingLrUpdaterHook, which is not in the hook registry") == true, "\(message ?? "")")
        #expect(message?.contains("did you mean \"CosineAnnealing\"") == true, "\(message ?? "")")
        #expect(configErrorMessage(config(#""lr_config": {"policy": "onecycle", "max_lr": 0.1}"#))?.contains("OnecycleLrUpdaterHook") == true)
        #expect(configErrorMessage(config(#""lr_config": {"step": [1]}"#))?.contains("lr_config: must contain \"policy\"") == true)
    }

    @Test("IterBasedRunner defaults by_epoch to false for LR, checkpoint and loggers, not momentum")
    func iterDefaults() throws {
        let json = config(#""lr_config": {"policy": "step", "step": [2]}, "checkpoint_config": {"interval": 2}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]}"#,
                          runner: #""runner": {"type": "IterBasedRunner", "max_iters": 4}"#)
        let (events, runner) = try simulate(json)
        #expect((runner.hooks.compactMap { $0.hook as? ScheduleHook }.first?.byEpoch) == false)
        #expect((runner.hooks.compactMap { $0.hook as? CheckpointHook }.first?.byEpoch) == false)
        #expect((runner.hooks.compactMap { $0.hook as? LoggerHook }.first?.byEpoch) == false)
        #expect(paths(effects(events, "CheckpointHook")) == ["save iter_2.pth", "save iter_4.pth"])
    }

    @Test("the hook listing has mmcv's layout")
    func listing() throws {
        let json = config(#"""
            "lr_config": {"policy": "step", "step": [1]}, "checkpoint_config": {"interval": 1},
            "log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]}, "custom_hooks": [{"type": "EMAHook", "priority": 49}]
            """#)
        let config = try RunConfig(text: json, name: "t")
        let (runner, _) = try Simulator.prepare(config) { _ throws(HooktraceError) in }
        func line(_ p: String, _ name: String) -> String {
            "(" + p + String(repeating: " ", count: 12 - p.count) + ") " + name + String(repeating: " ", count: 35 - name.count)
        }
        let lr = line("VERY_HIGH", "StepLrUpdaterHook"), ema = line("49", "EMAHook"), ckpt = line("NORMAL", "CheckpointHook")
        let timer = line("LOW", "IterTimerHook"), text = line("VERY_LOW", "TextLoggerHook")
        let end = "\n -------------------- "
        let expected = [
            "before_run:\n" + [lr, ema, ckpt, text].joined(separator: "\n") + end,
            "before_train_epoch:\n" + [lr, ema, timer, text].joined(separator: "\n") + end,
            "before_train_iter:\n" + [lr, timer].joined(separator: "\n") + end,
            "after_train_iter:\n" + [ema, ckpt, timer, text].joined(separator: "\n") + end,
            "after_train_epoch:\n" + [ema, ckpt, text].joined(separator: "\n") + end,
            "before_val_epoch:\n" + [timer, text].joined(separator: "\n") + end,
            "before_val_iter:\n" + [timer].joined(separator: "\n") + end,
            "after_val_iter:\n" + [timer].joined(separator: "\n") + end,
            "after_val_epoch:\n" + [text].joined(separator: "\n") + end,
            "after_run:\n" + [text].joined(separator: "\n") + end,
        ].joined(separator: "\n")
        #expect(Simulator.hookListing(runner) == expected)
    }

    @Test("after_run lists the logger backends that override it in mmcv 1.7, not Dvclive, Segmind or ClearML")
    func loggerAfterRun() throws {
        let all = LoggerHook.backends.map { #"{"type": "\#($0)"}"# }.joined(separator: ", ")
        let (runner, _) = try Simulator.prepare(try RunConfig(text: config(#""log_config": {"interval": 1, "hooks": ["# + all + "]}"), name: "t")) { _ throws(HooktraceError) in }
        let afterRun = Simulator.hookListing(runner).components(separatedBy: "after_run:")[1]
        let listed = LoggerHook.backends.filter { afterRun.contains($0 + " ") }
        #expect(listed == ["TextLoggerHook", "TensorboardLoggerHook", "PaviLoggerHook", "WandbLoggerHook", "MlflowLoggerHook", "NeptuneLoggerHook"])
    }

    @Test("unknown custom hooks are kept passive with one warning; typos of known hooks are errors; mmdetection's check hooks are listed")
    func passiveHooks() throws {
        let (events, runner) = try simulate(config(#""custom_hooks": [{"type": "MyProjectHook", "interval": 3}]"#))
        #expect(runner.hooks.contains { $0.hook is PassiveHook })
        #expect(effects(events, "MyProjectHook").count == 1)
        #expect(runner.warnings.count == 1)
        // mmdetection's NumClassCheckHook: no warning, listed where mmdetection's log lists it.
        let (checkEvents, checkRunner) = try simulate(config(#""custom_hooks": [{"type": "NumClassCheckHook"}], "workflow": [["train", 1], ["val", 1]]"#, data: #""data": {"train": 3, "val": 2}"#))
        #expect(checkRunner.warnings.isEmpty && effects(checkEvents, "NumClassCheckHook").isEmpty)
        let listing = Simulator.hookListing(checkRunner)
        let stagesListed = listing.components(separatedBy: " -------------------- ").filter { $0.contains("NumClassCheckHook") }
            .compactMap { $0.split(separator: ":").first.map { String($0.filter { !$0.isWhitespace }) } }
        #expect(stagesListed == ["before_train_epoch", "before_val_epoch"])
        // mmdetection 2.x's YOLOX hooks and the other model/data-side hooks: listed under the
        // stages their classes override (MemoryProfilerHook's after_iter under both kinds).
        let yolox = #""custom_hooks": [{"type": "YOLOXModeSwitchHook", "num_last_epoch": 1, "priority": 48}, {"type": "SyncNormHook", "num_last_epochs": 1, "priority": 48}, {"type": "MemoryProfilerHook", "interval": 2}, {"type": "SetEpochInfoHook"}, {"type": "SyncRandomSizeHook"}], "workflow": [["train", 1], ["val", 1]]"#
        let (_, yoloxRunner) = try simulate(config(yolox, data: #""data": {"train": 3, "val": 2}"#))
        #expect(yoloxRunner.warnings.isEmpty)
        let sections = Simulator.hookListing(yoloxRunner).components(separatedBy: " -------------------- ")
        func stages(of hook: String) -> [String] {
            sections.filter { $0.contains(hook + " ") }.compactMap { $0.split(separator: ":").first.map { String($0.filter { !$0.isWhitespace }) } }
        }
        #expect(stages(of: "YOLOXModeSwitchHook") == ["before_train_epoch"])
        #expect(stages(of: "SyncNormHook") == ["before_train_epoch", "after_train_epoch"])
        #expect(stages(of: "MemoryProfilerHook") == ["after_train_iter", "after_val_iter"])
        #expect(stages(of: "SetEpochInfoHook") == ["before_train_epoch"])
        #expect(stages(of: "SyncRandomSizeHook") == ["after_train_epoch"])
        let typo = configErrorMessage(config(#""custom_hooks": [{"type": "CheckpiontHook"}]"#))
        #expect(typo == "custom_hooks[0].type: CheckpiontHook is not in the hook registry (did you mean \"CheckpointHook\"?)")
        let eval = configErrorMessage(config(#""custom_hooks": [{"type": "EvalHook"}]"#))
        #expect(eval?.contains("not in mmcv's hook registry") == true)
    }

    @Test("a Swift user can register a hook type")
    func userHooks() throws {
        final class CountingHook: Hook {
            let type = "CountingHook"
            let config = JSONValue.object([])
            var methods: Set<Stage> { [.afterTrainEpoch] }
            func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
                try runner.effect(.custom(kind: "count", fields: [Field("epoch", .int(Int64(runner.epoch)))]))
            }
        }
        var registry = HookRegistry.standard
        try registry.register("CountingHook") { _, _, _ throws(HooktraceError) in CountingHook() }
        #expect(throws: HooktraceError.self) { try registry.register("CountingHook") { _, _, _ throws(HooktraceError) in CountingHook() } }
        let cfg = try RunConfig(text: config(#""custom_hooks": [{"type": "CountingHook"}]"#), name: "t")
        var events: [Event] = []
        try Simulator.record(cfg, registry: registry) { e throws(HooktraceError) in events.append(e) }
        #expect(effects(events, "CountingHook").count == 2)
    }

    @Test("one hook runs against a context of its own, without a runner")
    func hookWithoutRunner() throws {
        let build = HookBuildContext(runnerKind: .epochBased, isDictOptimizer: false, valLength: 0)
        let hook = try HookRegistry.standard.build(.object([("type", .string("StepLrUpdaterHook")), ("step", .array([.int(2)])), ("gamma", .double(0.5))]),
                                                   path: "lr_config", context: build)
        var events: [Event] = []
        let sgd = OptimizerState(name: "", className: "SGD", groups: [ParamGroupState(lr: 0.1, momentum: 0.9, betas: nil)],
                                 defaultsHaveMomentum: true, defaultsHaveBetas: false)
        let context = HookContext(optimizers: [sgd], maxEpochs: 4, maxIters: 40, hookName: "StepLrUpdaterHook") { e throws(HooktraceError) in events.append(e) }
        try hook.call(.beforeRun, context)
        for epoch in 0..<4 {
            context.setCounters(epoch: epoch, iter: epoch * 10, dataLoaderLength: 10)
            try hook.call(.beforeTrainEpoch, context)
        }
        // mmcv: lr = base × gamma^(number of steps passed), steps at epoch 2.
        #expect(context.optimizers[0].groups[0].lr == 0.05)
        let lrs = events.compactMap { e -> Double? in
            if case .effect(let x) = e, x.hook == "StepLrUpdaterHook", case .setLR(_, _, let v) = x.action { v } else { nil }
        }
        #expect(lrs == [0.1, 0.1, 0.05, 0.05])
    }
}

@Suite("CheckpointHook retention")
struct CheckpointTests {
    private func run(_ checkpoint: String, epochs: Int = 5, train: Int = 2, runner: String? = nil) throws -> (saves: [String], kept: [String]) {
        let json = config(#""checkpoint_config": \#(checkpoint)"#, runner: runner ?? #""runner": {"type": "EpochBasedRunner", "max_epochs": \#(epochs)}"#,
                          data: #""data": {"train": \#(train)}"#)
        let (events, r) = try simulate(json)
        return (paths(effects(events, "CheckpointHook")), r.files.contents.map(fileName))
    }

    @Test("max_keep_ckpts keeps the newest files")
    func keepNewest() throws {
        let r = try run(#"{"interval": 1, "max_keep_ckpts": 2}"#)
        #expect(r.kept == ["epoch_4.pth", "epoch_5.pth"])
        #expect(r.saves == ["save epoch_1.pth", "save epoch_2.pth", "save epoch_3.pth", "remove epoch_1.pth", "save epoch_4.pth",
                            "remove epoch_2.pth", "save epoch_5.pth", "remove epoch_3.pth"])
    }

    @Test("save_last off the interval breaks the deletion walk (the walk stops at the first gap)")
    func saveLastOffInterval() throws {
        let r = try run(#"{"interval": 2, "max_keep_ckpts": 1}"#)
        // Saves 2, 4 (removes 2), 5 (walks 3: absent → stops).
        #expect(r.saves == ["save epoch_2.pth", "save epoch_4.pth", "remove epoch_2.pth", "save epoch_5.pth"])
        #expect(r.kept == ["epoch_4.pth", "epoch_5.pth"])
    }

    @Test("interval larger than the run saves only the last epoch; save_last false saves nothing")
    func intervalBeyondRun() throws {
        #expect(try run(#"{"interval": 10}"#, epochs: 3).saves == ["save epoch_3.pth"])
        #expect(try run(#"{"interval": 10, "save_last": false}"#, epochs: 3).saves.isEmpty)
        #expect(try run(#"{"interval": -1}"#, epochs: 2).saves == ["save epoch_2.pth"])
    }

    @Test("EpochBasedRunner with by_epoch false writes epoch_N.pth but deletes by iter_N.pth names (mmcv's trap)")
    func byIterInEpochRunner() throws {
        let r = try run(#"{"interval": 2, "by_epoch": false, "max_keep_ckpts": 1}"#, epochs: 2, train: 3)
        // Iterations 2, 4 and the last (6): the runner writes epoch_<epoch+1>.pth each time.
        #expect(r.saves == ["save epoch_1.pth", "save epoch_2.pth", "save epoch_2.pth"])
        #expect(!r.saves.contains { $0.hasPrefix("remove") })
    }

    @Test("IterBasedRunner checkpoints by iteration with a filename template")
    func iterTemplate() throws {
        let r = try run(#"{"interval": 3, "filename_tmpl": "model_{:04d}.pth", "max_keep_ckpts": 1}"#,
                        runner: #""runner": {"type": "IterBasedRunner", "max_iters": 7}"#)
        #expect(r.saves == ["save model_0003.pth", "save model_0006.pth", "remove model_0003.pth", "save model_0007.pth"])
    }

    @Test("out_dir gets the work_dir's basename appended; latest.pth links the newest file on a local disk")
    func outDir() throws {
        let json = config(#""checkpoint_config": {"interval": 1, "out_dir": "/data/ckpts"}, "work_dir": "work_dirs/exp1""#)
        let (events, runner) = try simulate(json)
        let actions = effects(events, "CheckpointHook")
        #expect(actions.first == .checkpointSave(path: "/data/ckpts/exp1/epoch_1.pth"))
        #expect(actions.last == .custom(kind: "hook_msgs", fields: [Field("last_ckpt", .string("/data/ckpts/exp1/epoch_2.pth"))]))
        #expect(actions.dropLast().last == .checkpointLink(link: "/data/ckpts/exp1/latest.pth", target: "epoch_2.pth"))
        #expect(runner.hookMessages.lastCheckpoint == "/data/ckpts/exp1/epoch_2.pth")
    }

    @Test("by_epoch=False on an EpochBasedRunner: the file is epoch_{e}.pth, mmcv's hook_msgs.last_ckpt says iter_{i}.pth, as recorded")
    func lastCheckpointName() throws {
        let json = config(#""checkpoint_config": {"interval": 3, "by_epoch": false}"#, runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 2}"#)
        let (events, runner) = try simulate(json)
        let actions = effects(events, "CheckpointHook")
        let saves = actions.compactMap { a -> String? in if case .checkpointSave(let p) = a { fileName(p) } else { nil } }
        let messages = actions.compactMap { a -> String? in
            if case .custom("hook_msgs", let f) = a, case .string(let p)? = f.first?.value { fileName(p) } else { nil }
        }
        // Train loader of 3 batches, 2 epochs: iterations 3 and 6 save (the last one also as save_last).
        #expect(saves == ["epoch_1.pth", "epoch_2.pth"])
        #expect(messages == ["iter_3.pth", "iter_6.pth"])
        #expect(runner.hookMessages.lastCheckpoint.map(fileName) == "iter_6.pth")
    }

    @Test("back-ends without symbolic links (s3://, http://, file_client_args) get no latest.pth; asking for one warns", arguments: [
        (#""out_dir": "s3://bucket/ckpts""#, false),
        (#""out_dir": "https://host/ckpts""#, false),
        (#""out_dir": "/data/ckpts", "file_client_args": {"backend": "petrel"}"#, false),
        (#""out_dir": "s3://bucket/ckpts", "create_symlink": true"#, true),
        (#""out_dir": "/data/ckpts", "file_client_args": {"backend": "disk"}"#, false),
    ])
    func noSymlinkBackends(settings: String, warns: Bool) throws {
        let json = config(#""checkpoint_config": {"interval": 1, "# + settings + "}, \"work_dir\": \"work_dirs/exp1\"")
        let (events, runner) = try simulate(json)
        let actions = effects(events, "CheckpointHook")
        let links = actions.filter { if case .checkpointLink = $0 { true } else { false } }
        let local = settings.contains(#""disk""#)
        #expect(links.isEmpty == !local, "\(settings)")
        #expect(actions.filter { if case .checkpointSave = $0 { true } else { false } }.count == 2)
        #expect(runner.warnings.contains { $0.contains("create_symlink") } == warns, "\(runner.warnings)")
    }
}

@Suite("EvalHook")
struct EvalTests {
    @Test("save_best rule inference (mmcv test_eval_hook): top before loss, exact before substring", arguments: [
        ("mAP", "greater"), ("bbox_mAP", "greater"), ("acc", "greater"), ("loss", "less"), ("loss_top", "greater"), ("AR@100", "greater"),
    ])
    func ruleInference(key: String, rule: String) throws {
        let r = try EvalHook.inferRule(key, greater: EvalHook.defaultGreaterKeys, less: EvalHook.defaultLessKeys, path: "p")
        #expect(r == rule)
    }

    @Test("a key whose rule cannot be inferred is an error naming the fix")
    func unknownRule() {
        let message = configErrorMessage(config(#""evaluation": {"save_best": "foo"}"#, data: #""data": {"train": 2, "val": 2}"#))
        #expect(message?.contains("set rule to \"greater\" or \"less\"") == true, "\(message ?? "")")
        #expect(configErrorMessage(config(#""evaluation": {"interval": 0}"#, data: #""data": {"train": 2, "val": 2}"#))?.contains("evaluation.interval") == true)
    }

    @Test("the best checkpoint is replaced only on strict improvement, and the old one removed")
    func bestReplacement() throws {
        let json = config(#""evaluation": {"interval": 1, "save_best": "acc"}, "simulation": {"metrics": {"acc": {"start": 0.2, "end": 0.9, "noise": 0}}}"#,
                          runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 3}"#, data: #""data": {"train": 4, "val": 2}"#)
        let (events, runner) = try simulate(json)
        let actions = effects(events, "EvalHook")
        let best = actions.compactMap { a -> String? in if case .bestUpdate(_, _, let c) = a { fileName(c) } else { nil } }
        #expect(best == ["best_acc_epoch_1.pth", "best_acc_epoch_2.pth", "best_acc_epoch_3.pth"])
        #expect(paths(actions) == ["save best_acc_epoch_1.pth", "remove best_acc_epoch_1.pth", "save best_acc_epoch_2.pth",
                                   "remove best_acc_epoch_2.pth", "save best_acc_epoch_3.pth"])
        #expect(runner.files.contents.map(fileName) == ["best_acc_epoch_3.pth"])
    }

    @Test("a falling metric keeps the first best; 'less' keeps the lowest")
    func lessRule() throws {
        let json = config(#""evaluation": {"interval": 1, "save_best": "err", "rule": "greater"}, "simulation": {"metrics": {"err": {"start": 0.9, "end": 0.2, "noise": 0}}}"#,
                          runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 3}"#, data: #""data": {"train": 4, "val": 2}"#)
        let bests = effects(try simulate(json).events, "EvalHook").filter { if case .bestUpdate = $0 { true } else { false } }
        #expect(bests.count == 1)
        let less = json.replacingOccurrences(of: #""rule": "greater""#, with: #""rule": "less""#)
        #expect(effects(try simulate(less).events, "EvalHook").filter { if case .bestUpdate = $0 { true } else { false } }.count == 3)
    }

    @Test("greater_keys and less_keys replace mmcv's defaults: less_keys=[acc] keeps the first of a rising acc")
    func explicitKeys() throws {
        let json = config(#""evaluation": {"interval": 1, "save_best": "acc", "greater_keys": [], "less_keys": ["acc"]}, "simulation": {"metrics": {"acc": {"start": 0.2, "end": 0.9, "noise": 0}}}"#,
                          runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 3}"#, data: #""data": {"train": 4, "val": 2}"#)
        let (events, runner) = try simulate(json)
        let best = effects(events, "EvalHook").compactMap { a -> String? in if case .bestUpdate(_, _, let c) = a { fileName(c) } else { nil } }
        #expect(best == ["best_acc_epoch_1.pth"])
        #expect(runner.files.contents.map(fileName).contains("best_acc_epoch_1.pth"))
        // A single string is a one-key list (mmcv wraps it in a tuple), again replacing the defaults.
        #expect(try EvalHook.inferRule("acc", greater: [], less: ["acc"], path: "p") == "less")
        let single = config(#""evaluation": {"save_best": "mAP", "greater_keys": "acc"}"#, data: #""data": {"train": 2, "val": 2}"#)
        #expect(configErrorMessage(single)?.contains("cannot infer") == true, "mAP is no longer a greater key once greater_keys is given")
    }

    @Test("default metrics are the keys mmdetection 2.28's datasets return, in their order", arguments: [
        (#""bbox""#, ["bbox_mAP", "bbox_mAP_50", "bbox_mAP_75", "bbox_mAP_s", "bbox_mAP_m", "bbox_mAP_l", "bbox_mAP_copypaste"]),
        (#"["bbox", "segm"]"#, ["bbox_mAP", "bbox_mAP_50", "bbox_mAP_75", "bbox_mAP_s", "bbox_mAP_m", "bbox_mAP_l", "bbox_mAP_copypaste",
                                "segm_mAP", "segm_mAP_50", "segm_mAP_75", "segm_mAP_s", "segm_mAP_m", "segm_mAP_l", "segm_mAP_copypaste"]),
        (#""proposal""#, ["AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]),
        (#""proposal_fast""#, ["AR@100", "AR@300", "AR@1000"]),
        (#""mAP""#, ["mAP", "AP50"]),
        (#""recall""#, ["recall@100@0.5", "recall@300@0.5", "recall@1000@0.5"]),
    ])
    func mmdetMetricKeys(metric: String, keys: [String]) throws {
        let json = config(#""evaluation": {"interval": 1, "metric": "# + metric + "}, \"log_config\": {\"interval\": 1, \"hooks\": [{\"type\": \"TextLoggerHook\"}]}",
                          runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 1}"#, data: #""data": {"train": 2, "val": 2}"#)
        let (events, _) = try simulate(json)
        guard case .evaluate(let fields)? = effects(events, "EvalHook").first else {
            Issue.record("no evaluation")
            return
        }
        #expect(fields.map(\.key) == keys)
        // The val log record carries the results as mmcv's TextLoggerHook writes them.
        let val = effects(events, "TextLoggerHook").compactMap { a -> [Field]? in
            if case .log(let f) = a, f.first?.value == .string("val") { f } else { nil }
        }.first
        #expect(val.map { Array($0.map(\.key).suffix(keys.count)) } == keys)
        for field in fields {
            let key = field.key
            switch field.value {
            case .double(let v) where key == "AP50": #expect(v == pythonRound(v, 3))
            case .double(let v) where key.hasPrefix("bbox") || key.hasPrefix("segm") || key.hasPrefix("AR") && metric.contains("\"proposal\""):
                #expect(v == pythonRound(v, 4), "\(key) = \(v)")
            case .string(let s):
                // The six COCO stats at 4 decimals, in order.
                let prefix = String(key.dropLast("_mAP_copypaste".count))
                let stats = fields.filter { $0.key.hasPrefix(prefix + "_mAP") && $0.key != key }.map { MMDetMetrics.fixed4($0.value.number ?? -1) }
                #expect(s == stats.joined(separator: " "))
            default: break
            }
        }
    }

    @Test("VOC's mAP comes first, so save_best='auto' picks it; AP50 is the same mean AP rounded to 3 decimals")
    func vocAuto() throws {
        let json = config(#""evaluation": {"interval": 1, "metric": "mAP", "save_best": "auto"}"#,
                          runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 2}"#, data: #""data": {"train": 2, "val": 2}"#)
        let actions = effects(try simulate(json).events, "EvalHook")
        let keys = actions.compactMap { a -> String? in if case .bestUpdate(let k, _, _) = a { k } else { nil } }
        #expect(keys.first == "mAP")
        guard case .evaluate(let fields)? = actions.first, let map = fields[0].value.number, let ap50 = fields[1].value.number else {
            Issue.record("no evaluation")
            return
        }
        #expect(ap50 == pythonRound(map, 3))
    }

    @Test("start and interval choose the evaluated epochs, including the initial evaluation")
    func startInterval() throws {
        func evaluated(_ eval: String, epochs: Int = 5) throws -> [Int] {
            let json = config(#""evaluation": \#(eval)"#, runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": \#(epochs)}"#,
                              data: #""data": {"train": 1, "val": 1}"#)
            var epoch = 0
            var out: [Int] = []
            for e in try simulate(json).events {
                if case .call(let c) = e { epoch = c.epoch }
                if case .effect(let x) = e, case .evaluate = x.action { out.append(epoch) }
            }
            return out
        }
        #expect(try evaluated(#"{"interval": 2}"#) == [1, 3])
        #expect(try evaluated(#"{"interval": 2, "start": 1}"#) == [0, 2, 4])
        #expect(try evaluated(#"{"interval": 1, "start": 0}"#) == [0, 0, 1, 2, 3, 4], "start 0 evaluates before training too")
        #expect(try evaluated(#"{"interval": 3, "start": 4}"#, epochs: 6) == [3])
        // mmdetection's dynamic_intervals (YOLOX: interval 10, then every epoch from epoch 8 on).
        #expect(try evaluated(#"{"interval": 10}"#, epochs: 12) == [9])
        #expect(try evaluated(#"{"interval": 10, "dynamic_intervals": [[8, 1]]}"#, epochs: 12) == [7, 8, 9, 10, 11])
        #expect(try evaluated(#"{"interval": 10, "dynamic_intervals": [[8, 1], [10, 2]]}"#, epochs: 12) == [7, 8, 9, 11])
        #expect(configErrorMessage(config(#""evaluation": {"dynamic_intervals": [[8]]}"#, data: #""data": {"train": 1, "val": 1}"#))?
            .hasPrefix("evaluation.dynamic_intervals[0]: expected a [milestone, interval] pair") == true)
    }
}

@Suite("Optimizer, logger and timer hooks")
struct OtherHookTests {
    @Test("gradient accumulation steps after iterations 5, 10 and 12 of 3 × 4 (remainder per run, not per epoch)")
    func accumulation() throws {
        let text = try readText(examplePath("gradient_accumulation.json"))
        let (events, runner) = try simulate(text)
        let steps = effects(events, "GradientCumulativeOptimizerHook").compactMap { a -> Bool? in
            if case .optimizerStep(_, let stepped, _) = a { stepped } else { nil }
        }
        let stepped = steps.enumerated().filter { $0.element }.map { $0.offset + 1 }
        #expect(stepped == [5, 10, 12])
        #expect(runner.warnings.contains { $0.contains("divide the loss by 2 instead of 5") })
    }

    @Test("grad_clip pushes grad_norm into the log records")
    func gradClip() throws {
        let json = config(#""optimizer_config": {"grad_clip": {"max_norm": 35}}, "log_config": {"interval": 3, "hooks": [{"type": "TextLoggerHook"}]}"#)
        let (events, _) = try simulate(json)
        let norms = effects(events, "OptimizerHook").compactMap { a -> Double? in if case .optimizerStep(_, _, let n) = a { n } else { nil } }
        #expect(norms.count == 6)
        let logs = effects(events, "TextLoggerHook").compactMap { a -> [Field]? in if case .log(let f) = a { f } else { nil } }
        #expect(logs[1].map(\.key) == ["mode", "epoch", "iter", "lr", "data_time", "loss", "grad_norm", "time"])
    }

    @Test("fp16 (mmdetection's key) builds Fp16OptimizerHook from optimizer_config: same steps and logs, listed in before_run")
    func fp16() throws {
        let log = #""log_config": {"interval": 3, "hooks": [{"type": "TextLoggerHook"}]}"#
        let plain = try simulate(config(#""optimizer_config": {"grad_clip": {"max_norm": 35}}, "# + log)).0
        for fp16 in [#""loss_scale": 512.0"#, #""loss_scale": "dynamic""#, #""loss_scale": {"init_scale": 1024.0}, "distributed": false"#] {
            let json = config(#""optimizer_config": {"grad_clip": {"max_norm": 35}}, "fp16": {"# + fp16 + "}, " + log)
            let events = try simulate(json).0
            #expect(effects(events, "Fp16OptimizerHook") == effects(plain, "OptimizerHook"))
            // The same records but the first, whose config text has the fp16 key.
            #expect(effects(events, "TextLoggerHook").dropFirst() == effects(plain, "TextLoggerHook").dropFirst())
            let (runner, start) = try Simulator.prepare(try RunConfig(text: json, name: "t")) { _ throws(HooktraceError) in }
            #expect(start.hooks.first { $0.type == "Fp16OptimizerHook" }?.priority == Priority.aboveNormal.rawValue)
            let listing = Simulator.hookListing(runner)
            let beforeRun = listing.components(separatedBy: "before_train_epoch:")[0]
            #expect(beforeRun.contains("Fp16OptimizerHook"))
        }
        // The cumulative variant, named in optimizer_config, steps like GradientCumulativeOptimizerHook.
        let cumulative = try simulate(config(#""optimizer_config": {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2}"#)).0
        let fp16Cumulative = try simulate(config(#""optimizer_config": {"type": "GradientCumulativeFp16OptimizerHook", "cumulative_iters": 2, "loss_scale": "dynamic"}"#)).0
        #expect(!effects(cumulative, "GradientCumulativeOptimizerHook").isEmpty)
        #expect(effects(fp16Cumulative, "GradientCumulativeFp16OptimizerHook") == effects(cumulative, "GradientCumulativeOptimizerHook"))
    }

    @Test("mmdetection's ExpMomentumEMAHook and LinearMomentumEMAHook: momentum functions, interval, swaps")
    func mmdetEMA() throws {
        func updates(_ hook: String) throws -> [Double] {
            effects(try simulate(config(#""custom_hooks": ["# + hook + "]")).events, String(hook.split(separator: "\"")[3]))
                .compactMap { a -> Double? in if case .emaUpdate(let m) = a { m } else { nil } }
        }
        // 2 epochs × 3 iterations.
        let exp = try updates(#"{"type": "ExpMomentumEMAHook", "resume_from": null, "momentum": 0.0001, "priority": 49}"#)
        let expExpected: [Double] = (0..<6).map { (x: Int) -> Double in
            let decay: Double = Glibc.exp(-Double(1 + x) / 2000)
            return (1 - 0.0001) * decay + 0.0001
        }
        #expect(exp == expExpected)
        let linear = try updates(#"{"type": "LinearMomentumEMAHook", "interval": 2, "warm_up": 100}"#)
        let linearExpected: [Double] = [1, 3, 5].map { (x: Int) -> Double in
            let cap: Double = Glibc.pow(0.0002, 2)
            return min(cap, Double(1 + x) / Double(100 + x))
        }
        #expect(linear == linearExpected)
        let swaps = effects(try simulate(config(#""custom_hooks": [{"type": "ExpMomentumEMAHook"}]"#)).events, "ExpMomentumEMAHook")
            .filter { if case .custom("ema_swap", _) = $0 { true } else { false } }
        #expect(swaps.count == 4)
    }

    @Test("TextLoggerHook writes mmcv's JSON lines: train by interval, val after evaluation, 5-decimal rounding")
    func textLogger() throws {
        let json = config(#""log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]}, "lr_config": {"policy": "fixed"}, "evaluation": {"interval": 1, "metric": "acc"}"#,
                          data: #""data": {"train": 5, "val": 3}"#)
        let (events, _) = try simulate(json)
        let logs = effects(events, "TextLoggerHook").compactMap { a -> [Field]? in if case .log(let f) = a { f } else { nil } }
        let heads = logs.dropFirst().map { f in
            f.prefix(3).map { "\($0.value)" }.joined(separator: " ")
        }
        // ignore_last: iteration 5 of 5 is not logged at the end of the epoch; the val line carries eval_iter_num.
        #expect(heads == ["train 1 2", "train 1 4", "val 1 3", "train 2 2", "train 2 4", "val 2 3"])
        let val = logs[3]
        #expect(val.map(\.key) == ["mode", "epoch", "iter", "lr", "acc"])
        for f in logs.dropFirst().flatMap({ $0 }) {
            if case .double(let d) = f.value { #expect(d == pythonRound(d, 5)) }
        }
    }

    @Test("ignore_last false logs the short tail of an epoch")
    func ignoreLast() throws {
        let json = config(#""log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook", "ignore_last": false}]}"#, data: #""data": {"train": 5}"#)
        let logs = effects(try simulate(json).events, "TextLoggerHook").dropFirst()
        #expect(logs.count == 6)
    }

    @Test("backend steps: Pavi (no mode prefix, val by epoch), Dvclive (by epoch when by_epoch), Segmind (runner.epoch); mmcv's test_*_hook set-ups")
    func backendSteps() throws {
        // mmcv's tests: one epoch of 5 iterations then a val epoch, a TextLoggerHook(interval=1)
        // last in the list, the backend registered at NORMAL.
        func logs(_ backend: String) throws -> [[Field]] {
            let json = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]}, "workflow": [["train", 1], ["val", 1]], "custom_hooks": ["# + backend + "]",
                              runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": 1}"#, data: #""data": {"train": 5, "val": 5}"#)
            return effects(try simulate(json).events, String(backend.split(separator: "\"")[3])).compactMap { a -> [Field]? in if case .log(let f) = a { f } else { nil } }
        }
        func step(_ f: [Field]) -> Scalar? { f.first { $0.key == "step" }?.value }
        // test_dvclive_hook: by_epoch → one set_step, at 1; otherwise the last step is 6.
        let dvc = try logs(#"{"type": "DvcliveLoggerHook"}"#)
        #expect(dvc.count == 1 && dvc.last.flatMap(step) == .int(1))
        #expect(try logs(#"{"type": "DvcliveLoggerHook", "by_epoch": false}"#).last.flatMap(step) == .int(6))
        // test_pavi_hook: the last call is the val log, tags without a mode prefix, at step 1 (the epoch).
        let pavi = try logs(#"{"type": "PaviLoggerHook", "add_graph": false, "add_last_ckpt": true}"#)
        #expect(pavi.last.flatMap(step) == .int(1))
        #expect(pavi.last?.first { $0.key == "learning_rate" }?.value == .double(0.02))
        #expect(pavi.flatMap { $0 }.allSatisfy { !$0.key.contains("/") })
        // Tensorboard and the others: iter + 1, mode-prefixed.
        let tb = try logs(#"{"type": "TensorboardLoggerHook", "interval": 1}"#)
        #expect(tb.last.flatMap(step) == .int(6))
        #expect(tb.last?.contains { $0.key.hasPrefix("val/") } == true)
        // test_segmind_hook: step = runner.epoch (1 after the train epoch).
        #expect(try logs(#"{"type": "SegmindLoggerHook"}"#).last.flatMap(step) == .int(1))
    }

    @Test("the last logger resets the buffer output; an earlier one does not")
    func resetFlag() throws {
        let json = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "TensorboardLoggerHook"}]}"#)
        let (_, runner) = try simulate(json)
        let loggers = runner.hooks.compactMap { $0.hook as? LoggerHook }
        #expect(loggers.map(\.resetFlag) == [false, true])
    }

    @Test("linear warmup follows mmcv's formula over global iterations, then the step schedule")
    func warmup() throws {
        let json = config(#""lr_config": {"policy": "step", "step": [1], "warmup": "linear", "warmup_iters": 4, "warmup_ratio": 0.001}"#,
                          data: #""data": {"train": 3}"#)
        let lrs = effects(try simulate(json).events, "StepLrUpdaterHook").compactMap { a -> Double? in if case .setLR(_, _, let v) = a { v } else { nil } }
        func warm(_ reg: Double, _ cur: Int) -> Double { reg * (1 - (1 - Double(cur) / 4) * (1 - 0.001)) }
        // epoch 0: epoch value, iterations 0-2 warmed; epoch 1 (after the milestone): epoch value, iteration 3 warmed,
        // iteration 4 == warmup_iters gets the regular value, iteration 5 nothing.
        #expect(lrs == [0.02, warm(0.02, 0), warm(0.02, 1), warm(0.02, 2), 0.02 * 0.1, warm(0.02 * 0.1, 3), 0.02 * 0.1])
    }
}

@Suite("Numbers as Python computes them")
struct PythonNumberTests {
    @Test("numpy's pairwise sum, bit for bit (values from numpy 2.4)", arguments: [
        (5, "0x1.9ad42223e2df4p+1"), (8, "0x1.318d208b49e50p+2"), (13, "0x1.71bbf6479a9f8p+2"),
        (129, "0x1.22da7e385663dp+6"), (300, "0x1.86e7530a1de36p+7"),
    ])
    func pairwise(n: Int, hex: String) {
        var a: [Double] = []
        for i in 0..<n {
            let x: Double = Double((i * 7919) % 1000) / 997.0
            a.append(x + 1e-3 * Double(i))
        }
        #expect(pairwiseSum(a) == Double(hex))
    }

    @Test("round(x, 5) as Python rounds it", arguments: [
        (0.000015, 2e-05), (2.675, 2.675), (1.0000050000000001, 1.00001), (0.123455, 0.12345), (2.5e-06, 0.0),
        (0.1 + 0.2, 0.3), (123.456785, 123.45678), (-0.000005, -1e-05),
    ])
    func round5(x: Double, expected: Double) {
        #expect(pythonRound(x, 5) == expected)
    }

    @Test("the fast round(x, n) agrees bit for bit with Python's formatting steps")
    func roundFastPathMatchesFormatting() {
        var rng = SplitMix64(seed: 99)
        var cases: [Double] = [0, -0.0, 0.5, 1.5, 2.5, -2.5, 1e-5, 5e-6, -5e-6, 0.125, 1e15, 3e16, -7.25e-7, .ulpOfOne, .leastNonzeroMagnitude]
        for _ in 0..<20_000 {
            let magnitude = Double.pow10(Int(rng.next() % 14) - 8)
            cases.append((rng.unit() * 2 - 1) * magnitude)
            // Values on and next to decimal halves, where rounding is decided by the last bit.
            let half = (Double(rng.next() % 100_000) + 0.5) / 100_000
            cases.append(half)
            cases.append(half.nextUp)
            cases.append(half.nextDown)
        }
        for x in cases {
            for digits in [0, 1, 3, 5, 8] {
                let fast = pythonRound(x, digits), slow = pythonRoundByFormatting(x, digits)
                #expect(fast.bitPattern == slow.bitPattern, "round(\(x), \(digits)): \(fast) vs \(slow)")
            }
        }
    }
}

private extension Double {
    static func pow10(_ n: Int) -> Double {
        n >= 0 ? (0..<n).reduce(1.0) { v, _ in v * 10 } : 1 / pow10(-n)
    }
}
