@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// LR (and momentum) in force at each training iteration of a run: iteration → group-0 value.
private func inForce(_ json: String, momentum: Bool = false) throws -> [Double] {
    let config = try RunConfig(text: json, name: "t")
    var value = momentum ? (config.optimizers[0].groups[0].currentMomentum ?? 0) : config.optimizers[0].groups[0].lr
    var out: [Double] = []
    try Simulator.record(config) { e throws(HooktraceError) in
        switch e {
        case .effect(let x):
            if !momentum, case .setLR(_, 0, let v) = x.action { value = v }
            if momentum, case .setMomentum(_, 0, let v) = x.action { value = v }
        case .call(let c) where c.stage == "after_train_iter":
            out.append(value)
        default: break
        }
    }
    return out
}

private func run(_ lr: String, epochs: Int = 3, train: Int = 4, runner: String? = nil, optimizer: String? = nil) -> String {
    let r = runner ?? #"{"type": "EpochBasedRunner", "max_epochs": \#(epochs)}"#
    let o = optimizer ?? #"{"type": "SGD", "lr": 0.02, "momentum": 0.9}"#
    return #"{"runner": \#(r), "optimizer": \#(o), "data": {"train": \#(train)}, \#(lr)}"#
}

private func linearWarm(_ reg: Double, _ cur: Int, _ w: Int, _ r: Double) -> Double {
    reg * (1 - (1 - Double(cur) / Double(w)) * (1 - r))
}

@Suite("Schedule edge cases")
struct ScheduleEdgeTests {
    @Test("by_epoch warmup longer than an epoch warms the current epoch's value, then hands over at warmup_iters")
    func warmupAcrossEpochs() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "step", "step": [1], "warmup": "linear", "warmup_iters": 6, "warmup_ratio": 0.1}"#))
        let e0 = 0.02, e1 = 0.02 * pow(0.1, 1)
        #expect(lrs[0..<4].elementsEqual((0..<4).map { linearWarm(e0, $0, 6, 0.1) }))
        #expect(lrs[4] == linearWarm(e1, 4, 6, 0.1))
        #expect(lrs[5] == linearWarm(e1, 5, 6, 0.1))
        #expect(lrs[6] == e1)
        #expect(lrs[7] == e1)
        #expect(lrs[8] == e1)
    }

    @Test("warmup_by_epoch converts epochs with the train loader's length")
    func warmupByEpoch() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "fixed", "warmup": "constant", "warmup_iters": 1, "warmup_by_epoch": true, "warmup_ratio": 0.5}"#))
        #expect(lrs == [0.01, 0.01, 0.01, 0.01] + Array(repeating: 0.02, count: 8))
    }

    @Test("warmup_by_epoch under IterBasedRunner is rejected before running")
    func warmupByEpochIterRunner() {
        let message = configErrorMessage(run(#""lr_config": {"policy": "fixed", "warmup": "linear", "warmup_iters": 1, "warmup_by_epoch": true}"#,
                                             runner: #"{"type": "IterBasedRunner", "max_iters": 5}"#))
        #expect(message?.contains("set warmup_by_epoch to false") == true, "\(message ?? "")")
    }

    @Test("by_epoch=False warmup covers iterations 0…W-1 on the per-iteration value")
    func warmupByIter() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "exp", "gamma": 0.9, "by_epoch": false, "warmup": "exp", "warmup_iters": 3, "warmup_ratio": 0.01}"#))
        for cur in 0..<3 {
            let reg = 0.02 * pow(0.9, Double(cur))
            #expect(lrs[cur] == reg * pow(0.01, 1 - Double(cur) / 3))
        }
        #expect(lrs[3] == 0.02 * pow(0.9, 3))
    }

    @Test("cosine: min_lr is absolute, min_lr_ratio scales each group; by_epoch never reaches the target")
    func cosineTargets() throws {
        let absolute = try inForce(run(#""lr_config": {"policy": "CosineAnnealing", "min_lr": 0.001}"#))
        let ratio = try inForce(run(#""lr_config": {"policy": "CosineAnnealing", "min_lr_ratio": 0.05}"#))
        #expect(absolute.last == annealingCos(0.02, 0.001, 2.0 / 3))
        #expect(ratio.last == annealingCos(0.02, 0.02 * 0.05, 2.0 / 3))
        #expect(absolute.last! > 0.001)
    }

    @Test("cyclic: the up phase ends at int(step_ratio_up × iterations per cycle), truncated (0.29 × 100 → 28)")
    func cyclicTruncation() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "cyclic", "target_ratio": [10.0, 0.0001], "step_ratio_up": 0.29}"#, epochs: 1, train: 100))
        #expect(lrs[28] == 0.02 * 10)
        #expect(lrs[27] < 0.02 * 10)
        #expect(lrs[27] == annealingCos(0.02, 0.02 * 10, 27.0 / 28))
    }

    @Test("cyclic with gamma shrinks later cycles; iterations past the last whole cycle start a partial one")
    func cyclicGamma() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "cyclic", "target_ratio": [10.0, 1.0], "cyclic_times": 2, "step_ratio_up": 0.5, "gamma": 0.5, "anneal_strategy": "linear"}"#, epochs: 1, train: 9))
        // 9 // 2 = 4 iterations per cycle; the second cycle peaks at (1 - 0.5) + 10 * 0.5 = 5.5× the base.
        #expect(lrs[2] == 0.02 * 10)
        #expect(lrs[6] == 0.02 * ((1 - 0.5) + 10 * 0.5))
        #expect(lrs[8] == 0.02, "iteration 8 starts a third, partial cycle at the base LR")
    }

    @Test("one-cycle with total_steps beyond max_iters stops early on the schedule")
    func oneCycleLong() throws {
        let lrs = try inForce(run(#""lr_config": {"policy": "OneCycle", "max_lr": 0.1, "total_steps": 100, "pct_start": 0.25, "anneal_strategy": "linear"}"#, epochs: 1, train: 10))
        #expect(lrs[0] == 0.1 / 25)
        #expect(lrs[9] == annealingLinear(0.1 / 25, 0.1, 9.0 / 24))
        // mmcv raises when the run starts; the config alone decides it, so hooktrace says so
        // before anything runs or is written, naming the key.
        #expect(configErrorMessage(run(#""lr_config": {"policy": "OneCycle", "max_lr": 0.1, "total_steps": 5}"#, epochs: 1, train: 10))?
                    .hasPrefix("lr_config.total_steps: OneCycleLrUpdaterHook: total_steps 5 is less than the run's max_iters 10") == true)
    }

    @Test("poly and inv follow mmcv's formulas")
    func polyInv() throws {
        let poly = try inForce(run(#""lr_config": {"policy": "poly", "power": 0.9, "min_lr": 0.0001, "by_epoch": false}"#))
        #expect(poly[5] == (0.02 - 0.0001) * pow(1 - 5.0 / 12, 0.9) + 0.0001)
        let inv = try inForce(run(#""lr_config": {"policy": "inv", "gamma": 0.1, "power": 0.75}"#))
        #expect(inv[8] == 0.02 * pow(1 + 0.1 * 2, -0.75))
    }

    @Test("mmdetection's YOLOX policy: quadratic warmup from the base, cosine, then the fixed tail of num_last_epochs")
    func yolox() throws {
        // mmdetection's YOLOX configs, scaled down: 6 epochs of 4 iterations, warmup 1 epoch, last 2 epochs fixed.
        let lrs = try inForce(run(#""lr_config": {"policy": "YOLOX", "warmup": "exp", "by_epoch": false, "warmup_by_epoch": true, "warmup_ratio": 1, "warmup_iters": 1, "num_last_epochs": 2, "min_lr_ratio": 0.05}"#, epochs: 6))
        #expect(lrs.count == 24)
        let end = 0.02 * 0.05
        for i in 0..<24 {
            let expected: Double
            if i < 4 {
                expected = 0.02 * (1 * pow(Double(i + 1) / 4, 2))
            } else if i + 1 >= 24 - 8 {
                expected = end
            } else {
                expected = end + 0.5 * (0.02 - end) * (cos(Double.pi * (Double(i + 1 - 4) / Double(24 - 4 - 8))) + 1)
            }
            #expect(lrs[i] == expected, "iteration \(i)")
        }
        let missing = configErrorMessage(run(#""lr_config": {"policy": "YOLOX", "min_lr_ratio": 0.05}"#))
        #expect(missing?.hasPrefix("lr_config.num_last_epochs: YOLOXLrUpdaterHook needs 'num_last_epochs'") == true)
    }

    @Test("momentum warmup divides, and Adam's beta1 is the momentum")
    func momentumWarmupAdam() throws {
        let adam = #"{"type": "Adam", "lr": 0.001, "betas": [0.9, 0.999]}"#
        let m = try inForce(run(#""momentum_config": {"policy": "step", "step": [2], "by_epoch": false, "warmup": "constant", "warmup_iters": 2, "warmup_ratio": 0.9}"#, optimizer: adam), momentum: true)
        #expect(m[0] == 0.9 / 0.9)
        #expect(m[1] == 0.9 / 0.9)
        #expect(m[2] == 0.9 * 0.5)
    }

    @Test("IterBasedRunner leaves momentum by_epoch true, so a step momentum schedule never changes (mmcv's trap)")
    func iterMomentumTrap() throws {
        let m = try inForce(run(#""momentum_config": {"policy": "step", "step": [1]}"#, runner: #"{"type": "IterBasedRunner", "max_iters": 6}"#), momentum: true)
        #expect(m == Array(repeating: 0.9, count: 6))
    }

    @Test("momentum on an optimizer without momentum or betas is an error at run start")
    func noMomentum() {
        let json = run(#""momentum_config": {"policy": "step", "step": [1]}"#, optimizer: #"{"type": "Adagrad", "lr": 0.01}"#)
        #expect(throws: HooktraceError.self) { try inForce(json, momentum: true) }
    }

    @Test("errors mmcv raises mid-run that the config alone decides come before anything runs, naming the key", arguments: [
        (#""lr_config": {"policy": "CosineRestart", "by_epoch": false, "periods": [5, 2], "restart_weights": [1, 1], "min_lr": 0}"#, "lr_config.periods: CosineRestartLrUpdaterHook: progress 9 exceeds the cumulative periods (7 in all)"),
        (#""lr_config": {"policy": "CosineRestart", "periods": [1], "restart_weights": [1], "min_lr": 0}"#, "lr_config.periods: CosineRestartLrUpdaterHook: progress 1 exceeds the cumulative periods (1 in all)"),
        (#""lr_config": {"policy": "cyclic", "by_epoch": false, "cyclic_times": 11}"#, "lr_config.cyclic_times: CyclicLrUpdaterHook: max_iters 10 is less than cyclic_times 11"),
        (#""lr_config": {"policy": "OneCycle", "max_lr": {"Adam": [0.1]}}"#, "lr_config.max_lr: OneCycleLrUpdaterHook: max_lr has no entry \"SGD\""),
    ])
    func preflight(settings: String, expected: String) {
        let message = configErrorMessage(run(settings, epochs: 2, train: 5))
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }
}
