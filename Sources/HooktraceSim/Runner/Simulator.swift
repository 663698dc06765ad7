import HooktraceFormat

/// Builds a simulated run from a config the way mmcv's `register_training_hooks` and
/// mmdetection's `train_detector` do, and records it.
package enum Simulator {
    /// The runner with every hook registered, and the run_start event describing it.
    package static func prepare(_ config: RunConfig, registry: HookRegistry = .standard, inputs: (any RunInputs)? = nil,
                               sink: @escaping (Event) throws(HooktraceError) -> Void) throws(HooktraceError) -> (Runner, RunStart) {
        try prepare(config, registry: registry, inputs: inputs, to: EventSink(sink))
    }

    /// ``prepare(_:registry:inputs:sink:)`` for a run whose records go to `sink` as they are.
    package static func prepare(_ config: RunConfig, registry: HookRegistry = .standard, inputs: (any RunInputs)? = nil,
                               to sink: any RunSink) throws(HooktraceError) -> (Runner, RunStart) {
        let runner = Runner(
            kind: config.kind, maxEpochs: config.maxEpochs, maxIters: config.maxIters, workflow: config.workflow,
            loaders: config.loaders, optimizers: config.optimizers, isDictOptimizer: config.isDictOptimizer,
            workDir: config.workDir, experimentName: config.name + ".py", simulation: config.simulation, inputs: inputs, sink: sink)
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
            runner.register(try registry.build(try fp16OptimizerConfig(optimizer: json["optimizer_config"], fp16: fp16), path: "optimizer_config", context: context),
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
        if let cfg = present("evaluation") {
            var args = try ConfigArgs(cfg, path: "evaluation")
            let givenByEpoch = args.pop("by_epoch")  // mmdetection sets it from the runner type
            let hook = try EvalHook("EvalHook", &args, byEpoch: !iterBased, evalLength: context.valLength)
            if let given = givenByEpoch, given != .null, given != .bool(!iterBased) {
                hook.ignoredSettings.insert("evaluation.by_epoch: mmdetection sets it from the runner type (\(!iterBased) for \(config.kind.rawValue)); \(describeValue(given)) is ignored", at: 0)
            }
            runner.register(hook, priority: Priority.low.rawValue)
        }
        runner.configWarnings = config.warnings
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
        let runStart = RunStart(
            source: "simulated", runner: config.kind.rawValue, maxEpochs: config.maxEpochs, maxIters: config.maxIters,
            workflow: config.workflow, loaders: config.loaders,
            paramGroups: config.optimizers.flatMap { o in
                o.groups.enumerated().map { ParamGroup(optimizer: o.name, group: $0.offset, lr: $0.element.lr, momentum: $0.element.currentMomentum) }
            },
            hooks: runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, config: $0.hook.config.compact, stages: Self.recordedStages($0.hook)) },
            seed: config.simulation.seed, config: config.json.compact,
            meta: [Field("work_dir", .string(config.workDir)), Field("exp_name", .string(config.name + ".py"))])
        return (runner, runStart)
    }

    /// Runs the simulation, sending every event to `sink`. A hook failure mid-run is
    /// recorded as a failed `run_end` and rethrown.
    @discardableResult
    package static func record(_ config: RunConfig, registry: HookRegistry = .standard, inputs: (any RunInputs)? = nil,
                              meta: [Field] = [],
                              sink: @escaping (Event) throws(HooktraceError) -> Void) throws(HooktraceError) -> Runner {
        try record(config, registry: registry, inputs: inputs, meta: meta, to: EventSink(sink))
    }

    /// ``record(_:registry:inputs:meta:sink:)`` with the records going to `sink` as they are
    /// (names as symbols: what a trace writer takes without building events).
    @discardableResult
    package static func record(_ config: RunConfig, registry: HookRegistry = .standard, inputs: (any RunInputs)? = nil,
                              meta: [Field] = [], to sink: any RunSink) throws(HooktraceError) -> Runner {
        var (runner, runStart) = try prepare(config, registry: registry, inputs: inputs, to: sink)
        runStart.meta += meta
        do {
            try runner.run(runStart: runStart)
        } catch {
            try sink.event(.runEnd(RunEnd(status: .failed, exitCode: 1, message: error.message)))
            throw error
        }
        return runner
    }

    /// A hook's stages as the trace records them; nil for a passive hook of a type whose
    /// stages hooktrace does not know.
    static func recordedStages(_ hook: any Hook) -> [String]? {
        if let passive = hook as? PassiveHook, passive.methods.isEmpty { return nil }
        return hook.triggeredStages.map(\.rawValue)
    }

    /// mmcv's `get_hook_info()` listing of `runner`'s hooks.
    package static func hookListing(_ runner: Runner) -> String {
        hookListing(runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, stages: recordedStages($0.hook)) })
    }

    /// mmcv's hook listing (`runner.get_hook_info()`) of a run's hooks, in their order: per
    /// stage, the hooks acting on it with their priority. Built from the stages recorded in
    /// the trace (hooks whose stages were not recorded are left out), so a view never
    /// re-runs a simulation to print it.
    package static func hookListing(_ hooks: [HookInfo]) -> String {
        var order = Stage.listed.map(\.rawValue)
        for h in hooks { for s in h.stages ?? [] where !order.contains(s) { order.append(s) } }
        var blocks: [String] = []
        for stage in order {
            let lines = hooks.filter { $0.stages?.contains(stage) == true }.map { h in
                "(" + pad(Priority.label(h.priority), 12) + ") " + pad(h.type, 35)
            }
            guard !lines.isEmpty else { continue }
            blocks.append(stage + ":\n" + lines.joined(separator: "\n") + "\n -------------------- ")
        }
        return blocks.joined(separator: "\n")
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
}
