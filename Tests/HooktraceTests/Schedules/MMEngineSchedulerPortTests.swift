import Foundation
@testable import HooktraceFormat
@testable import HooktraceSim
import Testing

/// The rest of mmengine 0.10.7's `tests/test_optim/test_scheduler/test_lr_scheduler.py`
/// (the convert_iterbased variants, schedulers one after another, overlapping and with a
/// gap, OneCycleLR, ReduceOnPlateauLR's values, resuming by `last_step`), with the test's
/// own optimizer: SGD with two groups, lr 0.05 and 0.5 (× 10), momentum 0.01, weight decay
/// 5e-4. Run through the simulator's runner: the values are the lr in force at each
/// iteration's `before_train_iter`; targets and tolerance (1e-5 absolute) are the test's.
@Suite("mmengine's lr scheduler tests, ported: converted, composed, OneCycle, ReduceOnPlateau, resuming")
struct MMEngineLRSchedulerPortTests {
    static let optimizer = #"{"type": "SGD", "lr": 0.05, "momentum": 0.01, "weight_decay": 0.0005, "param_groups": [{}, {"lr": 0.5}]}"#

    /// The lr of both groups at each training iteration of `epochs` epochs of `length`
    /// iterations under `schedulers`.
    static func lrs(_ schedulers: String, epochs: Int, length: Int = 1, optimizer: String = optimizer) throws -> [[Double]] {
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": \#(epochs)}, "optim_wrapper": {"optimizer": \#(optimizer)}, "data": {"train": \#(length)}, "param_scheduler": \#(schedulers)}"#
        var current: [Double] = []
        var out: [[Double]] = []
        _ = try Simulator.record(try RunConfig(text: json, name: "t")) { e throws(HooktraceError) in
            switch e {
            case .runStart(let r): current = r.paramGroups.map(\.lr)
            case .call(let c) where c.stage == "before_train_iter": out.append(current)
            case .effect(let x): if case .setLR(_, let g, let v) = x.action { current[g] = v }
            default: break
            }
        }
        return out
    }

    /// mmengine's `_test_scheduler_value`: each of the first `count` values within 1e-5.
    static func check(_ got: [[Double]], _ targets: [[Double]], count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.count >= count, "only \(got.count) iterations", sourceLocation: sourceLocation)
        for (i, row) in got.prefix(count).enumerated() {
            for (g, target) in targets.enumerated() where i < target.count {
                #expect(abs(row[g] - target[i]) <= 1e-5, "iteration \(i) group \(g): got \(row[g]), expected \(target[i])", sourceLocation: sourceLocation)
            }
        }
    }

    static func both(_ single: [Double]) -> [[Double]] { [single, single.map { $0 * 10 }] }

    @Test("StepLR, MultiStepLR, ConstantLR and ExponentialLR converted to iterations (epoch length 7)")
    func convertedSteps() throws {
        Self.check(try Self.lrs(#"[{"type": "StepLR", "gamma": 0.1, "step_size": 2, "convert_to_iter_based": true}]"#, epochs: 4, length: 7),
              Self.both(Array(repeating: 0.05, count: 14) + Array(repeating: 0.005, count: 14)), count: 28)
        Self.check(try Self.lrs(#"[{"type": "MultiStepLR", "gamma": 0.1, "milestones": [2, 5, 9], "convert_to_iter_based": true}]"#, epochs: 10, length: 7),
              Self.both(Array(repeating: 0.05, count: 14) + Array(repeating: 0.005, count: 21) + Array(repeating: 0.0005, count: 28) + Array(repeating: 0.00005, count: 7)), count: 70)
        // ConstantLR's end, 5 epochs = 35 iterations: the factor is undone at iteration 34.
        Self.check(try Self.lrs(#"[{"type": "ConstantLR", "factor": 0.5, "end": 5, "convert_to_iter_based": true}]"#, epochs: 10, length: 7),
              Self.both(Array(repeating: 0.025, count: 34) + Array(repeating: 0.05, count: 36)), count: 70)
        Self.check(try Self.lrs(#"[{"type": "ExponentialLR", "gamma": 0.9, "convert_to_iter_based": true}]"#, epochs: 10, length: 7),
              Self.both((0..<70).map { 0.05 * pow(0.9, Double($0)) }), count: 70)
    }

    @Test("LinearLR, CosineAnnealingLR and PolyLR converted to iterations (epoch length 11; the test checks the first 10 or 12)")
    func convertedCurves() throws {
        let iters = 5 * 11 - 1
        let linear = (0..<iters).map { 0.5 + Double($0) * 0.5 / Double(iters) }.map { $0 * 0.05 }
        Self.check(try Self.lrs(#"[{"type": "LinearLR", "start_factor": 0.5, "end": 5, "convert_to_iter_based": true}]"#, epochs: 10, length: 11), Self.both(linear), count: 10)
        let etaMin = 1e-10
        let cosine = { (base: Double) in (0..<132).map { etaMin + (base - etaMin) * (1 + cos(Double.pi * Double($0) / 10 / 11)) / 2 } }
        Self.check(try Self.lrs(#"[{"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 1e-10, "convert_to_iter_based": true}]"#, epochs: 12, length: 11),
              [cosine(0.05), cosine(0.5)], count: 12)
        let poly = { (base: Double) in (0..<iters).map { 0.001 + (base - 0.001) * pow(1 - Double($0) / Double(iters), 0.9) } }
        Self.check(try Self.lrs(#"[{"type": "PolyLR", "power": 0.9, "eta_min": 0.001, "end": 5, "convert_to_iter_based": true}]"#, epochs: 10, length: 11),
              [poly(0.05), poly(0.5)], count: 10)
    }

    @Test("schedulers one after another, overlapping, and with a gap compose on the value the previous one left")
    func composed() throws {
        Self.check(try Self.lrs(#"[{"type": "LinearLR", "start_factor": 0.5, "begin": 0, "end": 5}, {"type": "MultiStepLR", "gamma": 0.1, "milestones": [3, 6], "begin": 5, "end": 12}]"#, epochs: 12),
              Self.both([0.025, 0.03125, 0.0375, 0.04375] + Array(repeating: 0.05, count: 4) + [0.005, 0.005, 0.005, 0.0005]), count: 12)
        let exp = (0..<5).map { 0.05 * pow(0.9, Double($0)) }
        let etaMin = 1e-10
        let cosine = (0..<5).map { etaMin + (exp[4] - etaMin) * (1 + cos(Double.pi * Double($0) / 5)) / 2 }
        Self.check(try Self.lrs(#"[{"type": "ExponentialLR", "gamma": 0.9, "begin": 0, "end": 5}, {"type": "CosineAnnealingLR", "T_max": 5, "eta_min": 1e-10, "begin": 5, "end": 10}]"#, epochs: 10),
              Self.both(exp + cosine), count: 10)
        Self.check(try Self.lrs(#"[{"type": "LinearLR", "start_factor": 0.5, "begin": 0, "end": 5}, {"type": "MultiStepLR", "gamma": 0.1, "milestones": [3, 6, 9]}]"#, epochs: 10),
              Self.both([0.025, 0.03125, 0.0375, 0.004375, 0.005, 0.005, 0.0005, 0.0005, 0.0005, 0.00005]), count: 10)
        Self.check(try Self.lrs(#"[{"type": "ExponentialLR", "gamma": 0.9, "begin": 0, "end": 5}, {"type": "CosineAnnealingLR", "T_max": 5, "eta_min": 1e-10, "begin": 10, "end": 15}]"#, epochs: 15),
              Self.both(exp + Array(repeating: exp[4], count: 5) + cosine), count: 15)
    }

    @Test("OneCycleLR: linear, linear in three phases, cosine (the test's targets for the first group)")
    func oneCycle() throws {
        func first(_ scheduler: String) throws -> [[Double]] { try Self.lrs("[\(scheduler)]", epochs: 10) }
        Self.check(try first(#"{"type": "OneCycleLR", "eta_max": 25, "final_div_factor": 2, "total_steps": 10, "anneal_strategy": "linear"}"#),
              [[1, 13, 25, 21.5, 18, 14.5, 11, 7.5, 4, 0.5]], count: 10)
        Self.check(try first(#"{"type": "OneCycleLR", "eta_max": 25, "div_factor": 25, "total_steps": 10, "anneal_strategy": "linear", "pct_start": 0.4, "final_div_factor": 4, "three_phase": true}"#),
              [[1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25]], count: 10)
        func annealing(_ start: Double, _ end: Double, _ pct: Double) -> Double { end + (start - end) / 2 * (cos(Double.pi * pct) + 1) }
        Self.check(try first(#"{"type": "OneCycleLR", "eta_max": 25, "final_div_factor": 2, "total_steps": 10}"#),
              [[1, 13, 25] + (1...6).map { annealing(25, 0.5, Double($0) / 7) } + [0.5]], count: 10)
    }

    /// mmengine's ReduceOnPlateau test drives the scheduler with a list of metrics, one per
    /// epoch: here the scheduler itself, on the test's two groups.
    static func plateau(_ scheduler: String, metrics: [Double], monitor: String) throws -> [[Double]] {
        var s = try ParamScheduler(try JSONValue.parse(scheduler), path: "param_scheduler[0]", maxEpochs: 10, maxIters: 10, epochLength: 1)
        var groups = [0.05, 0.5]
        s.baseValues = groups
        var out: [[Double]] = []
        for m in metrics {
            out.append(groups)
            try s.stepPlateau([(monitor, .double(m))], &groups)
        }
        return out
    }

    @Test("ReduceOnPlateauLR: less/greater with rel/abs thresholds, cooldown 1, patience 2; min_value floors one group")
    func reduceOnPlateau() throws {
        let falling = [10.0, 9, 8, 7, 6, 6, 6, 6, 6, 6], rising = [1.0, 2, 3, 4, 5, 5, 5, 5, 5, 5]
        let cut = Self.both(Array(repeating: 0.05, count: 8) + [0.005, 0.005])
        for (rule, thresholdRule, threshold, monitor, values) in [("less", "rel", 0.01, "loss", falling), ("less", "abs", 0.9, "loss", falling),
                                                                  ("greater", "rel", 0.01, "bbox_mAP", rising), ("greater", "abs", 0.9, "bbox_mAP", rising)] {
            let got = try Self.plateau(#"{"type": "ReduceOnPlateauLR", "monitor": "\#(monitor)", "rule": "\#(rule)", "factor": 0.1, "patience": 2, "threshold": \#(threshold), "threshold_rule": "\#(thresholdRule)", "cooldown": 1}"#,
                                       metrics: values, monitor: monitor)
            Self.check(got, cut, count: 10)
        }
        let floored = try Self.plateau(#"{"type": "ReduceOnPlateauLR", "monitor": "loss", "factor": 0.1, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_value": 0.01}"#,
                                       metrics: falling, monitor: "loss")
        Self.check(floored, [Array(repeating: 0.05, count: 8) + [0.01, 0.01], Array(repeating: 0.5, count: 8) + [0.05, 0.05]], count: 10)
    }

    @Test("ReduceOnPlateauLR's constructor checks: by_epoch, factor, threshold, rules, last_step, min_value against the groups", arguments: [
        (#"{"type": "ReduceOnPlateauLR", "by_epoch": false}"#, "param_scheduler[0].by_epoch: ReduceOnPlateauLR steps by epoch only"),
        (#"{"type": "ReduceOnPlateauLR", "factor": 2.0}"#, "param_scheduler[0].factor: must be below 1"),
        (#"{"type": "ReduceOnPlateauLR", "threshold": -1.0}"#, "param_scheduler[0].threshold: must not be negative"),
        (#"{"type": "ReduceOnPlateauLR", "rule": "foo"}"#, "param_scheduler[0].rule: must be \"less\" or \"greater\""),
        (#"{"type": "ReduceOnPlateauLR", "threshold_rule": "foo"}"#, "param_scheduler[0].threshold_rule: must be \"rel\" or \"abs\""),
        (#"{"type": "ReduceOnPlateauLR", "last_step": -2}"#, "param_scheduler[0].last_step: must be -1"),
        (#"{"type": "ReduceOnPlateauLR", "last_step": 1.5}"#, "param_scheduler[0].last_step: expected an integer"),
        (#"{"type": "ReduceOnPlateauLR", "min_value": [0.1, 0.1, 0.1, 0.1]}"#, "param_scheduler[0].min_value: gives 4 values for 2 param groups"),
        (#"{"type": "ReduceOnPlateauLR", "begin": 10, "end": 5}"#, "param_scheduler[0]: end (5) must be larger than begin (10)"),
    ])
    func plateauChecks(scheduler: String, expected: String) {
        let message = configErrorMessage(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "optim_wrapper": {"optimizer": \#(Self.optimizer)}, "data": {"train": 1}, "param_scheduler": [\#(scheduler)]}"#)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("min_value with one value per group is accepted (the wrapper's extra group takes the last)")
    func plateauMinValues() throws {
        _ = try Self.lrs(#"[{"type": "ReduceOnPlateauLR", "min_value": [0.1, 0.1]}]"#, epochs: 1)
    }

    @Test("last_step resumes a schedule: it needs initial_lr from an earlier scheduler (KeyError otherwise); test_resume's ExponentialLR continues where it stopped")
    func resume() throws {
        // test_resume: an ExponentialLR stepped 4 times, then a second one with last_step=4
        // continues the same decay (0.05 · 0.9^k over 10 epochs). In a run both step every
        // epoch, so the first is limited to 4 steps by its end.
        Self.check(try Self.lrs(#"[{"type": "ExponentialLR", "gamma": 0.9, "end": 5}, {"type": "ExponentialLR", "gamma": 0.9, "last_step": 4, "begin": 5}]"#, epochs: 10),
              Self.both((0..<10).map { 0.05 * pow(0.9, Double($0)) }), count: 10)
        let message = configErrorMessage(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "optim_wrapper": {"optimizer": \#(Self.optimizer)}, "data": {"train": 1}, "param_scheduler": [{"type": "StepLR", "gamma": 0.1, "step_size": 3, "last_step": 10}]}"#)
        #expect(message?.hasPrefix("param_scheduler[0].last_step: 10 resumes a schedule, and no earlier scheduler of this optimizer recorded initial_lr (mmengine raises KeyError") == true, "got: \(message ?? "no error")")
    }
}

/// `*ParamScheduler` with a `param_name` other than lr and momentum (mmengine's
/// test_param_scheduler.py schedules lr by name; weight decay is what configs schedule).
@Suite("mmengine's generic parameter schedulers")
struct MMEngineGenericParamTests {
    /// Per epoch, each group's `param` in force, from run_start and `set_param` effects.
    static func values(_ param: String, _ schedulers: String, optimizer: String, epochs: Int) throws -> [[Double]] {
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": \#(epochs)}, "optim_wrapper": {"optimizer": \#(optimizer)}, "data": {"train": 1}, "param_scheduler": \#(schedulers)}"#
        let config = try RunConfig(text: json, name: "t")
        var current: [Double] = []
        var out: [[Double]] = []
        _ = try Simulator.record(config) { e throws(HooktraceError) in
            switch e {
            case .runStart(let r):
                // The values after the construction step: run_start's param_settings.
                guard case .string(let text)? = r.meta.first(where: { $0.key == "param_settings" })?.value,
                      case .array(let items)? = try? JSONValue.parse(text)[param]?[""] else { return }
                current = items.compactMap(\.number)
            case .call(let c) where c.stage == "before_train_epoch": out.append(current)
            case .effect(let x):
                if case .custom("set_param", let fields) = x.action, fields.first(where: { $0.key == "param" })?.value == .string(param),
                   case .int(let g)? = fields.first(where: { $0.key == "group" })?.value, let v = fields.first(where: { $0.key == "value" })?.value.number {
                    current[Int(g)] = v
                }
            default: break
            }
        }
        return out
    }

    @Test("weight_decay by CosineAnnealingParamScheduler and StepParamScheduler, two groups with their own decay")
    func weightDecay() throws {
        let sgd = #"{"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "param_groups": [{}, {"weight_decay": 0.001}]}"#
        let cosine = try Self.values("weight_decay", #"[{"type": "CosineAnnealingParamScheduler", "param_name": "weight_decay", "T_max": 5, "eta_min": 0}]"#, optimizer: sgd, epochs: 6)
        for (e, row) in cosine.enumerated() {
            for (g, base) in [0.0005, 0.001].enumerated() {
                let target = base * (1 + cos(Double.pi * Double(e) / 5)) / 2
                #expect(abs(row[g] - target) <= 1e-12, "epoch \(e) group \(g): \(row[g]) vs \(target)")
            }
        }
        let step = try Self.values("weight_decay", #"[{"type": "StepParamScheduler", "param_name": "weight_decay", "step_size": 2, "gamma": 0.5}]"#, optimizer: sgd, epochs: 5)
        #expect(step.map(\.[0]) == [0.0005, 0.0005, 0.00025, 0.00025, 0.000125])
        // AdamW's default weight decay (0.01) when the config gives none; the chained
        // recurrence ends a bit below it, as real mmengine 0.10.7 + torch printed.
        let adamw = try Self.values("weight_decay", #"[{"type": "LinearParamScheduler", "param_name": "weight_decay", "start_factor": 0.5, "end": 3}]"#, optimizer: #"{"type": "AdamW", "lr": 0.001}"#, epochs: 4)
        #expect(adamw.map(\.[0]) == [0.005, 0.0075, 0.009999999999999998, 0.009999999999999998])
    }

    @Test("lr by name (test_param_scheduler's StepParamScheduler) equals StepLR")
    func lrByName() throws {
        let byName = try MMEngineLRSchedulerPortTests.lrs(#"[{"type": "StepParamScheduler", "param_name": "lr", "gamma": 0.1, "step_size": 3}]"#, epochs: 10)
        let twin = try MMEngineLRSchedulerPortTests.lrs(#"[{"type": "StepLR", "gamma": 0.1, "step_size": 3}]"#, epochs: 10)
        #expect(byName == twin && byName.count == 10)
    }

    @Test("a param the optimizer's groups do not have is mmengine's KeyError: exit 2 with the key, before anything runs", arguments: [
        (#"{"type": "SGD", "lr": 0.1}"#, #"{"type": "StepParamScheduler", "param_name": "eps", "step_size": 2}"#, "param_scheduler[0].param_name: SGD's param groups have no \"eps\" (mmengine raises KeyError); they have lr, momentum, dampening, weight_decay"),
        (#"{"type": "Adam", "lr": 0.1}"#, #"{"type": "StepParamScheduler", "param_name": "momentum", "step_size": 2}"#, "param_scheduler[0].param_name: Adam's param groups have no \"momentum\""),
        (#"{"type": "SGD", "lr": 0.1}"#, #"{"type": "StepParamScheduler", "param_name": "invalid_name", "step_size": 10}"#, "param_scheduler[0].param_name: SGD's param groups have no \"invalid_name\""),
        (#"{"type": "SGD", "lr": 0.1}"#, #"{"type": "StepParamScheduler", "step_size": 10}"#, "param_scheduler[0].param_name: missing"),
    ])
    func missingParam(optimizer: String, scheduler: String, expected: String) {
        let message = configErrorMessage(#"{"train_cfg": {"by_epoch": true, "max_epochs": 2}, "optim_wrapper": {"optimizer": \#(optimizer)}, "data": {"train": 1}, "param_scheduler": [\#(scheduler)]}"#)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }
}

/// Several optimizers: an OptimWrapperDict built by a multi-optimizer constructor (mmagic's
/// MultiOptimWrapperConstructor), the model's own train_step updating each wrapper.
@Suite("mmengine dialect: OptimWrapperDict")
struct MMEngineOptimWrapperDictTests {
    static func json(_ wrappers: String, schedulers: String, simulation: String = "{}", interval: Int = 1) -> String {
        #"{"train_cfg": {"by_epoch": true, "max_epochs": 3}, "optim_wrapper": \#(wrappers), "param_scheduler": \#(schedulers), "default_hooks": {"logger": {"type": "LoggerHook", "interval": \#(interval)}}, "data": {"train": 4}, "simulation": \#(simulation)}"#
    }

    static let wrappers = #"{"constructor": "MultiOptimWrapperConstructor", "generator": {"optimizer": {"type": "Adam", "lr": 0.0002, "betas": [0.5, 0.999]}}, "discriminator": {"optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "param_groups": [{}, {"lr": 0.02}]}, "clip_grad": {"max_norm": 10}}}"#

    struct Run {
        var lr: [String: [Double]] = [:]       // per optimizer, group 0's lr at each iteration
        var steps: [String] = []               // "name:step" per optimizer_step effect
        var logKeys: [[String]] = []
        var logs: [[(String, Scalar)]] = []
    }

    static func run(_ json: String) throws -> Run {
        let config = try RunConfig(text: json, name: "t")
        var out = Run()
        var current: [String: Double] = [:]
        _ = try Simulator.record(config) { e throws(HooktraceError) in
            switch e {
            case .runStart(let r):
                for g in r.paramGroups where g.group == 0 { current[g.optimizer] = g.lr }
            case .call(let c) where c.stage == "before_train_iter":
                for (k, v) in current { out.lr[k, default: []].append(v) }
            case .effect(let x):
                switch x.action {
                case .setLR(let o, let g, let v) where g == 0: current[o] = v
                case .optimizerStep(let o, let stepped, _): out.steps.append("\(o):\(stepped ? "step" : "skip")")
                case .log(let fields) where x.hook == "LoggerHook":
                    out.logKeys.append(fields.map(\.key))
                    out.logs.append(fields.map { ($0.key, $0.value) })
                default: break
                }
            default: break
            }
        }
        return out
    }

    @Test("each wrapper has its own schedulers (a dict by name), its lr logged as name.lr (name.base_lr with several groups), and steps every iteration")
    func perOptimizer() throws {
        let r = try Self.run(Self.json(Self.wrappers, schedulers: #"{"generator": [{"type": "LinearLR", "start_factor": 0.5, "by_epoch": false, "end": 3}], "discriminator": {"type": "MultiStepLR", "milestones": [1, 2], "gamma": 0.5}}"#))
        let warmup: [Double] = [0.0001, 0.0001 * (1 + 0.5 / (2 * 0.5)), 0.0002, 0.0002]
        #expect(r.lr["generator"].map { Array($0.prefix(4)) } == warmup)
        #expect(r.lr["generator"]?.count == 12)
        let steps: [Double] = Array(repeating: 0.01, count: 4) + Array(repeating: 0.005, count: 4) + Array(repeating: 0.0025, count: 4)
        #expect(r.lr["discriminator"] == steps)
        // RuntimeInfoHook: OptimWrapperDict.get_lr, in the dict's order.
        let first = try #require(r.logKeys.first)
        #expect(Array(first.prefix(3)) == ["generator.lr", "discriminator.base_lr", "discriminator.lr"])
        #expect(first.contains("grad_norm"))
        #expect(r.steps.count == 24 && r.steps.prefix(2) == ["generator:step", "discriminator:step"])
    }

    @Test("a list of schedulers is built for every wrapper; simulation.update_every makes a wrapper update every k-th iteration")
    func sharedListAndInterval() throws {
        let r = try Self.run(Self.json(Self.wrappers, schedulers: #"[{"type": "MultiStepLR", "milestones": [2], "gamma": 0.1}]"#, simulation: #"{"update_every": {"generator": 2}}"#))
        #expect(r.lr["generator"]?.last.map { abs($0 - 0.00002) < 1e-18 } == true)
        #expect(r.lr["discriminator"]?.last.map { abs($0 - 0.001) < 1e-15 } == true)
        // The generator updates at iterations 1, 3, 5 … (every second), the discriminator at each.
        let generator = r.steps.enumerated().filter { $0.element.hasPrefix("generator") }.count
        #expect(generator == 6 && r.steps.count == 18)
    }

    @Test("OptimWrapperDict's config errors name the key", arguments: [
        (#"{"generator": {"optimizer": {"type": "Adam", "lr": 0.1}}, "discriminator": {"optimizer": {"type": "SGD", "lr": 0.1}}}"#, "[]", "{}", "optim_wrapper: gives several optimizers (generator, discriminator) without a constructor"),
        (wrappers, #"{"generator": [], "discriminater": []}"#, "{}", #"param_scheduler.discriminater: names no optimizer of optim_wrapper (generator, discriminator) (did you mean "discriminator"?)"#),
        (wrappers, #"{"generator": []}"#, "{}", "param_scheduler.discriminator: missing: a dict of schedulers by optimizer needs an entry for each (mmengine raises KeyError)"),
        (wrappers, "[]", #"{"update_every": {"generater": 2}}"#, "simulation.update_every.generater: names no optimizer of optim_wrapper"),
        (wrappers, "[]", #"{"update_every": {"generator": 0}}"#, "simulation.update_every.generator: expected a positive number of iterations"),
        (#"{"constructor": "MultiOptimWrapperConstructor", "generator": {"optimizer": {"type": "Adam", "lr": 0.1}, "acumulative_counts": 2}}"#, "[]", "{}", "optim_wrapper.generator.acumulative_counts: OptimWrapper has no parameter"),
        (#"{"optimizer": {"type": "SGD", "lr": 0.1}}"#, #"{"generator": []}"#, "{}", "param_scheduler: a dict of schedulers by optimizer name (generator) needs several optimizers"),
        (#"{"optimizer": {"type": "SGD", "lr": 0.1}}"#, "[]", #"{"update_every": {"generator": 2}}"#, "simulation.update_every.generator: per-optimizer settings need several optimizers"),
    ])
    func errors(wrappers: String, schedulers: String, simulation: String, expected: String) {
        let message = configErrorMessage(Self.json(wrappers, schedulers: schedulers, simulation: simulation))
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test("another constructor is simulated as MultiOptimWrapperConstructor, with a warning saying so")
    func otherConstructor() throws {
        let config = try RunConfig(text: Self.json(Self.wrappers.replacingOccurrences(of: "\"MultiOptimWrapperConstructor\"", with: "\"MyGANConstructor\""), schedulers: "[]"), name: "t")
        #expect(config.warnings.contains { $0.hasPrefix("optim_wrapper.constructor (\"MyGANConstructor\"): simulated as mmagic's MultiOptimWrapperConstructor") })
    }
}

/// mmdetection 3.x's LearningRateDecayOptimizerConstructor (its ConvNeXt configs).
@Suite("mmengine dialect: layer-wise lr decay")
struct LayerDecayTests {
    static func optimizer(_ paramwise: String, model: String = "") throws -> OptimizerState {
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"type": "AmpOptimWrapper", "constructor": "LearningRateDecayOptimizerConstructor", "paramwise_cfg": \#(paramwise), "optimizer": {"type": "AdamW", "lr": 0.0001, "betas": [0.9, 0.999], "weight_decay": 0.05}}, "data": {"train": 1}\#(model)}"#
        return try RunConfig(text: json, name: "t").optimizers[0]
    }

    // The expected orders are what mmdetection 3.3.0's get_layer_id_for_convnext and
    // get_stage_id_for_convnext give, applied in named_parameters() order to a module
    // with mmpretrain ConvNeXt's parameter names and shapes (stage 2 of depth 3·(N − 3)),
    // a neck and a head.
    @Test("layer_wise: groups in the order the parameters reach them, lr × decay_rate^(num_layers + 1 − id), no weight decay for 1-D parameters", arguments: [
        (6, "layer_0_decay layer_0_no_decay layer_2_no_decay layer_2_decay layer_3_no_decay layer_3_decay layer_6_no_decay layer_6_decay layer_1_no_decay layer_1_decay layer_4_no_decay layer_4_decay layer_5_no_decay layer_5_decay layer_7_no_decay layer_7_decay"),
        (12, "layer_0_decay layer_0_no_decay layer_2_no_decay layer_2_decay layer_3_no_decay layer_3_decay layer_12_no_decay layer_12_decay layer_1_no_decay layer_1_decay layer_4_no_decay layer_4_decay layer_5_no_decay layer_5_decay layer_6_no_decay layer_6_decay layer_7_no_decay layer_7_decay layer_8_no_decay layer_8_decay layer_9_no_decay layer_9_decay layer_10_no_decay layer_10_decay layer_11_no_decay layer_11_decay layer_13_no_decay layer_13_decay"),
    ])
    func layerWise(layers: Int, expected: String) throws {
        let o = try Self.optimizer(#"{"decay_rate": 0.95, "decay_type": "layer_wise", "num_layers": \#(layers)}"#)
        #expect(o.groupNames.joined(separator: " ") == expected)
        for (name, g) in zip(o.groupNames, o.groups) {
            let id = Int(name.split(separator: "_")[1])!
            #expect(g.lr == pow(0.95, Double(layers + 1 - id)) * 0.0001, "\(name)")
            #expect(g.settings["weight_decay"] == (name.hasSuffix("no_decay") ? 0 : 0.05), "\(name)")
        }
        #expect(o.hasBaseGroup && o.baseLR == 0.0001)
    }

    @Test("stage_wise: the downsampling layers are 0, stage i is i + 1, the rest num_layers + 1")
    func stageWise() throws {
        let o = try Self.optimizer(#"{"decay_rate": 0.9, "decay_type": "stage_wise", "num_layers": 6}"#)
        #expect(o.groupNames.joined(separator: " ") == "layer_0_decay layer_0_no_decay layer_1_no_decay layer_1_decay layer_2_no_decay layer_2_decay layer_3_no_decay layer_3_decay layer_4_no_decay layer_4_decay layer_7_no_decay layer_7_decay")
        #expect(o.groups[0].lr == pow(0.9, 7) * 0.0001)
    }

    @Test("the logged lr is layer_0_decay's: a run logs base × rate^(num_layers + 1), and base_lr")
    func logged() throws {
        let json = #"{"train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"constructor": "LearningRateDecayOptimizerConstructor", "paramwise_cfg": {"decay_rate": 0.95, "num_layers": 6}, "optimizer": {"type": "AdamW", "lr": 0.0001, "weight_decay": 0.05}}, "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}}, "data": {"train": 2}}"#
        var logged: [(String, Scalar)] = []
        _ = try Simulator.record(try RunConfig(text: json, name: "t")) { e throws(HooktraceError) in
            if case .effect(let x) = e, case .log(let f) = x.action, logged.isEmpty { logged = f.map { ($0.key, $0.value) } }
        }
        #expect(logged.first?.0 == "base_lr" && logged.first?.1 == .double(0.0001))
        #expect(logged.dropFirst().first?.0 == "lr" && logged.dropFirst().first?.1 == .double(pow(0.95, 7) * 0.0001))
    }

    @Test("its settings mmdetection would fail on, and unknown ones, are config errors", arguments: [
        (#"{"decay_rate": 0.95}"#, "", "optim_wrapper.paramwise_cfg.num_layers: missing"),
        (#"{"num_layers": 6}"#, "", "optim_wrapper.paramwise_cfg.decay_rate: missing"),
        (#"{"decay_rate": 0.95, "num_layers": 6, "decay_type": "layerwise"}"#, "", #"optim_wrapper.paramwise_cfg.decay_type: must be "layer_wise" or "stage_wise", got "layerwise""#),
        // A key of neither constructor (the default constructor's keys, which mmdetection
        // ignores here, are warnings: MMDetConfigKeysTests).
        (#"{"decay_rate": 0.95, "num_layers": 6, "decay_rat": 1}"#, "", "optim_wrapper.paramwise_cfg.decay_rat: LearningRateDecayOptimizerConstructor's paramwise_cfg has no parameter"),
        (#"{"decay_rate": 0.95, "num_layers": 6}"#, #", "model": {"backbone": {"type": "ResNet"}}"#, "optim_wrapper.constructor: LearningRateDecayOptimizerConstructor assigns layers of ConvNeXt backbones only, and model.backbone is ResNet"),
    ])
    func errors(paramwise: String, model: String, expected: String) {
        let message = configErrorMessage(#"{"train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"constructor": "LearningRateDecayOptimizerConstructor", "paramwise_cfg": \#(paramwise), "optimizer": {"type": "AdamW", "lr": 0.0001, "weight_decay": 0.05}}, "data": {"train": 1}\#(model)}"#)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }
}
