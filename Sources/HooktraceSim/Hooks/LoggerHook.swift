import HooktraceFormat

/// mmcv's `LoggerHook` base with its backends. `TextLoggerHook` records exactly the JSON
/// lines mmcv appends to `<timestamp>.log.json` (floats rounded to 5 decimals); the other
/// backends record the scalar tags they would send, with their step.
package final class LoggerHook: IgnoresSettings {
    package private(set) var ignoredSettings: [String] = []
    package let type: String
    package let config: JSONValue
    package let interval: Int
    package let ignoreLast: Bool
    package var resetFlag: Bool
    package let byEpoch: Bool
    /// The mmcv backend the hook is or subclasses (mmdetection's MMDetWandbHook: WandbLoggerHook).
    package let base: String
    package var isText: Bool { base == "TextLoggerHook" }
    /// Dvclive takes its training values per epoch when by_epoch, else per iteration (spec §7.6).
    private let isDvclive: Bool
    package var methods: Set<Stage> {
        var m: Set<Stage> = [.beforeRun, .beforeEpoch, .afterTrainIter, .afterTrainEpoch, .afterValEpoch]
        if Self.closingBackends.contains(base) { m.insert(.afterRun) }
        return m
    }
    /// Backends that override after_run in mmcv 1.7 (closing a writer, uploading the last
    /// checkpoint or the model); it shows in the hook listing.
    static let closingBackends: Set<String> = ["TextLoggerHook", "TensorboardLoggerHook", "PaviLoggerHook", "WandbLoggerHook",
                                               "MlflowLoggerHook", "NeptuneLoggerHook"]

    static let backends = ["TextLoggerHook", "TensorboardLoggerHook", "PaviLoggerHook", "WandbLoggerHook", "MlflowLoggerHook",
                           "NeptuneLoggerHook", "DvcliveLoggerHook", "SegmindLoggerHook", "ClearMLLoggerHook"]

    /// Loggers of OpenMMLab projects that subclass an mmcv backend, simulated as that
    /// backend: their own parameters (what else they upload) do not change what is logged.
    static let subclasses: [String: (base: String, parameters: [String])] = [
        // mmdetection 2.x: overrides the stages its base has; adds W&B tables and artifacts.
        "MMDetWandbHook": ("WandbLoggerHook", ["log_checkpoint", "log_checkpoint_metadata", "num_eval_images", "bbox_score_thr"]),
    ]

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        let subclass = Self.subclasses[type]
        base = subclass?.base ?? type
        if let subclass {
            for key in subclass.parameters { _ = args.raw(key) }
            ignoredSettings.append("\(type) is simulated as its base class \(subclass.base): what it adds (images, tables and checkpoints sent to the backend) is not recorded")
        }
        isDvclive = type == "DvcliveLoggerHook"
        interval = try args.int("interval", default: 10)
        ignoreLast = try args.bool("ignore_last", default: true)
        resetFlag = try args.bool("reset_flag", default: false)
        byEpoch = try args.bool("by_epoch", default: true)
        if base == "TextLoggerHook" {
            _ = try args.int("interval_exp_name", default: 1000)
            let outDir = args.raw("out_dir")
            _ = args.raw("out_suffix")
            _ = try args.bool("keep_local", default: true)
            let client = args.raw("file_client_args")
            if let client, client != .null, outDir == nil || outDir == .null {
                throw configError(args.keyPath("file_client_args"), "file_client_args needs out_dir to be set (mmcv raises ValueError)")
            }
        } else {
            if type == "PaviLoggerHook" {
                if args.raw("add_last_ckpt") == .bool(true) {
                    ignoredSettings.append("\(args.keyPath("add_last_ckpt")): the upload of the last checkpoint to pavi at after_run is not simulated (no effect in the trace)")
                }
                if let kw = args.raw("add_ckpt_kwargs"), kw != .null {
                    ignoredSettings.append("\(args.keyPath("add_ckpt_kwargs")): checkpoint uploads to pavi are not simulated; ignored")
                }
            }
            // Backend-specific options (init_kwargs, log_dir, …) do not change what is logged.
            for key in args.keys { _ = args.raw(key) }
        }
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            if runner.isLastLogger(self) {
                resetFlag = true
            }
            if isText && runner.hasMeta, let record = runner.metaRecord {
                try runner.effect(.log(record))
            } else if isText && runner.hasMeta {
                try runner.effect(.log([
                    Field("env_info", .string("simulated by hooktrace")),
                    Field("config", .string(runner.configText)),
                    Field("seed", .int(Int64(runner.seed))),
                    Field("exp_name", .string(runner.experimentName)),
                ] + (runner.hookMessages.exists ? [Field("hook_msgs", .string(runner.hookMessages.json.compact))] : [])))
            }
        case .beforeEpoch:
            runner.logBuffer.clear()
        case .afterTrainIter:
            if isDvclive && byEpoch { return }
            if byEpoch && everyNInnerIters(runner, interval) {
                runner.logBuffer.average(interval)
            } else if !byEpoch && everyNIters(runner, interval) {
                runner.logBuffer.average(interval)
            } else if endOfEpoch(runner) && !ignoreLast {
                runner.logBuffer.average(interval)
            }
            if runner.logBuffer.ready {
                try log(runner)
                if resetFlag { runner.logBuffer.clearOutput() }
            }
        case .afterTrainEpoch:
            if isDvclive && !byEpoch { return }
            if runner.logBuffer.ready {
                try log(runner)
                if resetFlag { runner.logBuffer.clearOutput() }
            }
        case .afterValEpoch:
            runner.logBuffer.average()
            try log(runner)
            if resetFlag { runner.logBuffer.clearOutput() }
        default:
            break
        }
    }

    private func modeName(_ runner: HookContext) -> String {
        if runner.mode == .train {
            return runner.logBuffer.outputValue("time") != nil ? "train" : "val"
        }
        return "val"
    }

    private func logEpoch(_ runner: HookContext) -> Int {
        runner.mode == .val ? runner.epoch : runner.epoch + 1
    }

    private func logIter(_ runner: HookContext, inner: Bool) -> Int {
        byEpoch && inner ? runner.innerIter + 1 : runner.iter + 1
    }

    private func log(_ runner: HookContext) throws(HooktraceError) {
        if isText {
            try runner.effect(.log(textRecord(runner)))
        } else {
            try runner.effect(.log(tags(runner)))
        }
    }

    /// The JSON line of `TextLoggerHook.log`: mode, epoch, iter, lr, then the buffer's output.
    private func textRecord(_ runner: HookContext) -> [Field] {
        var fields: [Field] = []
        func set(_ key: String, _ value: Scalar) {
            if let i = fields.firstIndex(where: { $0.key == key }) { fields[i].value = value } else { fields.append(Field(key, value)) }
        }
        let iter: Scalar
        if let evalIters = runner.logBuffer.popOutput("eval_iter_num") {
            iter = evalIters
        } else {
            iter = .int(Int64(logIter(runner, inner: true)))
        }
        set("mode", .string(modeName(runner)))
        set("epoch", .int(Int64(logEpoch(runner))))
        set("iter", iter)
        if runner.isDictOptimizer {
            for (name, lr) in runner.currentLRs { set("lr/\(name)", .double(lr)) }
        } else if let lr = runner.currentLRs.first?.lr {
            set("lr", .double(lr))
        }
        for (key, value) in runner.logBuffer.output { set(key, value) }
        return fields.map { f in
            if case .double(let d) = f.value, !(runner.isDictOptimizer && f.key.hasPrefix("lr/")) {
                return Field(f.key, .double(pythonRound(d, 5)))
            }
            return f
        }
    }

    /// `get_loggable_tags()` plus the step the backend logs at: Pavi drops the mode prefix
    /// and steps val logs by epoch when by_epoch; Dvclive steps by epoch when by_epoch;
    /// Segmind by runner.epoch; the others by iteration (spec §7.6).
    private func tags(_ runner: HookContext) -> [Field] {
        let mode = modeName(runner)
        let addMode = type != "PaviLoggerHook"
        let step: Int
        switch type {
        case "PaviLoggerHook": step = mode == "val" && byEpoch ? logEpoch(runner) : logIter(runner, inner: false)
        case "DvcliveLoggerHook": step = byEpoch ? logEpoch(runner) : logIter(runner, inner: false)
        case "SegmindLoggerHook": step = runner.epoch
        default: step = logIter(runner, inner: false)
        }
        var fields: [Field] = []
        for (key, value) in runner.logBuffer.output where key != "time" && key != "data_time" {
            if case .string = value { continue }
            fields.append(Field(addMode ? "\(mode)/\(key)" : key, value))
        }
        if runner.isDictOptimizer {
            for (name, lr) in runner.currentLRs { fields.append(Field("learning_rate/\(name)", .double(lr))) }
            for (name, m) in runner.currentMomenta { fields.append(Field("momentum/\(name)", .double(m))) }
        } else {
            fields.append(Field("learning_rate", .double(runner.currentLRs.first?.lr ?? 0)))
            fields.append(Field("momentum", .double(runner.currentMomenta.first?.momentum ?? 0)))
        }
        fields.append(Field("step", .int(Int64(step))))
        return fields
    }
}
