import Foundation
@testable import HooktraceFormat
@testable import HooktraceSim
import Testing

/// `simulation.metrics`, `loss` and `grad_norm` given as values (a list, or keyed by the
/// epoch or iteration just finished) instead of curves: what save_best keeps when the
/// metric goes a given way.
@Suite("scripted observations")
struct ScriptedObservationTests {
    /// The best checkpoints' updates (score, file name) and the files kept at the end.
    static func bests(_ events: [Event], hook: String) -> [String] {
        effects(events, hook).compactMap { a in
            if case .bestUpdate(let k, let v, let c) = a { return "\(k)=\(v) \(c.split(separator: "/").last ?? "")" }
            return nil
        }
    }

    static func mmcv(_ values: String, evaluation: String = #""evaluation": {"interval": 1, "save_best": "mAP"}"#, epochs: Int = 5) -> String {
        config(#"\#(evaluation), "checkpoint_config": {"interval": 1, "max_keep_ckpts": 1}, "data": {"train": 3, "val": 2}, "simulation": {"metrics": {"mAP": \#(values)}}"#,
               runner: #""runner": {"type": "EpochBasedRunner", "max_epochs": \#(epochs)}"#)
    }

    @Test("mmcv's EvalHook: a new best replaces the old, an equal or lower score keeps it, a falsy score (0.0) is skipped")
    func keepReplaceSkip() throws {
        let (events, runner) = try simulate(Self.mmcv("[0.0, 0.31, 0.35, 0.35, 0.34]"))
        #expect(Self.bests(events, hook: "EvalHook") == ["mAP=0.31 best_mAP_epoch_2.pth", "mAP=0.35 best_mAP_epoch_3.pth"])
        #expect(effects(events, "EvalHook").contains { if case .checkpointRemove(let p) = $0 { p.hasSuffix("best_mAP_epoch_2.pth") } else { false } })
        #expect(runner.files.contents.map { $0.split(separator: "/").last.map(String.init) ?? "" } == ["best_mAP_epoch_3.pth", "epoch_5.pth"])
        // The evaluations report exactly the given values.
        let reported = effects(events, "EvalHook").compactMap { a -> Scalar? in if case .evaluate(let f) = a { f.first { $0.key == "mAP" }?.value } else { nil } }
        #expect(reported == [.double(0), .double(0.31), .double(0.35), .double(0.35), .double(0.34)])
    }

    @Test("greater_keys and less_keys given explicitly decide the rule for a key mmcv's defaults would not")
    func explicitKeys() throws {
        let values = "[0.5, 0.4, 0.45]"
        let less = try simulate(Self.mmcv(values, evaluation: #""evaluation": {"interval": 1, "save_best": "mAP", "less_keys": ["mAP"], "greater_keys": []}"#, epochs: 3)).events
        #expect(Self.bests(less, hook: "EvalHook") == ["mAP=0.5 best_mAP_epoch_1.pth", "mAP=0.4 best_mAP_epoch_2.pth"])
        let greater = try simulate(Self.mmcv(values, evaluation: #""evaluation": {"interval": 1, "save_best": "mAP", "greater_keys": ["mAP"]}"#, epochs: 3)).events
        #expect(Self.bests(greater, hook: "EvalHook") == ["mAP=0.5 best_mAP_epoch_1.pth"])
    }

    @Test("values keyed by the epoch or iteration just finished, counted from 1, for mmcv's EvalHook and mmengine's val loop alike")
    func keyed() throws {
        // mmcv, evaluating every second epoch: epochs 2 and 4.
        let mmcv = try simulate(Self.mmcv(#"{"epoch": {"2": 0.3, "4": 0.2}}"#, evaluation: #""evaluation": {"interval": 2, "save_best": "mAP"}"#, epochs: 4)).events
        #expect(Self.bests(mmcv, hook: "EvalHook") == ["mAP=0.3 best_mAP_epoch_2.pth"])
        // mmengine, whose epoch counter has moved past the epoch at validation: the same keys.
        let engine = #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "save_best": "acc", "rule": "greater"}}, "data": {"train": 3, "val": 1}, "simulation": {"metrics": {"acc": {"epoch": {"1": 0.5, "2": 0.4, "3": 0.6}}}}}"#
        let e = try simulate(engine).events
        #expect(Self.bests(e, hook: "CheckpointHook") == ["acc=0.5 best_acc_epoch_1.pth", "acc=0.6 best_acc_epoch_3.pth"], "\(Self.bests(e, hook: "CheckpointHook"))")
        // An iteration-based run evaluating every 2 iterations: iterations 2, 4, 6.
        let iter = config(#""evaluation": {"interval": 2, "save_best": "mAP"}, "data": {"train": 3, "val": 1}, "simulation": {"metrics": {"mAP": {"iter": {"2": 0.1, "4": 0.3, "6": 0.2}}}}"#,
                          runner: #""runner": {"type": "IterBasedRunner", "max_iters": 6}"#)
        #expect(Self.bests(try simulate(iter).events, hook: "EvalHook") == ["mAP=0.1 best_mAP_iter_2.pth", "mAP=0.3 best_mAP_iter_4.pth"])
    }

    @Test("scripted losses and grad norms: one per training step, as float32 values like a tensor's .item()")
    func losses() throws {
        let json = config(#""optimizer_config": {"grad_clip": {"max_norm": 35}}, "simulation": {"loss": [1.5, 1.25, 1.0, 0.75, 0.5, 0.1], "grad_norm": {"iter": {"1": 9, "2": 8, "3": 7, "4": 6, "5": 5, "6": 4}}}"#)
        let events = try simulate(json).events
        var losses: [Double] = [], norms: [Double] = []
        for e in events {
            guard case .observe(let o) = e else { continue }
            if o.name == "loss", case .double(let v) = o.value { losses.append(v) }
            if o.name == "grad_norm", case .double(let v) = o.value { norms.append(v) }
        }
        #expect(losses == [1.5, 1.25, 1.0, 0.75, 0.5, Double(Float(0.1))])
        #expect(norms == [9, 8, 7, 6, 5, 4])
    }

    @Test("a run that needs more values than given, or a key not given, stops with an error naming the metric and the count")
    func errors() {
        func message(_ json: String) -> String {
            do { _ = try simulate(json); return "" } catch { return (error as? HooktraceError)?.message ?? "\(error)" }
        }
        #expect(message(Self.mmcv("[0.3, 0.31]", epochs: 3)) == "simulation.metrics.mAP: evaluation 3 needs a value, and the list gives 2; give one value per evaluation (see docs/CONFIG.md, simulation)")
        #expect(message(Self.mmcv(#"{"epoch": {"1": 0.3, "3": 0.2}}"#, epochs: 3)).hasPrefix("simulation.metrics.mAP: no value for epoch 2, where the run needs one (evaluation 2); it gives epochs 1, 3"))
        #expect(message(config(#""simulation": {"loss": [1.0]}"#)).hasPrefix("simulation.loss: training step 2 needs a value, and the list gives 1"))
        #expect(configErrorMessage(Self.mmcv("[]")) == "simulation.metrics.mAP: an empty list: give one value per evaluation, in order")
        #expect(configErrorMessage(Self.mmcv(#"{"epoch": {"0": 0.3}}"#))?.hasPrefix("simulation.metrics.mAP.epoch.0: keys are epoch numbers counted from 1") == true)
        #expect(configErrorMessage(Self.mmcv(#"["high"]"#)) == "simulation.metrics.mAP[0]: expected a finite number, got \"high\"")
        #expect(configErrorMessage(Self.mmcv(#"{"epoch": {"1": 0.3}, "iter": {"1": 0.2}}"#))?.hasPrefix("simulation.metrics.mAP: give values keyed by") == true)
    }

    @Test("the same scripted config gives identical events")
    func deterministic() throws {
        let json = Self.mmcv(#"{"epoch": {"1": 0.2, "2": 0.3, "3": 0.25, "4": 0.4, "5": 0.1}}"#)
        #expect(try simulate(json).events == simulate(json).events)
    }
}

/// `launch.stop_at` (`record --stop-at`): a simulated crash after N train epochs or iterations.
@Suite("stop_at: simulated crashes")
struct StopAtTests {
    static func last(_ events: [Event]) -> (call: String, end: RunEnd?) {
        let c = calls(events).last ?? ""
        var end: RunEnd?
        if case .runEnd(let r)? = events.last { end = r }
        return (c, end)
    }

    @Test("mmcv: after 2 epochs the next epoch's first call is never made; mid-epoch, the next iteration's; the trace ends failed saying where")
    func mmcv() throws {
        let base = #""checkpoint_config": {"interval": 1}, "launch": {"stop_at": "STOP"}"#
        let runner = #""runner": {"type": "EpochBasedRunner", "max_epochs": 4}"#
        let (events, r) = try simulate(config(base.replacingOccurrences(of: "STOP", with: "epoch=2"), runner: runner))
        let (call, end) = Self.last(events)
        #expect(call == "after_train_epoch 1 6 2 train", "\(call)")
        #expect(end == RunEnd(status: .failed, exitCode: 1, message: "stopped after epoch 2 by --stop-at, as a crash would stop it there"))
        #expect(r.files.contents.count == 2 && r.stoppedBy != nil)
        let mid = try simulate(config(base.replacingOccurrences(of: "STOP", with: "iter=4"), runner: runner)).events
        #expect(Self.last(mid).call == "after_train_iter 1 3 0 train", "\(Self.last(mid).call)")
        // At the run's end: the run completes; past it: a config error (the crash would never happen).
        let atEnd = try simulate(config(base.replacingOccurrences(of: "STOP", with: "epoch=4"), runner: runner)).events
        #expect(Self.last(atEnd).end?.status == .completed)
        #expect(configErrorMessage(config(base.replacingOccurrences(of: "STOP", with: "epoch=9"), runner: runner)) == "launch.stop_at: epoch=9 is beyond the run, which trains 4 epochs; stop it at epoch=1…4")
        // IterBasedRunner: iterations only.
        #expect(configErrorMessage(config(#""launch": {"stop_at": "epoch=1"}"#, runner: #""runner": {"type": "IterBasedRunner", "max_iters": 5}"#))?.hasPrefix("launch.stop_at: an IterBasedRunner trains one long epoch") == true)
        let iter = try simulate(config(#""launch": {"stop_at": "iter=3"}"#, runner: #""runner": {"type": "IterBasedRunner", "max_iters": 5}"#)).events
        #expect(Self.last(iter).call == "after_train_iter 0 2 0 train", "\(Self.last(iter).call)")
        #expect(configErrorMessage(config(#""launch": {"stop_at": "epochs=1"}"#))?.hasPrefix("launch.stop_at: expected epoch=N or iter=N") == true)
    }

    @Test("mmengine: after the epoch's validation, before the next epoch; the iteration loop by iterations")
    func mmengine() throws {
        let json = #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 3, "val": 1}, "launch": {"stop_at": "epoch=1"}}"#
        let events = try simulate(json).events
        #expect(Self.last(events).call == "after_val 1 3 0 val" || Self.last(events).call.hasPrefix("after_val "), "\(Self.last(events).call)")
        #expect(Self.last(events).end?.status == .failed)
        let iter = #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 10}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 3}, "launch": {"stop_at": "iter=4"}}"#
        let iterEvents = try simulate(iter).events
        #expect(Self.last(iterEvents).call.hasPrefix("after_train_iter 0 3 3"), "\(Self.last(iterEvents).call)")
    }
}
