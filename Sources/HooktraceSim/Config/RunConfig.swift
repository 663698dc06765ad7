import HooktraceFormat

/// A run config: mmcv's config dictionaries (as JSON) plus hooktrace's `data` and
/// `simulation`, validated into a runner ready to record.
///
/// Validation happens before anything runs; every error names its config path and the
/// fix. docs/CONFIG.md documents every key.
package struct RunConfig {
    package static let knownKeys = [
        "runner", "optimizer", "lr_config", "momentum_config", "optimizer_config", "checkpoint_config", "log_config",
        "custom_hooks", "evaluation", "workflow", "data", "simulation", "work_dir", "fp16", "launch", "auto_scale_lr", "total_epochs",
    ]
    /// mmcv/mmdetection keys that do not affect hooks; ignored without a warning.
    static let ignoredKeys = ["model", "dataset_type", "data_root", "img_norm_cfg", "train_pipeline", "test_pipeline",
                              "dist_params", "log_level", "load_from", "resume_from", "opencv_num_threads",
                              "mp_start_method", "gpu_ids", "seed", "device", "_base_", "norm_cfg", "auto_resume"]

    /// Bounds that keep a simulated run finite and its clock within Int64 nanoseconds.
    package static let maxLoaderLength = 1_000_000_000
    package static let maxTrainIterations = 10_000_000_000
    /// The longest simulated duration of one step (a day), mean plus jitter.
    package static let maxStepSeconds = 86_400.0

    package var json: JSONValue
    package var name: String
    /// The framework the config is written for (mmcv 1.x: the only one simulated so far).
    package var framework: Framework
    package var kind: Runner.Kind
    package var maxEpochs: Int?
    package var maxIters: Int?
    package var workflow: [WorkflowPhase]
    package var loaders: [LoaderLength]
    package var optimizers: [OptimizerState]
    package var isDictOptimizer: Bool
    package var simulation: Simulation
    package var workDir: String
    /// Top-level keys that were ignored (reported as a warning).
    package var ignored: [String] = []
    /// Settings the config gives that the simulation does not act on, with what happens instead.
    package var warnings: [String] = []
    /// An mmengine config's loops and hooks (nil for mmcv 1.x configs).
    package var engine: MMEngineSettings?
    /// The training script's command line (`launch`): GPUs, dataset sizes, --no-validate.
    package var launch = Launch()
    /// The train loader never runs out (an infinite sampler): no loader epochs.
    package var trainInfinite = false
    /// mmcv 1.x: whether an evaluation hook is registered (`evaluation`, or mmdetection's
    /// default for a config whose data.val is a dataset, unless --no-validate).
    package var evaluates = false
    /// How the config was read: loader lengths computed, defaults applied (said as notes).
    package var notes: [String] = []

    /// The simulator's dialect for this config's framework.
    package var dialect: any Dialect {
        if let engine { return MMEngineDialect(engine) }
        return MMCVDialect()
    }

    /// `launch.stop_at` inside the run: a crash after more epochs or iterations than it has
    /// would never happen.
    static func checkStop(_ stop: Launch.StopAt?, epochs: Int?, iters: Int?) throws(HooktraceError) {
        switch stop {
        case .epoch(let e)?:
            if let epochs, e > epochs { throw configError("launch.stop_at", "epoch=\(e) is beyond the run, which trains \(epochs) epoch\(epochs == 1 ? "" : "s"); stop it at epoch=1…\(epochs)") }
        case .iter(let i)?:
            if let iters, i > iters { throw configError("launch.stop_at", "iter=\(i) is beyond the run, which trains \(iters) iteration\(iters == 1 ? "" : "s"); stop it at iter=1…\(iters)") }
        case nil:
            break
        }
    }

    /// The top-level keys of an mmengine config hooktrace reads, or knows to be without effect on hooks.
    static let knownMMEngineKeys = Framework.mmengineKeys + ["custom_hooks", "data", "simulation", "work_dir", "load_from", "resume", "auto_scale_lr", "launch"]

    /// Parses and validates `text` (the contents of a config file named `name`).
    package init(text: String, name: String) throws(HooktraceError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw HooktraceError(.invalidInput, "not valid JSON: \(error)")
        }
        try self.init(json: value, name: name)
    }

    package init(json: JSONValue, name: String) throws(HooktraceError) {
        self.json = json
        self.name = name
        guard case .object(let members) = json else {
            throw configError("", "a run config must be a JSON object with keys such as \"runner\", \"optimizer\", \"lr_config\"")
        }
        // mmdetection 3.x's `*_tta.py` files: test-time augmentation settings that
        // tools/test.py --tta merges into a model's config; nothing in them trains.
        let trainingKeys: Set<String> = ["runner", "optimizer", "lr_config", "total_epochs", "data", "train_cfg", "optim_wrapper",
                                         "param_scheduler", "train_dataloader"]
        if members.contains(where: { $0.key == "tta_model" }), !members.contains(where: { trainingKeys.contains($0.key) }) {
            throw configError("", "a test-time augmentation fragment (tta_model\(members.contains { $0.key == "tta_pipeline" } ? ", tta_pipeline" : "")) with nothing to train: mmdetection merges it into a model's config for tools/test.py --tta; give hooktrace the training config instead")
        }
        // Before any key is read: an mmengine config's hooks come from keys mmcv 1.x does not
        // have, and running it as mmcv's would record a confident, wrong run.
        // mmdetection 2.x's configs of the 1.x era keep the model's train_cfg / test_cfg at
        // the top (deprecated; mmdetection moves them into the model): assigners and NMS
        // settings, not mmengine's loops. They do not make the config an mmengine one.
        let loopKeys: Set<String> = ["type", "by_epoch", "max_epochs", "max_iters", "val_interval", "val_begin", "dynamic_intervals"]
        let modelSettings = members.filter { m in
            guard m.key == "train_cfg" || m.key == "test_cfg", case .object(let fields) = m.value else { return false }
            return !fields.isEmpty && !fields.contains { loopKeys.contains($0.key) }
        }.map(\.key)
        let keys = members.map(\.key).filter { !modelSettings.contains($0) }
        framework = try Framework.of(configKeys: modelSettings.isEmpty || keys.contains(where: { Framework.mmengineKeys.contains($0) }) ? members.map(\.key) : keys)
        if framework == .mmcv {
            for key in modelSettings {
                warnings.append("\(key): the model's \(key) at the top of the config (deprecated in mmdetection 2.x, which moves it into model); it does not affect hooks")
            }
        }
        if framework == .mmengine {
            var typos: [String] = []
            for (key, _) in members where !Self.knownMMEngineKeys.contains(key) {
                try Self.unknownKey(key, Self.knownMMEngineKeys, &typos)
                if !Self.ignoredKeys.contains(key) { ignored.append(key) }
            }
            let settings = try MMEngineSettings(json)
            kind = settings.kind
            maxEpochs = settings.maxEpochs
            maxIters = settings.maxIters
            workflow = []
            var data = try ConfigArgs(json["data"] ?? .object([]), path: "data")
            launch = try Launch(json["launch"])
            if let g = try data.optionalInt("gpus") {
                // hooktrace's older key for the world size; `launch.gpus` is the new one.
                guard g >= 1 else { throw configError("data.gpus", "must be at least 1, got \(g)") }
                if let l = json["launch"]?["gpus"], l != .null, l != .int(Int64(g)) {
                    throw configError("data.gpus", "is \(g) but launch.gpus is \(describeValue(l)); give the number of GPUs once (launch.gpus)")
                }
                launch.gpus = g
            }
            let gpus = launch.gpus
            var train = try Self.loaderLength(&data, "train")
            if train == nil, let loader = json["train_dataloader"], loader != .null {
                let plan = try LoaderPlan.mmengine(loader, path: "train_dataloader", launch: launch, given: launch.trainSize, option: "--train-size")
                train = plan.length
                trainInfinite = plan.infinite
                notes.append(plan.note)
            }
            guard let train else {
                throw configError("data.train", "missing: give the number of batches per epoch of the train loader, e.g. \"data\": {\"train\": 7330}")
            }
            loaders = [LoaderLength("train", train)]
            var val = try Self.loaderLength(&data, "val")
            if val == nil, settings.hasVal, let loader = json["val_dataloader"], loader != .null {
                let plan = try LoaderPlan.mmengine(loader, path: "val_dataloader", launch: launch, given: launch.valSize, option: "--val-size")
                val = plan.length
                notes.append(plan.note)
            }
            if let val {
                loaders.append(LoaderLength("val", val))
            } else if settings.hasVal {
                throw configError("data.val", "val_cfg is configured: give the val loader's length, e.g. \"val\": 5000")
            }
            trainInfinite = trainInfinite || data.raw("infinite") == .bool(true)
            var samplesPerGPU = try data.optionalInt("samples_per_gpu")
            if samplesPerGPU == nil, case .int(let bs)? = json["train_dataloader"]?["batch_size"] { samplesPerGPU = Int(bs) }
            _ = data.raw("workers_per_gpu")
            _ = data.raw("test")
            try data.finish(owner: "data")
            simulation = try Self.simulation(json["simulation"], samplesPerGPU: samplesPerGPU, evaluation: nil)
            optimizers = []
            for wrapper in settings.wrappers {
                guard wrapper.optimizer["type"] != nil else {
                    throw configError(wrapper.path + ".optimizer", "an optimizer needs \"type\" (e.g. \"SGD\"); for several optimizers give several wrappers (an OptimWrapperDict)")
                }
                var optimizer = try Self.optimizer(wrapper.optimizer, name: wrapper.name, path: wrapper.path + ".optimizer")
                if let paramwise = wrapper.paramwise {
                    // The constructor's groups, before auto_scale_lr scales them all.
                    guard optimizer.groups.count == 1 else {
                        throw configError(wrapper.path + ".paramwise_cfg", "and optimizer.param_groups both give param groups; give one")
                    }
                    paramwise.apply(to: &optimizer, firstParam: simulation.firstParam(of: wrapper.name))
                }
                if let layerDecay = wrapper.layerDecay {
                    guard optimizer.groups.count == 1 else {
                        throw configError(wrapper.path + ".paramwise_cfg", "and optimizer.param_groups both give param groups; give one")
                    }
                    layerDecay.apply(to: &optimizer)
                }
                optimizers.append(optimizer)
            }
            isDictOptimizer = settings.wrappers.count > 1
            try simulation.checkWrapperNames(settings.wrappers.map(\.name))
            if let ratio = try Self.autoScaleRatio(json["auto_scale_lr"], samplesPerGPU: samplesPerGPU, gpus: gpus, force: launch.autoScaleLR, warnings: &warnings) {
                // Runner.scale_lr, after the wrapper is built and before the schedulers: every
                // group of the optimizer, not the wrapper's copy of its defaults (base_lr).
                for o in optimizers.indices {
                    for g in optimizers[o].groups.indices { optimizers[o].groups[g].lr *= ratio }
                }
            }
            // mmdetection 3.x's CocoMetric reports what its 2.x datasets did, renamed and rounded anew.
            if simulation.metrics.isEmpty, let evaluator = json["val_evaluator"], case .string(let type)? = evaluator["type"],
               type.split(separator: ".").last == "CocoMetric" {
                let names = Self.defaultMetricNames(evaluator["metric"]).filter { $0 == "bbox" || $0 == "segm" }
                simulation.metrics = Self.defaultMetrics(.array(names.map { .string($0) }))
                simulation.report = .mmdet3Coco(names)
            }
            workDir = try Self.workDir(json, name: name)
            if case .epoch? = launch.stopAt, settings.kind == .iterBased {
                throw configError("launch.stop_at", "an IterBasedTrainLoop has no train epochs; stop it after a number of iterations (iter=N)")
            }
            let epochs = settings.kind == .epochBased ? settings.maxEpochs : nil
            try Self.checkStop(launch.stopAt, epochs: epochs, iters: settings.maxIters ?? epochs.map { $0 * train })
            engine = settings
            warnings = typos + settings.warnings + warnings
            return
        }
        for (key, _) in members where !Self.knownKeys.contains(key) {
            try Self.unknownKey(key, Self.knownKeys, &warnings)
            if !Self.ignoredKeys.contains(key) { ignored.append(key) }
        }
        let resuming = json["launch"]?["resume"].map { $0 != .null } ?? false
        for key in ["resume_from", "auto_resume"] where !resuming {
            if let v = json[key], v != .null, v != .bool(false) {
                warnings.append("\(key) (\(describeValue(v))): a checkpoint path outside a trace; the run starts from its beginning (resume from a recorded run's checkpoint with record --resume-from TRACE[:CHECKPOINT])")
            }
        }

        // runner
        // mmdetection 2.x's compat_runner_args: without `runner`, an EpochBasedRunner of
        // total_epochs (with a warning); with both, they must agree (its assertion).
        var runnerConfig = json["runner"] ?? .null
        let totalEpochs = json["total_epochs"] ?? .null
        if runnerConfig == .null {
            guard case .int = totalEpochs else {
                throw configError("runner", "missing: e.g. {\"type\": \"EpochBasedRunner\", \"max_epochs\": 12} (mmdetection 2.x falls back to total_epochs, which the config does not give either)")
            }
            runnerConfig = .object([("type", .string("EpochBasedRunner")), ("max_epochs", totalEpochs)])
            warnings.append("runner: missing; mmdetection 2.x uses an EpochBasedRunner of total_epochs (\(describeValue(totalEpochs)) epochs) and warns 'config is now expected to have a `runner` section'")
        } else if totalEpochs != .null, totalEpochs != runnerConfig["max_epochs"] ?? .null {
            throw configError("total_epochs", "is \(describeValue(totalEpochs)) but runner.max_epochs is \(describeValue(runnerConfig["max_epochs"] ?? .null)): mmdetection 2.x asserts they are equal; remove total_epochs or make them agree")
        }
        var runner = try ConfigArgs(runnerConfig, path: "runner")
        let type = try runner.string("type", default: "EpochBasedRunner")
        guard let kind = Runner.Kind(rawValue: type == "Runner" ? "EpochBasedRunner" : type) else {
            throw configError("runner.type", "unknown runner \"\(type)\"; use \"EpochBasedRunner\" or \"IterBasedRunner\"" + suggestion(type, Runner.Kind.allCases.map(\.rawValue)))
        }
        self.kind = kind
        maxEpochs = try runner.optionalInt("max_epochs")
        maxIters = try runner.optionalInt("max_iters")
        if maxEpochs != nil && maxIters != nil {
            throw configError("runner", "only one of max_epochs or max_iters can be set (mmcv raises ValueError)")
        }
        switch kind {
        case .epochBased:
            guard let e = maxEpochs else { throw configError("runner.max_epochs", "EpochBasedRunner needs max_epochs") }
            guard e >= 0 else { throw configError("runner.max_epochs", "must not be negative, got \(e)") }
        case .iterBased:
            guard let i = maxIters else { throw configError("runner.max_iters", "IterBasedRunner needs max_iters") }
            guard i >= 0 else { throw configError("runner.max_iters", "must not be negative, got \(i)") }
        }
        try runner.finish(owner: type)

        // workflow
        var phases: [WorkflowPhase] = []
        if let w = json["workflow"], w != .null {
            guard case .array(let items) = w else { throw configError("workflow", "expected a list such as [[\"train\", 1], [\"val\", 1]], got \(describeValue(w))") }
            for (i, item) in items.enumerated() {
                let path = "workflow[\(i)]"
                guard case .array(let pair) = item, pair.count == 2, case .string(let mode) = pair[0], case .int(let count) = pair[1] else {
                    throw configError(path, "expected a pair such as [\"train\", 1], got \(describeValue(item))")
                }
                guard mode == "train" || mode == "val" else {
                    throw configError(path, "runner has no workflow mode \"\(mode)\" (mmcv raises ValueError); use \"train\" or \"val\"")
                }
                guard count >= 0 else { throw configError(path, "the repeat count must not be negative, got \(count)") }
                guard count <= Self.maxLoaderLength else { throw configError(path, "the repeat count must be at most \(Self.maxLoaderLength), got \(count)") }
                phases.append(WorkflowPhase(mode, Int(count)))
            }
        } else {
            phases = [WorkflowPhase("train", 1)]
        }
        guard phases.contains(where: { $0.mode == "train" && $0.count > 0 }) else {
            throw configError("workflow", "has no \"train\" phase: mmcv's runner would loop forever; add [\"train\", 1]")
        }
        workflow = phases

        // data
        launch = try Launch(json["launch"])
        var data = try ConfigArgs(json["data"] ?? .object([]), path: "data")
        var samplesPerGPU = try data.optionalInt("samples_per_gpu")
        // mmdetection 2.x's compat_cfg: `imgs_per_gpu` (deprecated) replaces
        // samples_per_gpu; `train_dataloader` overrides the train loader's settings.
        if let imgs = try data.optionalInt("imgs_per_gpu") {
            warnings.append("data.imgs_per_gpu: deprecated in mmdetection 2.x, which uses it as samples_per_gpu (\(imgs))")
            samplesPerGPU = imgs
        }
        if let loader = data.raw("train_dataloader"), loader != .null {
            var args = try ConfigArgs(loader, path: "data.train_dataloader")
            if let n = try args.optionalInt("samples_per_gpu") { samplesPerGPU = n }
            // Its other settings (workers, shuffle, …) do not reach the hooks.
        }
        for key in ["workers_per_gpu", "test", "persistent_workers", "val_dataloader", "test_dataloader", "infinite"] { _ = data.raw(key) }
        // mmdetection's tools/train.py registers its evaluation hook for every config (with
        // `evaluation`'s settings or the defaults) unless --no-validate; a JSON config with
        // loader lengths evaluates only when it says so.
        let valIsDataset = data.raw("val").map { !LoaderPlan.isLength($0) && $0 != .null } ?? false
        let evaluationGiven = json["evaluation"].map { $0 != .null } ?? false
        evaluates = launch.validate && (evaluationGiven || valIsDataset)
        if !launch.validate && evaluationGiven {
            notes.append("evaluation: not registered (--no-validate, as mmdetection's tools/train.py)")
        }
        let valPhase = phases.contains(where: { $0.mode == "val" })
        let plan = try LoaderPlan.mmcv(data: json["data"] ?? .object([]), launch: launch, iterBased: kind == .iterBased,
                                       samplesPerGPU: samplesPerGPU, valWorkflow: valPhase, needsVal: valPhase || evaluates)
        notes += plan.notes
        trainInfinite = plan.infinite || data.raw("infinite") == .bool(true)
        func length(_ mode: String) throws(HooktraceError) -> Int? { try Self.loaderLength(&data, mode) }
        var loaders: [LoaderLength] = []
        guard let train = try length("train") ?? plan.train else {
            throw configError("data.train", "missing: give the number of batches per epoch of the train loader, e.g. \"data\": {\"train\": 7330}")
        }
        loaders.append(LoaderLength("train", train))
        let val = try length("val") ?? plan.val
        if let val { loaders.append(LoaderLength("val", val)) }
        if valPhase && val == nil {
            throw configError("data.val", "the workflow has a val phase: give the val loader's length, e.g. \"val\": 5000")
        }
        if evaluates, val == nil {
            throw configError("data.val", "evaluation is configured: give the val loader's length, e.g. \"val\": 5000")
        }
        try data.finish(owner: "data")
        self.loaders = loaders
        let trainIterations: Int
        if kind == .iterBased {
            trainIterations = maxIters ?? 0
        } else {
            let (product, overflow) = (maxEpochs ?? 0).multipliedReportingOverflow(by: train)
            trainIterations = overflow ? Int.max : product
        }
        guard trainIterations <= Self.maxTrainIterations else {
            let key = kind == .iterBased ? "runner.max_iters" : "runner.max_epochs"
            throw configError(key, "the run would simulate \(trainIterations == Int.max ? "over \(Self.maxTrainIterations)" : "\(trainIterations)") training iterations; hooktrace simulates at most \(Self.maxTrainIterations) (a trace of roughly 40 GB)")
        }
        // Val phases are not bounded by max_epochs / max_iters: bound what the workflow implies.
        let trainPerCycle = phases.filter { $0.mode == "train" }.reduce(0) { $0 &+ $1.count }
        let valPerCycle = phases.filter { $0.mode == "val" }.reduce(0) { $0 &+ $1.count }
        if valPerCycle > 0, let valLength = val {
            let limit = kind == .iterBased ? (maxIters ?? 0) : (maxEpochs ?? 0)
            let cycles = trainPerCycle > 0 ? (limit + trainPerCycle - 1) / trainPerCycle : 0
            let (perCycle, o1) = kind == .iterBased ? (valPerCycle, false) : valPerCycle.multipliedReportingOverflow(by: valLength)
            let (valIterations, o2) = perCycle.multipliedReportingOverflow(by: cycles)
            guard !o1, !o2, valIterations <= Self.maxTrainIterations else {
                throw configError("workflow", "its val phases would run \(o1 || o2 ? "over \(Self.maxTrainIterations)" : "\(valIterations)") val iterations; hooktrace simulates at most \(Self.maxTrainIterations)")
            }
        }

        if let r = launch.resume, r.runner != kind {
            throw configError("launch.resume", "the checkpoint was saved by an \(r.runner.rawValue) and this config runs an \(kind.rawValue); their counters mean different things")
        }
        if case .epoch? = launch.stopAt, kind == .iterBased {
            throw configError("launch.stop_at", "an IterBasedRunner trains one long epoch; stop it after a number of iterations (iter=N)")
        }
        let trainLength = loaders.first { $0.mode == "train" }?.length
        try Self.checkStop(launch.stopAt, epochs: kind == .epochBased ? maxEpochs : nil,
                           iters: maxIters ?? (kind == .epochBased ? maxEpochs.flatMap { e in trainLength.map { e * $0 } } : nil))

        // optimizer
        var optimizerConfig = json["optimizer"]
        var scaleWarnings: [String] = []
        if let ratio = try Self.autoScaleRatio(json["auto_scale_lr"], samplesPerGPU: samplesPerGPU, gpus: launch.gpus, force: launch.autoScaleLR,
                                               framework: .mmcv, warnings: &scaleWarnings) {
            // mmdetection 2.x's train_detector scales cfg.optimizer.lr before the optimizer
            // (and its param groups) is built: (batch / base_batch_size) * lr.
            guard case .object(var members)? = optimizerConfig, let i = members.firstIndex(where: { $0.key == "lr" }) else {
                throw configError("optimizer.lr", "auto_scale_lr is enabled and scales optimizer.lr, which the config lacks (mmdetection fails the same way)")
            }
            let lr: Double
            switch members[i].value {
            case .int(let n): lr = Double(n)
            case .double(let d): lr = d
            default: throw configError("optimizer.lr", "expected a number, got \(describeValue(members[i].value))")
            }
            let scaled = ratio * lr
            members[i].value = .double(scaled)
            optimizerConfig = .object(members)
            notes.append(scaled == lr ? "auto_scale_lr: the batch (\(launch.gpus) GPU(s) × \(samplesPerGPU ?? 0)) matches base_batch_size; the LR stays \(formatDouble(lr))"
                : "auto_scale_lr: LR scaled from \(formatDouble(lr)) to \(formatDouble(scaled)) (\(launch.gpus) GPU(s) × \(samplesPerGPU ?? 0) per GPU over base_batch_size), as mmdetection's train_detector does")
        }
        warnings += scaleWarnings
        (optimizers, isDictOptimizer) = try Self.optimizers(optimizerConfig)

        // simulation
        simulation = try Self.simulation(json["simulation"], samplesPerGPU: samplesPerGPU, evaluation: json["evaluation"])
        workDir = try Self.workDir(json, name: name)
    }

    static func workDir(_ json: JSONValue, name: String) throws(HooktraceError) -> String {
        guard let w = json["work_dir"], w != .null else { return "work_dirs/" + name }
        guard case .string(let s) = w else { throw configError("work_dir", "expected a path, got \(describeValue(w))") }
        return s
    }

    /// An unknown top-level key (the frameworks ignore them): an error when it is a typo of a
    /// known key (one edit, a swap of neighbours counting as one: `lr_conifg`), a warning
    /// when it only resembles one (`.py` configs' helper variables such as mmdetection's
    /// `custom_keys`, `checkpoint_file`, `conv_cfg`).
    static func unknownKey(_ key: String, _ known: [String], _ warnings: inout [String]) throws(HooktraceError) {
        let close = known.filter { typoDistance(key.lowercased(), $0.lowercased()) <= 1 }.sorted()
        if let near = close.first { throw configError(key, "unknown key (did you mean \"\(near)\"?)") }
        let hint = suggestion(key, known)
        if !hint.isEmpty { warnings.append("\(key): not a key hooktrace or the framework reads; ignored\(hint)") }
    }

    /// `data.<mode>`: the number of batches per epoch of that loader, if given.
    static func loaderLength(_ data: inout ConfigArgs, _ mode: String) throws(HooktraceError) -> Int? {
        guard let v = data.raw(mode), v != .null else { return nil }
        guard case .int(let n) = v else {
            // A dataset config (a .py config's): its length comes from LoaderPlan.
            if case .object = v { return nil }
            if case .array = v { return nil }
            throw configError("data.\(mode)", "expected the number of batches per epoch of the \(mode) loader (an integer), got \(describeValue(v))")
        }
        guard n > 0 else { throw configError("data.\(mode)", "must be a positive number of batches, got \(n)") }
        guard n <= Self.maxLoaderLength else {
            throw configError("data.\(mode)", "\(n) batches per epoch is beyond what hooktrace simulates (at most \(Self.maxLoaderLength)); is it the number of images rather than of batches?")
        }
        return Int(n)
    }

    static let optimizerDefaults: [String: (momentum: Bool, betas: Bool)] = [
        "SGD": (true, false), "RMSprop": (true, false), "Adam": (false, true), "AdamW": (false, true),
        "Adamax": (false, true), "NAdam": (false, true), "RAdam": (false, true), "Adagrad": (false, false),
        "Adadelta": (false, false), "ASGD": (false, false), "Rprop": (false, false), "LBFGS": (false, false),
        "SparseAdam": (false, true),
    ]

    /// torch's numeric defaults of each optimizer's param groups besides lr, momentum and
    /// betas: what a `*ParamScheduler` may schedule by `param_name` (a key the optimizer's
    /// groups lack is mmengine's KeyError).
    static let optimizerSettings: [String: [(String, Double)]] = [
        "SGD": [("weight_decay", 0), ("dampening", 0)],
        "RMSprop": [("weight_decay", 0), ("alpha", 0.99), ("eps", 1e-8)],
        "Adam": [("weight_decay", 0), ("eps", 1e-8)], "AdamW": [("weight_decay", 1e-2), ("eps", 1e-8)],
        "Adamax": [("weight_decay", 0), ("eps", 1e-8)], "NAdam": [("weight_decay", 0), ("eps", 1e-8), ("momentum_decay", 4e-3)],
        "RAdam": [("weight_decay", 0), ("eps", 1e-8)], "SparseAdam": [("eps", 1e-8)],
        "Adagrad": [("weight_decay", 0), ("eps", 1e-10), ("lr_decay", 0), ("initial_accumulator_value", 0)],
        "Adadelta": [("weight_decay", 0), ("eps", 1e-6), ("rho", 0.9)],
        "ASGD": [("weight_decay", 0), ("lambd", 1e-4), ("alpha", 0.75), ("t0", 1e6)],
        "Rprop": [], "LBFGS": [("tolerance_grad", 1e-7), ("tolerance_change", 1e-9)],
    ]

    static func optimizers(_ value: JSONValue?, path: String = "optimizer") throws(HooktraceError) -> ([OptimizerState], Bool) {
        guard let value, value != .null else {
            throw configError(path, "missing: e.g. {\"type\": \"SGD\", \"lr\": 0.02, \"momentum\": 0.9}")
        }
        guard case .object(let members) = value else { throw configError(path, "expected an object, got \(describeValue(value))") }
        if value["type"] != nil {
            return ([try optimizer(value, name: "", path: path)], false)
        }
        guard !members.isEmpty else { throw configError(path, "an empty dict of optimizers; give \"type\" and \"lr\"") }
        var result: [OptimizerState] = []
        for (name, cfg) in members {
            result.append(try optimizer(cfg, name: name, path: "\(path).\(name)"))
        }
        return (result, true)
    }

    static func optimizer(_ value: JSONValue, name: String, path: String) throws(HooktraceError) -> OptimizerState {
        var args = try ConfigArgs(value, path: path)
        guard let type = try args.optionalString("type") else {
            throw configError(path, "an optimizer needs \"type\" (e.g. \"SGD\")")
        }
        guard let defaults = optimizerDefaults[type] else {
            throw configError(path + ".type", "unknown optimizer \"\(type)\"" + suggestion(type, optimizerDefaults.keys.sorted()) + "; known: \(optimizerDefaults.keys.sorted().joined(separator: ", "))")
        }
        guard let lr = try args.optionalDouble("lr") else { throw configError(path + ".lr", "missing: the initial learning rate") }
        try checkLearningRate(lr, path + ".lr")
        func group(_ a: inout ConfigArgs, lr: Double, momentum: Double?, betas: (Double, Double)?, base: ParamGroupState?) throws(HooktraceError) -> ParamGroupState {
            let glr = try a.double("lr", default: lr)
            try checkLearningRate(glr, a.keyPath("lr"))
            var g = ParamGroupState(lr: glr, momentum: nil, betas: nil)
            for (key, fallback) in optimizerSettings[type] ?? [] {
                g.settings[key] = try a.optionalDouble(key) ?? base?.settings[key] ?? fallback
            }
            if defaults.momentum { g.momentum = try a.double("momentum", default: momentum ?? 0) }
            if defaults.betas {
                if let b = a.raw("betas"), b != .null {
                    guard case .array(let items) = b, items.count == 2, let b1 = items[0].number, let b2 = items[1].number else {
                        throw configError(a.keyPath("betas"), "expected two numbers such as [0.9, 0.999], got \(describeValue(b))")
                    }
                    g.betas = (b1, b2)
                } else {
                    g.betas = betas ?? (0.9, 0.999)
                }
            }
            return g
        }
        let base = try group(&args, lr: lr, momentum: nil, betas: nil, base: nil)
        var groups = [base]
        if let list = args.raw("param_groups"), list != .null {
            guard case .array(let items) = list, !items.isEmpty else {
                throw configError(path + ".param_groups", "expected a non-empty list of groups such as [{\"lr\": 0.02}, {\"lr\": 0.01}]")
            }
            groups = []
            for (i, item) in items.enumerated() {
                var ga = try ConfigArgs(item, path: path + ".param_groups[\(i)]")
                groups.append(try group(&ga, lr: base.lr, momentum: base.momentum, betas: base.betas, base: base))
                try ga.finish(owner: "a param group")
            }
        }
        for key in ["weight_decay", "nesterov", "dampening", "eps", "amsgrad", "alpha", "centered", "paramwise_cfg", "constructor", "foreach", "maximize"] {
            _ = args.raw(key)
        }
        try args.finish(owner: type)
        var state = OptimizerState(name: name, className: type, groups: groups, defaultsHaveMomentum: defaults.momentum, defaultsHaveBetas: defaults.betas)
        state.baseGroup = base
        state.defaultLR = lr
        return state
    }

    /// mmengine's `Runner.scale_lr`: with `auto_scale_lr.enable`, every group's lr is
    /// multiplied by float(gpus × batch size) / float(base_batch_size). Nil when disabled.
    /// `auto_scale_lr`: the LR's factor, real batch (GPUs × batch per GPU) over
    /// `base_batch_size`, or nil when not enabled. `force`: the training script's
    /// `--auto-scale-lr`, which enables it (mmdetection 2.x: only when the config has
    /// `enable` and `base_batch_size`, else a warning; 3.x: RuntimeError without them).
    static func autoScaleRatio(_ value: JSONValue?, samplesPerGPU: Int?, gpus: Int, force: Bool = false, framework: Framework = .mmengine,
                               warnings: inout [String]) throws(HooktraceError) -> Double? {
        guard let value, value != .null else {
            if force && framework == .mmengine {
                throw configError("auto_scale_lr", "--auto-scale-lr needs auto_scale_lr with base_batch_size in the config (mmdetection raises RuntimeError), e.g. {\"enable\": false, \"base_batch_size\": 16}")
            }
            if force { warnings.append("--auto-scale-lr: the config has no auto_scale_lr with enable and base_batch_size, so the LR is not scaled (mmdetection 2.x warns the same)") }
            return nil
        }
        var args = try ConfigArgs(value, path: "auto_scale_lr")
        let hasEnable = args.has("enable"), hasBase = args.has("base_batch_size")
        var enabled = try args.bool("enable", default: false)
        if force {
            if framework == .mmengine && !hasBase {
                throw configError("auto_scale_lr.base_batch_size", "--auto-scale-lr needs it in the config (mmdetection raises RuntimeError), e.g. 16")
            }
            if framework == .mmcv && !(hasEnable && hasBase) {
                warnings.append("--auto-scale-lr: auto_scale_lr lacks enable or base_batch_size, so the LR is not scaled (mmdetection 2.x warns the same)")
            } else {
                enabled = true
            }
        }
        guard enabled else {
            _ = args.raw("base_batch_size")
            try args.finish(owner: "auto_scale_lr")
            return nil
        }
        guard let base = try args.optionalInt("base_batch_size") else {
            if framework == .mmcv { try args.finish(owner: "auto_scale_lr"); return nil }  // mmdetection 2.x returns without scaling
            throw configError("auto_scale_lr.base_batch_size", "missing: mmengine asserts it when auto_scale_lr is enabled, e.g. 16")
        }
        guard base > 0 else { throw configError("auto_scale_lr.base_batch_size", "must be positive, got \(base)") }
        try args.finish(owner: "auto_scale_lr")
        guard let samplesPerGPU else {
            throw configError("data.samples_per_gpu", "auto_scale_lr is enabled: give the train loader's batch size per GPU (and \"gpus\", default 1), e.g. \"samples_per_gpu\": 2, \"gpus\": 8, so the LR can be scaled by gpus × samples_per_gpu / base_batch_size as mmengine does")
        }
        return Double(gpus * samplesPerGPU) / Double(base)
    }

    static func simulation(_ value: JSONValue?, samplesPerGPU: Int?, evaluation: JSONValue?) throws(HooktraceError) -> Simulation {
        var s = Simulation()
        var args = try ConfigArgs(value ?? .object([]), path: "simulation")
        if let seed = try args.optionalInt("seed") {
            guard seed >= 0 else { throw configError("simulation.seed", "must not be negative, got \(seed)") }
            s.seed = UInt64(seed)
        }
        switch args.raw("meta") {
        case nil, .null?, .bool(true)?: break
        case .bool(false)?: s.runnerMeta = false
        case .object(let members)?:
            // A real run's meta as its TextLoggerHook dumped it; nested values as JSON text.
            s.metaRecord = members.map { (key, value) in
                switch value {
                case .bool(let b): Field(key, .bool(b))
                case .int(let i): Field(key, .int(i))
                case .double(let d): Field(key, .double(d))
                case .string(let t): Field(key, .string(t))
                case .null: Field(key, .null)
                default: Field(key, .string(value.compact))
                }
            }
        case let v?: throw configError("simulation.meta", "expected true, false or the run's meta as an object, got \(describeValue(v))")
        }
        s.batchSize = try args.int("batch_size", default: samplesPerGPU ?? 2)
        guard s.batchSize > 0 else { throw configError("simulation.batch_size", "must be positive, got \(s.batchSize)") }
        func curve(_ key: String, _ d: Simulation.Curve) throws(HooktraceError) -> Simulation.Curve {
            guard let v = args.raw(key), v != .null else { return d }
            if let script = try Self.script(v, path: "simulation.\(key)", unit: "training step") {
                s.scripts["simulation." + key] = script  // apart from the metrics' (a metric may be named "loss")
                return d
            }
            var c = try ConfigArgs(v, path: "simulation.\(key)")
            let result = Simulation.Curve(start: try c.double("start", default: d.start), end: try c.double("end", default: d.end),
                                          noise: try c.double("noise", default: d.noise))
            try c.finish(owner: "a curve")
            guard result.noise >= 0 else { throw configError("simulation.\(key).noise", "must not be negative") }
            return result
        }
        func duration(_ key: String, _ d: Simulation.Duration) throws(HooktraceError) -> Simulation.Duration {
            guard let v = args.raw(key), v != .null else { return d }
            if let n = v.number {
                guard n >= 0 else { throw configError("simulation.\(key)", "must not be negative") }
                guard n <= Self.maxStepSeconds else { throw configError("simulation.\(key)", "at most \(Int(Self.maxStepSeconds)) seconds (a day) per step, got \(n)") }
                return Simulation.Duration(mean: n, jitter: 0)
            }
            var c = try ConfigArgs(v, path: "simulation.\(key)")
            let result = Simulation.Duration(mean: try c.double("mean", default: d.mean), jitter: try c.double("jitter", default: d.jitter))
            try c.finish(owner: "a duration")
            guard result.mean >= 0, result.jitter >= 0 else { throw configError("simulation.\(key)", "mean and jitter must not be negative") }
            guard result.mean + result.jitter <= Self.maxStepSeconds else {
                throw configError("simulation.\(key)", "mean + jitter must be at most \(Int(Self.maxStepSeconds)) seconds (a day) per step")
            }
            return result
        }
        switch args.raw("first_param") {
        case nil, .null?: break
        case .string(let name)?: s.firstParam = name
        case .object(let members)?:
            for (wrapper, v) in members {
                guard case .string(let name) = v else { throw configError("simulation.first_param.\(wrapper)", "expected a parameter name such as \"generator.conv1.weight\", got \(describeValue(v))") }
                s.firstParams[wrapper] = name
            }
        case let v?: throw configError("simulation.first_param", "expected a parameter name such as \"backbone.conv1.weight\" (or one per optimizer), got \(describeValue(v))")
        }
        if let u = args.raw("update_every"), u != .null {
            guard case .object(let members) = u else { throw configError("simulation.update_every", "expected an object of intervals by optimizer, such as {\"generator\": 5}, got \(describeValue(u))") }
            for (wrapper, v) in members {
                guard case .int(let k) = v, k > 0 else { throw configError("simulation.update_every.\(wrapper)", "expected a positive number of iterations, got \(describeValue(v))") }
                s.updateEvery[wrapper] = Int(k)
            }
        }
        s.loss = try curve("loss", s.loss)
        s.gradNorm = try curve("grad_norm", s.gradNorm)
        s.dataTime = try duration("data_time", s.dataTime)
        s.iterTime = try duration("iter_time", s.iterTime)
        s.valIterTime = try duration("val_iter_time", s.valIterTime)
        s.evalIterTime = try duration("eval_iter_time", s.evalIterTime)
        s.checkpointTime = try duration("checkpoint_time", s.checkpointTime)
        if let lv = args.raw("log_vars"), lv != .null {
            guard case .object(let members) = lv else { throw configError("simulation.log_vars", "expected an object of shares such as {\"loss_cls\": 0.4, \"loss_bbox\": 0.6}") }
            for (k, v) in members {
                guard let share = v.number else { throw configError("simulation.log_vars.\(k)", "expected a number, got \(describeValue(v))") }
                s.logVars.append((k, share))
            }
        }
        if let m = args.raw("metrics"), m != .null {
            guard case .object(let members) = m else { throw configError("simulation.metrics", "expected an object such as {\"bbox_mAP\": {\"start\": 0.1, \"end\": 0.37}}") }
            for (k, v) in members {
                if let script = try Self.script(v, path: "simulation.metrics.\(k)", unit: "evaluation") {
                    s.metrics.append((k, Simulation.Curve(start: 0, end: 0, noise: 0)))
                    s.scripts[k] = script
                    continue
                }
                var c = try ConfigArgs(v, path: "simulation.metrics.\(k)")
                s.metrics.append((k, Simulation.Curve(start: try c.double("start", default: 0.1), end: try c.double("end", default: 0.4),
                                                       noise: try c.double("noise", default: 0.003))))
                try c.finish(owner: "a metric")
            }
        } else if let evaluation, evaluation != .null {
            s.metrics = defaultMetrics(evaluation["metric"])
            s.report = .mmdet(defaultMetricNames(evaluation["metric"]))
        }
        try args.finish(owner: "simulation")
        return s
    }

    /// Values given outright (`[0.31, 0.35]`, `{"epoch": {"1": 0.31}}`, `{"iter": {…}}`), or
    /// nil for a curve (an object of start/end/noise).
    static func script(_ v: JSONValue, path: String, unit: String) throws(HooktraceError) -> Simulation.Script? {
        func number(_ x: JSONValue, _ at: String) throws(HooktraceError) -> Double {
            guard let n = x.number, n.isFinite else { throw configError(at, "expected a finite number, got \(describeValue(x))") }
            return n
        }
        if case .array(let items) = v {
            guard !items.isEmpty else { throw configError(path, "an empty list: give one value per \(unit), in order") }
            var out: [Double] = []
            for (i, x) in items.enumerated() { out.append(try number(x, "\(path)[\(i)]")) }
            return .list(out)
        }
        guard case .object(let members) = v, members.count == 1, let (by, table) = members.first, by == "epoch" || by == "iter" else {
            if case .object(let members) = v, members.contains(where: { $0.key == "epoch" || $0.key == "iter" }) {
                throw configError(path, "give values keyed by \"epoch\" or by \"iter\", not both and nothing else")
            }
            return nil
        }
        guard case .object(let entries) = table, !entries.isEmpty else {
            throw configError("\(path).\(by)", "expected values keyed by the \(by) just finished, counted from 1, e.g. {\"1\": 0.31, \"2\": 0.35}")
        }
        var out: [Int: Double] = [:]
        for (key, x) in entries {
            guard let k = Int(key), k >= 1 else { throw configError("\(path).\(by).\(key)", "keys are \(by) numbers counted from 1, as the logs count them") }
            out[k] = try number(x, "\(path).\(by).\(key)")
        }
        return by == "epoch" ? .byEpoch(out) : .byIter(out)
    }

    /// The metrics an mmdetection 2.x evaluation reports for `metric` (its datasets'
    /// `evaluate`): the curves to draw, in the order the results list them.
    static func defaultMetricNames(_ metric: JSONValue?) -> [String] {
        switch metric {
        case .string(let s): [s]
        case .array(let items): items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        default: ["bbox"]
        }
    }

    static func defaultMetrics(_ metric: JSONValue?) -> [(String, Simulation.Curve)] {
        var out: [(String, Simulation.Curve)] = []
        for n in defaultMetricNames(metric) {
            switch n {
            case "bbox", "segm":
                // Final values of a Faster / Mask R-CNN 1x run on COCO.
                let end = n == "bbox" ? [0.374, 0.581, 0.404, 0.212, 0.41, 0.481] : [0.34, 0.552, 0.363, 0.155, 0.369, 0.511]
                for (item, e) in zip(MMDetMetrics.cocoItems, end) {
                    out.append(("\(n)_\(item)", Simulation.Curve(start: e / 3, end: e, noise: 0.003)))
                }
            case "proposal", "proposal_fast":
                let end = [0.51, 0.58, 0.6, 0.41, 0.66, 0.76]
                for (item, e) in zip(MMDetMetrics.proposalItems, end) where n == "proposal" || item.hasPrefix("AR@") {
                    out.append((item, Simulation.Curve(start: e / 2, end: e, noise: 0.003)))
                }
            case "mAP":
                out.append(("mAP", Simulation.Curve(start: 0.3, end: 0.8, noise: 0.003)))
            case "recall":
                for num in MMDetMetrics.proposalNums {
                    out.append(("recall@\(num)@0.5", Simulation.Curve(start: 0.6, end: 0.9, noise: 0.003)))
                }
            default:
                out.append((n, Simulation.Curve(start: 0.1, end: 0.7, noise: 0.005)))
            }
        }
        return out
    }
}

/// torch's optimizers refuse a learning rate that is not `0.0 <= lr` (negative or NaN);
/// an infinite one (JSON's 1e400) is refused here too: no schedule can start from it.
func checkLearningRate(_ lr: Double, _ path: String) throws(HooktraceError) {
    guard lr.isFinite, lr >= 0 else {
        throw configError(path, "must be a finite number ≥ 0 (torch refuses \"Invalid learning rate\"), got \(formatDouble(lr))")
    }
}
