import HooktraceFormat

/// A built-in synthetic training run: the `call_hook` stream of an EpochBasedRunner with
/// seeded losses and timings, for the demo and the benchmark.
///
/// It is not the mmcv simulation (that is `hooktrace record`): the LR here follows a
/// simple step schedule with linear warmup, effects are only those the stream needs
/// (lr, log records every `logInterval`, a checkpoint per epoch), and values are shaped
/// to look like a real detector run. The defaults are mmdetection's Faster R-CNN 1x
/// shape: 12 epochs × 7330 iterations.
package struct SyntheticRun: Sendable {
    package var epochs = 12
    package var itersPerEpoch = 7330
    package var baseLR = 0.02
    package var steps = [8, 11]
    package var warmupIters = 500
    package var warmupRatio = 0.001
    package var logInterval = 50
    package var seed: UInt64 = 42

    package init() {}

    /// A small run (2 epochs × 20 iterations) for examples and tests.
    package static var tiny: SyntheticRun {
        var run = SyntheticRun()
        run.epochs = 2
        run.itersPerEpoch = 20
        run.steps = [1]
        run.warmupIters = 5
        run.logInterval = 5
        return run
    }

    /// Number of events `generate` emits.
    package var eventCount: Int {
        let total = epochs * itersPerEpoch
        let logs = epochs * (itersPerEpoch / max(1, logInterval))
        return 1 + 1 + epochs * 2 + total * 6 + logs + epochs * 2 + 1 + 1
    }

    private func lr(at iter: Int, epoch: Int) -> Double {
        let decays = steps.filter { epoch >= $0 }.count
        var value = baseLR
        for _ in 0..<decays { value *= 0.1 }
        if iter < warmupIters {
            let k = (1.0 - Double(iter) / Double(warmupIters)) * (1.0 - warmupRatio)
            value = value * (1.0 - k)
        }
        return value
    }

    /// Emits the run's events in order.
    package func generate(_ emit: (Event) throws -> Void) rethrows {
        var rng = SplitMix64(seed: seed)
        let hooks = [
            HookInfo(name: "StepLrUpdaterHook", type: "StepLrUpdaterHook", priority: 10,
                     config: #"{"policy":"step","step":\#(steps),"warmup":"linear","warmup_iters":\#(warmupIters),"warmup_ratio":\#(warmupRatio)}"#),
            HookInfo(name: "OptimizerHook", type: "OptimizerHook", priority: 40, config: #"{"grad_clip":null}"#),
            HookInfo(name: "CheckpointHook", type: "CheckpointHook", priority: 50, config: #"{"interval":1}"#),
            HookInfo(name: "IterTimerHook", type: "IterTimerHook", priority: 70, config: "{}"),
            HookInfo(name: "TextLoggerHook", type: "TextLoggerHook", priority: 90, config: #"{"interval":\#(logInterval)}"#),
        ]
        try emit(.runStart(RunStart(
            source: "synthetic", runner: "EpochBasedRunner", maxEpochs: epochs, maxIters: epochs * itersPerEpoch,
            workflow: [WorkflowPhase("train", 1)], loaders: [LoaderLength("train", itersPerEpoch)],
            paramGroups: [ParamGroup(group: 0, lr: baseLR, momentum: 0.9)], hooks: hooks, seed: seed,
            meta: [Field("model", .string("faster_rcnn_r50_fpn_1x_coco (synthetic)"))])))
        var now: Int64 = 1_000_000
        var iter = 0
        var inner = 0
        func call(_ stage: String, _ epoch: Int, _ mode: Mode) -> Event {
            .call(Call(stage: stage, epoch: epoch, iter: iter, innerIter: inner, mode: mode, time: now))
        }
        try emit(call("before_run", 0, .none))
        var loss = 2.4
        var sumLoss = 0.0, sumData = 0.0, sumTime = 0.0, n = 0
        for epoch in 0..<epochs {
            now += 3_000_000
            try emit(call("before_train_epoch", epoch, .train))
            var mark = now
            for i in 0..<itersPerEpoch {
                inner = i
                let firstOfEpoch = i == 0
                now += Int64(40_000_000 + rng.normal() * 4_000_000) + (firstOfEpoch ? 2_000_000_000 : 0)
                try emit(call("before_train_iter", epoch, .train))
                let currentLR = lr(at: iter, epoch: epoch)
                try emit(.effect(Effect(hook: "StepLrUpdaterHook", .setLR(optimizer: "", group: 0, value: currentLR))))
                let dataTime = Double(now - mark) / 1e9
                try emit(.observe(Observation(kind: .timing, name: "data_time", value: .double(dataTime))))
                // Loss decays and is noisy; float32 like a tensor's `.item()`.
                loss = max(0.2, loss * 0.99995 + rng.normal() * 0.002)
                let stepLoss = Double(Float(loss + rng.normal() * 0.08))
                try emit(.observe(Observation(kind: .logVar, name: "loss", value: .double(stepLoss))))
                now += Int64(260_000_000 + rng.normal() * 15_000_000)
                try emit(call("after_train_iter", epoch, .train))
                let iterTime = Double(now - mark) / 1e9
                mark = now
                try emit(.observe(Observation(kind: .timing, name: "time", value: .double(iterTime))))
                sumLoss += stepLoss; sumData += dataTime; sumTime += iterTime; n += 1
                if (i + 1) % logInterval == 0 {
                    let d = Double(n)
                    try emit(.effect(Effect(hook: "TextLoggerHook", .log([
                        Field("mode", .string("train")), Field("epoch", .int(Int64(epoch + 1))),
                        Field("iter", .int(Int64(i + 1))), Field("lr", .double(currentLR)),
                        Field("memory", .int(3_812)), Field("data_time", .double(sumData / d)),
                        Field("loss", .double(sumLoss / d)), Field("time", .double(sumTime / d)),
                    ]))))
                    sumLoss = 0; sumData = 0; sumTime = 0; n = 0
                }
                iter += 1
            }
            try emit(call("after_train_epoch", epoch, .train))
            let file = "epoch_\(epoch + 1).pth"
            try emit(.effect(Effect(hook: "CheckpointHook", .checkpointSave(path: file))))
            try emit(.effect(Effect(hook: "CheckpointHook", .checkpointLink(link: "latest.pth", target: file))))
        }
        now += 1_000_000_000
        try emit(call("after_run", epochs, .train))
        try emit(.runEnd(RunEnd(status: .completed)))
    }
}
