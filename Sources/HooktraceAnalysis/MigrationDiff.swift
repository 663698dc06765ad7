import HooktraceFormat
import HooktraceSim

/// The diff of an mmcv 1.x run against an mmengine run of the same training (a migration):
/// their calls, stage names and hook names differ, so they are aligned by what both runs
/// have — the training iteration (the k-th `after_train_iter`) and the completed epochs —
/// and compared there: the learning rate and momentum of every param group in force
/// during each iteration, where the optimizer stepped, the evaluations (after how many
/// iterations), the best checkpoint's choices, and the checkpoints kept at the end. Log
/// records are not compared (the frameworks write different records); the stage and hook
/// names are mapped and the mapping is part of the report.
package struct MigrationDiff: Sendable {
    /// One run, summarised by training iteration.
    package struct Run: Sendable {
        package var path = ""
        package var framework = ""
        package var runner = ""
        package var calls = 0
        /// Calls per stage, in first-seen order.
        package var stages: [(stage: String, count: Int)] = []
        package var hooks: [HookInfo] = []
        /// Param groups by name (`lr[0]`, `opt.lr[1]`), as `hooktrace lr` names them.
        package var groups: [String] = []
        /// Per training iteration: each group's lr and momentum in force during it.
        package var lr: [[Double]] = []
        package var momentum: [[Double]] = []
        /// The epoch (runner.epoch) of each training iteration.
        package var epochs: [Int] = []
        /// Per training iteration: whether the optimizer stepped (nil: no step recorded).
        package var stepped: [Bool?] = []
        /// Evaluations: after how many training iterations and epochs, and the metrics.
        package var evaluations: [(iters: Int, epochs: Int, metrics: [Field])] = []
        /// New bests: after how many training iterations, the key, score and file name.
        package var bests: [(iters: Int, key: String, score: Double, file: String)] = []
        /// Checkpoint files (names; best checkpoints and links apart) at the end.
        package var kept: [String] = []
        /// Every checkpoint file name saved (best checkpoints and links apart).
        package var saved: [String] = []
        package var damage: String?
        /// Whether the trace records optimizer steps (a real mmcv run's does not yet).
        package var recordsSteps: Bool { stepped.contains { $0 != nil } }
    }

    package var a: Run
    package var b: Run
    package var kinds: Set<DiffKind>
    package var limit: Int

    /// A value series that differs: the group, the iterations that differ, the largest difference.
    package struct SeriesDifference: Sendable {
        package var name: String
        package var iterations: Int
        package var differing: [Int]
        package var largest: (iter: Int, a: Double, b: Double)?
        package var largestRelative: (iter: Int, ratio: Double)?
        /// The iterations that differ by more than ``visible`` relative (the rest differ in
        /// the last bits: the frameworks' arithmetic, not their schedules).
        package var visible: [Int] = []
    }

    /// A relative difference above which two values differ by their schedule, not rounding.
    package static let visible = 1e-9

    package var series: [SeriesDifference] = []
    package var stepsOnlyA: [Int] = []
    package var stepsOnlyB: [Int] = []
    package var evalsOnlyA: [Int] = []
    package var evalsOnlyB: [Int] = []
    package var bestsDiffer = false
    /// Whether the evaluations both runs have reported different metric values.
    package var metricsDiffer = false

    /// Whether the two runs are an mmcv 1.x and an mmengine run.
    package static func applies(_ a: RunStart, _ b: RunStart) -> Bool {
        framework(a) != framework(b)
    }

    /// `mmengine` or `mmcv`, as ``Framework/of(_:)`` tells a run's framework.
    package static func framework(_ r: RunStart) -> String {
        Framework.of(r) == .mmengine ? "mmengine" : "mmcv"
    }

    package static func compare(_ pathA: String, _ pathB: String, kinds: Set<DiffKind> = Set(DiffKind.allCases), limit: Int = 10) throws(HooktraceError) -> MigrationDiff {
        var diff = MigrationDiff(a: try summarize(pathA), b: try summarize(pathB), kinds: kinds, limit: limit)
        diff.compare()
        return diff
    }

    /// Reads a trace once into its per-iteration summary.
    package static func summarize(_ path: String) throws(HooktraceError) -> Run {
        var run = Run()
        run.path = path
        let reader = try TraceReader(path: path)
        var state = RunState()
        var itersDone = 0, epochsDone = 0
        var stageIndex: [String: Int] = [:]
        var currentIter = -1
        var pendingMetrics: [Field] = []
        var workDir = ""
        func name(_ path: String) -> String {
            if !workDir.isEmpty, path.hasPrefix(workDir + "/") { return String(path.dropFirst(workDir.count + 1)) }
            return String(path.split(separator: "/").last ?? Substring(path))
        }
        // One evaluation per point of the run (a run may report its metrics both as
        // observations and as an evaluation effect).
        func evaluation(_ metrics: [Field]) {
            if run.evaluations.last?.iters == itersDone { return }
            run.evaluations.append((itersDone, epochsDone, metrics))
        }
        func flushMetrics() {
            guard !pendingMetrics.isEmpty else { return }
            evaluation(pendingMetrics)
            pendingMetrics = []
        }
        do {
            try reader.forEachIntact { entry in
                switch entry.event {
                case .runStart(let r):
                    run.framework = framework(r)
                    run.runner = r.runner
                    run.hooks = r.hooks
                    if case .string(let d)? = r.meta.first(where: { $0.key == "work_dir" })?.value { workDir = d }
                    state.apply(entry.event)
                case .call(let c):
                    if c.stage != "after_val_epoch" && c.stage != "after_train_epoch" { flushMetrics() }
                    run.calls += 1
                    if let i = stageIndex[c.stage] { run.stages[i].count += 1 } else {
                        stageIndex[c.stage] = run.stages.count
                        run.stages.append((c.stage, 1))
                    }
                    switch c.stage {
                    case "before_train_iter":
                        currentIter = itersDone
                    case "after_train_iter":
                        // The values in force during the iteration: before this call's own effects.
                        if run.groups.count != state.groups.count {
                            run.groups = state.groups.map { g in (g.optimizer.isEmpty ? "" : g.optimizer + ".") + "\(g.group)" }
                        }
                        run.lr.append(state.lr)
                        run.momentum.append(state.momentum)
                        run.epochs.append(c.epoch)
                        if run.stepped.count < itersDone + 1 { run.stepped.append(nil) }
                        currentIter = itersDone
                        itersDone += 1
                    case "after_train_epoch":
                        flushMetrics()
                        epochsDone += 1
                    default:
                        break
                    }
                case .observe(let o):
                    if o.kind == .metric { pendingMetrics.append(Field(o.name, o.value)) }
                case .effect(let e):
                    switch e.action {
                    case .optimizerStep(_, let stepped, _) where currentIter >= 0:
                        while run.stepped.count <= currentIter { run.stepped.append(nil) }
                        run.stepped[currentIter] = stepped
                    case .evaluate(let fields):
                        evaluation(fields)
                    case .bestUpdate(let key, let score, let file):
                        flushMetrics()
                        run.bests.append((itersDone, key, score, name(file)))
                    case .checkpointSave(let p):
                        let n = name(p)
                        if !n.hasPrefix("best_") && !run.saved.contains(n) { run.saved.append(n) }
                    default:
                        break
                    }
                    state.apply(entry.event)
                default:
                    break
                }
            }
        } catch let error as HooktraceError {
            throw error
        } catch {
            throw HooktraceError(.io, "\(error)", file: path)
        }
        flushMetrics()
        if case .damaged(let error) = reader.state { run.damage = error.message }
        run.kept = state.files.map(name).filter { !$0.hasPrefix("best_") }
        if run.stepped.count > run.lr.count { run.stepped.removeLast(run.stepped.count - run.lr.count) }
        return run
    }

    private mutating func compare() {
        let n = min(a.lr.count, b.lr.count)
        for kind in [DiffKind.lr, .momentum] where kinds.contains(kind) {
            let groups = max(a.groups.count, b.groups.count)
            for g in 0..<groups {
                // Named as `hooktrace lr` names a column: `lr[0]`, `opt.momentum[1]`.
                let group = g < a.groups.count ? a.groups[g] : b.groups[g]
                let dot = group.lastIndex(of: ".")
                let prefix = dot.map { String(group[...$0]) } ?? "", index = dot.map { String(group[group.index(after: $0)...]) } ?? group
                var s = SeriesDifference(name: prefix + (kind == .lr ? "lr" : "momentum") + "[\(index)]", iterations: n, differing: [])
                var hasValues = false
                for k in 0..<n {
                    let x = value(a, kind, k, g), y = value(b, kind, k, g)
                    if !x.isNaN || !y.isNaN { hasValues = true }
                    if x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) { continue }
                    s.differing.append(k)
                    let d = abs(x - y)
                    if s.largest == nil || d > abs(s.largest!.a - s.largest!.b) { s.largest = (k, x, y) }
                    let scale = max(abs(x), abs(y))
                    if scale > 0, s.largestRelative == nil || d / scale > s.largestRelative!.ratio { s.largestRelative = (k, d / scale) }
                    if !(scale > 0 && d / scale <= Self.visible) { s.visible.append(k) }
                }
                if hasValues { series.append(s) }
            }
        }
        if kinds.contains(.optimizer) && a.recordsSteps && b.recordsSteps {
            for k in 0..<n {
                let x = k < a.stepped.count ? a.stepped[k] ?? false : false
                let y = k < b.stepped.count ? b.stepped[k] ?? false : false
                if x && !y { stepsOnlyA.append(k) }
                if y && !x { stepsOnlyB.append(k) }
            }
        }
        if kinds.contains(.eval) {
            let ea = Set(a.evaluations.map(\.iters)), eb = Set(b.evaluations.map(\.iters))
            evalsOnlyA = ea.subtracting(eb).sorted()
            evalsOnlyB = eb.subtracting(ea).sorted()
            bestsDiffer = a.bests.map(\.iters) != b.bests.map(\.iters)
            // The metrics are each run's own (names differ too: bbox_mAP, coco/bbox_mAP):
            // compared by their values at the evaluations both runs have.
            let valuesB = Dictionary(b.evaluations.map { ($0.iters, $0.metrics.compactMap(\.value.number).sorted()) }, uniquingKeysWith: { x, _ in x })
            metricsDiffer = a.evaluations.contains { e in
                valuesB[e.iters].map { $0 != e.metrics.compactMap(\.value.number).sorted() } ?? false
            }
        }
    }

    private func value(_ run: Run, _ kind: DiffKind, _ k: Int, _ g: Int) -> Double {
        let row = kind == .lr ? run.lr[k] : run.momentum[k]
        return g < row.count ? row[g] : .nan
    }

    package var same: Bool {
        a.lr.count == b.lr.count && a.damage == nil && b.damage == nil
            && series.allSatisfy(\.differing.isEmpty) && stepsOnlyA.isEmpty && stepsOnlyB.isEmpty
            && evalsOnlyA.isEmpty && evalsOnlyB.isEmpty && !bestsDiffer
            && (!kinds.contains(.checkpoint) || a.kept == b.kept)
    }

    // MARK: The mapping of names

    /// mmengine's counterpart of an mmcv 1.x hook type (mmdetection 3.x's port of a 2.x config).
    package static func counterpart(ofMMCVHook type: String) -> String {
        let bare = String(type.split(separator: ".").last ?? Substring(type))
        if bare.hasSuffix("LrUpdaterHook") || bare.hasSuffix("MomentumUpdaterHook") { return "ParamSchedulerHook" }
        switch bare {
        case "OptimizerHook", "GradientCumulativeOptimizerHook", "Fp16OptimizerHook", "GradientCumulativeFp16OptimizerHook": return "OptimWrapper"
        case "EvalHook", "DistEvalHook": return "ValLoop"
        case "TextLoggerHook", "TensorboardLoggerHook", "WandbLoggerHook", "MlflowLoggerHook", "NeptuneLoggerHook", "DvcliveLoggerHook",
             "PaviLoggerHook", "ClearMLLoggerHook", "SegmindLoggerHook", "MMDetWandbHook": return "LoggerHook"
        case "EMAHook", "ExpMomentumEMAHook", "LinearMomentumEMAHook": return "EMAHook"
        default: return bare
        }
    }

    /// What the mmcv run's hooks became in the mmengine run, and the hooks only one has.
    package func hookMapping() -> (pairs: [(String, String)], onlyA: [String], onlyB: [String]) {
        let (mmcv, engine) = a.framework == "mmcv" ? (a, b) : (b, a)
        var pairs: [(String, String)] = [], onlyMMCV: [String] = []
        var engineNames = Set(engine.hooks.map(\.type).map { String($0.split(separator: ".").last ?? Substring($0)) })
        engineNames.insert("OptimWrapper")
        engineNames.insert("ValLoop")
        var used: Set<String> = []
        for h in mmcv.hooks {
            let other = Self.counterpart(ofMMCVHook: h.type)
            if engineNames.contains(other) {
                pairs.append((h.type, other))
                used.insert(other)
            } else {
                onlyMMCV.append(h.type)
            }
        }
        let onlyEngine = engine.hooks.map(\.type).filter { !used.contains(String($0.split(separator: ".").last ?? Substring($0))) }
        if a.framework == "mmcv" { return (pairs, onlyMMCV, onlyEngine) }
        return (pairs.map { ($0.1, $0.0) }, onlyEngine, onlyMMCV)
    }

    // MARK: Reports

    private func ranges(_ iters: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < iters.count && parts.count < limit {
            var j = i
            while j + 1 < iters.count && iters[j + 1] == iters[j] + 1 { j += 1 }
            parts.append(i == j ? "\(iters[i])" : "\(iters[i])-\(iters[j])")
            i = j + 1
        }
        var text = parts.joined(separator: ", ")
        if i < iters.count { text += ", …" }
        return text
    }

    private func describe(_ run: Run) -> String {
        "\(run.path) (\(run.framework == "mmengine" ? "mmengine" : "mmcv 1.x"), \(run.runner), \(run.calls) calls, \(run.lr.count) training iterations)"
    }

    package var text: String {
        var out = "A: \(describe(a))\nB: \(describe(b))\n"
        out += "migration: \(a.framework == "mmcv" ? "mmcv 1.x → mmengine" : "mmengine → mmcv 1.x"): aligned by training iteration and completed epochs; log records are not compared (the frameworks write different records)\n"
        // Stages: the ones both have, with their counts; then each side's own.
        let stagesB = Dictionary(b.stages.map { ($0.stage, $0.count) }, uniquingKeysWith: { x, _ in x })
        let stagesA = Dictionary(a.stages.map { ($0.stage, $0.count) }, uniquingKeysWith: { x, _ in x })
        let shared = a.stages.filter { stagesB[$0.stage] != nil }.map { s in
            s.count == stagesB[s.stage]! ? "\(s.stage) \(s.count)" : "\(s.stage) \(s.count) vs \(stagesB[s.stage]!)"
        }
        out += "stages in both: " + shared.joined(separator: ", ") + "\n"
        let ownA = a.stages.filter { stagesA[$0.stage] != nil && stagesB[$0.stage] == nil }.map { "\($0.stage) \($0.count)" }
        let ownB = b.stages.filter { stagesB[$0.stage] != nil && stagesA[$0.stage] == nil }.map { "\($0.stage) \($0.count)" }
        if !ownA.isEmpty { out += "stages only in A: " + ownA.joined(separator: ", ") + "\n" }
        if !ownB.isEmpty { out += "stages only in B: " + ownB.joined(separator: ", ") + "\n" }
        let (pairs, onlyA, onlyB) = hookMapping()
        out += "hooks: " + pairs.map { "\($0.0) → \($0.1)" }.joined(separator: ", ") + "\n"
        if !onlyA.isEmpty { out += "hooks only in A: " + onlyA.joined(separator: ", ") + "\n" }
        if !onlyB.isEmpty { out += "hooks only in B: " + onlyB.joined(separator: ", ") + "\n" }
        if a.lr.count != b.lr.count {
            out += "training iterations: \(a.lr.count) in A, \(b.lr.count) in B (compared over the first \(min(a.lr.count, b.lr.count)))\n"
        }
        for s in series {
            if s.differing.isEmpty {
                out += "\(s.name): same at all \(s.iterations) iterations\n"
                continue
            }
            out += "\(s.name): \(s.differing.count) of \(s.iterations) iterations differ (iters \(ranges(s.differing)))"
            if let l = s.largest {
                out += "; largest difference \(formatDouble(abs(l.a - l.b))) at iter \(l.iter) (\(formatDouble(l.a)) → \(formatDouble(l.b)))"
            }
            if let r = s.largestRelative { out += "; largest relative \(formatDouble(r.ratio)) at iter \(r.iter)" }
            out += "\n"
            let lastBits = s.differing.count - s.visible.count
            if lastBits > 0 {
                out += "  \(s.visible.count) by more than \(formatDouble(Self.visible)) relative" + (s.visible.isEmpty ? "" : " (iters \(ranges(s.visible)))")
                    + "; \(lastBits) only in the last bits (the frameworks' floating-point arithmetic)\n"
            }
        }
        if kinds.contains(.optimizer) && !(a.recordsSteps && b.recordsSteps) {
            out += "optimizer: not compared (\(a.recordsSteps ? "B" : "A") records no optimizer steps)\n"
        } else if kinds.contains(.optimizer) {
            let stepsA = a.stepped.filter { $0 == true }.count, stepsB = b.stepped.filter { $0 == true }.count
            if stepsOnlyA.isEmpty && stepsOnlyB.isEmpty {
                out += "optimizer: same (\(stepsA) steps)\n"
            } else {
                out += "optimizer: \(stepsA) steps in A, \(stepsB) in B"
                if !stepsOnlyA.isEmpty { out += "; stepped only in A at iters \(ranges(stepsOnlyA))" }
                if !stepsOnlyB.isEmpty { out += "; stepped only in B at iters \(ranges(stepsOnlyB))" }
                out += "\n"
            }
        }
        if kinds.contains(.eval) {
            func at(_ iters: [Int], _ run: Run) -> String {
                iters.prefix(limit).map { i in
                    let e = run.evaluations.first { $0.iters == i }!
                    return "after iter \(i) (epoch \(e.epochs))"
                }.joined(separator: ", ") + (iters.count > limit ? ", …" : "")
            }
            if evalsOnlyA.isEmpty && evalsOnlyB.isEmpty {
                out += "eval: same (\(a.evaluations.count) evaluations, after the same iterations)\n"
            } else {
                out += "eval: \(a.evaluations.count) evaluations in A, \(b.evaluations.count) in B"
                if !evalsOnlyA.isEmpty { out += "; only in A: \(at(evalsOnlyA, a))" }
                if !evalsOnlyB.isEmpty { out += "; only in B: \(at(evalsOnlyB, b))" }
                out += "\n"
            }
            if !a.bests.isEmpty || !b.bests.isEmpty {
                func list(_ run: Run) -> String {
                    "[" + run.bests.prefix(limit).map { "\($0.key)=\(formatDouble($0.score)) \($0.file) (iter \($0.iters))" }.joined(separator: ", ") + (run.bests.count > limit ? ", …" : "") + "]"
                }
                out += bestsDiffer ? "best: chosen after different evaluations; A: \(list(a)), B: \(list(b))\n"
                                   : "best: chosen after the same evaluations (\(a.bests.count)); A: \(list(a)), B: \(list(b))\n"
                if bestsDiffer && metricsDiffer {
                    out += "  the runs' metrics differ (each run's own), so their best choices may too; the same metrics for both: `simulation.metrics` with the same values\n"
                }
            }
        }
        if kinds.contains(.checkpoint) {
            if a.kept == b.kept {
                out += "checkpoints: same (\(a.kept.count) kept at the end)\n"
            } else {
                let onlyA = a.kept.filter { !b.kept.contains($0) }, onlyB = b.kept.filter { !a.kept.contains($0) }
                out += "checkpoints kept at the end: \(a.kept.count) in A, \(b.kept.count) in B"
                if !onlyA.isEmpty { out += "; only in A: " + onlyA.prefix(limit).joined(separator: ", ") }
                if !onlyB.isEmpty { out += "; only in B: " + onlyB.prefix(limit).joined(separator: ", ") }
                out += "\n"
            }
        }
        for (side, run) in [("A", a), ("B", b)] where run.damage != nil { out += "\(side) is damaged: compared up to the damage\n" }
        out += "result: \(same ? "same" : "different")\n"
        return out
    }

    package var json: String {
        func strings(_ xs: [String]) -> String { "[" + xs.map(jsonString).joined(separator: ",") + "]" }
        func ints(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ",") + "]" }
        func side(_ r: Run) -> String {
            "{\"path\":\(jsonString(r.path)),\"framework\":\(jsonString(r.framework)),\"runner\":\(jsonString(r.runner)),\"calls\":\(r.calls),\"training_iterations\":\(r.lr.count),"
                + "\"steps\":\(r.stepped.filter { $0 == true }.count),\"evaluations\":\(ints(r.evaluations.map(\.iters))),\"kept\":\(strings(r.kept)),"
                + "\"bests\":[" + r.bests.map { "{\"iter\":\($0.iters),\"key\":\(jsonString($0.key)),\"score\":\(formatDouble($0.score)),\"checkpoint\":\(jsonString($0.file))}" }.joined(separator: ",") + "],"
                + "\"stages\":{" + r.stages.map { "\(jsonString($0.stage)):\($0.count)" }.joined(separator: ",") + "}}"
        }
        let (pairs, onlyA, onlyB) = hookMapping()
        var out = "{\"migration\":true,\"same\":\(same),\"a\":\(side(a)),\"b\":\(side(b)),"
        out += "\"hooks\":{\"mapped\":[" + pairs.map { "[\(jsonString($0.0)),\(jsonString($0.1))]" }.joined(separator: ",") + "],\"only_a\":\(strings(onlyA)),\"only_b\":\(strings(onlyB))},"
        out += "\"series\":[" + series.map { s in
            var fields = ["\"name\":\(jsonString(s.name))", "\"iterations\":\(s.iterations)", "\"differing\":\(s.differing.count)",
                          "\"first_differing\":\(s.differing.first.map(String.init) ?? "null")", "\"visible\":\(s.visible.count)"]
            if let l = s.largest { fields.append("\"largest\":{\"iter\":\(l.iter),\"a\":\(formatDouble(l.a)),\"b\":\(formatDouble(l.b))}") }
            return "{" + fields.joined(separator: ",") + "}"
        }.joined(separator: ",") + "],"
        out += "\"steps_only_a\":\(ints(stepsOnlyA)),\"steps_only_b\":\(ints(stepsOnlyB)),\"evaluations_only_a\":\(ints(evalsOnlyA)),\"evaluations_only_b\":\(ints(evalsOnlyB)),\"bests_differ\":\(bestsDiffer),\"metrics_differ\":\(metricsDiffer)}\n"
        return out
    }
}
