@testable import HooktraceFormat
@testable import HooktraceSim
import Testing

/// mmengine 0.10.7's loops and hook registration, against the behaviour its sources and
/// the reference spec (§1.3, §1.4, §3) pin down. The hooks' effects are not simulated yet;
/// these tests run the loops with the hooks mmengine would register.
@Suite("mmengine dialect: loops and registration")
struct MMEngineLoopTests {
    /// Runs an mmengine config's loops; returns its calls as "stage epoch iter batch_idx".
    func run(_ json: String) throws -> (calls: [String], runner: Runner) {
        let config = try RunConfig(text: json, name: "t")
        var events: [Event] = []
        let (runner, start) = try Simulator.prepare(config, hooksUnsimulated: true, to: EventSink { e throws(HooktraceError) in events.append(e) })
        try runner.run(runStart: start)
        let calls = events.compactMap { e -> String? in
            guard case .call(let c) = e else { return nil }
            return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter)"
        }
        return (calls, runner)
    }

    static let optim = #""optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}"#

    @Test("EpochBasedTrainLoop with a ValLoop: the counters hooks see at each call (spec §3.5, without the checkpoint's nested call)")
    func epochBased() throws {
        let (calls, _) = try run(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "val_cfg": {}, \#(Self.optim), "data": {"train": 3, "val": 2}}"#)
        var expected = ["before_run 0 0 0", "before_train 0 0 0"]
        for e in 0..<2 {
            expected.append("before_train_epoch \(e) \(3 * e) 0")
            for b in 0..<3 { expected += ["before_train_iter \(e) \(3 * e + b) \(b)", "after_train_iter \(e) \(3 * e + b) \(b)"] }
            expected.append("after_train_epoch \(e) \(3 * e + 3) 0")
            expected += ["before_val \(e + 1) \(3 * e + 3) 0", "before_val_epoch \(e + 1) \(3 * e + 3) 0"]
            for b in 0..<2 { expected += ["before_val_iter \(e + 1) \(3 * e + 3) \(b)", "after_val_iter \(e + 1) \(3 * e + 3) \(b)"] }
            expected += ["after_val_epoch \(e + 1) \(3 * e + 3) 0", "after_val \(e + 1) \(3 * e + 3) 0"]
        }
        expected += ["after_train 2 6 0", "after_run 2 6 0"]
        #expect(calls == expected)
    }

    @Test("IterBasedTrainLoop: epoch stays 0, batch_idx is the global iteration, validation every val_interval and at the end (spec §3.5)")
    func iterBased() throws {
        let (calls, _) = try run(#"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 5, "val_interval": 2}, "val_cfg": {}, \#(Self.optim), "data": {"train": 3, "val": 1}}"#)
        var expected = ["before_run 0 0 0", "before_train 0 0 0", "before_train_epoch 0 0 0"]
        for i in 0..<5 {
            expected += ["before_train_iter 0 \(i) \(i)", "after_train_iter 0 \(i) \(i)"]
            if (i + 1) % 2 == 0 || i + 1 == 5 {
                expected += ["before_val 0 \(i + 1) 0", "before_val_epoch 0 \(i + 1) 0", "before_val_iter 0 \(i + 1) 0",
                             "after_val_iter 0 \(i + 1) 0", "after_val_epoch 0 \(i + 1) 0", "after_val 0 \(i + 1) 0"]
            }
        }
        expected += ["after_train_epoch 0 5 0", "after_train 0 5 0", "after_run 0 5 0"]
        #expect(calls == expected)
    }

    /// The epochs after which the val loop runs.
    func validations(_ train: String, epochs: Int) throws -> [Int] {
        let (calls, _) = try run(#"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": \#(epochs), \#(train)}, "val_cfg": {}, \#(Self.optim), "data": {"train": 1, "val": 1}}"#)
        return calls.filter { $0.hasPrefix("before_val ") }.map { Int($0.split(separator: " ")[1])! }
    }

    @Test("the validation schedule: val_begin, val_interval, the last epoch, and dynamic_intervals one epoch early (spec §3.3)")
    func valSchedule() throws {
        #expect(try validations(#""val_interval": 4, "dynamic_intervals": [[8, 1]]"#, epochs: 12) == [4, 7, 8, 9, 10, 11, 12])
        #expect(try validations(#""val_begin": 2, "val_interval": 3"#, epochs: 7) == [3, 6, 7])
        #expect(try validations(#""val_interval": 5"#, epochs: 12) == [5, 10, 12])
        #expect(try validations(#""val_begin": 20"#, epochs: 3) == [])
        // Without val_cfg no validation stage is called at all.
        let (calls, _) = try run(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, \#(Self.optim), "data": {"train": 2}}"#)
        #expect(!calls.contains { $0.contains("_val") })
    }

    @Test("default hooks merge as mmengine's runner merges them, then custom hooks by priority (ties after, spec §1.3)")
    func registration() throws {
        // mmdetection 3.x's default_runtime.py, and YOLOX's custom hooks at 48, 48 and 49.
        let json = #"""
        {"train_cfg": {"by_epoch": true, "max_epochs": 1}, \#(Self.optim), "data": {"train": 1},
         "default_hooks": {"timer": {"type": "IterTimerHook"}, "logger": {"type": "LoggerHook", "interval": 50},
                           "param_scheduler": {"type": "ParamSchedulerHook"}, "checkpoint": {"type": "CheckpointHook", "interval": 1},
                           "sampler_seed": {"type": "DistSamplerSeedHook"}, "visualization": {"type": "DetVisualizationHook"}},
         "custom_hooks": [{"type": "YOLOXModeSwitchHook", "num_last_epochs": 15, "priority": 48},
                          {"type": "SyncNormHook", "priority": 48},
                          {"type": "EMAHook", "ema_type": "ExpMomentumEMA", "momentum": 0.0001, "update_buffers": true, "priority": 49},
                          {"type": "mmdet.NumClassCheckHook"}]}
        """#
        let (_, runner) = try run(json)
        #expect(runner.hooks.map(\.hook.type) == ["RuntimeInfoHook", "YOLOXModeSwitchHook", "SyncNormHook", "EMAHook", "IterTimerHook",
                                                  "DistSamplerSeedHook", "DetVisualizationHook", "mmdet.NumClassCheckHook",
                                                  "LoggerHook", "ParamSchedulerHook", "CheckpointHook"])
        #expect(runner.hooks.map(\.priority) == [10, 48, 48, 49, 50, 50, 50, 50, 60, 70, 90])
        // null removes a default hook; a key that is not one of the six cannot be null.
        let (_, fewer) = try run(#"{"train_cfg": {"by_epoch": true, "max_epochs": 1}, \#(Self.optim), "data": {"train": 1}, "default_hooks": {"sampler_seed": null, "checkpoint": null}}"#)
        #expect(fewer.hooks.map(\.hook.type) == ["RuntimeInfoHook", "IterTimerHook", "LoggerHook", "ParamSchedulerHook"])
    }

    @Test("the six default hooks list as mmengine's get_hooks_info does: 20 stages, 81 lines (spec §1.4)")
    func listing() throws {
        let (_, runner) = try run(#"{"train_cfg": {"by_epoch": true, "max_epochs": 1}, \#(Self.optim), "data": {"train": 1}}"#)
        let listing = Simulator.hookListing(runner)
        #expect(listing.split(separator: "\n", omittingEmptySubsequences: false).count == 81)
        #expect(listing.components(separatedBy: " -------------------- ").count - 1 == 20)
        #expect(listing.contains("after_train_iter:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(NORMAL      ) IterTimerHook                      \n(BELOW_NORMAL) LoggerHook                         \n(LOW         ) ParamSchedulerHook                 \n(VERY_LOW    ) CheckpointHook                     \n -------------------- "))
        #expect(!listing.contains("after_load_checkpoint") && !listing.contains("before_save_checkpoint"))
    }

    @Test("mmengine config errors name the key and what mmengine does", arguments: [
        (#""train_cfg": {"type": "EpochBasedTrainLoop", "by_epoch": true, "max_epochs": 2}"#, "train_cfg: has both \"type\" and \"by_epoch\""),
        (#""train_cfg": {"max_epochs": 2}"#, "train_cfg: needs \"type\""),
        (#""train_cfg": {"type": "EpochBasedTrainLop", "max_epochs": 2}"#, #"train_cfg.type: unknown train loop "EpochBasedTrainLop"; use "EpochBasedTrainLoop" or "IterBasedTrainLoop" (did you mean "EpochBasedTrainLoop"?)"#),
        (#""train_cfg": {"by_epoch": true}"#, "train_cfg.max_epochs: missing"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 1.5}"#, "train_cfg.max_epochs: must be an integer"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2, "val_interval": 0}"#, "train_cfg.val_interval: must be a positive number of epochs, got 0"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2, "val_intervall": 2}"#, "train_cfg.val_intervall: EpochBasedTrainLoop has no parameter 'val_intervall' (did you mean \"val_interval\"?)"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2, "dynamic_intervals": [[8, 1], [4, 2]]}"#, "train_cfg.dynamic_intervals[1]: milestones must increase"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2}, "default_hooks": {"visualization": null}"#, "default_hooks.visualization: None removes one of the default hooks"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2}, "val_cfg": {}"#, "data.val: val_cfg is configured"),
        (#""train_cfg": {"by_epoch": true, "max_epochs": 2}, "param_schedulr": []"#, #"param_schedulr: unknown key (did you mean "param_scheduler"?)"#),
    ])
    func errors(extra: String, expected: String) {
        let text = "{" + extra + ", " + Self.optim + #", "data": {"train": 2}}"#
        let message: String?
        do {
            _ = try RunConfig(text: text, name: "t")
            message = nil
        } catch {
            message = error.message
        }
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("without optim_wrapper mmengine does not train")
    func noOptimWrapper() {
        #expect(configErrorMessage(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "data": {"train": 2}}"#)?.hasPrefix("optim_wrapper: missing") == true)
    }
}
