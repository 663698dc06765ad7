import HooktraceFormat

/// mmengine 0.10.7's runner, as a dialect of the simulator: the default hooks merged with
/// the config's `default_hooks`, then `custom_hooks`, registered by priority; the train
/// loop of `train_cfg` (`EpochBasedTrainLoop` or `IterBasedTrainLoop`) with its validation
/// schedule and, when `val_cfg` is given, the `ValLoop`.
///
/// The default hooks are simulated (RuntimeInfoHook, IterTimerHook and LoggerHook as log
/// records, ParamSchedulerHook, CheckpointHook; DistSamplerSeedHook has nothing a trace
/// shows), EMAHook and EarlyStoppingHook. Other known hooks whose work a trace cannot
/// show are called in order without effects; unknown types are too, with a warning.
package struct MMEngineDialect: Dialect {
    package var framework: Framework { .mmengine }
    let settings: MMEngineSettings

    package init(_ settings: MMEngineSettings) {
        self.settings = settings
    }

    // MARK: Hooks

    package func registerHooks(_ config: RunConfig, registry: HookRegistry, on runner: Runner) throws(HooktraceError) {
        runner.context.keepsStepOutputs = true
        runner.observesGradNorm = settings.wrappers.contains(where: \.clipsGradNorm)
        runner.context.messageHub.retain = historyRetained(config)
        for (key, entry) in settings.defaultHooks {
            try register(entry, path: "default_hooks.\(key)", on: runner, recordedStages: registry.recordedStages)
        }
        for (i, entry) in settings.customHooks.enumerated() {
            try register(entry, path: "custom_hooks[\(i)]", on: runner, recordedStages: registry.recordedStages)
        }
        // Runner.train builds the schedulers (each takes its first step) before before_run,
        // whether or not a ParamSchedulerHook is there to step them later.
        var schedulers: [ParamScheduler] = []
        var paths: [String] = []
        let maxEpochs = settings.kind == .epochBased ? (settings.maxEpochs ?? 0) : 1
        let epochLength = config.loaders.first(where: { $0.mode == "train" })!.length
        for (wrapper, entries, path) in settings.paramSchedulers {
            for (i, entry) in entries.enumerated() {
                var scheduler = try ParamScheduler(entry, path: "\(path)[\(i)]", maxEpochs: maxEpochs,
                                                   maxIters: settings.maxIters ?? maxEpochs * epochLength, epochLength: epochLength)
                scheduler.optimizer = wrapper
                // A list given for several wrappers is built once per wrapper: say its notes once.
                if wrapper == 0 || path != "param_scheduler" { runner.configWarnings += scheduler.notes }
                schedulers.append(scheduler)
                paths.append("\(path)[\(i)]")
            }
        }
        try ParamSchedulerHook.construct(&schedulers, paths: paths, runner.context)
        for entry in runner.hooks { (entry.hook as? ParamSchedulerHook)?.schedulers = schedulers }
    }

    /// The longest window any log record reads from the message hub's histories: the log
    /// processor's `window_size`, its custom items' windows (an "epoch" window: an epoch's
    /// batches in an epoch loop), and a validation's time window (its length + 1). A
    /// "global" window, a window of 0 or an iteration loop's "epoch" window (its batch
    /// index is the global iteration) read the whole history: everything is kept then.
    private func historyRetained(_ config: RunConfig) -> Int {
        let p = settings.logProcessor
        let train = config.loaders.first(where: { $0.mode == "train" })?.length ?? 0
        let val = config.loaders.first(where: { $0.mode == "val" })?.length ?? 0
        var longest = max(p.windowSize, val + 1)
        if p.windowSize <= 0 { return Int.max }
        for item in p.custom {
            switch item.window {
            case nil: break
            case .count(let n)?: if n <= 0 { return Int.max } else { longest = max(longest, n) }
            case .epoch?: if settings.kind == .iterBased { return Int.max } else { longest = max(longest, train, val + 1) }
            case .global?: return Int.max
            }
        }
        return longest
    }

    /// `Runner.register_hook`: a `priority` key of the config wins over the class's.
    private func register(_ entry: JSONValue, path: String, on runner: Runner, recordedStages: [String: Set<Stage>]) throws(HooktraceError) {
        guard case .string(let type) = entry["type"] ?? .null else {
            throw configError(path + ".type", "expected the hook's type name, got \(describeValue(entry["type"] ?? .null))")
        }
        let bare = type.split(separator: ".").last.map(String.init) ?? type
        var priority = (MMEngineHook.known[bare]?.priority ?? .normal).rawValue
        if let p = entry["priority"] { priority = try Priority.resolve(p, path: path + ".priority") }
        // `register_hook` pops `priority` before the hook is built.
        var config = entry
        if case .object(let members) = entry { config = .object(members.filter { $0.key != "priority" && $0.key != "type" }) }
        let hook: any Hook
        switch bare {
        case "CheckpointHook":
            var args = try ConfigArgs(config, path: path)
            hook = try MMEngineCheckpointHook(type, &args)
        case "LoggerHook":
            var args = try ConfigArgs(config, path: path)
            hook = try MMEngineLoggerHook(type, &args, processor: settings.logProcessor)
        case "RuntimeInfoHook":
            hook = MMEngineRuntimeInfoHook(type: type, config: entry)
        case "IterTimerHook":
            hook = MMEngineIterTimerHook(type: type, config: entry)
        case "ParamSchedulerHook":
            hook = ParamSchedulerHook(type: type, config: entry)
        case "EMAHook":
            var args = try ConfigArgs(config, path: path)
            hook = try MMEngineEMAHook(type, &args)
        case "EarlyStoppingHook":
            var args = try ConfigArgs(config, path: path)
            hook = try MMEngineEarlyStoppingHook(type, &args)
        default:
            hook = MMEngineHook(type: type, config: entry, recordedStages: recordedStages[bare] ?? recordedStages[type])
        }
        runner.register(hook, priority: priority, registered: entry)
    }

    // MARK: Loops

    /// `Runner.train`: `before_run`, then `load_or_resume` (its `load_checkpoint` calls
    /// `after_load_checkpoint`), then the train loop, then `after_run`.
    package func run(_ loop: Loop) throws(HooktraceError) {
        try call(.beforeRun, loop)
        // load_or_resume: load_checkpoint calls after_load_checkpoint; resume then loads the
        // optimizer's (and the schedulers', the hub's) state.
        let resuming = loop.resuming
        if settings.loadsCheckpoint || resuming { try call(.afterLoadCheckpoint, loop) }
        try loop.loadResumedState()
        // `optim_wrapper.initialize_count_status(model, train_loop.iter, train_loop.max_iters)`.
        let maxIters = settings.kind == .epochBased ? (settings.maxEpochs ?? 0) * loop.loaderLength("train") : (settings.maxIters ?? 0)
        // OptimWrapperDict's initialize_count_status does nothing: its wrappers count from 0
        // with no known end (no remainder: the loss is always divided by N, and a last
        // partial accumulation never steps).
        let single = settings.wrappers.count == 1
        var wrapper = settings.wrappers.map { Accumulation(counts: $0.accumulativeCounts, inner: single ? loop.iter : 0, max: single ? maxIters : -1) }
        switch settings.kind {
        case .epochBased: try runEpochBased(loop, &wrapper)
        case .iterBased: try runIterBased(loop, &wrapper)
        }
        try call(.afterRun, loop)
    }

    /// The OptimWrapper's gradient accumulation (`scale_loss`, `backward`,
    /// `should_update`): the loss is divided by `counts`, or by the remainder in the last
    /// `max % counts` iterations, and the optimizer steps when the inner count is a
    /// multiple of `counts` or reaches `max` (−1: not known, as in an OptimWrapperDict).
    struct Accumulation {
        let counts: Int
        var inner: Int
        let max: Int
        let remainder: Int
        var factor = 0

        init(counts: Int, inner: Int, max: Int) {
            self.counts = counts
            self.inner = inner
            self.max = max
            remainder = max < 0 ? 0 : max % counts
        }

        /// `update_params` up to the step: the loss factor (an effect when it changes),
        /// the inner count; whether the optimizer steps.
        @inline(__always)
        mutating func advance(_ loop: Loop, name: String) throws(HooktraceError) -> Bool {
            if counts > 1 {
                let factor = max < 0 || inner < max - remainder ? counts : remainder
                if factor != self.factor {
                    self.factor = factor
                    var fields = [Field("divide_loss_by", .int(Int64(factor)))]
                    if !name.isEmpty { fields.insert(Field("optimizer", .string(name)), at: 0) }
                    try loop.wrapperEffect(.custom(kind: "loss_factor", fields: fields))
                }
            }
            inner += 1
            return counts == 1 || inner % counts == 0 || inner == max
        }
    }

    /// One training step through the wrappers' `update_params` (one wrapper's: BaseModel's
    /// `train_step`; an OptimWrapperDict's: the model's own, each wrapper every
    /// `simulation.update_every` iterations, in the dict's order): the loss factor (an
    /// effect when it changes, with accumulation), the step's observations (a grad norm
    /// only when a wrapper clipping by norm steps), then whether each optimizer stepped, as
    /// an `optimizer_step` effect of the wrapper.
    @inline(__always)
    private func trainStep(_ loop: Loop, _ wrappers: inout [Accumulation]) throws(HooktraceError) {
        if wrappers.count == 1 {
            let update = try wrappers[0].advance(loop, name: "")
            loop.stepUpdates = update
            try loop.step(train: true)
            try loop.wrapperEffect(.optimizerStep(optimizer: "", stepped: update, gradNorm: update ? loop.gradNorm : nil))
            return
        }
        var updates: [Bool?] = []
        var clips = false
        for w in wrappers.indices {
            let name = settings.wrappers[w].name
            guard loop.simulation.updates(name, at: loop.iter) else { updates.append(nil); continue }
            let update = try wrappers[w].advance(loop, name: name)
            updates.append(update)
            clips = clips || update && settings.wrappers[w].clipsGradNorm
        }
        loop.stepUpdates = clips
        try loop.step(train: true)
        for (w, update) in updates.enumerated() {
            guard let update else { continue }
            let norm = update && settings.wrappers[w].clipsGradNorm ? loop.gradNorm : nil
            try loop.wrapperEffect(.optimizerStep(optimizer: settings.wrappers[w].name, stepped: update, gradNorm: norm))
        }
    }

    /// `call_hook(stage)` with the counters mmengine's hooks see there: the mode a
    /// recording of a real run gives the call (from the stage's name) and `batch_idx`
    /// for iteration stages (0 elsewhere).
    @inline(__always)
    private func call(_ stage: Stage, _ loop: Loop, batch: Int = 0) throws(HooktraceError) {
        loop.mode = Self.mode(of: stage)
        loop.innerIter = batch
        try loop.call(stage)
    }

    /// The mode a recording gives a stage: from "train", "val" or "test" in its name.
    static func mode(of stage: Stage) -> Mode {
        switch stage {
        case .beforeTrain, .afterTrain, .beforeTrainEpoch, .afterTrainEpoch, .beforeTrainIter, .afterTrainIter: .train
        case .beforeVal, .afterVal, .beforeValEpoch, .afterValEpoch, .beforeValIter, .afterValIter: .val
        case .beforeTest, .afterTest, .beforeTestEpoch, .afterTestEpoch, .beforeTestIter, .afterTestIter: .test
        default: .none
        }
    }

    /// `EpochBasedTrainLoop.run`.
    private func runEpochBased(_ loop: Loop, _ wrapper: inout [Accumulation]) throws(HooktraceError) {
        let maxEpochs = settings.maxEpochs ?? 0
        let length = loop.loaderLength("train")
        loop.maxIters = maxEpochs * length
        try call(.beforeTrain, loop)
        while loop.epoch < maxEpochs && !loop.stopTraining {
            loop.dataLoaderLength = length
            try loop.crashPoint(epochs: loop.epoch, iters: loop.iter)
            try call(.beforeTrainEpoch, loop)
            for batch in 0..<length {
                if batch > 0 { try loop.crashPoint(iters: loop.iter) }
                loop.pass(.dataLoad)
                try call(.beforeTrainIter, loop, batch: batch)
                try trainStep(loop, &wrapper)
                try call(.afterTrainIter, loop, batch: batch)
                loop.iter += 1
            }
            try call(.afterTrainEpoch, loop)
            loop.epoch += 1
            if settings.validates(after: loop.epoch, of: maxEpochs) { try runVal(loop) }
        }
        try call(.afterTrain, loop)
    }

    /// `IterBasedTrainLoop.run`: `runner.epoch` stays 0; `batch_idx` is the global
    /// iteration; the loader wraps around on its own epoch counter, sleeping 2 s there (the
    /// only sleep of mmengine's loops; mmcv's runner also sleeps at each epoch's start).
    private func runIterBased(_ loop: Loop, _ wrapper: inout [Accumulation]) throws(HooktraceError) {
        let maxIters = settings.maxIters ?? 0
        let length = loop.loaderLength("train")
        loop.maxIters = maxIters
        loop.maxEpochs = 1  // IterBasedTrainLoop's constant
        try call(.beforeTrain, loop)
        loop.dataLoaderLength = length
        try call(.beforeTrainEpoch, loop)
        // A resumed loop advances its loader past the iterations done (wrapping, with the
        // loader's 2 s sleep, at each of its epochs' ends on the way).
        var position = 0
        if loop.iter > 0 && length > 0 && !loop.trainInfinite {
            for _ in 0..<((loop.iter - 1) / length) { loop.pass(.sleep(2_000_000_000)) }
            position = (loop.iter - 1) % length + 1
        }
        while loop.iter < maxIters && !loop.stopTraining {
            try loop.crashPoint(iters: loop.iter)
            if position == length && !loop.trainInfinite {
                loop.pass(.sleep(2_000_000_000))
                position = 0
            }
            position += 1
            loop.pass(.dataLoad)
            let batch = loop.iter
            loop.dataLoaderLength = length
            try call(.beforeTrainIter, loop, batch: batch)
            try trainStep(loop, &wrapper)
            try call(.afterTrainIter, loop, batch: batch)
            loop.iter += 1
            if settings.validates(after: loop.iter, of: maxIters) { try runVal(loop) }
        }
        try call(.afterTrainEpoch, loop)
        try call(.afterTrain, loop)
    }

    /// `ValLoop.run`: no counter changes.
    private func runVal(_ loop: Loop) throws(HooktraceError) {
        let length = loop.loaderLength("val")
        try call(.beforeVal, loop)
        loop.dataLoaderLength = length
        try call(.beforeValEpoch, loop)
        for batch in 0..<length {
            loop.pass(.dataLoad)
            try call(.beforeValIter, loop, batch: batch)
            try loop.step(train: false)
            try call(.afterValIter, loop, batch: batch)
        }
        try loop.evaluate(batches: length)
        try call(.afterValEpoch, loop)
        try call(.afterVal, loop)
        loop.dataLoaderLength = loop.loaderLength("train")
    }
}

/// A hook of mmengine's (or of an OpenMMLab 2.x project), with the stages its class
/// overrides and its class priority, read from mmengine 0.10.7's and mmdetection 3.3.0's
/// sources; its work is not
/// simulated yet. A type hooktrace does not know has no known stages (it is in the run's
/// hook list but in no stage's listing) and NORMAL priority.
package final class MMEngineHook: Hook, IgnoresSettings {
    package let type: String
    package let config: JSONValue
    package let methods: Set<Stage>
    package let classPriority: Int
    /// What the run misses by this hook being passive (said once, as a warning).
    package let ignoredSettings: [String]

    /// Overridden methods (a generic one, e.g. `.beforeEpoch`, stands for `_before_epoch`)
    /// and class priority of mmengine's hooks.
    static let known: [String: (methods: Set<Stage>, priority: Priority)] = [
        "RuntimeInfoHook": ([.beforeRun, .beforeTrain, .afterTrain, .beforeTrainEpoch, .beforeTrainIter, .afterTrainIter,
                             .beforeVal, .afterValEpoch, .afterVal, .beforeTest, .afterTest, .afterTestEpoch], .veryHigh),
        "IterTimerHook": ([.beforeTrain, .beforeEpoch, .afterEpoch, .beforeIter, .afterIter], .normal),
        "DistSamplerSeedHook": ([.beforeTrainEpoch], .normal),
        "LoggerHook": ([.beforeRun, .afterTrainIter, .afterValIter, .afterTestIter, .afterValEpoch, .afterTestEpoch, .afterRun], .belowNormal),
        "ParamSchedulerHook": ([.afterTrainIter, .afterTrainEpoch, .afterValEpoch], .low),
        "CheckpointHook": ([.beforeTrain, .afterTrainEpoch, .afterValEpoch, .afterTrain, .afterTrainIter], .veryLow),
        "EMAHook": ([.beforeRun, .beforeTrain, .afterTrainIter, .beforeValEpoch, .afterValEpoch, .beforeTestEpoch,
                     .afterTestEpoch, .beforeSaveCheckpoint, .afterLoadCheckpoint], .normal),
        "EmptyCacheHook": ([.afterIter, .beforeEpoch, .afterEpoch], .normal),
        "SyncBuffersHook": ([.beforeValEpoch, .afterTrainEpoch], .normal),
        "NaiveVisualizationHook": ([.beforeTrain, .afterTestIter], .normal),
        "EarlyStoppingHook": ([.beforeRun, .afterValEpoch], .lowest),
        "ProfilerHook": ([.beforeRun, .afterTrainEpoch, .afterTrainIter], .veryLow),
        "NPUProfilerHook": ([.beforeRun, .beforeTrainIter, .afterTrainIter], .veryLow),
        // mmdetection 3.3.0's (mmdet/engine/hooks): no class priority, so NORMAL.
        "CheckInvalidLossHook": ([.afterTrainIter], .normal),
        "MeanTeacherHook": ([.beforeTrain, .afterTrainIter], .normal),
        "MemoryProfilerHook": ([.afterTrainIter, .afterValIter, .afterTestIter], .normal),
        "NumClassCheckHook": ([.beforeTrainEpoch, .beforeValEpoch], .normal),
        "PipelineSwitchHook": ([.beforeTrainEpoch], .normal),
        "SetEpochInfoHook": ([.beforeTrainEpoch], .normal),
        "SyncNormHook": ([.beforeValEpoch], .normal),
        "DetVisualizationHook": ([.afterValIter, .afterTestIter], .normal),
        "TrackVisualizationHook": ([.afterValIter, .afterTestIter], .normal),
        "GroundingVisualizationHook": ([.afterValIter, .afterTestIter], .normal),
        "YOLOXModeSwitchHook": ([.beforeTrainEpoch], .normal),
    ]

    package init(type: String, config: JSONValue, recordedStages: Set<Stage>? = nil) {
        self.type = type
        self.config = config
        // A scope prefix (`mmengine.`, `mmdet.`) names the registry, not another class.
        let bare = type.split(separator: ".").last.map(String.init) ?? type
        let entry = Self.known[bare]
        methods = entry?.methods ?? recordedStages ?? []
        classPriority = (entry?.priority ?? .normal).rawValue
        ignoredSettings = entry != nil ? []
            : recordedStages != nil ? ["hook type \(type) is not known to hooktrace; kept as a passive hook under the stages its recording lists (no effects)"]
            : ["hook type \(type) is not known to hooktrace; kept as a passive hook (called in no stage's order, no effects)"]
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {}
}
