import HooktraceFormat

/// mmcv's `EvalHook` as mmdetection registers it: evaluates with the simulated metrics,
/// logs them through the log buffer, and keeps the best checkpoint (spec §7.8). With
/// mmdetection's `dynamic_intervals` ([[milestone, interval], …]) the interval changes
/// once `progress + 1` (epoch or iteration) reaches a milestone, decided before each
/// train epoch and iteration as mmdetection's EvalHook does.
package final class EvalHook: IgnoresSettings {
    package let type: String
    package let config: JSONValue
    package let start: Int?
    package private(set) var interval: Int
    package let byEpoch: Bool
    /// mmdetection's dynamic intervals: milestones from 0, and the interval from each.
    let dynamicMilestones: [Int]
    let dynamicIntervals: [Int]
    package private(set) var saveBest: String?
    package private(set) var rule: String?
    let greaterKeys: [String]
    let lessKeys: [String]
    let outDirOption: String?
    let evalLength: Int
    private var initialCheckDone = false
    private var outDir = ""
    package var methods: Set<Stage> { [.beforeRun, .beforeTrainEpoch, .beforeTrainIter, .afterTrainEpoch, .afterTrainIter] }

    /// Settings accepted but not acted on, each with what happens instead.
    package internal(set) var ignoredSettings: [String] = []

    /// EvalHook's own parameters (mmcv's and DistEvalHook's, mmdetection's dynamic_intervals).
    static let ownParameters: Set<String> = ["start", "interval", "by_epoch", "save_best", "rule", "test_fn", "greater_keys",
                                             "less_keys", "out_dir", "file_client_args", "dynamic_intervals",
                                             "broadcast_bn_buffer", "tmpdir", "gpu_collect", "type"]
    /// What mmdetection 2.x's CocoDataset.evaluate and VOCDataset.evaluate accept; EvalHook
    /// passes every other key on to `dataset.evaluate`.
    static let evaluateParameters: Set<String> = ["metric", "logger", "jsonfile_prefix", "classwise", "proposal_nums", "iou_thrs",
                                                  "metric_items", "iou_thr", "scale_ranges"]

    static let defaultGreaterKeys = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]
    static let defaultLessKeys = ["loss"]

    init(_ type: String, _ args: inout ConfigArgs, byEpoch: Bool, evalLength: Int) throws(HooktraceError) {
        self.type = type
        config = args.value
        self.byEpoch = byEpoch
        self.evalLength = evalLength
        start = try args.optionalInt("start")
        if let start, start < 0 { throw configError(args.keyPath("start"), "must be >= 0, got \(start)") }
        interval = try args.int("interval", default: 1)
        guard interval > 0 else { throw configError(args.keyPath("interval"), "must be a positive integer, got \(interval)") }
        var milestones = [0], intervals = [interval]
        if let d = args.raw("dynamic_intervals"), d != .null {
            let path = args.keyPath("dynamic_intervals")
            guard case .array(let items) = d else { throw configError(path, "expected a list of [milestone, interval] pairs such as [[285, 1]], got \(describeValue(d))") }
            for (i, item) in items.enumerated() {
                guard case .array(let pair) = item, pair.count == 2, case .int(let m) = pair[0], case .int(let n) = pair[1] else {
                    throw configError("\(path)[\(i)]", "expected a [milestone, interval] pair of integers, got \(describeValue(item))")
                }
                guard n > 0 else { throw configError("\(path)[\(i)]", "the interval must be a positive integer, got \(n)") }
                milestones.append(Int(m))
                intervals.append(Int(n))
            }
        }
        dynamicMilestones = milestones
        dynamicIntervals = intervals
        saveBest = try args.optionalString("save_best")
        rule = try args.optionalString("rule")
        // Given keys replace mmcv's defaults (EvalHook.__init__ keeps the defaults only for None).
        greaterKeys = try args.stringList("greater_keys", default: Self.defaultGreaterKeys)
        lessKeys = try args.stringList("less_keys", default: Self.defaultLessKeys)
        outDirOption = try args.optionalString("out_dir")
        _ = args.raw("file_client_args")
        _ = args.raw("test_fn")
        // Everything else goes to dataset.evaluate (metric, classwise, …).
        for key in args.keys where !Self.ownParameters.contains(key) && !Self.evaluateParameters.contains(key) {
            let path = args.keyPath(key)
            ignoredSettings.append(key == "priority"
                ? "\(path): mmdetection registers EvalHook at LOW whatever is given, and passes priority on to dataset.evaluate, which its CocoDataset and VOCDataset reject (TypeError at the first evaluation); ignored"
                : "\(path): passed on to dataset.evaluate, which mmdetection's CocoDataset and VOCDataset do not accept (TypeError at the first evaluation); ignored")
        }
        if args.raw("metric") == nil || args.raw("metric") == .null {
            ignoredSettings.append("evaluation has no metric: the dataset's default is used (CocoDataset: bbox, VOCDataset: mAP); simulated as bbox")
        }
        for key in args.keys { _ = args.raw(key) }
        if saveBest != nil {
            if let r = rule, r != "greater" && r != "less" {
                throw configError(args.keyPath("rule"), "must be \"greater\", \"less\" or null, got \"\(r)\"")
            }
            if rule == nil, let key = saveBest, key != "auto" {
                rule = try Self.inferRule(key, greater: greaterKeys, less: lessKeys, path: args.keyPath("save_best"))
            }
        }
    }

    /// mmcv's (and mmengine's CheckpointHook's) rule inference: exact greater, exact less,
    /// substring greater, substring less, case-insensitively.
    static func inferRule(_ key: String, greater: [String], less: [String], path: String) throws(HooktraceError) -> String {
        let k = key.lowercased()
        if greater.contains(where: { $0.lowercased() == k }) { return "greater" }
        if less.contains(where: { $0.lowercased() == k }) { return "less" }
        if greater.contains(where: { k.contains($0.lowercased()) }) { return "greater" }
        if less.contains(where: { k.contains($0.lowercased()) }) { return "less" }
        throw configError(path, "cannot infer whether a higher or lower \"\(key)\" is better; set rule to \"greater\" or \"less\"")
    }

    /// mmdetection's `_decide_interval`: the interval of the last milestone ≤ progress + 1
    /// (`bisect.bisect`).
    private func decideInterval(_ runner: HookContext) {
        guard dynamicMilestones.count > 1 else { return }
        let progress = (byEpoch ? runner.epoch : runner.iter) + 1
        var lo = 0, hi = dynamicMilestones.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if progress < dynamicMilestones[mid] { hi = mid } else { lo = mid + 1 }
        }
        interval = dynamicIntervals[max(lo, 1) - 1]
    }

    private func shouldEvaluate(_ runner: HookContext) -> Bool {
        let cur = byEpoch ? runner.epoch : runner.iter
        guard let start else { return byEpoch ? everyNEpochs(runner, interval) : everyNIters(runner, interval) }
        if cur + 1 < start { return false }
        return (cur + 1 - start) % interval == 0
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            // runner.meta.setdefault('hook_msgs', dict()) when keeping the best.
            if saveBest != nil && runner.hasMeta { runner.hookMessages.exists = true }
            if let o = outDirOption, !o.isEmpty {
                outDir = joinPath(o, baseName(runner.workDir))
            } else {
                outDir = runner.workDir
            }
        case .beforeTrainEpoch:
            decideInterval(runner)
            guard byEpoch, !initialCheckDone else { return }
            initialCheckDone = true
            if let start, runner.epoch >= start { try call(.afterTrainEpoch, runner) }
        case .beforeTrainIter:
            decideInterval(runner)
            guard !byEpoch, !initialCheckDone else { return }
            initialCheckDone = true
            if let start, runner.iter >= start { try call(.afterTrainIter, runner) }
        case .afterTrainEpoch:
            guard byEpoch, shouldEvaluate(runner) else { return }
            try evaluate(runner)
        case .afterTrainIter:
            guard !byEpoch, shouldEvaluate(runner) else { return }
            try runner.runLoggersAfterTrainIter()
            runner.logBuffer.clear()
            try evaluate(runner)
        default:
            break
        }
    }

    private func evaluate(_ runner: HookContext) throws(HooktraceError) {
        let metrics = try runner.evaluateMetrics()
        for (name, value) in metrics {
            try runner.observe(Observation(kind: .metric, name: name, value: value))
        }
        runner.work(.evaluation(batches: evalLength))
        runner.logBuffer.setOutput("eval_iter_num", .int(Int64(evalLength)))
        for (name, value) in metrics { runner.logBuffer.setOutput(name, value) }
        runner.logBuffer.ready = true
        try runner.effect(.evaluate(metrics.map { Field($0.0, $0.1) }))
        guard var key = saveBest else { return }
        if metrics.isEmpty {
            try runner.warn("the evaluation returned no results; the best checkpoint is not updated")
            return
        }
        if key == "auto" {
            key = metrics[0].0
            saveBest = key
            if rule == nil {
                rule = try Self.inferRule(key, greater: greaterKeys, less: lessKeys, path: "evaluation.save_best")
            }
        }
        guard let result = metrics.first(where: { $0.0 == key })?.1 else {
            throw HooktraceError(.invalidInput, "evaluation.save_best: the evaluation has no metric \"\(key)\" (it reports \(metrics.map(\.0).joined(separator: ", "))); mmcv raises KeyError here")
        }
        guard let score = result.number else {
            throw HooktraceError(.invalidInput, "evaluation.save_best: \"\(key)\" is not a number (\(result)); mmcv cannot compare it with the best score")
        }
        guard score != 0 else { return }  // mmcv skips a falsy score
        let greater = rule == "greater"
        let best = runner.hookMessages.bestScore ?? (greater ? -.infinity : .infinity)
        guard greater ? score > best : score < best else { return }
        runner.hookMessages.bestScore = score
        if let old = runner.hookMessages.bestCheckpoint, runner.files.exists(old) {
            runner.files.remove(old)
            try runner.effect(.checkpointRemove(path: old))
        }
        let n = byEpoch ? runner.epoch + 1 : runner.iter + 1
        let name = "best_\(key)_\(byEpoch ? "epoch" : "iter")_\(n).pth"
        let path = joinPath(outDir, name)
        runner.hookMessages.bestCheckpoint = path
        runner.work(.checkpoint)
        runner.files.write(path)
        try runner.effect(.checkpointSave(path: path))
        try runner.effect(.bestUpdate(key: key, value: score, checkpoint: path))
    }
}
