import Foundation
@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import Testing

/// Ports of the LR and momentum expectations in mmcv's tests/test_runner/test_hooks.py
/// (mmcv 1.x, including the 1.7 parametrisations of test_momentum_runner_hook and
/// test_cyclic_lr_update_hook, the momentum warmups and test_linear_runner_hook). mmcv checks the values a PaviLoggerHook logs at step = iter + 1, i.e. the
/// group-0 LR and momentum of each optimizer in force during that iteration; these
/// tests read the same values from the trace's set_lr / set_momentum effects.
struct Sample: Equatable, CustomStringConvertible {
    var lr: [Double]
    var momentum: [Double]
    var description: String { "lr \(lr.map(formatDouble)) momentum \(momentum.map(formatDouble))" }
}

/// mmcv's `_build_demo_runner`: SGD lr 0.02 momentum 0.95, or two optimizers
/// model1 (0.02, 0.95) and model2 (0.01, 0.9); schedule hooks registered at NORMAL.
func scheduleRun(_ hooks: String, multi: Bool, iterations: Int, epochs: Int = 1, iterBased: Bool = false) throws -> [Int: Sample] {
    let optimizer = multi
        ? #"{"model1": {"type": "SGD", "lr": 0.02, "momentum": 0.95}, "model2": {"type": "SGD", "lr": 0.01, "momentum": 0.9}}"#
        : #"{"type": "SGD", "lr": 0.02, "momentum": 0.95}"#
    let runner = iterBased ? #"{"type": "IterBasedRunner", "max_iters": \#(iterations)}"# : #"{"type": "EpochBasedRunner", "max_epochs": \#(epochs)}"#
    let json = #"{"runner": \#(runner), "optimizer": \#(optimizer), "data": {"train": \#(iterBased ? 10 : iterations)}, "custom_hooks": [\#(hooks)]}"#
    let config = try RunConfig(text: json, name: "t")
    var lr: [String: Double] = [:]
    var momentum: [String: Double] = [:]
    for o in config.optimizers {
        lr[o.name] = o.groups[0].lr
        momentum[o.name] = o.groups[0].currentMomentum
    }
    let names = config.optimizers.map(\.name)
    var samples: [Int: Sample] = [:]
    try Simulator.record(config) { e throws(HooktraceError) in
        switch e {
        case .effect(let x):
            if case .setLR(let o, 0, let v) = x.action { lr[o] = v }
            if case .setMomentum(let o, 0, let v) = x.action { momentum[o] = v }
        case .call(let c) where c.stage == "after_train_iter":
            samples[c.iter + 1] = Sample(lr: names.map { lr[$0]! }, momentum: names.map { momentum[$0]! })
        default: break
        }
    }
    return samples
}

func check(_ samples: [Int: Sample], _ expected: [(Int, Sample)], sourceLocation: SourceLocation = #_sourceLocation) {
    for (step, want) in expected {
        #expect(samples[step] == want, "step \(step)", sourceLocation: sourceLocation)
    }
}

func s(_ lr: Double, _ m: Double) -> Sample { Sample(lr: [lr], momentum: [m]) }
func s(_ lr1: Double, _ lr2: Double, _ m1: Double, _ m2: Double) -> Sample { Sample(lr: [lr1, lr2], momentum: [m1, m2]) }

@Suite("mmcv test_hooks.py schedule expectations")
struct MMCVScheduleTests {
    @Test("test_momentum_runner_hook: cyclic momentum with cyclic LR", arguments: [false, true])
    func momentumRunnerHook(multi: Bool) throws {
        let hooks = #"{"type": "CyclicMomentumUpdaterHook", "by_epoch": false, "target_ratio": [0.8947368421052632, 1], "cyclic_times": 1, "step_ratio_up": 0.4},"#
            + #"{"type": "CyclicLrUpdaterHook", "by_epoch": false, "target_ratio": [10, 1], "cyclic_times": 1, "step_ratio_up": 0.4}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.01999999999999999, 0.009999999999999995, 0.95, 0.9)), (5, s(0.2, 0.1, 0.85, 0.8052631578947369)),
                      (7, s(0.155, 0.0775, 0.875, 0.8289473684210527))])
        } else {
            check(r, [(1, s(0.01999999999999999, 0.95)), (5, s(0.2, 0.85)), (7, s(0.155, 0.875))])
        }
    }

    @Test("test_cosine_runner_hook: cosine annealing LR and momentum (warmup_iters without warmup does nothing)", arguments: [false, true])
    func cosineRunnerHook(multi: Bool) throws {
        let hooks = #"{"type": "CosineAnnealingMomentumUpdaterHook", "min_momentum_ratio": 1.0421052631578949, "by_epoch": false, "warmup_iters": 2, "warmup_ratio": 0.9473684210526316},"#
            + #"{"type": "CosineAnnealingLrUpdaterHook", "by_epoch": false, "min_lr_ratio": 0, "warmup_iters": 2, "warmup_ratio": 0.9}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.02, 0.01, 0.95, 0.9)), (6, s(0.01, 0.005, 0.97, 0.9189473684210527)),
                      (10, s(0.0004894348370484647, 0.00024471741852423234, 0.9890211303259032, 0.9369673866245399))])
        } else {
            check(r, [(1, s(0.02, 0.95)), (6, s(0.01, 0.97)), (10, s(0.0004894348370484647, 0.9890211303259032))])
        }
    }

    @Test("test_flat_cosine_runner_hook", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func flatCosineRunnerHook(multi: Bool, byEpoch: Bool) throws {
        let hooks = #"{"type": "FlatCosineAnnealingLrUpdaterHook", "by_epoch": \#(byEpoch), "min_lr_ratio": 0, "warmup": "linear", "warmup_iters": \#(byEpoch ? 10 : 2), "warmup_ratio": 0.9, "start_percent": 0.5}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10, epochs: byEpoch ? 10 : 1)
        let steps = byEpoch ? [1, 11, 61, 100] : [1, 6, 7, 10]
        let lr1 = [0.018000000000000002, 0.02, 0.018090169943749474, 0.0019098300562505265]
        let lr2 = [0.009000000000000001, 0.01, 0.009045084971874737, 0.0009549150281252633]
        check(r, steps.indices.map { i in (steps[i], multi ? s(lr1[i], lr2[i], 0.95, 0.9) : s(lr1[i], 0.95)) })
    }

    @Test("test_one_cycle_runner_hook: one-cycle LR and momentum", arguments: [false, true])
    func oneCycleRunnerHook(multi: Bool) throws {
        let hooks = #"{"type": "OneCycleMomentumUpdaterHook", "base_momentum": 0.85, "max_momentum": 0.95, "pct_start": 0.5, "anneal_strategy": "cos", "three_phase": false},"#
            + #"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.01, "pct_start": 0.5, "anneal_strategy": "cos", "div_factor": 25, "final_div_factor": 1e4, "three_phase": false}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.0003999999999999993, 0.0003999999999999993, 0.95, 0.95)),
                      (6, s(0.00904508879153485, 0.00904508879153485, 0.8595491502812526, 0.8595491502812526)),
                      (10, s(4e-08, 4e-08, 0.95, 0.95))])
        } else {
            check(r, [(1, s(0.0003999999999999993, 0.95)), (6, s(0.00904508879153485, 0.8595491502812526)), (10, s(4e-08, 0.95))])
        }
    }

    @Test("test_one_cycle_runner_hook: total_steps below max_iters fails at run; above it runs", arguments: [10, 2])
    func oneCycleTotalSteps(maxIters: Int) throws {
        let hook = #"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.01, "total_steps": 5, "pct_start": 0.5, "anneal_strategy": "linear", "div_factor": 25, "final_div_factor": 1e4}"#
        if maxIters == 10 {
            // The error names the setting's key path, like a validation error.
            #expect {
                try scheduleRun(hook, multi: false, iterations: maxIters, iterBased: true)
            } throws: { error in
                let m = (error as? HooktraceError)?.message ?? ""
                return m.range(of: #"^[a-z_]+(\[\d+\])?\.total_steps: OneCycleLrUpdaterHook: total_steps 5 is less than"#, options: .regularExpression) != nil
            }
        } else {
            let r = try scheduleRun(hook, multi: false, iterations: maxIters, iterBased: true)
            // Iteration 1 of a 5-step schedule: linear from max_lr/25 towards max_lr over 1.5 iterations.
            #expect(r[2]?.lr == [annealingLinear(0.01 / 25, 0.01, 1 / 1.5)])
        }
    }

    @Test("test_cosine_restart_lr_update_hook", arguments: [false, true])
    func cosineRestart(multi: Bool) throws {
        let hook = #"{"type": "CosineRestartLrUpdaterHook", "by_epoch": false, "periods": [5, 5], "restart_weights": [0.5, 0.5], "min_lr_ratio": 0}"#
        let r = try scheduleRun(hook, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.01, 0.005, 0.95, 0.9)), (6, s(0.01, 0.005, 0.95, 0.9)), (10, s(0.0009549150281252633, 0.00047745751406263163, 0.95, 0.9))])
        } else {
            check(r, [(1, s(0.01, 0.95)), (6, s(0.01, 0.95)), (10, s(0.0009549150281252633, 0.95))])
        }
        // Cumulative periods [5, 7] do not cover 10 iterations: mmcv raises ValueError during the run.
        let short = #"{"type": "CosineRestartLrUpdaterHook", "by_epoch": false, "periods": [5, 2], "restart_weights": [0.5, 0.5], "min_lr": 0.0001}"#
        #expect {
            try scheduleRun(short, multi: multi, iterations: 10)
        } throws: { error in
            let m = (error as? HooktraceError)?.message ?? ""
            return m.range(of: #"^[a-z_]+(\[\d+\])?\.periods: CosineRestartLrUpdaterHook: progress"#, options: .regularExpression) != nil
        }
    }

    @Test("test_step_runner_hook: int step with min_lr / min_momentum clipping", arguments: [false, true])
    func stepInt(multi: Bool) throws {
        let hooks = #"{"type": "StepMomentumUpdaterHook", "by_epoch": false, "step": 5, "gamma": 0.5, "min_momentum": 0.05},"#
            + #"{"type": "StepLrUpdaterHook", "by_epoch": false, "step": 5, "gamma": 0.5, "min_lr": 1e-3}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 30)
        if multi {
            check(r, [(1, s(0.02, 0.01, 0.95, 0.9)), (6, s(0.01, 0.005, 0.475, 0.45)), (16, s(0.0025, 0.00125, 0.11875, 0.1125)),
                      (21, s(0.00125, 0.001, 0.059375, 0.05625)), (26, s(0.001, 0.001, 0.05, 0.05)), (30, s(0.001, 0.001, 0.05, 0.05))])
        } else {
            check(r, [(1, s(0.02, 0.95)), (6, s(0.01, 0.475)), (16, s(0.0025, 0.11875)), (21, s(0.00125, 0.059375)),
                      (26, s(0.001, 0.05)), (30, s(0.001, 0.05))])
        }
    }

    @Test("test_step_runner_hook: milestone list", arguments: [false, true])
    func stepList(multi: Bool) throws {
        let hooks = #"{"type": "StepMomentumUpdaterHook", "by_epoch": false, "step": [4, 6, 8], "gamma": 0.1},"#
            + #"{"type": "StepLrUpdaterHook", "by_epoch": false, "step": [4, 6, 8], "gamma": 0.1}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.02, 0.01, 0.95, 0.9)), (5, s(0.002, 0.001, 9.5e-2, 9.000000000000001e-2)),
                      (7, s(2.0000000000000004e-4, 1.0000000000000002e-4, 9.500000000000001e-3, 9.000000000000003e-3)),
                      (9, s(2.0000000000000005e-05, 1.0000000000000003e-05, 9.500000000000002e-4, 9.000000000000002e-4))])
        } else {
            check(r, [(1, s(0.02, 0.95)), (5, s(0.002, 0.095)), (7, s(2.0000000000000004e-4, 9.500000000000001e-3)),
                      (9, s(2.0000000000000005e-05, 9.500000000000002e-4))])
        }
    }

    @Test("test_cyclic_lr_update_hook: IterBasedRunner, linear, step_ratio_up 0.5", arguments: [false, true])
    func cyclicLR(multi: Bool) throws {
        let hook = #"{"type": "CyclicLrUpdaterHook", "by_epoch": false, "target_ratio": [10.0, 1.0], "cyclic_times": 1, "step_ratio_up": 0.5, "anneal_strategy": "linear"}"#
        let r = try scheduleRun(hook, multi: multi, iterations: 8, iterBased: true)
        if multi {
            check(r, [(1, s(0.02, 0.01, 0.95, 0.9)), (4, s(0.155, 0.0775, 0.95, 0.9)), (6, s(0.155, 0.0775, 0.95, 0.9))])
        } else {
            check(r, [(1, s(0.02, 0.95)), (4, s(0.155, 0.95)), (6, s(0.155, 0.95))])
        }
    }

    @Test("test_momentum_runner_hook (gamma 0.5, cyclic_times 2): cyclic momentum with gamma over two cycles")
    func momentumRunnerHookGamma() throws {
        let hooks = #"{"type": "CyclicMomentumUpdaterHook", "by_epoch": false, "target_ratio": [0.8947368421052632, 1], "cyclic_times": 2, "step_ratio_up": 0.4, "gamma": 0.5},"#
            + #"{"type": "CyclicLrUpdaterHook", "by_epoch": false, "target_ratio": [10, 1], "cyclic_times": 1, "step_ratio_up": 0.4}"#
        let r = try scheduleRun(hooks, multi: false, iterations: 10)
        check(r, [(1, s(0.01999999999999999, 0.95)), (3, s(0.11, 0.85)), (6, s(0.1879422863405995, 0.95)), (8, s(0.11000000000000001, 0.9))])
    }

    @Test("test_momentum_runner_hook: constant, linear and exp momentum warmup divide the momentum", arguments: [
        ("constant", 5, 1.9, 1.8), ("linear", 3, 1.3571428571428572, 1.2857142857142858), ("exp", 3, 1.4399307381848783, 1.3641449098593583),
    ])
    func momentumWarmup(warmup: String, step: Int, m1: Double, m2: Double) throws {
        let hook = #"{"type": "StepMomentumUpdaterHook", "by_epoch": false, "warmup": "\#(warmup)", "warmup_iters": 5, "warmup_ratio": 0.5, "step": [10]}"#
        check(try scheduleRun(hook, multi: false, iterations: 10), [(1, s(0.02, 1.9)), (step, s(0.02, m1)), (10, s(0.02, 0.95))])
        check(try scheduleRun(hook, multi: true, iterations: 10), [(1, s(0.02, 0.01, 1.9, 1.8)), (step, s(0.02, 0.01, m1, m2)), (10, s(0.02, 0.01, 0.95, 0.9))])
    }

    @Test("test_linear_runner_hook: linear annealing LR and momentum", arguments: [false, true])
    func linearRunnerHook(multi: Bool) throws {
        let hooks = #"{"type": "LinearAnnealingMomentumUpdaterHook", "min_momentum_ratio": 1.0421052631578949, "by_epoch": false, "warmup_iters": 2, "warmup_ratio": 0.9473684210526316},"#
            + #"{"type": "LinearAnnealingLrUpdaterHook", "by_epoch": false, "min_lr_ratio": 0, "warmup_iters": 2, "warmup_ratio": 0.9}"#
        let r = try scheduleRun(hooks, multi: multi, iterations: 10)
        if multi {
            check(r, [(1, s(0.02, 0.01, 0.95, 0.9)), (6, s(0.01, 0.005, 0.97, 0.9189473684210527)),
                      (10, s(0.0019999999999999983, 0.0009999999999999992, 0.9860000000000001, 0.9341052631578949))])
        } else {
            check(r, [(1, s(0.02, 0.95)), (6, s(0.01, 0.97)), (10, s(0.0019999999999999983, 0.9860000000000001))])
        }
    }

    @Test("test_cyclic_lr_update_hook (gamma 0.5, cyclic_times 2)")
    func cyclicLRGamma() throws {
        let hook = #"{"type": "CyclicLrUpdaterHook", "by_epoch": false, "target_ratio": [10.0, 1.0], "cyclic_times": 2, "step_ratio_up": 0.5, "anneal_strategy": "linear", "gamma": 0.5}"#
        let r = try scheduleRun(hook, multi: false, iterations: 8, iterBased: true)
        check(r, [(1, s(0.02, 0.95)), (4, s(0.11, 0.95)), (6, s(0.065, 0.95)), (7, s(0.11, 0.95))])
    }

    @Test("constructor validation mmcv's tests pin down", arguments: [
        (#"{"type": "StepLrUpdaterHook"}"#, "needs 'step'"),
        (#"{"type": "StepLrUpdaterHook", "step": -10}"#, "must be a positive integer"),
        (#"{"type": "StepLrUpdaterHook", "step": [10, 16, -20]}"#, "milestones must be positive"),
        (#"{"type": "CyclicLrUpdaterHook", "by_epoch": true}"#, "by_epoch must be false"),
        (#"{"type": "CyclicLrUpdaterHook", "target_ratio": [10.0, 0.1, 0.2]}"#, "length of 2"),
        (#"{"type": "CyclicLrUpdaterHook", "step_ratio_up": 1.4}"#, "must be in [0, 1)"),
        (#"{"type": "CyclicLrUpdaterHook", "anneal_strategy": "sin"}"#, #"must be "cos" or "linear""#),
        (#"{"type": "CyclicLrUpdaterHook", "gamma": 0}"#, "must be in (0, 1]"),
        (#"{"type": "CyclicLrUpdaterHook", "target_ratio": 10}"#, "must be a float or a pair"),
        (#"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.1, "by_epoch": true}"#, "by_epoch must be false"),
        (#"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.1, "pct_start": -0.1}"#, "between 0 and 1"),
        (#"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.1, "pct_start": 1}"#, "must be a float"),
        (#"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.1, "anneal_strategy": "sin"}"#, #"must be "cos" or "linear""#),
        (#"{"type": "OneCycleLrUpdaterHook", "max_lr": 0.1, "total_steps": 5.0}"#, "must be an integer"),
        (#"{"type": "OneCycleLrUpdaterHook"}"#, "max_lr: missing"),
        (#"{"type": "OneCycleMomentumUpdaterHook", "base_momentum": 1}"#, "must be a float, a list or a dict"),
        (#"{"type": "FlatCosineAnnealingLrUpdaterHook", "start_percent": -0.1, "min_lr_ratio": 0}"#, "between 0 and 1"),
        (#"{"type": "FlatCosineAnnealingLrUpdaterHook", "start_percent": 1, "min_lr_ratio": 0}"#, "must be a float"),
        (#"{"type": "CosineRestartLrUpdaterHook", "by_epoch": false, "periods": [2, 10], "restart_weights": [0.5, 0.5], "min_lr": 0.1, "min_lr_ratio": 0}"#, "exactly one of min_lr and min_lr_ratio"),
        (#"{"type": "CosineRestartLrUpdaterHook", "by_epoch": false, "periods": [2, 10], "restart_weights": [0.5], "min_lr_ratio": 0}"#, "same length"),
        (#"{"type": "CosineAnnealingLrUpdaterHook"}"#, "exactly one of min_lr and min_lr_ratio"),
        (#"{"type": "ExpLrUpdaterHook"}"#, "needs 'gamma'"),
        (#"{"type": "StepMomentumUpdaterHook", "step": 2, "warmup_by_epoch": true}"#, "has no parameter 'warmup_by_epoch'"),
    ])
    func validation(hook: String, expected: String) {
        let message = configErrorMessage(config(#""custom_hooks": [\#(hook)]"#))
        #expect(message?.contains(expected) == true, "got: \(message ?? "no error")")
    }
}
