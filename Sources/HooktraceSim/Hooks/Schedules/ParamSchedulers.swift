import Foundation
import HooktraceFormat

/// mmengine 0.10.7's parameter schedulers (`optim/scheduler`), as `param_scheduler`
/// builds them: the chainable recurrences, each on the value the previous step of any
/// scheduler left, in range `begin ≤ global step < end` (spec §4). Constant, Exponential,
/// Linear, Poly, Step, MultiStep, CosineAnnealing, CosineRestart, ReduceOnPlateau and
/// mmdetection 3.x's QuadraticWarmup for `lr` and momentum, OneCycle for `lr`.
package struct ParamScheduler: Sendable {
    package enum Recurrence: Sendable {
        case constant(factor: Double)
        case exponential(gamma: Double)
        case linear(start: Double, end: Double)
        case poly(etaMin: Double, power: Double)
        case step(size: Double, gamma: Double)
        case multiStep(counts: [Double: Int], gamma: Double)
        case cosine(tMax: Double?, etaMin: Double?, etaMinRatio: Double?)
        case cosineRestart(periods: [Double], weights: [Double], etaMin: Double?, etaMinRatio: Double?)
        /// mmdetection 3.x's QuadraticWarmup: adds `base · (2t + 1) / (end − begin)²`.
        case quadraticWarmup
        /// Absolute values from each group's initial, max and min (set at construction).
        case oneCycle(etaMax: [Double], totalSteps: Double, phases: [(end: Double, from: Int, to: Int)], cos: Bool,
                      divFactor: Double, finalDivFactor: Double)
        /// Steps only with validation metrics (``ParamScheduler/stepPlateau(_:_:)``).
        case plateau(monitor: String, greater: Bool, factor: Double, patience: Int, threshold: Double, relative: Bool,
                     cooldown: Int, minValues: [Double], eps: Double)
    }

    package let type: String
    package let recurrence: Recurrence
    /// `lr`, `momentum`, or another setting of the groups (`param_name`).
    package let param: String
    /// The optimizer it schedules (an index into the run's optimizers: an OptimWrapperDict's
    /// wrapper).
    package var optimizer = 0
    package let begin: Double
    package let end: Double
    package let byEpoch: Bool
    /// What the config asks that is probably not meant (said once, as a warning).
    package var notes: [String] = []
    var lastStep = -1
    var globalStep = -1
    var baseValues: [Double] = []
    /// OneCycle's per-group `initial_lr`, `max_lr`, `min_lr` (indices 0, 1, 2 of a phase).
    var cycleValues: [[Double]] = []
    /// ReduceOnPlateau's state: best value, bad validations in a row, cooldown left.
    var best = 0.0, badEpochs = 0, cooldownLeft = 0
    /// Whether the scheduler steps with validation metrics (`need_val_args`).
    var needsMetrics: Bool { if case .plateau = recurrence { true } else { false } }

    static let infinity = 1_000_000_000.0  // mmengine's INF = int(1e9)

    /// Builds the scheduler of config `value` (`path` for errors), with `end` defaulting
    /// to `maxEpochs` or `maxIters` as the runner sets it, converted to iterations when
    /// `convert_to_iter_based`.
    init(_ value: JSONValue, path: String, maxEpochs: Int, maxIters: Int, epochLength: Int) throws(HooktraceError) {
        var args = try ConfigArgs(value, path: path)
        guard let type = try args.optionalString("type") else { throw configError(path + ".type", "missing: a scheduler type such as \"MultiStepLR\"") }
        self.type = type
        let bare = type.split(separator: ".").last.map(String.init) ?? type
        let family: String
        if bare.hasSuffix("ParamScheduler") {
            family = String(bare.dropLast("ParamScheduler".count))
            guard let p = try args.optionalString("param_name") else { throw configError(path + ".param_name", "missing: \(bare) needs param_name (\"lr\" or \"momentum\")") }
            param = p
        } else if bare.hasSuffix("LR") {
            family = String(bare.dropLast(2))
            param = "lr"
        } else if bare.hasSuffix("Momentum") {
            family = String(bare.dropLast("Momentum".count))
            param = "momentum"
        } else {
            family = bare
            param = "lr"
        }
        guard !param.isEmpty else { throw configError(path + ".param_name", "must name a setting of the optimizer's param groups, such as \"lr\" or \"weight_decay\"") }
        let byEpoch = try args.bool("by_epoch", default: true)
        let convert = try args.bool("convert_to_iter_based", default: false)
        if convert && !byEpoch {
            throw configError(path + ".convert_to_iter_based", "needs by_epoch true (mmengine asserts it)")
        }
        func number(_ key: String) throws(HooktraceError) -> Double? {
            guard let v = args.raw(key), v != .null else { return nil }
            guard let n = v.number else { throw configError(args.keyPath(key), "expected a number, got \(describeValue(v))") }
            return n
        }
        /// A number or a list of numbers (one per param group), as `eta_max` and `min_value` take.
        func numbers(_ key: String, default fallback: [Double]) throws(HooktraceError) -> [Double] {
            switch args.raw(key) {
            case nil, .null?: return fallback
            case .array(let items)?: return items.compactMap(\.number)
            case let v?:
                guard let n = v.number else { throw configError(args.keyPath(key), "expected a number or a list of them, got \(describeValue(v))") }
                return [n]
            }
        }
        var begin = try number("begin") ?? 0
        var end = try number("end") ?? Double(byEpoch ? maxEpochs : maxIters)
        let lastStep = try args.int("last_step", default: -1)
        guard lastStep >= -1 else { throw configError(args.keyPath("last_step"), "must be -1 (start from the beginning) or a step count, got \(lastStep) (mmengine asserts it)") }
        _ = args.raw("verbose")
        let L = Double(epochLength)
        // build_iter_from_epoch: begin and end in iterations (int()), per-class fields unrounded;
        // mmdetection's QuadraticWarmup multiplies begin and end without int().
        if convert {
            let exact = family == "QuadraticWarmup"
            begin = exact ? begin * L : (begin * L).rounded(.towardZero)
            if end != Self.infinity { end = exact ? end * L : (end * L).rounded(.towardZero) }
        }
        func show(_ x: Double) -> String { x.rounded() == x && abs(x) < 1e15 ? String(Int(x)) : formatDouble(x) }
        guard end > begin else { throw configError(path, "end (\(show(end))) must be larger than begin (\(show(begin))); mmengine raises ValueError") }
        self.begin = begin
        self.end = end
        self.byEpoch = byEpoch && !convert
        self.lastStep = lastStep
        switch family {
        case "Constant":
            let factor = try number("factor") ?? 1.0 / 3
            guard factor >= 0 && factor <= 1 else { throw configError(args.keyPath("factor"), "must be between 0 and 1, got \(formatDouble(factor)) (mmengine raises ValueError)") }
            recurrence = .constant(factor: factor)
        case "Exponential":
            guard let gamma = try number("gamma") else { throw configError(args.keyPath("gamma"), "missing: \(bare) needs gamma") }
            recurrence = .exponential(gamma: gamma)
        case "Linear":
            let s = try number("start_factor") ?? 1.0 / 3, e = try number("end_factor") ?? 1.0
            guard s > 0 && s <= 1 else { throw configError(args.keyPath("start_factor"), "must be in (0, 1], got \(formatDouble(s)) (mmengine raises ValueError)") }
            guard e >= 0 && e <= 1 else { throw configError(args.keyPath("end_factor"), "must be in [0, 1], got \(formatDouble(e)) (mmengine raises ValueError)") }
            recurrence = .linear(start: s, end: e)
        case "Poly":
            recurrence = .poly(etaMin: try number("eta_min") ?? 0, power: try number("power") ?? 1)
        case "Step":
            guard var size = try number("step_size") else { throw configError(args.keyPath("step_size"), "missing: \(bare) needs step_size") }
            if convert { size *= L }
            recurrence = .step(size: size, gamma: try number("gamma") ?? 0.1)
        case "MultiStep":
            guard case .array(let items)? = args.raw("milestones") else { throw configError(args.keyPath("milestones"), "missing: \(bare) needs a list of milestones") }
            var counts: [Double: Int] = [:]
            var previous: Double?
            for (i, item) in items.enumerated() {
                guard var m = item.number else { throw configError(args.keyPath("milestones") + "[\(i)]", "expected a number, got \(describeValue(item))") }
                // mmengine counts milestones in any order (a repeat applies gamma twice); a
                // list out of order is a typo far more often than a wish.
                if let previous, m <= previous {
                    throw configError(args.keyPath("milestones") + "[\(i)]", "milestones must increase: \(show(m)) comes after \(show(previous)) (mmengine would \(m == previous ? "apply gamma twice there" : "still decay at both, in step order")); sort them, or write the decays you mean")
                }
                previous = m
                if convert { m *= L }
                counts[m, default: 0] += 1
            }
            recurrence = .multiStep(counts: counts, gamma: try number("gamma") ?? 0.1)
        case "CosineAnnealing":
            var tMax = try number("T_max")
            if convert, let t = tMax { tMax = t * L }
            let etaMin = try number("eta_min"), ratio = try number("eta_min_ratio")
            if etaMin != nil && ratio != nil { throw configError(args.path, "gives both eta_min and eta_min_ratio; mmengine asserts only one") }
            recurrence = .cosine(tMax: tMax, etaMin: ratio == nil ? (etaMin ?? 0) : nil, etaMinRatio: ratio)
        case "CosineRestart":
            guard case .array(let items)? = args.raw("periods") else { throw configError(args.keyPath("periods"), "missing: \(bare) needs a list of periods") }
            var periods: [Double] = []
            for (i, item) in items.enumerated() {
                guard let p = item.number else { throw configError(args.keyPath("periods") + "[\(i)]", "expected a number, got \(describeValue(item))") }
                periods.append(convert ? p * L : p)
            }
            var weights: [Double] = [1]
            if case .array(let ws)? = args.raw("restart_weights") {
                weights = []
                for (i, w) in ws.enumerated() {
                    guard let v = w.number else { throw configError(args.keyPath("restart_weights") + "[\(i)]", "expected a number, got \(describeValue(w))") }
                    weights.append(v)
                }
            }
            guard periods.count == weights.count else {
                throw configError(args.keyPath("restart_weights"), "has \(weights.count) weights for \(periods.count) periods; mmengine asserts they match")
            }
            let etaMin = try number("eta_min"), ratio = try number("eta_min_ratio")
            guard (etaMin == nil) != (ratio == nil) else { throw configError(args.path, "needs exactly one of eta_min and eta_min_ratio (mmengine asserts it)") }
            // The values training uses are those of global steps begin ≤ s < end up to the
            // run's last epoch (by epoch) or iteration (by iteration); the step after the last
            // one is computed but never used. Past the periods mmengine 0.10.7 holds the last
            // value (get_position_from_periods finds no period): refused like non-increasing
            // milestones, a schedule it runs that is almost never meant.
            let lastUsed = Double(byEpoch && !convert ? maxEpochs : maxIters) - 1
            let lastStep = min(end - 1, lastUsed) - begin
            let covered = periods.reduce(0, +)
            if lastStep >= covered {
                throw configError(args.keyPath("periods"), "sum to \(show(covered)) steps, but training uses \(show(lastStep + 1)) steps of this scheduler (\(byEpoch && !convert ? "by epoch" : "by iteration")); from step \(show(covered)) on mmengine would hold the last value (its get_position_from_periods finds no period). Lengthen the periods to cover the run, or give \"end\": \(show(begin + covered)) to hold the value on purpose")
            }
            recurrence = .cosineRestart(periods: periods, weights: weights, etaMin: etaMin, etaMinRatio: ratio)
        case "OneCycle":
            guard param == "lr" else { throw configError(path + ".param_name", "OneCycle only schedules lr (mmengine asserts it)") }
            let etaMax = try numbers("eta_max", default: [0])
            let total: Double
            switch args.raw("total_steps") {
            case nil, .null?: total = end - begin
            case .int(let n)? where n > 0: total = convert ? Double(n) * L : Double(n)
            case let v?: throw configError(args.keyPath("total_steps"), "must be a positive integer, got \(describeValue(v)) (mmengine raises ValueError)")
            }
            let pct: Double
            switch args.raw("pct_start") {
            case nil, .null?: pct = 0.3
            case .double(let p)? where p >= 0 && p <= 1: pct = p
            case let v?: throw configError(args.keyPath("pct_start"), "must be a float between 0 and 1, got \(describeValue(v)) (mmengine raises ValueError; write 1.0, not 1)")
            }
            let anneal = try args.string("anneal_strategy", default: "cos")
            guard anneal == "cos" || anneal == "linear" else { throw configError(args.keyPath("anneal_strategy"), "must be \"cos\" or \"linear\", got \"\(anneal)\" (mmengine raises ValueError)") }
            let threePhase = try args.bool("three_phase", default: false)
            // Phases: end step, from → to (0 initial, 1 max, 2 min).
            let phases: [(end: Double, from: Int, to: Int)] = threePhase
                ? [(pct * total - 1, 0, 1), (2 * pct * total - 2, 1, 0), (total - 1, 0, 2)]
                : [(pct * total - 1, 0, 1), (total - 1, 1, 2)]
            // mmengine raises at a step past total_steps: a range longer than that fails
            // mid-run. The steps computed run to the range's end or the run's last step
            // (the one after the last iteration or epoch included), whichever comes first.
            let lastComputed = min(end - 1, Double(byEpoch && !convert ? maxEpochs : maxIters)) - begin
            guard lastComputed <= total else {
                throw configError(args.keyPath("total_steps"), "\(show(total)) is shorter than the scheduler's range (end − begin = \(show(end - begin))); mmengine raises ValueError (\"Tried to step \(show(total) + "+2") times\") there")
            }
            recurrence = .oneCycle(etaMax: etaMax, totalSteps: total, phases: phases, cos: anneal == "cos",
                                   divFactor: try number("div_factor") ?? 25, finalDivFactor: try number("final_div_factor") ?? 1e4)
        case "ReduceOnPlateau":
            guard byEpoch && !convert else { throw configError(path + ".by_epoch", "\(bare) steps by epoch only (mmengine asserts by_epoch is True)") }
            let factor = try number("factor") ?? 0.1
            guard factor < 1 else { throw configError(args.keyPath("factor"), "must be below 1, got \(formatDouble(factor)) (mmengine raises ValueError)") }
            let threshold = try number("threshold") ?? 1e-4
            guard threshold >= 0 else { throw configError(args.keyPath("threshold"), "must not be negative (mmengine raises ValueError)") }
            let rule = try args.string("rule", default: "less")
            guard rule == "less" || rule == "greater" else { throw configError(args.keyPath("rule"), "must be \"less\" or \"greater\", got \"\(rule)\" (mmengine raises ValueError)") }
            let thresholdRule = try args.string("threshold_rule", default: "rel")
            guard thresholdRule == "rel" || thresholdRule == "abs" else { throw configError(args.keyPath("threshold_rule"), "must be \"rel\" or \"abs\", got \"\(thresholdRule)\" (mmengine raises ValueError)") }
            let minValues = try numbers("min_value", default: [0])
            recurrence = .plateau(monitor: try args.string("monitor", default: "loss"), greater: rule == "greater", factor: factor,
                                  patience: try args.int("patience", default: 10), threshold: threshold, relative: thresholdRule == "rel",
                                  cooldown: try args.int("cooldown", default: 0), minValues: minValues, eps: try number("eps") ?? 1e-8)
            // Not stepped at construction; the epoch count starts at 0; the best starts at
            // mmengine's integer INF (1e9), not at infinity.
            globalStep = 0
            best = rule == "greater" ? -Self.infinity : Self.infinity
        case "QuadraticWarmup":
            guard end < Self.infinity else { throw configError(path + ".end", "\(bare) needs end (the step where warmup ends); mmdetection raises ValueError") }
            recurrence = .quadraticWarmup
        default:
            throw configError(path + ".type", "unknown scheduler \"\(type)\"" + suggestion(bare, ["ConstantLR", "ExponentialLR", "LinearLR", "PolyLR", "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "CosineRestartLR", "ReduceOnPlateauLR", "QuadraticWarmupLR"]))
        }
        try args.finish(owner: bare)
    }

    /// `_get_value`: the new value of each group from its current value `g` and base `b`.
    private func value(_ g: Double, base b: Double) -> Double {
        let t = lastStep
        let T = end - begin - 1  // total_iters (an int in mmengine; exact here)
        switch recurrence {
        case .constant(let factor):
            if t == 0 { return g * factor }
            if Double(t) == T { return g * (1.0 / factor) }
            return g
        case .exponential(let gamma):
            return t == 0 ? g : g * gamma
        case .linear(let s, let e):
            if t == 0 { return g * s }
            return g * (1.0 + (e - s) / (T * s + Double(t - 1) * (e - s)))
        case .poly(let etaMin, let power):
            if t == 0 { return g }
            return (g - etaMin) * pow(1 - 1 / (T - Double(t) + 1), power) + etaMin
        case .step(let size, let gamma):
            if t == 0 || Double(t).truncatingRemainder(dividingBy: size) != 0 { return g }
            return g * gamma
        case .multiStep(let counts, let gamma):
            guard let k = counts[Double(t)] else { return g }
            return g * pow(gamma, Double(k))
        case .cosine(let tMaxGiven, let etaMin, let ratio):
            let tMax = tMaxGiven ?? (end - begin)
            let m = ratio.map { b * $0 } ?? (etaMin ?? 0)
            if t == 0 { return g }
            if (Double(t) - 1 - tMax).truncatingRemainder(dividingBy: 2 * tMax) == 0 {
                return g + (b - m) * (1 - cos(Double.pi / tMax)) / 2
            }
            return (1 + cos(Double.pi * Double(t) / tMax)) / (1 + cos(Double.pi * Double(t - 1) / tMax)) * (g - m) + m
        case .cosineRestart(let periods, let weights, let etaMin, let ratio):
            var cumulative = 0.0
            for (i, period) in periods.enumerated() {
                let restart = cumulative
                cumulative += period
                guard Double(t) < cumulative else { continue }
                let step = Double(t) - restart
                let etaMax = b * weights[i]
                let m = ratio.map { b * $0 } ?? (etaMin ?? 0)
                if step == 0 { return etaMax }
                return (1 + cos(Double.pi * step / period)) / (1 + cos(Double.pi * (step - 1) / period)) * (g - m) + m
            }
            return g
        case .quadraticWarmup:
            let T = end - begin
            if t == 0 { return b * Double(2 * t + 1) / (T * T) }
            return g + b * Double(2 * t + 1) / (T * T)
        case .oneCycle, .plateau:
            return g  // by group, in oneCycleValue; with metrics, in stepPlateau
        }
    }

    /// ReduceOnPlateau's `step(metrics)` after a validation, on the wrapper's groups.
    mutating func stepPlateau(_ metrics: [(String, Scalar)], _ groups: inout [Double]) throws(HooktraceError) {
        guard case .plateau(let monitor, let greater, let factor, let patience, let threshold, let relative, let cooldown, let minValues, let eps) = recurrence else { return }
        let s = Double(globalStep)
        guard begin <= s && s < end else { return }
        lastStep += 1
        guard let value = metrics.first(where: { $0.0 == monitor })?.1.number else {
            throw HooktraceError(.invalidInput, "\(type): the validation has no metric \"\(monitor)\" (it reports \(metrics.map(\.0).joined(separator: ", "))); mmengine raises KeyError here")
        }
        let better = greater ? (relative ? value > best * (threshold + 1.0) : value > best + threshold)
                             : (relative ? value < best * (1.0 - threshold) : value < best - threshold)
        if better {
            best = value
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return }
        for i in groups.indices {
            // min_value per raw group; the wrapper's extra group repeats the last.
            let floor = minValues.count == 1 ? minValues[0] : minValues[min(i, minValues.count - 1)]
            let v = max(groups[i] * factor, floor)
            if groups[i] - v > eps { groups[i] = v }
        }
        cooldownLeft = cooldown
        badEpochs = 0
    }

    /// OneCycle's value for group `i`: absolute, from the phase the step is in.
    private func oneCycleValue(_ i: Int) -> Double {
        guard case .oneCycle(_, _, let phases, let cosine, _, _) = recurrence else { return 0 }
        let t = Double(lastStep)
        var start = 0.0
        for (k, phase) in phases.enumerated() {
            if t <= phase.end || k == phases.count - 1 {
                let pct = (t - start) / (phase.end - start)
                let a = cycleValues[i][phase.from], z = cycleValues[i][phase.to]
                return cosine ? z + (a - z) / 2.0 * (cos(Double.pi * pct) + 1) : (z - a) * pct + a
            }
            start = phase.end
        }
        return 0
    }

    /// Whether the next `step()` is in range (writes values); out of range it only counts.
    var nextStepApplies: Bool {
        let s = Double(globalStep + 1)
        return begin <= s && s < end
    }

    /// `step()` on `groups` (the wrapper's param groups, the extra base group included).
    mutating func step(_ groups: inout [Double]) {
        globalStep += 1
        if case .plateau = recurrence { return }  // without metrics it only counts
        let s = Double(globalStep)
        guard begin <= s && s < end else { return }
        lastStep += 1
        if case .oneCycle = recurrence {
            for i in groups.indices { groups[i] = oneCycleValue(i) }
            return
        }
        for i in groups.indices { groups[i] = value(groups[i], base: baseValues[i]) }
    }
}

/// mmengine's `ParamSchedulerHook` with the run's schedulers: iteration schedulers step
/// after each training iteration, epoch schedulers after each training epoch, ReduceOnPlateau
/// after each validation with its metrics; every
/// value that changes is a `set_lr` / `set_momentum` effect. With an OptimWrapperDict each
/// wrapper has its own schedulers, stepped wrapper by wrapper in the dict's order.
final class ParamSchedulerHook: Hook {
    let type: String
    let config: JSONValue
    let methods: Set<Stage> = MMEngineHook.known["ParamSchedulerHook"]!.methods
    /// The run's schedulers (`runner.param_schedulers`), built before the run starts, each
    /// on its optimizer (``ParamScheduler/optimizer``).
    @exclusivity(unchecked) var schedulers: [ParamScheduler] = []

    init(type: String, config: JSONValue) {
        self.type = type
        self.config = config
    }

    /// Builds the schedulers on their optimizers, in order: each records
    /// `initial_<param>` where unset and takes its first step. `paths` are their key paths.
    static func construct(_ schedulers: inout [ParamScheduler], paths: [String], _ runner: HookContext) throws(HooktraceError) {
        for i in schedulers.indices {
            let o = schedulers[i].optimizer
            let opt = runner.optimizers[o]
            // MomentumSchedulerMixin: the optimizer's defaults need momentum or betas.
            if schedulers[i].param == "momentum", !opt.defaultsHaveMomentum && !opt.defaultsHaveBetas {
                throw configError(paths[i] + ".type", "\(schedulers[i].type) schedules momentum, and \(opt.className) has neither momentum nor betas (mmengine raises ValueError); schedule lr, or use an optimizer with momentum")
            }
            let param = schedulers[i].param
            if param != "lr" && param != "momentum" && opt.groups[0].settings[param] == nil
                || param == "momentum" && schedulers[i].type.hasSuffix("ParamScheduler") && !opt.defaultsHaveMomentum {
                let has = ["lr"] + (opt.defaultsHaveMomentum ? ["momentum"] : []) + opt.groups[0].settings.keys.sorted()
                throw configError(paths[i] + ".param_name", "\(opt.className)'s param groups have no \"\(param)\" (mmengine raises KeyError); they have \(has.joined(separator: ", "))" + suggestion(param, has) + (param == "momentum" ? ". A Momentum scheduler (e.g. CosineAnnealingMomentum) schedules betas[0] of Adam-like optimizers" : ""))
            }
            if schedulers[i].lastStep != -1 {
                // A scheduler resuming "without state dict" reads initial_<param> from the groups.
                guard initialSet(schedulers[i].param, o, runner) else {
                    throw configError(paths[i] + ".last_step", "\(schedulers[i].lastStep) resumes a schedule, and no earlier scheduler of this optimizer recorded initial_\(schedulers[i].param) (mmengine raises KeyError: param 'initial_\(schedulers[i].param)' is not specified in param_groups[0] when resuming an optimizer); remove last_step, or put the scheduler after one that starts from the beginning")
                }
            }
            var values = values(schedulers[i].param, o, runner)
            if case .plateau(_, _, _, _, _, _, _, let minValues, _) = schedulers[i].recurrence, minValues.count > 1, minValues.count != opt.groups.count {
                throw configError(paths[i] + ".min_value", "gives \(minValues.count) values for \(opt.groups.count) param groups (mmengine raises ValueError)")
            }
            if schedulers[i].needsMetrics {
                // ReduceOnPlateau records initial values but takes no step at construction.
                schedulers[i].baseValues = initialValues(schedulers[i].param, o, runner, current: values)
                continue
            }
            if case .oneCycle(let etaMax, _, _, _, let div, let finalDiv) = schedulers[i].recurrence {
                // Every group's initial_lr is overwritten (not set by default): max / div_factor.
                guard etaMax.count == 1 || etaMax.count == values.count else {
                    throw configError(paths[i] + ".eta_max", "gives \(etaMax.count) values for \(values.count) param groups (mmengine raises ValueError)")
                }
                schedulers[i].cycleValues = values.indices.map { g in
                    let maxValue = etaMax.count == 1 ? etaMax[0] : etaMax[g]
                    let initial = maxValue / div
                    return [initial, maxValue, initial / finalDiv]
                }
                setInitial("lr", schedulers[i].cycleValues.map { $0[0] }, o, runner)
            }
            schedulers[i].baseValues = initialValues(schedulers[i].param, o, runner, current: values)
            schedulers[i].step(&values)
            write(schedulers[i].param, values, o, runner)
        }
    }

    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        let byEpoch: Bool
        switch method {
        case .afterTrainIter: byEpoch = false
        case .afterTrainEpoch: byEpoch = true
        case .afterValEpoch:
            // Only schedulers that need the validation's metrics (ReduceOnPlateau).
            for i in schedulers.indices where schedulers[i].byEpoch && schedulers[i].needsMetrics {
                let param = schedulers[i].param, o = schedulers[i].optimizer
                var values = Self.values(param, o, runner)
                let before = values
                try schedulers[i].stepPlateau(runner.validationMetrics, &values)
                try apply(param, before, values, o, runner)
            }
            return
        default: return
        }
        for i in schedulers.indices where schedulers[i].byEpoch == byEpoch {
            // Out of its range a scheduler only counts the step: nothing to read or write.
            guard schedulers[i].nextStepApplies else {
                schedulers[i].globalStep += 1
                continue
            }
            let param = schedulers[i].param, o = schedulers[i].optimizer
            var values = Self.values(param, o, runner)
            let before = values
            schedulers[i].step(&values)
            try apply(param, before, values, o, runner)
        }
    }

    /// Writes the stepped values into the groups; every raw group's change is an effect.
    private func apply(_ param: String, _ before: [Double], _ values: [Double], _ o: Int, _ runner: HookContext) throws(HooktraceError) {
        Self.write(param, values, o, runner)
        let name = runner.optimizers[o].name, raw = runner.optimizers[o].groups.count
        for (g, (old, new)) in zip(before, values).enumerated() where old.bitPattern != new.bitPattern && g < raw {
            switch param {
            case "lr": try runner.effect(.setLR(optimizer: name, group: g, value: new))
            case "momentum": try runner.effect(.setMomentum(optimizer: name, group: g, value: new))
            default:
                var fields = [Field("param", .string(param)), Field("group", .int(Int64(g))), Field("value", .double(new))]
                if !name.isEmpty { fields.insert(Field("optimizer", .string(name)), at: 0) }
                try runner.effect(.custom(kind: "set_param", fields: fields))
            }
        }
    }

    /// The wrapper's groups' values of `param`: the raw groups, then the extra base group
    /// when the optimizer has several (OptimWrapper.param_groups).
    static func values(_ param: String, _ o: Int, _ runner: HookContext) -> [Double] {
        let opt = runner.optimizers[o]
        var out = opt.groups.map { $0.value(param) }
        if opt.hasBaseGroup { out.append(opt.baseGroup.value(param)) }
        return out
    }

    /// Whether every group of optimizer `o` has `initial_<param>`.
    static func initialSet(_ param: String, _ o: Int, _ runner: HookContext) -> Bool {
        let opt = runner.optimizers[o]
        return opt.groups.allSatisfy { $0[initial: param] != nil } && (!opt.hasBaseGroup || opt.baseGroup[initial: param] != nil)
    }

    /// `setdefault('initial_<param>', value)` on every group, then the initial values.
    static func initialValues(_ param: String, _ o: Int, _ runner: HookContext, current: [Double]) -> [Double] {
        let n = runner.optimizers[o].groups.count
        for i in 0..<n where runner.optimizers[o].groups[i][initial: param] == nil {
            runner.optimizers[o].groups[i][initial: param] = current[i]
        }
        if runner.optimizers[o].hasBaseGroup && runner.optimizers[o].baseGroup[initial: param] == nil {
            runner.optimizers[o].baseGroup[initial: param] = current[n]
        }
        var initial = runner.optimizers[o].groups.map { $0[initial: param]! }
        if runner.optimizers[o].hasBaseGroup { initial.append(runner.optimizers[o].baseGroup[initial: param]!) }
        return initial
    }

    /// Overwrites `initial_<param>` of every group (OneCycle's construction).
    static func setInitial(_ param: String, _ initial: [Double], _ o: Int, _ runner: HookContext) {
        let n = runner.optimizers[o].groups.count
        for i in 0..<min(n, initial.count) { runner.optimizers[o].groups[i][initial: param] = initial[i] }
        if runner.optimizers[o].hasBaseGroup && initial.count > n { runner.optimizers[o].baseGroup[initial: param] = initial[n] }
    }

    static func write(_ param: String, _ values: [Double], _ o: Int, _ runner: HookContext) {
        let n = runner.optimizers[o].groups.count
        for i in 0..<min(n, values.count) { runner.optimizers[o].groups[i].set(param, values[i]) }
        if runner.optimizers[o].hasBaseGroup && values.count > n { runner.optimizers[o].baseGroup.set(param, values[n]) }
    }
}
