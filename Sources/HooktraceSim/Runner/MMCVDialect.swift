import HooktraceFormat

/// mmcv 1.x's runner, as a dialect of the simulator: hooks registered the way
/// `register_training_hooks` and mmdetection 2.x's `train_detector` do, and the loops of
/// `EpochBasedRunner` and `IterBasedRunner` over a `workflow`.
package struct MMCVDialect: Dialect {
    package var framework: Framework { .mmcv }

    package init() {}

    // MARK: Hooks

    package func registerHooks(_ config: RunConfig, registry: HookRegistry, on runner: Runner) throws(HooktraceError) {
        let context = HookBuildContext(runnerKind: config.kind, isDictOptimizer: config.isDictOptimizer,
                                       valLength: config.loaders.first(where: { $0.mode == "val" })?.length ?? 0)
        let json = config.json
        let iterBased = config.kind == .iterBased
        func present(_ key: String) -> JSONValue? {
            guard let v = json[key], v != .null else { return nil }
            return v
        }
        func setDefault(_ v: JSONValue, _ key: String, _ value: JSONValue) -> JSONValue {
            guard case .object(var members) = v else { return v }
            if !members.contains(where: { $0.key == key }) { members.append((key, value)) }
            return .object(members)
        }
        func withType(_ v: JSONValue, _ type: String) -> JSONValue {
            guard case .object(var members) = v else { return v }
            members.removeAll { $0.key == "type" }
            members.insert(("type", .string(type)), at: 0)
            return .object(members)
        }

        // LR (VERY_HIGH) and momentum (HIGH): policy → type.
        for (key, suffix, priority) in [("lr_config", "LrUpdaterHook", Priority.veryHigh), ("momentum_config", "MomentumUpdaterHook", .high)] {
            guard var cfg = present(key) else { continue }
            guard case .object(var members) = cfg else { throw configError(key, "expected an object with a \"policy\", got \(describeValue(cfg))") }
            guard let policyValue = members.first(where: { $0.key == "policy" })?.value else {
                throw configError(key, "must contain \"policy\" (e.g. \"step\"); mmcv asserts this")
            }
            guard case .string(let policy) = policyValue else { throw configError(key + ".policy", "expected a string, got \(describeValue(policyValue))") }
            members.removeAll { $0.key == "policy" || $0.key == "type" }
            let type = ScheduleHook.normalisePolicy(policy) + suffix
            cfg = withType(.object(members), type)
            if iterBased && key == "lr_config" { cfg = setDefault(cfg, "by_epoch", .bool(false)) }
            if !registry.contains(type) && !registry.knownNames.contains(type) {
                let policies = registry.knownNames.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }
                throw configError(key + ".policy", "\"\(policy)\" names \(type), which is not in the hook registry (mmcv raises KeyError)"
                    + suggestion(ScheduleHook.normalisePolicy(policy), policies) + "; multi-word policies must be CamelCase, e.g. \"CosineAnnealing\"")
            }
            runner.register(try registry.build(cfg, path: key, context: context), priority: priority.rawValue)
        }
        if let fp16 = present("fp16") {
            // mmdetection's train_detector: Fp16OptimizerHook(**optimizer_config, **fp16, distributed=...).
            runner.register(try registry.build(try Self.fp16OptimizerConfig(optimizer: json["optimizer_config"], fp16: fp16), path: "optimizer_config", context: context),
                            priority: Priority.aboveNormal.rawValue)
        } else if let cfg = present("optimizer_config") {
            runner.register(try registry.build(setDefault(cfg, "type", .string("OptimizerHook")), path: "optimizer_config", context: context),
                            priority: Priority.aboveNormal.rawValue)
        }
        if var cfg = present("checkpoint_config") {
            cfg = setDefault(cfg, "type", .string("CheckpointHook"))
            if iterBased { cfg = setDefault(cfg, "by_epoch", .bool(false)) }
            runner.register(try registry.build(cfg, path: "checkpoint_config", context: context), priority: Priority.normal.rawValue)
        }
        runner.register(try registry.build(.object([("type", .string("IterTimerHook"))]), path: "timer", context: context),
                        priority: Priority.low.rawValue)
        if let cfg = present("log_config") {
            var args = try ConfigArgs(cfg, path: "log_config")
            guard let interval = args.raw("interval"), interval != .null else { throw configError("log_config.interval", "missing: how many iterations between log records") }
            guard case .int = interval else { throw configError("log_config.interval", "expected an integer, got \(describeValue(interval))") }
            guard let hooks = args.raw("hooks"), case .array(let entries) = hooks else {
                throw configError("log_config.hooks", "expected a list of logger configs such as [{\"type\": \"TextLoggerHook\"}]")
            }
            // mmcv's register_logger_hooks reads interval and hooks only; it ignores the rest.
            for key in args.keys where key != "interval" && key != "hooks" {
                runner.configNotes.append("log_config.\(key) is not read by mmcv's register_logger_hooks (only interval and hooks are); ignored, as mmcv does")
            }
            for (i, entry) in entries.enumerated() {
                var e = entry
                if iterBased { e = setDefault(e, "by_epoch", .bool(false)) }
                // Programs register their own loggers (custom_imports): an unknown one is kept
                // as a passive logger, like an unknown custom hook.
                runner.register(try registry.build(e, path: "log_config.hooks[\(i)]", defaults: [("interval", interval)], context: context,
                                                   allowPassive: true, logger: true),
                                priority: Priority.veryLow.rawValue)
            }
        }
        if let cfg = present("custom_hooks") {
            let entries: [JSONValue]
            if case .array(let items) = cfg { entries = items } else { entries = [cfg] }
            for (i, entry) in entries.enumerated() {
                let path = "custom_hooks[\(i)]"
                var priority = Priority.normal.rawValue
                if let p = entry["priority"] { priority = try Priority.resolve(p, path: path + ".priority") }
                runner.register(try registry.build(entry, path: path, context: context, allowPassive: true), priority: priority)
            }
        }
        let distributed = config.launch.gpus > 1
        if distributed && !iterBased {
            // mmdetection's train_detector, after the training hooks: the sampler's epoch.
            runner.register(try registry.build(.object([("type", .string("DistSamplerSeedHook"))]), path: "launch.gpus", context: context),
                            priority: Priority.normal.rawValue)
        }
        if config.evaluates {
            // mmdetection's train_detector: EvalHook (DistEvalHook when distributed) with
            // `evaluation`'s settings, or its defaults when the config has none.
            let cfg = present("evaluation") ?? .object([])
            var args = try ConfigArgs(cfg, path: "evaluation")
            let givenByEpoch = args.pop("by_epoch")  // mmdetection sets it from the runner type
            let hook = try EvalHook(distributed ? "DistEvalHook" : "EvalHook", &args, byEpoch: !iterBased, evalLength: context.valLength)
            if let given = givenByEpoch, given != .null, given != .bool(!iterBased) {
                hook.ignoredSettings.insert("evaluation.by_epoch: mmdetection sets it from the runner type (\(!iterBased) for \(config.kind.rawValue)); \(describeValue(given)) is ignored", at: 0)
            }
            runner.register(hook, priority: Priority.low.rawValue)
        }
        for (i, entry) in runner.hooks.enumerated() {
            guard let schedule = entry.hook as? ScheduleHook else { continue }
            try runner.acting(as: i) { context throws(HooktraceError) in try schedule.preflight(context) }
        }
        runner.observesGradNorm = runner.hooks.contains { entry in
            (entry.hook as? OptimizerHook)?.gradClip == true || (entry.hook as? GradientCumulativeOptimizerHook)?.gradClip == true
        }
        if iterBased {
            for entry in runner.hooks {
                if let lr = entry.hook as? ScheduleHook, lr.warmupIters == nil {
                    throw configError("lr_config.warmup_by_epoch", "IterBasedRunner has no train epochs, so mmcv never converts warmup epochs to iterations and fails at the first iteration; set warmup_by_epoch to false")
                }
            }
        }
    }

    /// The optimizer hook config mmdetection builds when a config has `fp16`: the keys of
    /// `optimizer_config` and of `fp16` become keyword arguments of Fp16OptimizerHook.
    static func fp16OptimizerConfig(optimizer: JSONValue?, fp16: JSONValue) throws(HooktraceError) -> JSONValue {
        guard case .object(let extra) = fp16 else {
            throw configError("fp16", "expected an object such as {\"loss_scale\": 512.0} or {\"loss_scale\": \"dynamic\"}, got \(describeValue(fp16))")
        }
        guard let optimizer, optimizer != .null else {
            throw configError("optimizer_config", "fp16 training needs an optimizer_config (mmdetection passes its keys to Fp16OptimizerHook and fails without it); add \"optimizer_config\": {\"grad_clip\": null}")
        }
        guard case .object(let base) = optimizer else {
            throw configError("optimizer_config", "expected an object, got \(describeValue(optimizer))")
        }
        if base.contains(where: { $0.key == "type" }) {
            throw configError("optimizer_config.type", "with fp16 set, mmdetection builds Fp16OptimizerHook from optimizer_config's keys, and a \"type\" among them fails (TypeError); remove it, or remove fp16 and name the hook here (e.g. \"GradientCumulativeFp16OptimizerHook\")")
        }
        if let scale = extra.first(where: { $0.key == "loss_scale" })?.value { try checkLossScale(scale, path: "fp16.loss_scale") }
        for (key, _) in extra where base.contains(where: { $0.key == key }) {
            throw configError("fp16.\(key)", "is also set in optimizer_config; mmdetection passes both as keyword arguments (TypeError: multiple values); keep one")
        }
        return .object([("type", .string("Fp16OptimizerHook"))] + base + extra)
    }

    // MARK: Loops

    package func run(_ loop: Loop) throws(HooktraceError) {
        switch loop.kind {
        case .epochBased: try runEpochBased(loop)
        case .iterBased: try runIterBased(loop)
        }
    }

    private func runEpochBased(_ loop: Loop) throws(HooktraceError) {
        guard let maxEpochs = loop.maxEpochs else { throw HooktraceError(.invalidInput, "EpochBasedRunner needs runner.max_epochs") }
        let workflow = loop.workflow
        if let train = workflow.first(where: { $0.mode == "train" }) { loop.maxIters = maxEpochs * loop.loaderLength(train.mode) }
        try loop.call(.beforeRun)
        while loop.epoch < maxEpochs {
            for phase in workflow {
                for _ in 0..<phase.count {
                    if phase.mode == "train" && loop.epoch >= maxEpochs { break }
                    if phase.mode == "train" {
                        try trainEpoch(loop, length: loop.loaderLength(phase.mode), maxEpochs: maxEpochs)
                    } else {
                        try valEpoch(loop, length: loop.loaderLength(phase.mode))
                    }
                }
            }
        }
        loop.pass(.sleep(1_000_000_000))
        try loop.call(.afterRun)
    }

    private func trainEpoch(_ loop: Loop, length: Int, maxEpochs: Int) throws(HooktraceError) {
        loop.mode = .train
        loop.dataLoaderLength = length
        loop.maxIters = maxEpochs * length
        try loop.crashPoint(epochs: loop.epoch, iters: loop.iter)
        try loop.call(.beforeTrainEpoch)
        loop.pass(.sleep(2_000_000_000))
        for i in 0..<length {
            if i > 0 { try loop.crashPoint(iters: loop.iter) }
            loop.pass(.dataLoad)
            loop.innerIter = i
            try loop.call(.beforeTrainIter)
            try loop.step(train: true)
            try loop.call(.afterTrainIter)
            loop.iter += 1
        }
        try loop.call(.afterTrainEpoch)
        loop.epoch += 1
    }

    private func valEpoch(_ loop: Loop, length: Int) throws(HooktraceError) {
        loop.mode = .val
        loop.dataLoaderLength = length
        try loop.call(.beforeValEpoch)
        loop.pass(.sleep(2_000_000_000))
        for i in 0..<length {
            loop.pass(.dataLoad)
            loop.innerIter = i
            try loop.call(.beforeValIter)
            try loop.step(train: false)
            try loop.call(.afterValIter)
        }
        try loop.call(.afterValEpoch)
    }

    /// mmcv's `IterLoader`: wraps around its data loader, counting epochs.
    private struct IterLoader {
        let length: Int
        /// An infinite sampler (mmdetection 2.x's InfiniteGroupBatchSampler): never exhausted.
        var infinite = false
        var position = 0
        var epoch = 0
    }

    private func next(_ loader: inout IterLoader, _ loop: Loop) {
        if loader.position >= loader.length && !loader.infinite {
            loader.epoch += 1
            loop.pass(.sleep(2_000_000_000))
            loader.position = 0
        }
        loader.position += 1
        loop.pass(.dataLoad)
    }

    private func runIterBased(_ loop: Loop) throws(HooktraceError) {
        guard let maxIters = loop.maxIters else { throw HooktraceError(.invalidInput, "IterBasedRunner needs runner.max_iters") }
        let workflow = loop.workflow
        try loop.call(.beforeRun)
        var iterLoaders = workflow.map { IterLoader(length: loop.loaderLength($0.mode), infinite: $0.mode == "train" && loop.trainInfinite) }
        try loop.call(.beforeEpoch)
        while loop.iter < maxIters {
            for (i, phase) in workflow.enumerated() {
                loop.innerIter = 0
                for _ in 0..<phase.count {
                    if phase.mode == "train" && loop.iter >= maxIters { break }
                    if phase.mode == "train" {
                        loop.mode = .train
                        loop.dataLoaderLength = iterLoaders[i].length
                        loop.epoch = iterLoaders[i].epoch
                        try loop.crashPoint(iters: loop.iter)
                        next(&iterLoaders[i], loop)
                        try loop.call(.beforeTrainIter)
                        try loop.step(train: true)
                        try loop.call(.afterTrainIter)
                        loop.innerIter += 1
                        loop.iter += 1
                    } else {
                        loop.mode = .val
                        loop.dataLoaderLength = iterLoaders[i].length
                        next(&iterLoaders[i], loop)
                        try loop.call(.beforeValIter)
                        try loop.step(train: false)
                        try loop.call(.afterValIter)
                        loop.innerIter += 1
                    }
                }
            }
        }
        loop.pass(.sleep(1_000_000_000))
        try loop.call(.afterEpoch)
        try loop.call(.afterRun)
    }
}
