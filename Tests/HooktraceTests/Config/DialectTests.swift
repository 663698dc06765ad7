@testable import HooktraceFormat
@testable import HooktraceSim
import Testing

/// A config is run in the semantics of the framework it is written for, or not at all:
/// mmengine's keys are never read as mmcv's, nor quietly dropped.
@Suite("Framework dialects of a config")
struct DialectTests {
    /// mmdetection 3.x's Faster R-CNN 1x schedule and runtime, reduced to the keys that
    /// shape hooks (as mmengine's Config resolves `_base_`).
    static let mmengineConfig = #"""
    {"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 12, "val_interval": 1},
     "val_cfg": {"type": "ValLoop"}, "test_cfg": {"type": "TestLoop"},
     "param_scheduler": [{"type": "LinearLR", "start_factor": 0.001, "by_epoch": false, "begin": 0, "end": 500},
                         {"type": "MultiStepLR", "begin": 0, "end": 12, "by_epoch": true, "milestones": [8, 11], "gamma": 0.1}],
     "optim_wrapper": {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}},
     "default_scope": "mmdet",
     "default_hooks": {"timer": {"type": "IterTimerHook"}, "logger": {"type": "LoggerHook", "interval": 50},
                       "param_scheduler": {"type": "ParamSchedulerHook"}, "checkpoint": {"type": "CheckpointHook", "interval": 1},
                       "sampler_seed": {"type": "DistSamplerSeedHook"}, "visualization": {"type": "DetVisualizationHook"}},
     "data": {"train": 7330, "val": 5000}}
    """#

    @Test("an mmengine config runs as mmengine's: its loops, hooks and schedulers, never mmcv's runner, and the trace says mmengine")
    func mmengineRuns() throws {
        #expect(configErrorMessage(Self.mmengineConfig) == nil)
        let config = try RunConfig(text: Self.mmengineConfig.replacingOccurrences(of: "7330", with: "4").replacingOccurrences(of: "5000", with: "2"), name: "t")
        #expect(config.framework == .mmengine)
        var start: RunStart?
        var lrChanges = 0
        _ = try Simulator.record(config) { e throws(HooktraceError) in
            if case .runStart(let r) = e { start = r }
            if case .effect(let x) = e, case .setLR = x.action { lrChanges += 1 }
        }
        #expect(start.map(Framework.of) == .mmengine && start?.runner == "Runner" && start?.maxIters == 48)
        #expect(lrChanges > 0)
    }

    @Test("any one of mmengine's own keys makes a config mmengine's", arguments: Framework.mmengineKeys)
    func eachMMEngineKey(_ key: String) throws {
        #expect(try Framework.of(configKeys: ["data", "simulation", key, "custom_hooks"]) == .mmengine)
        // Read as mmengine's: its first error is about mmengine's keys, never mmcv's runner.
        let message = configErrorMessage(#"{"\#(key)": {}, "data": {"train": 3}}"#) ?? ""
        #expect(message.hasPrefix("train_cfg:") || message.hasPrefix("optim_wrapper") || message.contains("mmengine config"), "\(message)")
        #expect(!message.contains("runner.max_epochs"))
    }

    @Test("a config with keys of both frameworks is refused, naming one of each", arguments: [
        (#""param_scheduler": [{"type": "MultiStepLR", "milestones": [8, 11]}]"#, #"param_scheduler: is an mmengine key, and "runner" is an mmcv 1.x key"#),
        (#""lr_config": {"policy": "step", "step": [1]}, "default_hooks": {"checkpoint": null}"#, #"default_hooks: is an mmengine key, and "runner" is an mmcv 1.x key"#),
    ])
    func mixed(extra: String, expected: String) {
        let message = configErrorMessage(config(extra))
        #expect(message?.hasPrefix(expected) == true, "\(message ?? "no error")")
        #expect(message?.contains("keep one framework's keys") == true)
    }

    @Test("without mmengine's keys a config is mmcv 1.x's; keys both frameworks share decide nothing")
    func mmcvByDefault() throws {
        #expect(try Framework.of(configKeys: []) == .mmcv)
        #expect(try Framework.of(configKeys: ["custom_hooks", "data", "simulation", "work_dir", "load_from", "auto_scale_lr"]) == .mmcv)
        #expect(try Framework.of(configKeys: Framework.mmcvKeys) == .mmcv)
        let cfg = try RunConfig(text: config(), name: "t")
        #expect(cfg.framework == .mmcv)
    }

    @Test("no key that shapes hooks in either framework ends up among the keys noted as ignored",
          arguments: Framework.mmcvKeys + Framework.mmengineKeys + ["custom_hooks"])
    func neverMerelyNoted(_ key: String) {
        // Whatever the value does (parse, or fail naming the key), the key is never only noted.
        let text = key == "runner" || key == "optimizer" ? config() : config(#""\#(key)": {}"#)
        if let cfg = try? RunConfig(text: text, name: "t") {
            #expect(!cfg.ignored.contains(key))
        }
    }

    @Test("a trace's framework comes from its recorder's source; simulated runs are mmcv 1.x's")
    func traceFramework() {
        #expect(Framework.of(RunStart(source: "simulated", runner: "EpochBasedRunner")) == .mmcv)
        #expect(Framework.of(RunStart(source: "mmcv 1.7.2", runner: "EpochBasedRunner")) == .mmcv)
        #expect(Framework.of(RunStart(source: "mmengine 0.10.7", runner: "Runner")) == .mmengine)
    }

    @Test("an mmengine run's hook listing follows mmengine's 22 stages, in its order")
    func mmengineListing() {
        let hooks = [
            HookInfo(name: "RuntimeInfoHook", type: "RuntimeInfoHook", priority: 10,
                     stages: ["before_run", "before_train", "before_train_epoch", "before_train_iter", "after_train_iter",
                              "before_val", "before_val_epoch", "after_val_epoch", "before_save_checkpoint", "after_load_checkpoint",
                              "before_test", "after_test_epoch"]),
            HookInfo(name: "CheckpointHook", type: "CheckpointHook", priority: 90,
                     stages: ["before_train", "after_train_epoch", "after_train_iter", "after_val_epoch", "after_train"]),
        ]
        let listing = Framework.mmengine.hookListing(hooks)
        let stages = listing.split(separator: "\n").filter { $0.hasSuffix(":") }.map { String($0.dropLast()) }
        #expect(stages == ["before_run", "after_load_checkpoint", "before_train", "before_train_epoch", "before_train_iter",
                           "after_train_iter", "after_train_epoch", "before_val", "before_val_epoch", "after_val_epoch",
                           "before_save_checkpoint", "after_train", "before_test", "after_test_epoch"])
        #expect(listing.contains("before_train:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(VERY_LOW    ) CheckpointHook                     \n -------------------- "))
        #expect(Framework.mmengine.listedStages.count == 22 && Framework.mmcv.listedStages.count == 10)
    }
}
