import Foundation
import HooktraceFormat

/// mmengine's `LogProcessor` settings (`log_processor` in a config): how logged scalars
/// are smoothed. Text lines are not simulated, so `num_digits` only is checked.
package struct LogProcessorSettings: Sendable {
    package var windowSize = 10
    package var byEpoch = true
    package var logWithHierarchy = false
    /// nil: mmengine's default pattern, `.*(loss|time|data_time|grad_norm).*`.
    package var meanPattern: String?
    package var custom: [CustomLog] = []

    /// A `custom_cfg` item.
    package struct CustomLog: Sendable {
        package var source: String
        package var name: String
        package var method: String
        /// An int, `epoch` (batch_idx + 1) or `global` (iter + 1); nil: the processor's window.
        package var window: Window?
    }

    package enum Window: Sendable {
        case count(Int), epoch, global
    }

    package init() {}

    init(_ value: JSONValue?) throws(HooktraceError) {
        guard let value, value != .null else { return }
        var args = try ConfigArgs(value, path: "log_processor")
        if let t = try args.optionalString("type"), t != "LogProcessor" {
            throw configError("log_processor.type", "\"\(t)\" is not simulated; hooktrace knows mmengine's LogProcessor")
        }
        windowSize = try args.int("window_size", default: 10)
        byEpoch = try args.bool("by_epoch", default: true)
        logWithHierarchy = try args.bool("log_with_hierarchy", default: false)
        _ = try args.int("num_digits", default: 4)
        meanPattern = try args.optionalString("mean_pattern")
        if let c = args.raw("custom_cfg"), c != .null {
            guard case .array(let items) = c else { throw configError("log_processor.custom_cfg", "expected a list of dicts with data_src, got \(describeValue(c))") }
            var names: Set<String> = []
            for (i, item) in items.enumerated() {
                let path = "log_processor.custom_cfg[\(i)]"
                var a = try ConfigArgs(item, path: path)
                guard let source = try a.optionalString("data_src") else { throw configError(path + ".data_src", "missing (mmengine asserts it)") }
                let name = try a.optionalString("log_name") ?? source
                guard names.insert(name).inserted else {
                    throw configError(path + ".log_name", "\"\(name)\" is logged twice; give each item its own log_name (mmengine asserts it)")
                }
                let method = try a.string("method_name", default: "mean")
                guard ["mean", "min", "max", "current"].contains(method) else {
                    throw configError(path + ".method_name", "\"\(method)\" is not a statistic; use mean, min, max or current" + suggestion(method, ["mean", "min", "max", "current"]))
                }
                var window: Window?
                switch a.raw("window_size") {
                case nil, .null?: window = nil
                case .int(let n)?: window = .count(Int(n))
                case .string("epoch")?:
                    guard byEpoch else { throw configError(path + ".window_size", "\"epoch\" needs by_epoch=True (mmengine asserts it)") }
                    window = .epoch
                case .string("global")?: window = .global
                case let v?: throw configError(path + ".window_size", "expected an int, \"epoch\" or \"global\", got \(describeValue(v)) (mmengine raises TypeError)")
                }
                try a.finish(owner: "a custom_cfg item")
                custom.append(CustomLog(source: source, name: name, method: method, window: window))
            }
        }
        try args.finish(owner: "LogProcessor")
    }

    /// Whether `key` is smoothed (its mean over the window) rather than its last value.
    func isMean(_ key: String) -> Bool {
        if let meanPattern, let regex = try? Regex(meanPattern) {
            return (try? regex.firstMatch(in: key)) != nil
        }
        return ["loss", "time", "data_time", "grad_norm"].contains { key.contains($0) }
    }

    /// `_collect_scalars(mode)`: the hub's scalars of `mode` (prefix removed unless logged
    /// with hierarchy), each its mean over the window or its current value, then the
    /// custom items; `extra` adds items (the window names `epoch` and `global` resolved).
    func collect(_ hub: MessageHub, mode: String, batchIndex: Int, iter: Int, extra: [CustomLog] = []) -> [(String, Double)] {
        var tag: [(String, Double)] = []
        let prefix = mode + "/"
        for key in hub.keys where key.hasPrefix(mode) {
            let name = logWithHierarchy ? key : (key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key)
            let value = isMean(name) ? hub.mean(key, window: windowSize) : hub.current(key)
            if let value { tag.append((name, value)) }
        }
        for item in custom + extra {
            let key = item.source.hasPrefix(prefix) ? item.source : prefix + item.source
            guard hub.has(key) else { continue }
            let window: Int
            switch item.window {
            case nil: window = windowSize
            case .count(let n)?: window = n
            case .epoch?: window = batchIndex + 1
            case .global?: window = iter + 1
            }
            let value: Double?
            switch item.method {
            case "current": value = hub.current(key)
            case "min": value = hub.extreme(key, window: window, max: false)
            case "max": value = hub.extreme(key, window: window, max: true)
            default: value = hub.mean(key, window: window)
            }
            let name = logWithHierarchy ? prefix + item.name : item.name
            guard let value else { continue }
            if let i = tag.firstIndex(where: { $0.0 == name }) { tag[i].1 = value } else { tag.append((name, value)) }
        }
        return tag
    }
}

/// mmengine's `RuntimeInfoHook`, for what a trace shows: the message hub's scalars (the
/// learning rates before each training iteration, the step's outputs after it, the
/// validation's metrics).
final class MMEngineRuntimeInfoHook: Hook {
    let type: String
    let config: JSONValue
    let methods: Set<Stage> = MMEngineHook.known["RuntimeInfoHook"]!.methods

    /// Hub slots of `train/<output>`, by the output's symbol (-1: not yet made), and of
    /// each optimizer's `base_lr` (-1: none) and `lr`.
    @exclusivity(unchecked) private var outputSlots: [Int] = []
    @exclusivity(unchecked) private var lrSlots: [(base: Int, lr: Int)] = []

    init(type: String, config: JSONValue) {
        self.type = type
        self.config = config
    }

    private func update(_ symbol: UInt32, _ value: Double, _ runner: HookContext) {
        let i = Int(symbol)
        if i >= outputSlots.count { outputSlots += repeatElement(-1, count: i + 1 - outputSlots.count) }
        if outputSlots[i] < 0 { outputSlots[i] = runner.messageHub.slot("train/" + runner.symbols.name(symbol)) }
        runner.messageHub.update(slot: outputSlots[i], value)
    }

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeTrainIter:
            // OptimWrapper.get_lr: base_lr (the optimizer's own lr) when it has several
            // groups, then lr of its first group.
            for (k, optimizer) in runner.optimizers.enumerated() {
                if k >= lrSlots.count {
                    let prefix = optimizer.name.isEmpty ? "train/" : "train/\(optimizer.name)."
                    lrSlots.append((optimizer.hasBaseGroup ? runner.messageHub.slot(prefix + "base_lr") : -1, runner.messageHub.slot(prefix + "lr")))
                }
                if lrSlots[k].base >= 0 { runner.messageHub.update(slot: lrSlots[k].base, optimizer.baseLR) }
                if let first = optimizer.groups.first { runner.messageHub.update(slot: lrSlots[k].lr, first.lr) }
            }
        case .afterTrainIter:
            // mmengine's BaseModel.parse_losses puts `loss` first.
            let outputs = runner.stepOutputs
            for (symbol, value) in outputs where symbol == SymbolTable.loss { update(symbol, value, runner) }
            for (symbol, value) in outputs where symbol != SymbolTable.loss { update(symbol, value, runner) }
        case .afterValEpoch:
            for (key, value) in runner.validationMetrics {
                if let number = value.number { runner.messageHub.update("val/" + key, number) }
            }
        default:
            break
        }
    }
}

/// mmengine's `IterTimerHook`: `<mode>/data_time` and `<mode>/time` from the run's clock.
final class MMEngineIterTimerHook: Hook {
    let type: String
    let config: JSONValue
    let methods: Set<Stage> = MMEngineHook.known["IterTimerHook"]!.methods
    @exclusivity(unchecked) private var start: Int64 = 0

    init(type: String, config: JSONValue) {
        self.type = type
        self.config = config
    }

    /// Hub slots of `<mode>/data_time` and `<mode>/time` for train, val, test (-1: not yet).
    @exclusivity(unchecked) private var slots = [(data: -1, time: -1), (data: -1, time: -1), (data: -1, time: -1)]

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        let m = runner.mode == .val ? 1 : runner.mode == .test ? 2 : 0
        switch method {
        case .beforeEpoch:
            start = runner.clock
        case .beforeIter:
            if slots[m].data < 0 { slots[m].data = runner.messageHub.slot(["train", "val", "test"][m] + "/data_time") }
            runner.messageHub.update(slot: slots[m].data, Double(runner.clock - start) / 1e9)
        case .afterIter:
            if slots[m].time < 0 { slots[m].time = runner.messageHub.slot(["train", "val", "test"][m] + "/time") }
            runner.messageHub.update(slot: slots[m].time, Double(runner.clock - start) / 1e9)
            start = runner.clock
        default:
            break
        }
    }
}

/// mmengine's `LoggerHook`, for what a trace shows: the records its visualizer writes to
/// `vis_data/scalars.json` (as `log` effects: the tag, then `step`).
final class MMEngineLoggerHook: Hook {
    let type: String
    let config: JSONValue
    let methods: Set<Stage> = MMEngineHook.known["LoggerHook"]!.methods
    let interval: Int
    let ignoreLast: Bool
    let logMetricByEpoch: Bool
    let processor: LogProcessorSettings

    init(_ type: String, _ args: inout ConfigArgs, processor: LogProcessorSettings) throws(HooktraceError) {
        self.type = type
        config = args.value
        self.processor = processor
        interval = try args.int("interval", default: 10)
        guard interval > 0 else { throw configError(args.keyPath("interval"), "must be positive, got \(interval) (mmengine asserts it)") }
        ignoreLast = try args.bool("ignore_last", default: true)
        _ = try args.int("interval_exp_name", default: 1000)
        logMetricByEpoch = try args.bool("log_metric_by_epoch", default: true)
        for key in ["out_dir", "out_suffix", "keep_local", "file_client_args", "backend_args"] { _ = args.raw(key) }
        try args.finish(owner: "LoggerHook (mmengine)")
    }

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .afterTrainIter:
            let batch = runner.innerIter
            let length = runner.trainLoaderLength
            let endOfEpoch = batch + 1 == length
            guard (batch + 1) % interval == 0 || (endOfEpoch && (!ignoreLast || length <= interval)) else { return }
            var fields = processor.collect(runner.messageHub, mode: "train", batchIndex: batch, iter: runner.iter).map { Field($0.0, .double($0.1)) }
            if processor.byEpoch { fields.append(Field("epoch", .int(Int64(runner.epoch + 1)))) }
            fields.append(Field("iter", .int(Int64(runner.iter + 1))))
            fields.append(Field("step", .int(Int64(runner.iter + 1))))
            try runner.effect(.log(fields))
        case .afterValEpoch:
            // get_log_after_epoch(len(val_dataloader)): time and data_time over an "epoch"
            // window of len + 1 values (the batch index it passes is the length).
            let length = runner.valLoaderLength
            let times = [LogProcessorSettings.CustomLog(source: "time", name: "time", method: "mean", window: .epoch),
                         LogProcessorSettings.CustomLog(source: "data_time", name: "data_time", method: "mean", window: .epoch)]
                .filter { t in !processor.custom.contains { $0.source == t.source || $0.source == "val/" + t.source } }
            let tag = processor.collect(runner.messageHub, mode: "val", batchIndex: length, iter: runner.iter, extra: times)
            let isTime = { (k: String) in ["time", "data_time", "val/time", "val/data_time"].contains(k) }
            var fields = tag.filter { !isTime($0.0) }.map { Field($0.0, .double($0.1)) }
            fields += tag.filter { isTime($0.0) }.map { Field($0.0, .double($0.1)) }
            fields.append(Field("step", .int(Int64(logMetricByEpoch ? runner.epoch : runner.iter))))
            try runner.effect(.log(fields))
        default:
            break
        }
    }
}

/// mmengine's `EMAHook` with its averaged model (`model/averaged_model.py`, and
/// mmdetection 3.x's `ExpMomentumEMA`): after each training iteration from `begin_iter` /
/// `begin_epoch` on, `update_parameters` — a copy at its first call, then an average every
/// `interval` calls (an `ema_update` effect with the momentum it used); before that, the
/// weights are copied. The weight swaps around validation change no trace-visible value.
final class MMEngineEMAHook: Hook {
    enum Average {
        case exponential(momentum: Double)
        case annealing(momentum: Double, gamma: Double)
        case stochastic
        case expMomentum(momentum: Double, gamma: Double)
    }

    let type: String
    let config: JSONValue
    let methods: Set<Stage> = MMEngineHook.known["EMAHook"]!.methods
    let average: Average
    let interval: Int
    let beginIter: Int
    let beginEpoch: Int
    /// The averaged model's `steps`: its `update_parameters` calls so far (a buffer of the
    /// averaged model: a resumed run has the checkpoint's).
    @exclusivity(unchecked) var steps = 0

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        let emaType = try args.string("ema_type", default: "ExponentialMovingAverage")
        let bare = emaType.split(separator: ".").last.map(String.init) ?? emaType
        _ = try args.bool("strict_load", default: false)
        beginIter = try args.int("begin_iter", default: 0)
        beginEpoch = try args.int("begin_epoch", default: 0)
        guard beginIter == 0 || beginEpoch == 0 else { throw configError(args.path, "sets both begin_iter and begin_epoch (mmengine asserts only one)") }
        guard beginIter >= 0, beginEpoch >= 0 else { throw configError(args.path, "begin_iter and begin_epoch must be ≥ 0 (mmengine asserts it)") }
        interval = try args.int("interval", default: 1)
        _ = try args.bool("update_buffers", default: false)
        let momentum = try args.double("momentum", default: 0.0002)
        switch bare {
        case "ExponentialMovingAverage":
            guard momentum > 0 && momentum < 1 else { throw configError(args.keyPath("momentum"), "must be in (0, 1), got \(formatDouble(momentum)) (mmengine asserts it)") }
            average = .exponential(momentum: momentum)
        case "MomentumAnnealingEMA":
            average = .annealing(momentum: momentum, gamma: try args.double("gamma", default: 100))
        case "StochasticWeightAverage":
            average = .stochastic
        case "ExpMomentumEMA":
            let gamma = try args.double("gamma", default: 2000)
            guard gamma > 0 else { throw configError(args.keyPath("gamma"), "must be greater than 0 (mmdetection asserts it)") }
            average = .expMomentum(momentum: momentum, gamma: gamma)
        default:
            throw configError(args.keyPath("ema_type"), "unknown averaged model \"\(emaType)\"" + suggestion(bare, ["ExponentialMovingAverage", "MomentumAnnealingEMA", "StochasticWeightAverage", "ExpMomentumEMA"]))
        }
        try args.finish(owner: "EMAHook (\(bare))")
    }

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        guard method == .afterTrainIter else { return }
        let started = beginEpoch > 0 ? runner.epoch + 1 >= beginEpoch : runner.iter + 1 >= beginIter
        guard started else { return }  // the EMA weights are a copy of the model's
        defer { steps += 1 }
        guard steps > 0, steps % interval == 0 else { return }  // the first call copies
        let momentum: Double
        switch average {
        case .exponential(let m): momentum = m
        case .annealing(let m, let gamma): momentum = max(m, gamma / (gamma + Double(steps)))
        case .stochastic: momentum = 1 / Double(steps / interval + 1)
        case .expMomentum(let m, let gamma): momentum = (1 - m) * exp(-Double(1 + steps) / gamma) + m
        }
        try runner.effect(.emaUpdate(momentum: momentum))
    }
}

/// mmengine's EarlyStoppingHook: after each validation, the monitored metric against the
/// best so far (by `min_delta`); `patience` validations without improvement, a score past
/// `stopping_threshold`, or a non-finite score set the train loop's `stop_training`, which
/// ends the loop before its next epoch (or iteration). Each stop is a `stop` effect.
final class MMEngineEarlyStoppingHook: Hook {
    let type: String
    let config: JSONValue
    let methods: Set<Stage> = [.beforeRun, .afterValEpoch]
    private let monitor: String
    private let greater: Bool
    private let minDelta: Double
    private let strict: Bool
    private let checkFinite: Bool
    private let patience: Int
    private let threshold: Double?
    private var waitCount = 0
    private var best: Double

    static let greaterKeys = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]
    static let lessKeys = ["loss"]

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        guard let monitor = try args.optionalString("monitor") else {
            throw configError(args.keyPath("monitor"), "missing: the metric to watch, e.g. \"coco/bbox_mAP\"")
        }
        self.monitor = monitor
        let rule: String
        if let r = try args.optionalString("rule") {
            guard r == "greater" || r == "less" else {
                throw configError(args.keyPath("rule"), "should be \"greater\" or \"less\", got \"\(r)\" (mmengine raises ValueError)" + suggestion(r, ["greater", "less"]))
            }
            rule = r
        } else {
            rule = try EvalHook.inferRule(monitor, greater: Self.greaterKeys, less: Self.lessKeys, path: args.keyPath("monitor"))
        }
        greater = rule == "greater"
        let delta = try args.double("min_delta", default: 0.1)
        minDelta = greater ? delta : -delta
        strict = try args.bool("strict", default: false)
        checkFinite = try args.bool("check_finite", default: true)
        patience = try args.int("patience", default: 5)
        threshold = try args.optionalDouble("stopping_threshold")
        best = greater ? -.infinity : .infinity
        try args.finish(owner: "EarlyStoppingHook")
    }

    private func better(_ x: Double, _ y: Double) -> Bool { greater ? x > y : x < y }

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        guard method == .afterValEpoch else { return }
        guard let value = runner.validationMetrics.first(where: { $0.0 == monitor })?.1 else {
            if strict {
                throw HooktraceError(.invalidInput, "EarlyStoppingHook: the validation has no metric \"\(monitor)\" (it reports \(runner.validationMetrics.map(\.0).joined(separator: ", "))) and strict=True; mmengine raises RuntimeError here" + suggestion(monitor, runner.validationMetrics.map(\.0)))
            }
            try runner.warn("the validation results do not include the monitored \"\(monitor)\"; early stopping is skipped (as mmengine does, with a warning)")
            return
        }
        guard let score = value.number else { return }
        var reason: String?
        if checkFinite && !score.isFinite {
            reason = "monitored metric \(monitor) = \(formatDouble(score)) is not finite"
        } else if let threshold, better(score, threshold) {
            best = score
            reason = "stopping threshold reached: \(monitor) = \(formatDouble(score)) is \(greater ? "greater" : "less") than \(formatDouble(threshold))"
        } else if better(best + minDelta, score) {
            waitCount += 1
            if waitCount >= patience {
                reason = "\(monitor) did not improve in the last \(waitCount) validations; best score \(formatDouble(best))"
            }
        } else {
            best = score
            waitCount = 0
        }
        if let reason {
            runner.stopTraining = true
            try runner.effect(.stop(reason: reason))
        }
    }
}
