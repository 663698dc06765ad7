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
        let dialect = config.dialect
        let runner = Runner(
            kind: config.kind, maxEpochs: config.maxEpochs, maxIters: config.maxIters, workflow: config.workflow,
            loaders: config.loaders, optimizers: config.optimizers, isDictOptimizer: config.isDictOptimizer,
            workDir: config.workDir, experimentName: config.name + ".py", simulation: config.simulation, inputs: inputs,
            dialect: dialect, sink: sink)
        runner.trainInfinite = config.trainInfinite
        runner.stopAt = config.launch.stopAt
        if let resume = config.launch.resume { try Self.resume(runner, from: resume, config: config) }
        if config.engine == nil && config.simulation.runnerMeta && config.simulation.metaRecord == nil {
            runner.context.configText = ConfigText.meta(config)
        }
        runner.configNotes = config.notes
        try dialect.registerHooks(config, registry: registry, on: runner)
        if let resume = config.launch.resume, resume.framework == .mmengine {
            try Self.restoreEngine(runner, from: resume, config: config, registry: registry)
        }
        runner.configWarnings = config.warnings + runner.configWarnings
        // mmengine's runner reports its train loop's max_epochs (1 for an iteration loop) and
        // max_iters (max_epochs × the loader's length for an epoch loop).
        let engine = config.engine
        let trainLength = config.loaders.first(where: { $0.mode == "train" })?.length ?? 0
        let maxEpochs = engine.map { $0.maxEpochs ?? 1 } ?? config.maxEpochs
        let maxIters = engine.map { $0.maxIters ?? ($0.maxEpochs ?? 0) * trainLength } ?? config.maxIters
        let runStart = RunStart(
            source: "simulated", runner: engine == nil ? config.kind.rawValue : "Runner", maxEpochs: maxEpochs, maxIters: maxIters,
            workflow: config.workflow, loaders: config.loaders,
            // After any scheduler's construction step (mmengine builds them before
            // before_run, where a recording of a real run reads the groups).
            paramGroups: runner.optimizers.flatMap { o in
                o.groups.enumerated().map { ParamGroup(optimizer: o.name, group: $0.offset, lr: $0.element.lr, momentum: $0.element.currentMomentum) }
            },
            hooks: runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, config: $0.recordedConfig.compact, stages: Self.recordedStages($0.hook, runner.dialect.framework)) },
            seed: config.simulation.seed, config: config.json.compact,
            meta: [Field("work_dir", .string(config.workDir)), Field("exp_name", .string(config.name + ".py"))]
                + (config.launch.resume.map { [Field("resumed_from", .string($0.checkpoint)), Field("resumed_trace", .string($0.trace))] } ?? [])
                + (engine == nil ? [] : [Field("framework", .string(Framework.mmengine.rawValue))])
                // Groups that stand for classes of parameters (paramwise_cfg), by name.
                + groupNamesMeta(runner.optimizers) + settingsMeta(runner.optimizers, engine))
        return (runner, runStart)
    }

    /// run_start's `param_group_names`: the names of groups that stand for classes of
    /// parameters (paramwise_cfg), a list for a single optimizer, by optimizer for several.
    static func groupNamesMeta(_ optimizers: [OptimizerState]) -> [Field] {
        let named = optimizers.filter { !$0.groupNames.isEmpty }
        guard !named.isEmpty else { return [] }
        func list(_ o: OptimizerState) -> JSONValue { .array(o.groupNames.map { .string($0) }) }
        let value: JSONValue = optimizers.count == 1 && optimizers[0].name.isEmpty ? list(optimizers[0]) : .object(named.map { ($0.name, list($0)) })
        return [Field("param_group_names", .string(value.compact))]
    }

    /// run_start's `param_settings`: the values, after the schedulers' construction step, of
    /// the group settings a scheduler schedules by `param_name` (weight_decay, …), by
    /// setting, then optimizer (`""` for the only one), one value per group; their later
    /// changes are `set_param` effects.
    static func settingsMeta(_ optimizers: [OptimizerState], _ engine: MMEngineSettings?) -> [Field] {
        guard let engine else { return [] }
        var scheduled: [String] = []
        for (_, entries, _) in engine.paramSchedulers {
            for e in entries {
                if case .string(let p)? = e["param_name"], p != "lr", p != "momentum", !scheduled.contains(p) { scheduled.append(p) }
            }
        }
        guard !scheduled.isEmpty else { return [] }
        let value = JSONValue.object(scheduled.map { p in
            (p, .object(optimizers.map { o in (o.name, .array(o.groups.map { .double($0.value(p)) })) }))
        })
        return [Field("param_settings", .string(value.compact))]
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

    /// mmcv 1.x's `runner.resume(checkpoint)` before `run`: the counters of the checkpoint's
    /// meta, its optimizer's param groups (with their `initial_lr`), and, for an
    /// EpochBasedRunner (BaseRunner.resume), its `hook_msgs` and the meta itself;
    /// IterBasedRunner.resume restores neither, and sets inner_iter to the iteration. The
    /// work_dir's files are the ones the interrupted run left, when it is the same work_dir.
    /// Not restored, as in mmcv: the log buffer, the timers, the hooks' own state.
    static func resume(_ runner: Runner, from r: ResumePoint, config: RunConfig) throws(HooktraceError) {
        let context = runner.context
        let framework: Framework = config.engine == nil ? .mmcv : .mmengine
        guard r.framework == framework else {
            throw configError("launch.resume", "the checkpoint is from \(r.framework == .mmcv ? "an mmcv 1.x" : "an mmengine") run and the config is \(framework == .mmcv ? "an mmcv 1.x" : "an mmengine") one; a run resumes from its own framework's checkpoints")
        }
        if framework == .mmengine, let kind = config.engine?.kind, kind != r.runner {
            func loop(_ k: Runner.Kind) -> String { k == .epochBased ? "EpochBasedTrainLoop" : "IterBasedTrainLoop" }
            throw configError("launch.resume", "the checkpoint was saved by an \(loop(r.runner)) and this config runs an \(loop(kind)); their counters mean different things")
        }
        if framework == .mmengine {
            // Runner.resume sets the train loop's counters after before_run and
            // after_load_checkpoint (the dialect does, with the param groups); the rest once
            // the hooks are built (restoreEngine).
            if let simulated = runner.inputs as? SimulatedInputs, r.simulation.count == 3 {
                simulated.resume(steps: r.simulation[0], trainSteps: r.simulation[1], evaluations: r.simulation[2])
            }
            restoreFiles(context, r.rebased(to: config.workDir), config)
            return
        }
        var iter = r.iter
        if r.runner == .epochBased, r.meta.contains(where: { $0.key == "config" }), r.gpus != config.launch.gpus {
            // BaseRunner.resume: the iteration rescaled when the number of GPUs changed.
            iter = Int(Double(iter) * Double(r.gpus) / Double(config.launch.gpus))
        }
        runner.restoreCounters(epoch: r.epoch, iter: iter, innerIter: r.runner == .iterBased ? iter : nil)
        if let simulated = runner.inputs as? SimulatedInputs, r.simulation.count == 3 {
            simulated.resume(steps: r.simulation[0], trainSteps: r.simulation[1], evaluations: r.simulation[2])
        }
        for g in r.groups {
            guard let o = context.optimizers.firstIndex(where: { $0.name == g.optimizer }), g.index < context.optimizers[o].groups.count else {
                throw configError("launch.resume.param_groups", "the checkpoint's optimizer \(g.optimizer.isEmpty ? "" : "\(g.optimizer) ")has a group \(g.index) this config's optimizer does not (torch's load_state_dict refuses a different number of groups)")
            }
            context.optimizers[o].groups[g.index].lr = g.lr
            if let m = g.momentum {
                if context.optimizers[o].groups[g.index].betas != nil {
                    context.optimizers[o].groups[g.index].betas!.0 = m
                } else {
                    context.optimizers[o].groups[g.index].momentum = m
                }
            }
            context.optimizers[o].groups[g.index].initialLR = g.initialLR
            context.optimizers[o].groups[g.index].initialMomentum = g.initialMomentum
        }
        if r.runner == .epochBased {
            if r.hookMessages != nil { context.hookMessages.exists = true }
            for (key, value) in r.hookMessages ?? [] {
                switch (key, value) {
                case ("last_ckpt", .string(let s)): context.hookMessages.lastCheckpoint = s
                case ("best_ckpt", .string(let s)): context.hookMessages.bestCheckpoint = s
                case ("best_score", let v): context.hookMessages.bestScore = v.number
                default: break
                }
            }
            // runner.meta = checkpoint['meta']: what TextLoggerHook dumps at before_run.
            // save_checkpoint's meta: CheckpointHook's `meta` argument (mmdetection's
            // checkpoint_config.meta) first, then runner.meta, epoch, iter.
            var meta: [Field] = []
            if case .object(let extra)? = config.json["checkpoint_config"]?["meta"] {
                meta = extra.map { Field($0.key, Self.scalar($0.value)) }
            }
            meta += r.meta.filter { m in !meta.contains { $0.key == m.key } }.map { Field($0.key, Self.scalar($0.value)) }
            if let m = r.hookMessages { meta.append(Field("hook_msgs", .string(JSONValue.object(m).compact))) }
            meta.append(Field("epoch", .int(Int64(r.epoch))))
            meta.append(Field("iter", .int(Int64(r.iter))))
            // mmcv.runner.save_checkpoint adds these last (time.asctime() of the save: its
            // text is the real run's own, so here a placeholder).
            meta.append(Field("mmcv_version", .string("1.7.2")))
            meta.append(Field("time", .string("(the checkpoint's save time)")))
            context.hasMeta = true
            context.metaRecord = meta
        }
        restoreFiles(context, r, config)
    }

    /// The work_dir's files as the interrupted run left them, when it is the same work_dir.
    static func restoreFiles(_ context: HookContext, _ r: ResumePoint, _ config: RunConfig) {
        let dir = config.workDir.hasSuffix("/") ? config.workDir : config.workDir + "/"
        if r.files.allSatisfy({ $0.path.hasPrefix(dir) }) {
            for f in r.files {
                if let l = f.link { context.files.link(f.path, to: l) } else { context.files.write(f.path) }
            }
        }
    }

    /// mmengine's `Runner.resume` (after `before_run`, in `load_or_resume`): what the
    /// checkpoint holds besides the counters — the param schedulers' state dicts, the
    /// optimizer's param groups, the message hub (its scalar histories, which the log
    /// records average over, and the entries CheckpointHook keeps), the averaged model's
    /// step count. The state is that of the same run simulated up to the save (its
    /// events unused: `savedAt`), then the hub entries are the recorded ones. Not restored,
    /// as in mmengine: the hooks' own state (EarlyStoppingHook's best and patience,
    /// CheckpointHook's `last_ckpt`), the timers.
    static func restoreEngine(_ runner: Runner, from r: ResumePoint, config: RunConfig, registry: HookRegistry) throws(HooktraceError) {
        guard let at = r.savedAt else { throw configError("launch.resume.saved_at", "missing: where the run stood at the save (record --resume-from writes it)") }
        // The interrupted run's optimizer and schedulers (a simulated trace's settings): their
        // state dicts are what the checkpoint holds, whatever the resumed config says.
        var scratch = config
        if case .object(var members) = config.json,
           r.checkpointSettings.contains(where: { config.json[$0.key] != $0.value }) {
            for (key, value) in r.checkpointSettings {
                if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append((key, value)) }
            }
            scratch = try RunConfig(json: .object(members), name: config.name)
            scratch.launch = config.launch
        }
        scratch.launch.resume = nil
        scratch.launch.stopAt = at
        // Stopped at the checkpoint's own save when the simulation makes it (its state then
        // is the checkpoint's: before the validation after a regular save, a plateau
        // scheduler's step included); else where the run stood (`saved_at`). Which save of
        // that name: the trace's count, or (a real run's recording, which only names the
        // file) the last one before `saved_at`, counted by a first pass.
        func simulate(capture: Int?) throws(HooktraceError) -> Runner {
            let (interrupted, start) = try prepare(scratch, registry: registry, to: EventSink { _ throws(HooktraceError) in })
            interrupted.captureSave = (baseName(r.checkpoint), capture ?? Int.max)
            do {
                try interrupted.run(runStart: start)
            } catch {
                guard error.code == Runner.stoppedCode else { throw error }
            }
            return interrupted
        }
        var interrupted: Runner
        do {
            interrupted = try simulate(capture: r.saveOrdinal)
            if r.saveOrdinal == nil, let count = interrupted.savesSeen[baseName(r.checkpoint)], count > 0 {
                interrupted = try simulate(capture: count)
            }
        } catch where r.scalars != nil {
            // A recording of a real resumed run: what the run saw before the resume is not in it.
            throw HooktraceError(.invalidInput, "this run was resumed from \(baseName(r.checkpoint)), and the state of its param schedulers there depends on what it saw before the resume, which its recording does not hold (\(error.message)); simulate it from the interrupted run's recording instead: record --config CONFIG --resume-from INTERRUPTED.htrace:\(baseName(r.checkpoint))")
        }
        // Each scheduler's state dict, in order (mmengine zips the lists).
        let saved = interrupted.hooks.compactMap { $0.hook as? ParamSchedulerHook }
        for (mine, theirs) in zip(runner.hooks.compactMap { $0.hook as? ParamSchedulerHook }, saved) where mine.schedulers.count == theirs.schedulers.count {
            mine.schedulers = theirs.schedulers
        }
        for (mine, theirs) in zip(runner.hooks.compactMap { $0.hook as? MMEngineEMAHook }, interrupted.hooks.compactMap { $0.hook as? MMEngineEMAHook }) {
            mine.steps = theirs.steps
        }
        if let histories = r.scalars {
            // A recording of a real resumed run: the histories as Runner.resume loaded them.
            var hub = MessageHub()
            hub.retain = runner.context.messageHub.retain
            for h in histories {
                for (v, c) in zip(h.values, h.counts) { hub.update(h.key, v, count: Int(c)) }
            }
            runner.context.messageHub = hub
        } else {
            runner.context.messageHub = interrupted.context.messageHub
        }
        // The counters and the optimizer's param groups are loaded after after_load_checkpoint
        // (the dialect applies them there, the groups' changes as effects of Runner.resume).
        runner.pendingResume = (r.epoch, r.iter, interrupted.context.optimizers)
        // The message hub's entries CheckpointHook reads back in before_train.
        var entries: [(key: String, value: Scalar)] = []
        for (key, value) in r.rebased(to: config.workDir).hookMessages ?? [] { entries.append((key, scalar(value))) }
        for entry in runner.hooks { (entry.hook as? MMEngineCheckpointHook)?.resumed = entries }
    }

    static func scalar(_ v: JSONValue) -> Scalar {
        switch v {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        default: .string(v.compact)
        }
    }

    /// A hook's stages as the trace records them; nil for a passive hook of a type whose
    /// stages hooktrace does not know.
    static func recordedStages(_ hook: any Hook, _ framework: Framework) -> [String]? {
        if let passive = hook as? PassiveHook, passive.methods.isEmpty { return nil }
        return hook.triggeredStages(framework).map(\.rawValue)
    }

    /// The hook listing the run's framework logs (``Framework/hookListing(_:)``) of `runner`'s hooks.
    package static func hookListing(_ runner: Runner) -> String {
        runner.dialect.framework.hookListing(runner.hooks.map { HookInfo(name: $0.name, type: $0.hook.type, priority: $0.priority, config: $0.recordedConfig.compact,
                                                          stages: recordedStages($0.hook, runner.dialect.framework)) })
    }
}
