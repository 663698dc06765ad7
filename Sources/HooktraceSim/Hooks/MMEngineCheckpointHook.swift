import HooktraceFormat

/// mmengine 0.10.7's `CheckpointHook` on the virtual file set: periodic saves (by epoch or
/// iteration, from `save_begin`, and the last one), the bounded FIFO of `max_keep_ckpts`,
/// `work_dir/last_checkpoint`, and the best checkpoints of `save_best` (spec §6). Each save
/// goes through the runner (``HookContext/saveCheckpoint(_:)``), which calls
/// `before_save_checkpoint` first.
package final class MMEngineCheckpointHook: Hook {
    package let type: String
    package let config: JSONValue
    package var methods: Set<Stage> { [.beforeTrain, .afterTrainEpoch, .afterValEpoch, .afterTrain, .afterTrainIter] }

    let interval: Int
    let byEpoch: Bool
    let outDirOption: String?
    let maxKeep: Int
    let saveLast: Bool
    let saveBegin: Int
    let template: String
    /// `save_best` keys (`["auto"]` until the first evaluation names its first metric).
    private var bestKeys: [String]
    /// Per key: "greater" or "less" (nil for "auto" until it is resolved).
    private var rules: [String?]
    let greaterKeys: [String]
    let lessKeys: [String]

    private var outDir = ""
    private var keepIDs: [Int] = []
    private var lastCheckpoint: String?
    /// Per key: the best score and its file.
    private var best: [String: (score: Double, path: String)] = [:]
    /// What this hook last put in the message hub, by key.
    private var hubValues: [String: Scalar] = [:]
    /// A resumed run's message-hub entries (the checkpoint's), read back in before_train.
    var resumed: [(key: String, value: Scalar)]?

    static let defaultGreaterKeys = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]
    static let defaultLessKeys = ["loss"]

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        interval = try args.int("interval", default: -1)
        byEpoch = try args.bool("by_epoch", default: true)
        _ = try args.bool("save_optimizer", default: true)
        _ = try args.bool("save_param_scheduler", default: true)
        outDirOption = try args.optionalString("out_dir")
        maxKeep = try args.int("max_keep_ckpts", default: -1)
        saveLast = try args.bool("save_last", default: true)
        saveBegin = try args.int("save_begin", default: 0)
        guard saveBegin >= 0 else { throw configError(args.keyPath("save_begin"), "must be ≥ 0, got \(saveBegin) (mmengine raises ValueError)") }
        let tmpl = try args.optionalString("filename_tmpl")
        template = tmpl ?? (byEpoch ? "epoch_{}.pth" : "iter_{}.pth")
        if formatTemplate(template, 1) == nil {
            throw configError(args.keyPath("filename_tmpl"), "\"\(template)\" needs one '{}' placeholder for the epoch or iteration number (e.g. \"epoch_{}.pth\")")
        }
        greaterKeys = try args.stringList("greater_keys", default: Self.defaultGreaterKeys)
        lessKeys = try args.stringList("less_keys", default: Self.defaultLessKeys)
        bestKeys = try args.stringList("save_best", default: [])
        if Set(bestKeys).count != bestKeys.count {
            throw configError(args.keyPath("save_best"), "names a key twice; mmengine asserts the keys are unique")
        }
        if bestKeys.contains("auto") && bestKeys.count > 1 {
            throw configError(args.keyPath("save_best"), "\"auto\" must be the only key (mmengine asserts this)")
        }
        let givenRules: [String?]
        switch args.raw("rule") {
        case nil, .null?: givenRules = [nil]
        case .string(let r)?: givenRules = [r]
        case .array(let items)?:
            var rs: [String?] = []
            for item in items {
                guard case .string(let r) = item else { throw configError(args.keyPath("rule"), "expected \"greater\" or \"less\", got \(describeValue(item))") }
                rs.append(r)
            }
            givenRules = rs
        case let v?: throw configError(args.keyPath("rule"), "expected \"greater\", \"less\" or a list of them, got \(describeValue(v))")
        }
        for r in givenRules {
            if let r, r != "greater" && r != "less" {
                throw configError(args.keyPath("rule"), "\"\(r)\" is not a rule; use \"greater\" or \"less\" (mmengine raises KeyError)" + suggestion(r, ["greater", "less"]))
            }
        }
        guard givenRules.count == 1 || givenRules.count == bestKeys.count else {
            throw configError(args.keyPath("rule"), "gives \(givenRules.count) rules for \(bestKeys.count) save_best keys; give one rule, or one per key (mmengine asserts this)")
        }
        rules = []
        for (i, key) in bestKeys.enumerated() {
            let rule = givenRules.count == 1 ? givenRules[0] : givenRules[i]
            if rule == nil && key != "auto" {
                rules.append(try EvalHook.inferRule(key, greater: greaterKeys, less: lessKeys, path: args.keyPath("save_best")))
            } else {
                rules.append(rule)
            }
        }
        _ = args.raw("file_client_args")
        _ = args.raw("backend_args")
        _ = args.raw("published_keys")
        try args.finish(owner: "CheckpointHook (mmengine)")
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeTrain:
            if let o = outDirOption, !o.isEmpty, o != runner.workDir {
                var work = runner.workDir
                while work.hasSuffix("/") { work.removeLast() }
                outDir = joinPath(o, baseName(work))
            } else {
                outDir = outDirOption.flatMap { $0.isEmpty ? nil : $0 } ?? runner.workDir
            }
            if let entries = resumed {
                resumed = nil
                try restore(entries, runner)
            }
        case .afterTrainEpoch:
            guard byEpoch else { return }
            if everyN(runner.epoch, interval) || (saveLast && runner.epoch + 1 == (runner.maxEpochs ?? -1)) {
                try saveWithStep(runner.epoch + 1, runner)
            }
        case .afterTrainIter:
            guard !byEpoch else { return }
            if everyN(runner.iter, interval) || (saveLast && runner.iter + 1 == (runner.maxIters ?? -1)) {
                try saveWithStep(runner.iter + 1, runner)
            }
        case .afterValEpoch:
            try saveBest(runner)
        default:
            break
        }
    }

    /// `before_train` of a resumed run: the best file(s) and scores and the kept checkpoint
    /// ids from the message hub; kept ids beyond `max_keep_ckpts` (a smaller one than the
    /// interrupted run's) are removed, oldest first. `last_ckpt` is not read back: until
    /// the first regular save, a new best is not followed by a second save.
    private func restore(_ entries: [(key: String, value: Scalar)], _ runner: HookContext) throws(HooktraceError) {
        for (key, value) in entries { hubValues[key] = value }
        func entry(_ key: String) -> Scalar? { entries.last(where: { $0.key == key })?.value }
        for key in bestKeys {
            let suffix = bestKeys.count == 1 ? "" : "_" + key
            guard case .string(let path)? = entry("best_ckpt" + suffix), let score = entry("best_score" + suffix)?.number else { continue }
            best[key] = (score, path)
        }
        guard maxKeep > 0 else { return }
        var ids: [Int] = []
        if case .string(let text)? = entry("keep_ckpt_ids"), case .array(let items)? = try? JSONValue.parse(text) {
            ids = items.compactMap { if case .int(let n) = $0 { Int(n) } else { nil } }
        }
        while ids.count > maxKeep {
            let old = path(ids.removeFirst())
            if runner.files.exists(old) {
                runner.files.remove(old)
                try runner.effect(.checkpointRemove(path: old))
            }
        }
        keepIDs = ids
    }

    /// mmengine's `every_n_epochs` / `every_n_train_iters` from `save_begin`.
    private func everyN(_ counter: Int, _ n: Int) -> Bool {
        let d = counter + 1 - saveBegin
        return n > 0 && d >= 0 && d % n == 0
    }

    private func path(_ n: Int) -> String {
        joinPath(outDir, formatTemplate(template, n) ?? template)
    }

    /// `message_hub.update_info(key, value)`: the hook's state kept where a resumed run
    /// finds it, a "message_hub" effect (numbers as floats, id lists as compact JSON text).
    /// Only changes are effects (a best's second regular save puts the same last_ckpt
    /// again: a recording cannot tell that from nothing).
    private func hub(_ key: String, _ value: Scalar, _ runner: HookContext) throws(HooktraceError) {
        guard hubValues[key] != value else { return }
        hubValues[key] = value
        try runner.effect(.custom(kind: "message_hub", fields: [Field(key, value)]))
    }

    /// `_save_checkpoint_with_step`: the oldest kept checkpoint removed, `keep_ckpt_ids` and
    /// `last_ckpt` put in the message hub, then the save.
    private func saveWithStep(_ n: Int, _ runner: HookContext) throws(HooktraceError) {
        if maxKeep > 0 && keepIDs.last != n {
            if keepIDs.count == maxKeep {
                let old = path(keepIDs.removeFirst())
                if runner.files.exists(old) {
                    runner.files.remove(old)
                    try runner.effect(.checkpointRemove(path: old))
                }
            }
            keepIDs.append(n)
            try hub("keep_ckpt_ids", .string("[" + keepIDs.map(String.init).joined(separator: ",") + "]"), runner)
        }
        let file = path(n)
        lastCheckpoint = file
        try hub("last_ckpt", .string(file), runner)
        try runner.saveCheckpoint(file)
        let pointer = joinPath(runner.workDir, "last_checkpoint")
        runner.files.link(pointer, to: file)
        try runner.effect(.checkpointLink(link: pointer, target: file))
    }

    /// `_save_best_checkpoint`, after a validation.
    private func saveBest(_ runner: HookContext) throws(HooktraceError) {
        guard !bestKeys.isEmpty else { return }
        let metrics = runner.validationMetrics
        guard !metrics.isEmpty else {
            try runner.warn("the validation returned no metrics; the best checkpoint is not updated")
            return
        }
        if bestKeys == ["auto"] {
            bestKeys = [metrics[0].0]
            if let restored = best.removeValue(forKey: "auto") { best[bestKeys[0]] = restored }
            if rules[0] == nil {
                rules = [try EvalHook.inferRule(metrics[0].0, greater: greaterKeys, less: lessKeys, path: "default_hooks.checkpoint.save_best")]
            }
        }
        let n = byEpoch ? runner.epoch : runner.iter
        let stepName = formatTemplate(template, n) ?? template
        var improved = false
        for (key, rule) in zip(bestKeys, rules) {
            guard let value = metrics.first(where: { $0.0 == key })?.1 else {
                throw configError("default_hooks.checkpoint.save_best", "the validation has no metric \"\(key)\" (it reports \(metrics.map(\.0).joined(separator: ", "))); mmengine would raise KeyError after the first validation" + suggestion(key, metrics.map(\.0)))
            }
            guard let score = value.number else { continue }
            let greater = rule == "greater"
            let old = best[key]
            let current = old?.score ?? (greater ? -.infinity : .infinity)
            guard greater ? score > current : score < current else { continue }
            improved = true
            // The score goes into the message hub first, then the previous best file goes,
            // then the new file's path is put there and it is saved.
            let suffix = bestKeys.count == 1 ? "" : "_" + key
            try hub("best_score" + suffix, .double(score), runner)
            if let old, runner.files.exists(old.path) {
                runner.files.remove(old.path)
                try runner.effect(.checkpointRemove(path: old.path))
            }
            let file = joinPath(outDir, String("best_\(key)_\(stepName)".map { $0 == "/" ? "_" : $0 }))
            best[key] = (score, file)
            try hub("best_ckpt" + suffix, .string(file), runner)
            try runner.saveCheckpoint(file)
            try runner.effect(.bestUpdate(key: key, value: score, checkpoint: file))
        }
        if improved && lastCheckpoint != nil {
            try saveWithStep(n, runner)
        }
    }
}
