import Foundation
@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import Testing

@Suite("Config validation")
struct ConfigTests {
    @Test("each bad config fails before running, naming the path and the problem", arguments: [
        (#""checkpoint_config": {"interval": 1, "max_keep_ckpts": "3"}"#, #"checkpoint_config.max_keep_ckpts: expected an integer, got "3""#),
        (#""checkpoint_config": {"intervall": 1}"#, #"checkpoint_config.intervall: CheckpointHook has no parameter 'intervall' (did you mean "interval"?)"#),
        (#""custom_hooks": [{"priority": 10}]"#, #"custom_hooks[0]: the config must contain the key "type""#),
        (#""custom_hooks": [{"type": "EMAHook", "priority": 101}]"#, "custom_hooks[0].priority: priority must be between 0 and 100, got 101"),
        (#""custom_hooks": [{"type": "EMAHook", "priority": "URGENT"}]"#, #"custom_hooks[0].priority: unknown priority "URGENT""#),
        (#""custom_hooks": [{"type": "EMAHook", "momentum": 1.5}]"#, "custom_hooks[0].momentum: must be in (0, 1), got 1.5"),
        (#""lr_config": {"policy": "step"}"#, "lr_config.step: StepLrUpdaterHook needs 'step'"),
        (#""lr_config": {"policy": "step", "step": [11, 8]}"#, "lr_config.step: milestones must be in increasing order, got [11, 8]"),
        (#""lr_config": {"policy": "step", "step": [8, -1]}"#, "lr_config.step[1]: milestones must be positive, got -1"),
        (#""lr_config": {"policy": "step", "step": 0}"#, "lr_config.step: must be a positive integer, got 0"),
        (#""lr_config": {"policy": "step", "step": 2, "gamma": -0.1}"#, "lr_config.gamma: must not be negative"),
        (#""lr_config": {"policy": "step", "step": 2, "warmup": "cosine", "warmup_iters": 5}"#, #"lr_config.warmup: "cosine" is not a supported warmup type"#),
        (#""lr_config": {"policy": "step", "step": 2, "warmup": "linear", "warmup_iters": 5, "warmup_ratio": 0}"#, "lr_config.warmup_ratio: must be in (0, 1], got 0.0"),
        (#""lr_config": {"policy": "step", "step": 2, "warmup": "linear", "warmup_iters": 0}"#, "lr_config.warmup_iters: must be > 0 when warmup is set"),
        (#""lr_conifg": {"policy": "step", "step": 2}"#, #"lr_conifg: unknown key (did you mean "lr_config"?)"#),
        (#""workflow": [["val", 1]]"#, #"workflow: has no "train" phase: mmcv's runner would loop forever"#),
        (#""workflow": [["test", 1], ["train", 1]]"#, #"workflow[0]: runner has no workflow mode "test""#),
        (#""workflow": [["train", 1], ["val", 1000000000]], "data": {"train": 3, "val": 100}"#, "workflow: its val phases would run 200000000000 val iterations; hooktrace simulates at most 10000000000"),
        (#""workflow": [["train", 1], ["val", 1000000001]], "data": {"train": 3, "val": 1}"#, "workflow[1]: the repeat count must be at most 1000000000"),
        (#""log_config": {"hooks": [{"type": "TextLoggerHook"}]}"#, "log_config.interval: missing"),
        (#""optimizer_config": {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 0}"#, "optimizer_config.cumulative_iters: must be a positive integer, got 0"),
        (#""evaluation": {"interval": 1}"#, "data.val: evaluation is configured"),
        (#""momentum_config": {"policy": "cyclic", "by_epoch": true}"#, "momentum_config.by_epoch: CyclicMomentumUpdaterHook works per iteration only"),
        (#""fp16": {"loss_scale": 512}, "optimizer_config": {}"#, "fp16.loss_scale: must be a float, an object of GradScaler arguments or \"dynamic\", got 512 (mmcv raises ValueError); write 512.0"),
        (#""fp16": {"loss_scale": "auto"}, "optimizer_config": {}"#, "fp16.loss_scale: must be a float"),
        (#""optimizer_config": {"type": "Fp16OptimizerHook", "loss_scale": 512}"#, "optimizer_config.loss_scale: must be a float"),
        (#""fp16": {"loss_scale": 512.0}"#, "optimizer_config: fp16 training needs an optimizer_config"),
        (#""fp16": {"loss_scale": 512.0}, "optimizer_config": {"type": "OptimizerHook"}"#, "optimizer_config.type: with fp16 set, mmdetection builds Fp16OptimizerHook"),
        (#""fp16": {"grad_clip": null}, "optimizer_config": {"grad_clip": null}"#, "fp16.grad_clip: is also set in optimizer_config"),
        (#""fp16": 512.0, "optimizer_config": {}"#, "fp16: expected an object"),
        // grad_clip: what torch's clip_grad_norm_(params, **grad_clip) would reject at the first step, for every optimizer hook.
        (#""optimizer_config": {"grad_clip": 35}"#, "optimizer_config.grad_clip: expected null or an object"),
        (#""optimizer_config": {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2, "grad_clip": 35}"#, "optimizer_config.grad_clip: expected null or an object"),
        (#""optimizer_config": {"grad_clip": {"norm_type": 2}}"#, "optimizer_config.grad_clip: needs max_norm"),
        (#""optimizer_config": {"type": "GradientCumulativeOptimizerHook", "grad_clip": {}}"#, "optimizer_config.grad_clip: needs max_norm"),
        (#""optimizer_config": {"grad_clip": {"max_norm": 35, "norm": 2}}"#, #"optimizer_config.grad_clip.norm: torch's clip_grad_norm_ has no parameter 'norm'"#),
        (#""optimizer_config": {"grad_clip": {"max_norm": "35"}}"#, "optimizer_config.grad_clip.max_norm: unexpected value"),
        (#""optimizer_config": {"grad_clip": {"max_norm": 35, "norm_type": "l2"}}"#, "optimizer_config.grad_clip.norm_type: unexpected value"),
        (#""fp16": {"loss_scal": 512.0}, "optimizer_config": {}"#, #"Fp16OptimizerHook has no parameter 'loss_scal' (did you mean "loss_scale"?)"#),
        (#""simulation": {"seed": -1}"#, "simulation.seed: must not be negative"),
        (#""simulation": {"iter_time": 1e999}"#, "simulation.iter_time: at most 86400 seconds (a day) per step, got inf"),
        (#""simulation": {"data_time": {"mean": 86000, "jitter": 1000}}"#, "simulation.data_time: mean + jitter must be at most 86400 seconds"),
        (#""evaluation": {"interval": 1}, "data": {"train": 3, "val": 1000000000000}"#, "data.val: 1000000000000 batches per epoch is beyond what hooktrace simulates"),
        (#""simulation": {"loss": {"start": 1, "ende": 0.1}}"#, "simulation.loss.ende: a curve has no parameter 'ende'"),
        // Suggestions that fit the mistake.
        (#""checkpoint_config": {"interval": 1, "save_best": "bbox_mAP"}"#, "checkpoint_config.save_best: CheckpointHook has no parameter 'save_best': save_best belongs in `evaluation`"),
        (#""custom_hooks": [{"type": "EMAHook", "ema_type": "ExpMomentumEMA"}]"#, #"custom_hooks[0].ema_type: EMAHook has no parameter 'ema_type': that is mmengine's EMAHook; in mmdetection 2.x the EMA variant is the hook type: use "type": "ExpMomentumEMAHook""#),
        // A misspelt key is named, not the default value it left behind.
        (#""lr_config": {"policy": "step", "step": 2, "warmup": "linear", "warmup_iter": 500}"#, #"lr_config.warmup_iter: there is no parameter 'warmup_iter' (did you mean "warmup_iters"?)"#),
    ])
    func badConfigs(extra: String, expected: String) {
        let message = configErrorMessage(config(extra))
        #expect(message?.hasPrefix(expected) == true || message?.contains(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("runner errors", arguments: [
        (#""runner": {"type": "EpochBasedRunner", "max_epochs": 2, "max_iters": 5}"#, "runner: only one of max_epochs or max_iters can be set (mmcv raises ValueError)"),
        (#""runner": {"type": "EpochBasedRuner", "max_epochs": 2}"#, #"runner.type: unknown runner "EpochBasedRuner"; use "EpochBasedRunner" or "IterBasedRunner" (did you mean "EpochBasedRunner"?)"#),
        (#""runner": {"type": "IterBasedRunner", "max_epochs": 2}"#, "runner.max_iters: IterBasedRunner needs max_iters"),
        (#""runner": {"type": "EpochBasedRunner"}"#, "runner.max_epochs: EpochBasedRunner needs max_epochs"),
        (#""runner": {"type": "EpochBasedRunner", "max_epochs": 9223372036854775807}"#, "runner.max_epochs: the run would simulate over 10000000000 training iterations; hooktrace simulates at most 10000000000 (a trace of roughly 40 GB)"),
        (#""runner": {"type": "IterBasedRunner", "max_iters": 10000000001}"#, "runner.max_iters: the run would simulate 10000000001 training iterations; hooktrace simulates at most 10000000000 (a trace of roughly 40 GB)"),
    ])
    func runnerErrors(runner: String, expected: String) {
        let message = configErrorMessage(config(runner: runner))
        #expect(message == expected, "got: \(message ?? "no error")")
    }

    @Test("learning rates torch refuses (negative, NaN) and infinite ones are config errors", arguments: [
        (#"{"type": "SGD", "lr": -0.1}"#, "optimizer.lr: must be a finite number ≥ 0"),
        (#"{"type": "SGD", "lr": NaN}"#, "optimizer.lr: must be a finite number ≥ 0"),
        (#"{"type": "SGD", "lr": Infinity}"#, "optimizer.lr: must be a finite number ≥ 0"),
        (#"{"type": "SGD", "lr": 1e400}"#, "optimizer.lr: must be a finite number ≥ 0"),
        (#"{"type": "SGD", "lr": 0.1, "param_groups": [{}, {"lr": -1}]}"#, "optimizer.param_groups[1].lr: must be a finite number ≥ 0"),
    ])
    func learningRates(optimizer: String, expected: String) {
        let text = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}, "optimizer": "# + optimizer + "}"
        let message = configErrorMessage(text)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("settings accepted but not acted on each get one warning naming the key and what happens instead")
    func ignoredSettingsWarn() throws {
        let json = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "PaviLoggerHook", "add_last_ckpt": true, "add_ckpt_kwargs": {}}], "foo": 1}, "evaluation": {"interval": 1, "by_epoch": false, "priority": "HIGH", "jsonfile_prefix": "x", "classwise": true, "efficient_test": true}, "custom_hooks": [{"type": "EMAHook", "resume_from": "x.pth"}], "resume_from": "work_dirs/x/latest.pth""#,
                          data: #""data": {"train": 2, "val": 1}"#)
        let (events, runner) = try simulate(json)
        let expected = [
            "config: resume_from (\"work_dirs/x/latest.pth\"): a checkpoint path outside a trace; the run starts from its beginning (resume from a recorded run's checkpoint with record --resume-from",
            "EMAHook: custom_hooks[0].resume_from: resuming the averaged weights is not simulated",
            "EvalHook: evaluation.by_epoch: mmdetection sets it from the runner type (true for EpochBasedRunner); false is ignored",
            "EvalHook: evaluation.priority: mmdetection registers EvalHook at LOW whatever is given",
            "EvalHook: evaluation.efficient_test: passed on to dataset.evaluate",
            "EvalHook: evaluation has no metric",
            "PaviLoggerHook: log_config.hooks[1].add_last_ckpt: the upload of the last checkpoint",
            "PaviLoggerHook: log_config.hooks[1].add_ckpt_kwargs: checkpoint uploads to pavi are not simulated",
        ]
        for e in expected { #expect(runner.warnings.contains { $0.hasPrefix(e) }, "missing: \(e) in \(runner.warnings)") }
        #expect(runner.warnings.count == expected.count, "\(runner.warnings)")
        // Known evaluate arguments (jsonfile_prefix, classwise) are not warned about; each warning is a note in the trace.
        let notes = events.compactMap { e -> String? in if case .effect(let x) = e, case .note(let t) = x.action { t } else { nil } }
        #expect(notes.count == expected.count)
        // Keys mmcv's register_logger_hooks ignores are accepted, with a note that is not a warning.
        #expect(runner.configNotes.count == 1 && runner.configNotes[0].hasPrefix("log_config.foo is not read"))
        // by_epoch equal to what mmdetection sets is not a warning.
        let same = config(#""evaluation": {"interval": 1, "by_epoch": true, "metric": "bbox"}"#, data: #""data": {"train": 2, "val": 1}"#)
        #expect(try simulate(same).runner.warnings.isEmpty)
    }

    @Test("an unknown logger type is a passive logger with a warning, as an unknown custom hook; a misspelt one is an error")
    func unknownLogger() throws {
        let json = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "MyCompanyLoggerHook", "project": "x"}]}"#)
        let (_, runner) = try simulate(json)
        #expect(runner.warnings.contains { $0.hasPrefix("MyCompanyLoggerHook: logger type MyCompanyLoggerHook is not known to hooktrace") })
        #expect(runner.hooks.last?.hook.type == "MyCompanyLoggerHook" && runner.hooks.last?.priority == Priority.veryLow.rawValue)
        let typo = configErrorMessage(config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLogerHook"}]}"#))
        #expect(typo?.contains(#"did you mean "TextLoggerHook""#) == true, "\(typo ?? "")")
    }

    @Test("RFSearchHook (mmdetection's RF-Next configs) is listed under the stages its class overrides, without a warning")
    func rfSearch() throws {
        let json = config(#""custom_hooks": [{"type": "RFSearchHook", "mode": "fixed", "config": {}, "rfstructure_file": null, "verbose": true}]"#)
        let (_, runner) = try simulate(json)
        #expect(runner.warnings.isEmpty, "\(runner.warnings)")
        let listing = Simulator.hookListing(runner)
        func section(_ stage: String) -> String {
            guard let range = listing.range(of: stage + ":\n") else { return "" }
            return String(listing[range.upperBound...]).components(separatedBy: "\n --------").first ?? ""
        }
        #expect(section("after_train_iter").contains("RFSearchHook"), "\(listing)")
        #expect(section("after_train_epoch").contains("RFSearchHook"), "\(listing)")
        #expect(!section("before_train_epoch").contains("RFSearchHook"))
    }

    @Test("mmdetection's MMDetWandbHook is simulated as its base WandbLoggerHook with a warning, listed under the stages its class overrides")
    func mmdetWandb() throws {
        let json = config(#""log_config": {"interval": 50, "hooks": [{"type": "TextLoggerHook"}, {"type": "MMDetWandbHook", "init_kwargs": {"project": "mmdetection"}, "interval": 50, "log_checkpoint": true, "num_eval_images": 100}]}"#)
        let (_, runner) = try simulate(json)
        #expect(runner.warnings.contains { $0.hasPrefix("MMDetWandbHook: MMDetWandbHook is simulated as its base class WandbLoggerHook") }, "\(runner.warnings)")
        // It logs what WandbLoggerHook logs.
        let base = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "WandbLoggerHook", "init_kwargs": {"project": "mmdetection"}}]}"#)
        let subclass = config(#""log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "MMDetWandbHook", "init_kwargs": {"project": "mmdetection"}, "log_checkpoint": true}]}"#)
        let wandb = try simulate(base).0.compactMap { e -> EffectAction? in if case .effect(let f) = e, f.hook == "WandbLoggerHook" { f.action } else { nil } }
        let mmdet = try simulate(subclass).0.compactMap { e -> EffectAction? in if case .effect(let f) = e, f.hook == "MMDetWandbHook" { f.action } else { nil } }
        // Past the warning (a note effect at the run's start), the same records.
        #expect(!wandb.isEmpty && Array(mmdet.dropFirst()) == wandb)
        let listing = Simulator.hookListing(runner)
        for stage in ["before_run", "before_train_epoch", "after_train_iter", "after_train_epoch", "after_val_epoch", "after_run"] {
            guard let range = listing.range(of: stage + ":\n") else {
                Issue.record("no \(stage) in the listing")
                continue
            }
            let section = String(listing[range.upperBound...]).components(separatedBy: "\n --------").first ?? ""
            #expect(section.contains("(VERY_LOW    ) MMDetWandbHook"), "\(stage): \(section)")
        }
    }

    @Test("a key given twice in one object is an error naming it and its line")
    func duplicateKeys() {
        let text = "{\"runner\": {\"type\": \"EpochBasedRunner\", \"max_epochs\": 1},\n \"data\": {\"train\": 1},\n \"optimizer\": {\"type\": \"SGD\", \"lr\": 0.1, \"lr\": 0.2}}"
        let message = configErrorMessage(text)
        #expect(message?.contains("\"lr\" appears twice") == true, "got: \(message ?? "no error")")
        #expect(message?.contains("line 3") == true, "got: \(message ?? "no error")")
    }

    @Test("optimizer errors and shapes")
    func optimizers() throws {
        #expect(configErrorMessage(#"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}}"#)?.hasPrefix("optimizer: missing") == true)
        let noLR = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}, "optimizer": {"type": "SGD"}}"#
        #expect(configErrorMessage(noLR)?.hasPrefix("optimizer.lr: missing") == true)
        let adam = try RunConfig(text: #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}, "optimizer": {"type": "Adam", "lr": 0.001, "betas": [0.8, 0.99]}}"#, name: "t")
        #expect(adam.optimizers[0].groups[0].currentMomentum == 0.8)
        #expect(adam.optimizers[0].groups[0].momentum == nil)
        let dict = try RunConfig(text: #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}, "optimizer": {"generator": {"type": "Adam", "lr": 0.0002}, "discriminator": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "param_groups": [{}, {"lr": 0.001}]}}}"#, name: "t")
        #expect(dict.isDictOptimizer)
        #expect(dict.optimizers.map(\.name) == ["generator", "discriminator"])
        #expect(dict.optimizers[1].groups.map(\.lr) == [0.01, 0.001])
        #expect(dict.optimizers[1].groups.map(\.momentum) == [0.9, 0.9])
        let dictStep = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "data": {"train": 1}, "optimizer": {"g": {"type": "SGD", "lr": 0.1}}, "optimizer_config": {}}"#
        #expect(configErrorMessage(dictStep)?.contains("OptimizerHook steps a single optimizer") == true)
    }

    @Test("a simulated clock past Int64 nanoseconds stops the run with an error, not a trap")
    func clockOverflow() {
        // 10^9 val batches of a day each: one evaluation is ~8.6e22 ns.
        let json = config(#""evaluation": {"interval": 1}, "simulation": {"eval_iter_time": 86400}"#, data: #""data": {"train": 3, "val": 1000000000}"#)
        #expect(throws: HooktraceError.self) { try simulate(json) }
        do { _ = try simulate(json) } catch {
            #expect("\(error)".contains("the simulated clock passed 292 years"), "got: \(error)")
        }
    }

    @Test("JSON parsing keeps ints and floats apart and reports positions")
    func json() throws {
        let v = try JSONValue.parse(#"{"a": 2, "b": 1.0, "c": [1e3, -0], "d": "x\u00e9\n"}"#)
        #expect(v["a"] == .int(2))
        // Python's json would keep the last "a"; in a config, two are a mistake.
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(#"{"a": 1, "a": 2}"#) }
        #expect(v["b"] == .double(1.0))
        #expect(v["c"] == .array([.double(1000), .int(0)]))
        #expect(v["d"] == .string("xé\n"))
        func error(_ text: String) -> String {
            do { _ = try JSONValue.parse(text); return "" } catch { return error.description }
        }
        #expect(error("{\n  \"a\": True\n}") == "line 2, column 8: unknown word; JSON spells these true, false and null (not Python's True, False, None)")
        #expect(error("{'a': 1}").contains("double quotes"))
        #expect(error("[1, 2,]").contains("trailing comma"))
        #expect(error("[1 2]").contains("expected ',' or ']'"))
        #expect(error(String(repeating: "[", count: 600)).contains("nesting"))
        #expect(error("{\"a\": 01}").contains("leading zeros"))
        #expect(configErrorMessage("{\"runner\": ")?.hasPrefix("not valid JSON: line 1") == true)
    }
}
