import HooktraceFormat

/// What a hook builder may need to know about the run it is built for.
package struct HookBuildContext: Sendable {
    package var runnerKind: Runner.Kind
    package var isDictOptimizer: Bool
    /// Length of the validation loader (EvalHook's dataloader).
    package var valLength: Int
}

/// mmcv's `HOOKS` registry: hook types by name, and `build_from_cfg`.
///
/// ```swift
/// var registry = HookRegistry.standard
/// try registry.register("MyHook") { args, context in try MyHook(&args) }
/// ```
package struct HookRegistry: Sendable {
    package typealias Builder = @Sendable (_ type: String, _ args: inout ConfigArgs, _ context: HookBuildContext) throws(HooktraceError) -> any Hook

    private var builders: [String: Builder] = [:]
    /// Registered names in registration order.
    package private(set) var names: [String] = []
    /// Types mmcv knows but the simulation does not implement yet, with the reason.
    private var unsupported: [String: String] = [:]
    /// The stages a recording lists for hook types hooktrace does not know (their
    /// `get_triggered_stages()` in the recorded run): a replay keeps such a hook passive
    /// under these stages.
    package var recordedStages: [String: Set<Stage>] = [:]

    package init() {}

    /// Registers a hook type. Like mmcv, an existing name is an error unless `force`.
    package mutating func register(_ name: String, force: Bool = false, _ builder: @escaping Builder) throws(HooktraceError) {
        if builders[name] != nil && !force {
            throw HooktraceError(.usage, "\(name) is already registered in the hook registry; pass force: true to replace it")
        }
        if builders[name] == nil { names.append(name) }
        builders[name] = builder
        unsupported[name] = nil
    }

    mutating func markUnsupported(_ name: String, _ why: String) {
        unsupported[name] = why
    }

    package func contains(_ name: String) -> Bool { builders[name] != nil }

    /// Every type name that a config may use (simulated or known-unsupported).
    package var knownNames: [String] { names + unsupported.keys.sorted() }

    /// `build_from_cfg(cfg, HOOKS, default_args)` with mmcv's checks in mmcv's order.
    ///
    /// Unknown types that look like a typo of a known one are an error ("did you mean");
    /// other unknown types become passive hooks when `allowPassive` (custom hooks).
    package func build(_ cfg: JSONValue, path: String, defaults: [(String, JSONValue)] = [], context: HookBuildContext,
                      allowPassive: Bool = false, logger: Bool = false) throws(HooktraceError) -> any Hook {
        guard case .object = cfg else {
            throw configError(path, "a hook config must be an object with a \"type\", got \(describeValue(cfg))")
        }
        var args = try ConfigArgs(cfg, path: path)
        for (k, v) in defaults { args.setDefault(k, v) }
        guard let typeValue = args.pop("type") else {
            throw configError(path, "the config must contain the key \"type\" naming a hook class, e.g. {\"type\": \"CheckpointHook\"}")
        }
        guard case .string(let type) = typeValue else {
            throw configError(path + ".type", "expected the name of a hook type, got \(describeValue(typeValue))")
        }
        _ = args.pop("priority")
        if let builder = builders[type] {
            let hook = try builder(type, &args, context)
            try args.finish(owner: type)
            return hook
        }
        if let why = unsupported[type] {
            throw configError(path + ".type", "\(type) is not simulated yet: \(why)")
        }
        if type == "EvalHook" || type == "DistEvalHook" {
            throw configError(path + ".type", "\(type) is not in mmcv's hook registry (mmcv raises KeyError); configure evaluation with the top-level \"evaluation\" key instead")
        }
        if let typo = likelyTypo(type, of: knownNames) {
            throw configError(path + ".type", "\(type) is not in the hook registry (did you mean \"\(typo)\"?)")
        }
        if !allowPassive {
            throw configError(path + ".type", "\(type) is not in the hook registry" + suggestion(type, knownNames))
        }
        return PassiveHook(type: type, config: args.value, isLogger: logger, recordedStages: recordedStages[type])
    }

    /// The hooks of mmcv 1.7 that hooktrace simulates.
    package static let standard: HookRegistry = {
        var r = HookRegistry()
        func add(_ name: String, _ b: @escaping Builder) { try! r.register(name, b) }
        for policy in ScheduleHook.lrPolicies {
            add("\(policy)LrUpdaterHook") { t, a, _ throws(HooktraceError) in try ScheduleHook.build(t, &a) }
        }
        for policy in ScheduleHook.momentumPolicies {
            add("\(policy)MomentumUpdaterHook") { t, a, _ throws(HooktraceError) in try ScheduleHook.build(t, &a) }
        }
        for fp16 in [false, true] {
            let name = fp16 ? "Fp16OptimizerHook" : "OptimizerHook"
            add(name) { t, a, c throws(HooktraceError) in
                if c.isDictOptimizer {
                    throw configError(a.path, "\(name) steps a single optimizer; with a dict of optimizers mmcv fails (AttributeError). Set optimizer_config to null and use a custom hook")
                }
                return try OptimizerHook(t, &a, fp16: fp16)
            }
            add(fp16 ? "GradientCumulativeFp16OptimizerHook" : "GradientCumulativeOptimizerHook") { t, a, _ throws(HooktraceError) in
                try GradientCumulativeOptimizerHook(t, &a, fp16: fp16)
            }
        }
        add("CheckpointHook") { t, a, _ throws(HooktraceError) in try CheckpointHook(t, &a) }
        add("IterTimerHook") { t, a, _ throws(HooktraceError) in IterTimerHook(t, &a) }
        add("EMAHook") { t, a, _ throws(HooktraceError) in try EMAHook(t, &a) }
        // mmdetection 2.x adds these to mmcv's registry when it is imported.
        for name in MomentumEMAHook.types {
            add(name) { t, a, _ throws(HooktraceError) in try MomentumEMAHook(t, &a) }
        }
        for name in LoggerHook.backends + LoggerHook.subclasses.keys.sorted() {
            add(name) { t, a, _ throws(HooktraceError) in try LoggerHook(t, &a) }
        }
        add("SyncBuffersHook") { t, a, _ throws(HooktraceError) in
            try InertHook(t, methods: [.afterEpoch], &a, parameters: ["distributed"])
        }
        add("EmptyCacheHook") { t, a, _ throws(HooktraceError) in
            try InertHook(t, methods: [.beforeEpoch, .afterEpoch, .afterIter], &a, parameters: ["before_epoch", "after_epoch", "after_iter"])
        }
        add("DistSamplerSeedHook") { t, a, _ throws(HooktraceError) in try InertHook(t, methods: [.beforeEpoch], &a, parameters: []) }
        add("ProfilerHook") { t, a, _ throws(HooktraceError) in
            try InertHook(t, methods: [.beforeRun, .afterTrainIter, .afterTrainEpoch], &a,
                          parameters: ["by_epoch", "profile_iters", "activities", "schedule", "on_trace_ready", "record_shapes",
                                       "profile_memory", "with_stack", "with_flops", "json_trace_path"])
        }
        r.markUnsupported("ClosureHook", "it wraps a Python function, which a JSON config cannot carry")
        return r
    }()
}
