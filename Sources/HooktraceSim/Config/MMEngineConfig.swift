import Foundation
import HooktraceFormat

/// What an mmengine config says about the run's loops and hooks (mmengine 0.10.7's
/// `Runner.from_cfg`, `build_train_loop`, `register_default_hooks`): the train loop and its
/// validation schedule, whether a val loop exists, the default hooks after the config's
/// `default_hooks` are merged in, and the custom hooks.
package struct MMEngineSettings: Sendable {
    /// `EpochBasedTrainLoop` or `IterBasedTrainLoop`.
    package var kind: Runner.Kind
    package var maxEpochs: Int?
    package var maxIters: Int?
    /// The train loop's `val_begin` and `val_interval`.
    package var valBegin: Int
    package var valInterval: Int
    /// `dynamic_intervals`: from each milestone on, its interval.
    package var dynamicIntervals: [(milestone: Int, interval: Int)]
    /// Whether `val_cfg` is given: without it no validation stage is ever called.
    package var hasVal: Bool
    /// The default hooks in registration order, by key, each a hook config with `type`.
    package var defaultHooks: [(key: String, config: JSONValue)]
    /// `custom_hooks`, in order.
    package var customHooks: [JSONValue]
    /// The optimizer wrappers: one, or an OptimWrapperDict's, in its order.
    package var wrappers: [WrapperSettings] = []
    /// `log_processor`.
    package var logProcessor: LogProcessorSettings
    /// `param_scheduler` per wrapper (index into ``wrappers``), as a list (a single dict
    /// is one scheduler) with its key path: a list given for an OptimWrapperDict is built
    /// once for each of its wrappers, a dict by wrapper name gives each its own.
    package var paramSchedulers: [(wrapper: Int, entries: [JSONValue], path: String)] = []
    /// Settings read but not simulated, with what happens instead.
    package var warnings: [String] = []
    /// Whether `Runner.load_or_resume` loads a checkpoint (`load_from` given): its
    /// `load_checkpoint` calls `after_load_checkpoint`, after `before_run`.
    package var loadsCheckpoint = false

    /// The six hooks mmengine's runner registers unless `default_hooks` removes or
    /// replaces them, in its order (`Runner.register_default_hooks`). The checkpoint entry
    /// passes `interval=1` (the class default is −1).
    static let builtInDefaults: [(key: String, config: JSONValue)] = [
        ("runtime_info", .object([("type", .string("RuntimeInfoHook"))])),
        ("timer", .object([("type", .string("IterTimerHook"))])),
        ("sampler_seed", .object([("type", .string("DistSamplerSeedHook"))])),
        ("logger", .object([("type", .string("LoggerHook"))])),
        ("param_scheduler", .object([("type", .string("ParamSchedulerHook"))])),
        ("checkpoint", .object([("type", .string("CheckpointHook")), ("interval", .int(1))])),
    ]

    init(_ json: JSONValue) throws(HooktraceError) {
        // The train loop (`build_train_loop`): `type`, or `by_epoch` choosing one.
        guard let trainValue = json["train_cfg"], trainValue != .null else {
            throw configError("train_cfg", "missing: mmengine trains only with train_cfg (with train_dataloader and optim_wrapper; all three or none), e.g. {\"type\": \"EpochBasedTrainLoop\", \"max_epochs\": 12}")
        }
        var train = try ConfigArgs(trainValue, path: "train_cfg")
        let type = try train.optionalString("type")
        let byEpoch: Bool? = train.has("by_epoch") ? try train.bool("by_epoch", default: true) : nil
        let loops = ["EpochBasedTrainLoop", "IterBasedTrainLoop"]
        switch (type, byEpoch) {
        case (.some, .some):
            throw configError("train_cfg", "has both \"type\" and \"by_epoch\"; mmengine raises RuntimeError: keep one")
        case (nil, nil):
            throw configError("train_cfg", "needs \"type\" (e.g. \"EpochBasedTrainLoop\") or \"by_epoch\"; mmengine raises KeyError")
        case (let t?, nil):
            guard let i = loops.firstIndex(of: t) else {
                throw configError("train_cfg.type", "unknown train loop \"\(t)\"; use \"EpochBasedTrainLoop\" or \"IterBasedTrainLoop\"" + suggestion(t, loops))
            }
            kind = i == 0 ? .epochBased : .iterBased
        case (nil, let b?):
            kind = b ? .epochBased : .iterBased
        }
        let owner = kind == .epochBased ? loops[0] : loops[1]
        func integral(_ key: String) throws(HooktraceError) -> Int? {
            guard let v = train.raw(key), v != .null else { return nil }
            switch v {
            case .int(let n): return Int(n)
            case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
            default: throw configError(train.keyPath(key), "must be an integer (mmengine asserts int(\(key)) == \(key)), got \(describeValue(v))")
            }
        }
        switch kind {
        case .epochBased:
            guard let e = try integral("max_epochs") else { throw configError("train_cfg.max_epochs", "missing: \(owner) needs max_epochs") }
            guard e >= 0 else { throw configError("train_cfg.max_epochs", "must not be negative, got \(e)") }
            maxEpochs = e
            maxIters = nil
        case .iterBased:
            guard let i = try integral("max_iters") else { throw configError("train_cfg.max_iters", "missing: \(owner) needs max_iters") }
            guard i >= 0 else { throw configError("train_cfg.max_iters", "must not be negative, got \(i)") }
            maxIters = i
            maxEpochs = nil
        }
        valBegin = try train.int("val_begin", default: 1)
        // A whole float counts as its integer: the loops only take `% val_interval` of it
        // (mmdetection 3.3's v3det configs give 57300.0).
        if case .double(let d)? = train.raw("val_interval"), d.rounded() == d, d >= 1, d < 1e15 {
            valInterval = Int(d)
        } else {
            valInterval = try train.int("val_interval", default: kind == .epochBased ? 1 : 1000)
        }
        guard valInterval > 0 else {
            throw configError("train_cfg.val_interval", "must be a positive number of \(kind == .epochBased ? "epochs" : "iterations"), got \(valInterval) (mmengine divides by it when deciding to validate)")
        }
        dynamicIntervals = []
        if let d = train.raw("dynamic_intervals"), d != .null {
            guard case .array(let pairs) = d else { throw configError("train_cfg.dynamic_intervals", "expected a list of [milestone, interval] pairs, got \(describeValue(d))") }
            for (i, pair) in pairs.enumerated() {
                guard case .array(let p) = pair, p.count == 2, case .int(let m) = p[0], case .int(let v) = p[1] else {
                    throw configError("train_cfg.dynamic_intervals[\(i)]", "expected a pair [milestone, interval] of integers, got \(describeValue(pair))")
                }
                guard v > 0 else { throw configError("train_cfg.dynamic_intervals[\(i)]", "the interval must be positive, got \(v)") }
                if let last = dynamicIntervals.last, Int(m) <= last.milestone {
                    throw configError("train_cfg.dynamic_intervals[\(i)]", "milestones must increase (mmengine looks them up by bisection, as a sorted list), got \(m) after \(last.milestone)")
                }
                dynamicIntervals.append((Int(m), Int(v)))
            }
        }
        try train.finish(owner: owner)

        hasVal = json["val_cfg"].map { $0 != .null } ?? false
        logProcessor = try LogProcessorSettings(json["log_processor"])

        // Optimizer wrappers (`Runner.build_optim_wrapper`), then the schedulers on them.
        var backbone: String?
        if case .string(let b)? = json["model"]?["backbone"]?["type"] { backbone = b }
        guard let wrapperValue = json["optim_wrapper"], wrapperValue != .null else {
            throw configError("optim_wrapper", "missing: mmengine trains only with train_cfg, train_dataloader and optim_wrapper (all three or none), e.g. {\"type\": \"OptimWrapper\", \"optimizer\": {\"type\": \"SGD\", \"lr\": 0.02, \"momentum\": 0.9}}")
        }
        guard case .object(let wrapperMembers) = wrapperValue else {
            throw configError("optim_wrapper", "expected a dict such as {\"type\": \"OptimWrapper\", \"optimizer\": {…}}, got \(describeValue(wrapperValue))")
        }
        if wrapperValue["optimizer"] == nil, wrapperValue["type"] == nil,
           wrapperMembers.contains(where: { if case .object = $0.value { true } else { false } }),
           wrapperMembers.allSatisfy({ if case .object = $0.value { true } else { $0.key == "constructor" } }) {
            // Several optimizers: mmengine builds an OptimWrapperDict only through a
            // constructor (its own code raises ValueError on a dict of configs without one).
            let named = wrapperMembers.filter { $0.key != "constructor" }
            guard let constructor = wrapperValue["constructor"], constructor != .null else {
                throw configError("optim_wrapper", "gives several optimizers (\(named.map(\.key).joined(separator: ", "))) without a constructor; mmengine raises ValueError (each item must be a built OptimWrapper). Add \"constructor\": \"MultiOptimWrapperConstructor\" (mmagic's) or your project's own")
            }
            let mmagics: Bool = if case .string(let c) = constructor { c.split(separator: ".").last == "MultiOptimWrapperConstructor" } else { false }
            if !mmagics {
                warnings.append("optim_wrapper.constructor (\(describeValue(constructor))): simulated as mmagic's MultiOptimWrapperConstructor builds an OptimWrapperDict: one wrapper per entry, each with the default constructor's groups")
            }
            for (name, value) in named {
                guard case .object = value else {
                    throw configError("optim_wrapper.\(name)", "expected a wrapper config such as {\"optimizer\": {\"type\": \"Adam\", \"lr\": 0.0002}}, got \(describeValue(value))")
                }
                wrappers.append(try WrapperSettings(value, name: name, path: "optim_wrapper.\(name)", backbone: backbone, warnings: &warnings))
            }
        } else {
            wrappers = [try WrapperSettings(wrapperValue, name: "", path: "optim_wrapper", backbone: backbone, warnings: &warnings)]
        }
        switch json["param_scheduler"] {
        case nil, .null?: break
        case .array(let items)?:
            for w in wrappers.indices { paramSchedulers.append((w, items, "param_scheduler")) }
        case .object(let members)? where members.contains(where: { $0.key == "type" }):
            for w in wrappers.indices { paramSchedulers.append((w, [json["param_scheduler"]!], "param_scheduler")) }
        case .object(let members)?:
            // Runner.build_param_scheduler: a dict without `type` gives each wrapper its own.
            guard wrappers.count > 1 else {
                throw configError("param_scheduler", "a dict of schedulers by optimizer name (\(members.map(\.key).joined(separator: ", "))) needs several optimizers in optim_wrapper; give a list of schedulers")
            }
            for (name, _) in members where !wrappers.contains(where: { $0.name == name }) {
                throw configError("param_scheduler.\(name)", "names no optimizer of optim_wrapper (\(wrappers.map(\.name).joined(separator: ", ")))" + suggestion(name, wrappers.map(\.name)))
            }
            for (w, wrapper) in wrappers.enumerated() {
                switch json["param_scheduler"]?[wrapper.name] {
                case nil:
                    throw configError("param_scheduler.\(wrapper.name)", "missing: a dict of schedulers by optimizer needs an entry for each (mmengine raises KeyError); give [] for none")
                case .null?: break
                case .array(let items)?: paramSchedulers.append((w, items, "param_scheduler.\(wrapper.name)"))
                case let v? where v["type"] != nil: paramSchedulers.append((w, [v], "param_scheduler.\(wrapper.name)"))
                case let v?: throw configError("param_scheduler.\(wrapper.name)", "expected a scheduler config or a list of them, got \(describeValue(v))")
                }
            }
        case let v?: throw configError("param_scheduler", "expected a scheduler config or a list of them, got \(describeValue(v))")
        }

        // Default hooks: the config's entries replace the built-in ones wholesale (a new
        // key is appended after checkpoint); None removes one of the six.
        var hooks = Self.builtInDefaults
        if let d = json["default_hooks"], d != .null {
            guard case .object(let entries) = d else { throw configError("default_hooks", "expected an object of hook configs by name, got \(describeValue(d))") }
            for (key, value) in entries {
                let index = hooks.firstIndex { $0.key == key }
                if value == .null {
                    guard let index else {
                        throw configError("default_hooks.\(key)", "None removes one of the default hooks (\(Self.builtInDefaults.map(\.key).joined(separator: ", "))), and \"\(key)\" is not one (mmengine asserts this)" + suggestion(key, Self.builtInDefaults.map(\.key)))
                    }
                    hooks.remove(at: index)
                    continue
                }
                guard case .object = value, value["type"] != nil else {
                    throw configError("default_hooks.\(key)", "expected a hook config with \"type\" (or null to remove it), got \(describeValue(value))")
                }
                if let index { hooks[index].config = value } else { hooks.append((key, value)) }
            }
        }
        defaultHooks = hooks
        customHooks = []
        if let c = json["custom_hooks"], c != .null {
            guard case .array(let items) = c else { throw configError("custom_hooks", "expected a list of hook configs, got \(describeValue(c))") }
            for (i, item) in items.enumerated() {
                guard case .object = item, item["type"] != nil else {
                    throw configError("custom_hooks[\(i)]", "expected a hook config with \"type\", got \(describeValue(item))")
                }
            }
            customHooks = items
        }
        try readLoadOrResume(json)
    }

    /// `load_from` and `resume` as `Runner.load_or_resume` reads them. A simulated run's
    /// work_dir starts empty, so `resume=True` alone finds no checkpoint and the run starts
    /// from its beginning, as mmengine's does in a new work_dir; `load_from` loads weights
    /// (the `after_load_checkpoint` call), and with `resume=True` it would also restore the
    /// counters, optimizer and schedulers, which is not simulated yet.
    private mutating func readLoadOrResume(_ json: JSONValue) throws(HooktraceError) {
        var resume = false
        let resuming = json["launch"]?["resume"].map { $0 != .null } ?? false
        switch json["resume"] {
        case nil, .null?, .bool(false)?: break
        case .bool(true)?: resume = true
        case let v?: throw configError("resume", "expected true or false, got \(describeValue(v))")
        }
        switch json["load_from"] {
        case nil, .null?: break
        case .string(let path)?:
            loadsCheckpoint = true
            if resume && !resuming {
                warnings.append("resume=True with load_from (\(path)): a checkpoint file, not a trace; this run loads it (the after_load_checkpoint call) and starts from its beginning. Resume from a recorded run's checkpoint with record --resume-from TRACE[:CHECKPOINT]")
            }
        case let v?: throw configError("load_from", "expected a checkpoint path or null, got \(describeValue(v))")
        }
        if resume && !loadsCheckpoint && !resuming {
            warnings.append("resume=True: a simulated run starts in an empty work_dir, where mmengine finds no checkpoint to resume and trains from the beginning (resume from a recorded run's checkpoint with record --resume-from TRACE[:CHECKPOINT])")
        }
    }

    /// The val interval in force after `completed` epochs (or iterations): mmengine's
    /// `calc_dynamic_intervals` and its bisect on `completed + 1`, so a milestone's interval
    /// applies from one unit before the milestone.
    package func valInterval(after completed: Int) -> Int {
        var interval = valInterval
        for (milestone, value) in dynamicIntervals where milestone <= completed + 1 { interval = value }
        return interval
    }

    /// Whether the train loop runs the val loop after `completed` epochs (iterations).
    package func validates(after completed: Int, of total: Int) -> Bool {
        hasVal && completed >= valBegin && (completed % valInterval(after: completed) == 0 || completed == total)
    }
}

/// One optimizer wrapper of `optim_wrapper` (`build_optim_wrapper` with the default
/// constructor): its type, optimizer, clipping, accumulation and param-group settings.
package struct WrapperSettings: Sendable {
    /// The wrapper's key in an OptimWrapperDict; `""` for the only one.
    package var name: String
    /// Its key path for errors: `optim_wrapper` or `optim_wrapper.<name>`.
    package var path: String
    /// `optimizer`.
    package var optimizer: JSONValue
    /// `clip_grad` by norm: the wrapper clips and logs `train/grad_norm`.
    package var clipsGradNorm = false
    /// `paramwise_cfg`, when given (with the default constructor).
    package var paramwise: Paramwise?
    /// mmdetection's layer-wise lr decay (`LearningRateDecayOptimizerConstructor`).
    package var layerDecay: LayerDecay?
    /// `accumulative_counts`: the optimizer steps every this many updates (and at the last).
    package var accumulativeCounts = 1

    init(_ value: JSONValue, name: String, path: String, backbone: String?, warnings: inout [String]) throws(HooktraceError) {
        self.name = name
        self.path = path
        var wrapper = try ConfigArgs(value, path: path)
        let wrapperType = try wrapper.string("type", default: "OptimWrapper")
        let wrapperTypes = ["OptimWrapper", "AmpOptimWrapper"]
        let bareWrapper = wrapperType.split(separator: ".").last.map(String.init) ?? wrapperType
        guard wrapperTypes.contains(bareWrapper) else {
            throw configError(path + ".type", "unknown optimizer wrapper \"\(wrapperType)\"; use \"OptimWrapper\" or \"AmpOptimWrapper\"" + suggestion(bareWrapper, wrapperTypes))
        }
        guard let opt = wrapper.raw("optimizer"), opt != .null else {
            throw configError(path + ".optimizer", "missing: e.g. {\"type\": \"SGD\", \"lr\": 0.02, \"momentum\": 0.9}")
        }
        optimizer = opt
        if let clip = wrapper.raw("clip_grad"), clip != .null {
            guard case .object(let members) = clip else { throw configError(path + ".clip_grad", "expected a dict such as {\"max_norm\": 35, \"norm_type\": 2}, got \(describeValue(clip))") }
            // OptimWrapper: clip_grad_norm_ when there is no `type` or it is 'norm', clip_grad_value_ for 'value'.
            let type = members.first(where: { $0.key == "type" })?.value ?? .string("norm")
            guard type == .string("norm") || type == .string("value") else {
                throw configError(path + ".clip_grad.type", "must be \"norm\" or \"value\", got \(describeValue(type)) (mmengine raises ValueError)")
            }
            clipsGradNorm = type == .string("norm")
        }
        accumulativeCounts = try wrapper.int("accumulative_counts", default: 1)
        guard accumulativeCounts > 0 else {
            throw configError(path + ".accumulative_counts", "must be a positive integer, got \(accumulativeCounts) (mmengine asserts it)")
        }
        let constructor: String? = switch wrapper.raw("constructor") {
        case .string(let c)?: c.split(separator: ".").last.map(String.init)
        case nil, .null?: nil
        case let c?: throw configError(path + ".constructor", "expected a constructor's name, got \(describeValue(c))")
        }
        if constructor == "LearningRateDecayOptimizerConstructor" {
            guard let p = wrapper.raw("paramwise_cfg"), p != .null else {
                throw configError(path + ".paramwise_cfg", "missing: LearningRateDecayOptimizerConstructor reads decay_rate and num_layers from it (mmdetection fails without them)")
            }
            if let backbone, !backbone.contains("ConvNeXt") {
                throw configError(path + ".constructor", "LearningRateDecayOptimizerConstructor assigns layers of ConvNeXt backbones only, and model.backbone is \(backbone) (mmdetection raises NotImplementedError)")
            }
            let decay = try LayerDecay(p, optimizer: opt, path: path + ".paramwise_cfg")
            for key in decay.ignored {
                warnings.append("\(path).paramwise_cfg.\(key): LearningRateDecayOptimizerConstructor reads only decay_rate, num_layers and decay_type; the default constructor's settings are checked and then ignored, as in mmdetection")
            }
            layerDecay = decay
        } else if let p = wrapper.raw("paramwise_cfg"), p != .null {
            paramwise = try Paramwise(p, optimizer: opt, path: path + ".paramwise_cfg")
        }
        if let constructor, constructor != "DefaultOptimWrapperConstructor", constructor != "LearningRateDecayOptimizerConstructor" {
            warnings.append("\(path).constructor (\(constructor)): its param groups are not simulated; the optimizer's groups are the config's (with the default constructor's paramwise_cfg, if any)")
        }
        if bareWrapper == "AmpOptimWrapper" {
            let scale = wrapper.raw("loss_scale") ?? .string("dynamic")
            _ = wrapper.raw("dtype")
            _ = wrapper.raw("use_fsdp")
            warnings.append("\(path): AmpOptimWrapper's loss scaling (\(describeValue(scale))) is not simulated: every update step is taken (a dynamic scaler skips steps whose gradients overflow)")
        }
        try wrapper.finish(owner: wrapperType)
    }
}

/// `optim_wrapper.paramwise_cfg` as mmengine's DefaultOptimWrapperConstructor reads it:
/// every parameter becomes a param group of its own, with the lr of its class — the first
/// `custom_keys` key (longest first, then alphabetical) contained in its name, with
/// `lr_mult` (and any other setting the key gives, such as `momentum`); else a bias with
/// `bias_lr_mult`; else the optimizer's lr. The weight-decay multipliers change no lr and
/// are checked only.
///
/// The model is not known, so the simulated groups are these classes, named by key
/// (`bias`, `default` for the rest), the class of the model's first parameter first
/// (`simulation.first_param`): its group is the one whose lr mmengine logs.
package struct Paramwise: Sendable {
    package struct Key: Sendable {
        package var name: String
        package var lrMult: Double
        package var momentum: Double?
    }

    /// Custom keys in the order mmengine tries them.
    package var keys: [Key] = []
    package var biasLRMult: Double?

    init(_ value: JSONValue, optimizer: JSONValue, path: String = "optim_wrapper.paramwise_cfg") throws(HooktraceError) {
        var args = try ConfigArgs(value, path: path)
        let hasWeightDecay = optimizer["weight_decay"].map { $0 != .null } ?? false
        func needsWeightDecay(_ key: String) throws(HooktraceError) {
            guard hasWeightDecay else {
                throw configError(args.keyPath(key), "multiplies the weight decay, and optimizer.weight_decay is not given (mmengine raises ValueError: base_wd should not be None)")
            }
        }
        if let custom = args.raw("custom_keys"), custom != .null {
            guard case .object(let members) = custom else {
                throw configError(args.keyPath("custom_keys"), "expected a dict of name → settings such as {\"backbone\": {\"lr_mult\": 0.1}}, got \(describeValue(custom))")
            }
            // sorted(sorted(keys), key=len, reverse=True): longest first, ties alphabetical.
            let ordered = members.sorted { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }
            for (name, settings) in ordered {
                var k = try ConfigArgs(settings, path: args.keyPath("custom_keys") + ".\(name)")
                let lrMult = try k.double("lr_mult", default: 1)
                if k.has("decay_mult") {
                    _ = k.raw("decay_mult")
                    guard hasWeightDecay else {
                        throw configError(k.keyPath("decay_mult"), "multiplies the weight decay, and optimizer.weight_decay is not given (mmengine raises ValueError: base_wd should not be None)")
                    }
                }
                let momentum = try k.optionalDouble("momentum")
                for key in ["weight_decay", "eps", "betas", "lr"] where k.has(key) {
                    // Set on the group as given (mmengine copies every key); lr overrides lr_mult.
                    _ = k.raw(key)
                }
                if k.has("lr") {
                    throw configError(k.keyPath("lr"), "an lr of its own in custom_keys is not simulated; use lr_mult")
                }
                try k.finish(owner: "a custom key")
                keys.append(Key(name: name, lrMult: lrMult, momentum: momentum))
            }
        }
        biasLRMult = try args.optionalDouble("bias_lr_mult")
        for key in ["bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult"] where args.has(key) {
            _ = try args.optionalDouble(key)
            if key != "flat_decay_mult" { try needsWeightDecay(key) }
        }
        _ = try args.optionalDouble("dcn_offset_lr_mult")
        _ = try args.bool("bypass_duplicate", default: false)
        try args.finish(owner: "paramwise_cfg")
    }

    /// The optimizer's single group becomes the classes' groups, the first parameter's first.
    func apply(to optimizer: inout OptimizerState, firstParam: String) {
        let base = optimizer.groups[0]
        var classes: [(name: String, group: ParamGroupState)] = []
        for key in keys {
            var g = base
            g.lr = base.lr * key.lrMult
            if let m = key.momentum, g.momentum != nil { g.momentum = m }
            classes.append((key.name, g))
        }
        if let mult = biasLRMult {
            var g = base
            g.lr = base.lr * mult
            classes.append(("bias", g))
        }
        classes.append(("default", base))
        let first = keys.firstIndex { firstParam.contains($0.name) }
            ?? (biasLRMult != nil && firstParam.split(separator: ".").last == "bias" ? keys.count : classes.count - 1)
        let ordered = [classes[first]] + classes.enumerated().filter { $0.offset != first }.map(\.element)
        optimizer.groups = ordered.map(\.group)
        optimizer.groupNames = ordered.map(\.name)
        optimizer.perParameterGroups = true
    }
}

/// mmdetection 3.x's `LearningRateDecayOptimizerConstructor` (for ConvNeXt backbones):
/// every parameter joins the group `layer_<id>_decay` (or `_no_decay`: biases and other
/// 1-D parameters, weight decay 0), whose lr is the optimizer's × decay_rate^(L − id − 1)
/// with L = num_layers + 2. `layer_wise` numbers the stem 0, stage 0 1, stage 1 and its
/// downsampling 2, stage 2's blocks 3 + block // 3, stage 3 num_layers and everything
/// else (the backbone's output norms, neck, heads) num_layers + 1; `stage_wise` numbers
/// the downsampling layers 0, stage i i + 1 and the rest num_layers + 1.
///
/// The groups come in the order the model's parameters first reach them: mmpretrain's
/// ConvNeXt registers its downsampling layers (the stem's conv first), then its stages
/// (each block's layer-scale `gamma`, 1-D, before its convolutions), then its output
/// norms; the neck and heads follow. So group 0, whose lr mmengine logs, is
/// `layer_0_decay`.
package struct LayerDecay: Sendable {
    package var rate: Double
    package var numLayers: Int
    package var stageWise: Bool
    /// The default constructor's settings given too: checked by its __init__, never used.
    package var ignored: [String] = []

    init(_ value: JSONValue, optimizer: JSONValue, path: String) throws(HooktraceError) {
        var args = try ConfigArgs(value, path: path)
        guard let rate = try args.optionalDouble("decay_rate") else { throw configError(path + ".decay_rate", "missing: the lr factor per layer, e.g. 0.95") }
        guard let n = try args.optionalInt("num_layers") else { throw configError(path + ".num_layers", "missing: the backbone's number of layers for the decay (mmdetection's ConvNeXt configs give 6 or 12)") }
        guard n >= 3 else { throw configError(path + ".num_layers", "must be at least 3 for ConvNeXt's four stages, got \(n)") }
        let type = try args.string("decay_type", default: "layer_wise")
        guard type == "layer_wise" || type == "stage_wise" else {
            throw configError(path + ".decay_type", "must be \"layer_wise\" or \"stage_wise\", got \"\(type)\" (mmdetection would fail on the first parameter)" + suggestion(type, ["layer_wise", "stage_wise"]))
        }
        if optimizer["weight_decay"] == nil || optimizer["weight_decay"] == .null {
            // base_wd is None: the decay groups would carry None, and torch rejects it.
            throw configError(path, "LearningRateDecayOptimizerConstructor gives its decay groups the optimizer's weight_decay, and optimizer.weight_decay is not given")
        }
        self.rate = rate
        self.numLayers = n
        self.stageWise = type == "stage_wise"
        for key in ["custom_keys", "bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult",
                    "dcn_offset_lr_mult", "bypass_duplicate"] where args.has(key) {
            _ = args.raw(key)
            ignored.append(key)
        }
        try args.finish(owner: "LearningRateDecayOptimizerConstructor's paramwise_cfg")
    }

    /// The groups' (layer id, decays) in the order the parameters reach them.
    var classes: [(id: Int, decay: Bool)] {
        var out: [(id: Int, decay: Bool)] = []
        func add(_ id: Int, _ decay: Bool) { if !out.contains(where: { $0.id == id && $0.decay == decay }) { out.append((id, decay)) } }
        let n = numLayers
        if stageWise {
            add(0, true); add(0, false)                       // downsampling layers, stem conv first
            for stage in 1...4 { add(stage, false); add(stage, true) }  // gamma, then convs
        } else {
            add(0, true); add(0, false)                       // stem: conv weight, bias, norm
            for id in [2, 3, n] { add(id, false); add(id, true) }  // downsampling: norm, then conv
            add(1, false); add(1, true)                       // stage 0: gamma, then convs
            for id in 3..<max(3, n) { add(id, false); add(id, true) }  // stage 2's blocks
        }
        add(n + 1, false); add(n + 1, true)                   // output norms, then neck and heads
        return out
    }

    /// The optimizer's single group becomes the layer groups.
    func apply(to optimizer: inout OptimizerState) {
        let base = optimizer.groups[0]
        let layers = numLayers + 2
        optimizer.groups = classes.map { c in
            var g = base
            g.lr = pow(rate, Double(layers - c.id - 1)) * base.lr
            if !c.decay { g.settings["weight_decay"] = 0 }
            return g
        }
        optimizer.groupNames = classes.map { "layer_\($0.id)_\($0.decay ? "decay" : "no_decay")" }
        optimizer.perParameterGroups = true
    }
}
