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
    ///
    /// A config whose framework's hooks are not simulated yet (mmengine's) is refused, as
    /// its run would be recorded without their effects; `hooksUnsimulated` accepts it, for
    /// listing its hooks and running its loops (`hooks`, tests of the loops).
    package static func prepare(_ config: RunConfig, registry: HookRegistry = .standard, inputs: (any RunInputs)? = nil,
                               hooksUnsimulated: Bool = false, to sink: any RunSink) throws(HooktraceError) -> (Runner, RunStart) {
        let dialect = config.dialect
        if !dialect.simulatesHooks && !hooksUnsimulated {
            throw HooktraceError(.invalidInput, Self.notSimulated(config))
        }
        let runner = Runner(
            kind: config.kind, maxEpochs: config.maxEpochs, maxIters: config.maxIters, workflow: config.workflow,
            loaders: config.loaders, optimizers: config.optimizers, isDictOptimizer: config.isDictOptimizer,
            workDir: config.workDir, experimentName: config.name + ".py", simulation: config.simulation, inputs: inputs,
            dialect: dialect, sink: sink)
        try dialect.registerHooks(config, registry: registry, on: runner)
        runner.configWarnings = config.warnings
        let runStart = RunStart(
            source: "simulated", runner: config.kind.rawValue, maxEpochs: config.maxEpochs, maxIters: config.maxIters,
            workflow: config.workflow, loaders: config.loaders,
            // After any scheduler's construction step (mmengine builds them before
            // before_run, where a recording of a real run reads the groups).
            paramGroups: runner.optimizers.flatMap { o in
                o.groups.enumerated().map { ParamGroup(optimizer: o.name, group: $0.offset, lr: $0.element.lr, momentum: $0.element.currentMomentum) }
            },
            hooks: runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, config: $0.hook.config.compact, stages: Self.recordedStages($0.hook, runner.dialect.framework)) },
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

    /// Why a config whose framework's hooks are not simulated is not recorded, naming the
    /// keys that make it that framework's and what works instead.
    static func notSimulated(_ config: RunConfig) -> String {
        guard case .object(let members) = config.json else { return "\(config.framework.rawValue) runs are not simulated yet" }
        let found = members.map(\.key).filter { Framework.mmengineKeys.contains($0) }
        let shown = found.prefix(4).joined(separator: ", ") + (found.count > 4 ? ", …" : "")
        return "\(found.first ?? "config"): this is an mmengine config (\(shown)): mmdetection 3.x and the other OpenMMLab 2.x projects build their hooks from these keys, and hooktrace does not simulate mmengine runs yet: it runs their loops and lists their hooks (`hooktrace hooks CONFIG`), but their hooks' effects (schedules, checkpoints, logs) are not simulated, and rather than record a run without them it stops here (mmcv 1.x configs — runner, lr_config, checkpoint_config, log_config, evaluation — are simulated). A real mmengine run can be recorded, then read by info, show, lr, plot, report and diff: hooktrace record -o run.htrace -- python tools/train.py CONFIG"
    }

    /// A hook's stages as the trace records them; nil for a passive hook of a type whose
    /// stages hooktrace does not know.
    static func recordedStages(_ hook: any Hook, _ framework: Framework) -> [String]? {
        if let passive = hook as? PassiveHook, passive.methods.isEmpty { return nil }
        return hook.triggeredStages(framework).map(\.rawValue)
    }

    /// The hook listing the run's framework logs (``Framework/hookListing(_:)``) of `runner`'s hooks.
    package static func hookListing(_ runner: Runner) -> String {
        runner.dialect.framework.hookListing(runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, stages: recordedStages($0.hook, runner.dialect.framework)) })
    }
}
