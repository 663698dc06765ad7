#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat

/// mmcv's `LrUpdaterHook` and `MomentumUpdaterHook` with all their policies.
///
/// Control flow (base capture, per-epoch or per-iteration updates, warmup over global
/// iterations) and every formula follow mmcv 1.7 in mmcv's evaluation order (spec §4,
/// §5), so values match mmcv's bit for bit with glibc's `pow` and `cos`. Every value
/// written to a param group is recorded as a `set_lr` or `set_momentum` effect.
package final class ScheduleHook: Hook {
    package enum Kind: Sendable {
        case lr, momentum
    }

    package let type: String
    package let config: JSONValue
    package let kind: Kind
    package let policy: SchedulePolicy
    package let byEpoch: Bool
    package let warmup: String?
    @exclusivity(unchecked) package private(set) var warmupIters: Int?
    package let warmupRatio: Double
    let warmupEpochs: Int?
    /// Per optimizer, per group.
    @exclusivity(unchecked) package private(set) var base: [[Double]] = []
    @exclusivity(unchecked) package private(set) var regular: [[Double]] = []
    @exclusivity(unchecked) private var cyclicPhases: [Phase] = []
    @exclusivity(unchecked) private var maxIterPerPhase = 0
    /// One-cycle phases: end iteration, start and end multipliers (LR) or 0/1 selecting
    /// base/max momentum (momentum).
    @exclusivity(unchecked) private var cyclePhases: [Phase] = []

    package var methods: Set<Stage> { [.beforeRun, .beforeTrainEpoch, .beforeTrainIter] }
    /// Where the hook's settings are in the config (`lr_config`, `custom_hooks[1]`): errors
    /// found while the run is simulated name the key there.
    let keyPath: String

    /// An error about the setting `key` of this hook, found while the run is simulated.
    private func settingError(_ key: String?, _ message: String) -> HooktraceError {
        configError(key.map { keyPath.isEmpty ? $0 : keyPath + "." + $0 } ?? keyPath, "\(type): " + message)
    }

    init(type: String, kind: Kind, policy: SchedulePolicy, args: inout ConfigArgs, byEpochDefault: Bool = true) throws(HooktraceError) {
        keyPath = args.path
        self.type = type
        self.kind = kind
        self.policy = policy
        config = args.value
        byEpoch = try args.bool("by_epoch", default: byEpochDefault)
        warmup = try args.optionalString("warmup")
        if let w = warmup, !["constant", "linear", "exp"].contains(w) {
            throw configError(args.keyPath("warmup"), "\"\(w)\" is not a supported warmup type; use \"constant\", \"linear\" or \"exp\"" + suggestion(w, ["constant", "linear", "exp"]))
        }
        let iters = try args.int("warmup_iters", default: 0)
        warmupRatio = try args.double("warmup_ratio", default: kind == .lr ? 0.1 : 0.9)
        let byEpochWarmup = kind == .lr ? try args.bool("warmup_by_epoch", default: false) : false
        if warmup != nil {
            guard iters > 0 else {
                throw args.misspelling(of: "warmup_iters") ?? configError(args.keyPath("warmup_iters"), "must be > 0 when warmup is set, got \(iters)")
            }
            guard warmupRatio > 0 && warmupRatio <= 1 else {
                throw configError(args.keyPath("warmup_ratio"), "must be in (0, 1], got \(formatDouble(warmupRatio))")
            }
        }
        if byEpochWarmup {
            warmupEpochs = iters
            warmupIters = nil
        } else {
            warmupEpochs = nil
            warmupIters = iters
        }
    }

    // MARK: Running

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            try beforeRun(runner)
        case .beforeTrainEpoch:
            if warmupIters == nil, let epochs = warmupEpochs {
                warmupIters = epochs * (runner.dataLoaderLength ?? 0)
            }
            guard byEpoch else { return }
            regular = try regularValues(runner)
            try write(regular, runner)
        case .beforeTrainIter:
            guard let w = warmupIters else {
                throw settingError("warmup_by_epoch", "warmup_by_epoch needs a train epoch to convert warmup epochs to iterations, and IterBasedRunner has none; set warmup_by_epoch to false")
            }
            let cur = runner.iter
            if !byEpoch {
                regular = try regularValues(runner)
                if warmup == nil || cur >= w {
                    try write(regular, runner)
                } else {
                    try write(warmupValues(cur, w), runner)
                }
            } else {
                if warmup == nil || cur > w { return }
                try write(cur == w ? regular : warmupValues(cur, w), runner)
            }
        default:
            break
        }
    }

    private func current(_ group: ParamGroupState) -> Double? {
        kind == .lr ? group.lr : group.currentMomentum
    }

    /// The errors mmcv would raise during the run that the config alone decides (total_steps
    /// shorter than the run, periods that do not cover it, too many cycles, an optimizer
    /// without momentum, per-group values that do not fit): checked before anything runs.
    func preflight(_ runner: HookContext) throws(HooktraceError) {
        let maxIters = runner.plannedMaxIters ?? 0
        switch policy {
        case .oneCycleLR(let maxLR, let totalSteps, _, _, _, _, _):
            let t = totalSteps ?? maxIters
            if t < maxIters {
                throw settingError("total_steps", "total_steps \(t) is less than the run's max_iters \(maxIters) (mmcv raises ValueError); set total_steps to at least \(maxIters) or omit it")
            }
            for opt in runner.optimizers { _ = try formatParam(maxLR, runner: runner, optimizer: opt, what: "max_lr") }
        case .oneCycleMomentum(let baseM, let maxM, _, _, _):
            for opt in runner.optimizers {
                guard opt.defaultsHaveMomentum || opt.defaultsHaveBetas else {
                    throw settingError(nil, "optimizer \(opt.className) has neither momentum nor betas (mmcv raises ValueError: optimizer must support momentum with option enabled)")
                }
                _ = try formatParam(baseM, runner: runner, optimizer: opt, what: "base_momentum")
                _ = try formatParam(maxM, runner: runner, optimizer: opt, what: "max_momentum")
            }
        case .cyclic(_, let times, _, _, _):
            if maxIters / times <= 0 {
                throw settingError("cyclic_times", "max_iters \(maxIters) is less than cyclic_times \(times), so mmcv divides by zero; lower cyclic_times")
            }
        case .cosineRestart(let periods, _, _):
            // The last progress the schedule is asked for: the last epoch, or the last iteration.
            guard !(runner.kind == .iterBased && byEpoch) else { break }
            let last = byEpoch ? (runner.maxEpochs ?? 0) - 1 : maxIters - 1
            let total = periods.reduce(0, +)
            if last >= total {
                throw settingError("periods", "progress \(last) exceeds the cumulative periods (\(total) in all) (mmcv raises ValueError during the run); make the periods cover the whole run (\(last + 1) \(byEpoch ? "epochs" : "iterations"))")
            }
        default:
            if kind == .momentum {
                for opt in runner.optimizers where opt.groups.contains(where: { $0.currentMomentum == nil }) {
                    throw settingError(nil, "optimizer \(opt.className) has neither momentum nor betas (mmcv raises KeyError: 'betas'); remove momentum_config")
                }
            }
        }
    }

    private func beforeRun(_ runner: HookContext) throws(HooktraceError) {
        switch policy {
        case .oneCycleLR(let maxLR, let totalSteps, let pct, _, let div, let finalDiv, let threePhase):
            let maxIters = runner.maxIters ?? 0
            let t = totalSteps ?? maxIters
            if t < maxIters {
                throw settingError("total_steps", "total_steps \(t) is less than the run's max_iters \(maxIters) (mmcv raises ValueError); set total_steps to at least \(maxIters) or omit it")
            }
            base = []
            for o in runner.optimizers.indices {
                let opt = runner.optimizers[o]
                let maxLRs = try formatParam(maxLR, runner: runner, optimizer: opt, what: "max_lr")
                let groupBase = maxLRs.map { $0 / div }
                base.append(groupBase)
                for g in runner.optimizers[o].groups.indices where g < groupBase.count && runner.optimizers[o].groups[g].initialLR == nil {
                    runner.optimizers[o].groups[g].initialLR = groupBase[g]
                }
            }
            let first = Double(pct * Double(t)) - 1
            if threePhase {
                cyclePhases = [Phase(start: 0, end: first, startRatio: 1, endRatio: div),
                               Phase(start: 0, end: Double(2 * pct * Double(t)) - 2, startRatio: div, endRatio: 1),
                               Phase(start: 0, end: Double(t - 1), startRatio: 1, endRatio: 1 / finalDiv)]
            } else {
                cyclePhases = [Phase(start: 0, end: first, startRatio: 1, endRatio: div),
                               Phase(start: 0, end: Double(t - 1), startRatio: div, endRatio: 1 / finalDiv)]
            }
        case .oneCycleMomentum(let baseM, let maxM, let pct, _, let threePhase):
            for o in runner.optimizers.indices {
                let opt = runner.optimizers[o]
                guard opt.defaultsHaveMomentum || opt.defaultsHaveBetas else {
                    throw settingError(nil, "optimizer \(opt.className) has neither momentum nor betas (mmcv raises ValueError: optimizer must support momentum with option enabled)")
                }
                let bases = try formatParam(baseM, runner: runner, optimizer: opt, what: "base_momentum")
                let maxes = try formatParam(maxM, runner: runner, optimizer: opt, what: "max_momentum")
                for g in runner.optimizers[o].groups.indices where g < bases.count && g < maxes.count {
                    runner.optimizers[o].groups[g].setMomentum(maxes[g])
                    runner.optimizers[o].groups[g].baseMomentum = bases[g]
                    runner.optimizers[o].groups[g].maxMomentum = maxes[g]
                    try runner.effect(.setMomentum(optimizer: opt.name, group: g, value: maxes[g]))
                }
            }
            let mi = Double(runner.maxIters ?? 0)
            let first = Double(pct * mi) - 1
            // startRatio/endRatio: 0 selects base_momentum, 1 max_momentum.
            if threePhase {
                cyclePhases = [Phase(start: 0, end: first, startRatio: 1, endRatio: 0),
                               Phase(start: 0, end: Double(2 * pct * mi) - 2, startRatio: 0, endRatio: 1),
                               Phase(start: 0, end: mi - 1, startRatio: 1, endRatio: 1)]
            } else {
                cyclePhases = [Phase(start: 0, end: first, startRatio: 1, endRatio: 0),
                               Phase(start: 0, end: mi - 1, startRatio: 0, endRatio: 1)]
            }
        default:
            // Base capture: setdefault('initial_lr' / 'initial_momentum').
            base = []
            for o in runner.optimizers.indices {
                var row: [Double] = []
                for g in runner.optimizers[o].groups.indices {
                    var group = runner.optimizers[o].groups[g]
                    switch kind {
                    case .lr:
                        if group.initialLR == nil { group.initialLR = group.lr }
                        row.append(group.initialLR!)
                    case .momentum:
                        guard let m = group.currentMomentum else {
                            throw settingError(nil, "optimizer \(runner.optimizers[o].className) has neither momentum nor betas (mmcv raises KeyError: 'betas'); remove momentum_config")
                        }
                        if group.initialMomentum == nil { group.initialMomentum = m }
                        row.append(group.initialMomentum!)
                    }
                    runner.optimizers[o].groups[g] = group
                }
                base.append(row)
            }
            if case .cyclic(let ratio, let times, let up, _, _) = policy {
                let maxIters = runner.maxIters ?? 0
                maxIterPerPhase = maxIters / times
                guard maxIterPerPhase > 0 else {
                    throw settingError("cyclic_times", "max_iters \(maxIters) is less than cyclic_times \(times), so mmcv divides by zero; lower cyclic_times")
                }
                let iterUp = Int(up * Double(maxIterPerPhase))
                cyclicPhases = [Phase(start: 0, end: Double(iterUp), startRatio: 1, endRatio: ratio.0),
                                Phase(start: Double(iterUp), end: Double(maxIterPerPhase), startRatio: ratio.0, endRatio: ratio.1)]
            }
        }
    }

    /// `format_param`: a number for every group, a list with one value per group, or a
    /// dict keyed by optimizer name (the class name for a single optimizer).
    private func formatParam(_ value: JSONValue, runner: HookContext, optimizer: OptimizerState, what: String) throws(HooktraceError) -> [Double] {
        let n = optimizer.groups.count
        let key = runner.isDictOptimizer ? optimizer.name : optimizer.className
        switch value {
        case .int, .double:
            return Array(repeating: value.number!, count: n)
        case .array(let items):
            guard items.count == n else {
                throw settingError(what, "\(what) has \(items.count) values but optimizer \(key) has \(n) param groups (mmcv raises ValueError)")
            }
            return items.map { $0.number ?? .nan }
        case .object:
            guard let entry = value[key] else {
                throw settingError(what, "\(what) has no entry \"\(key)\" (mmcv raises KeyError; a single optimizer is keyed by its class name)")
            }
            guard case .array(let items) = entry, items.count == n else {
                throw settingError(what, "\(what)[\"\(key)\"] must list one value per param group (\(n))")
            }
            return items.map { $0.number ?? .nan }
        default:
            throw settingError(what, "\(what) must be a number, a list or a dict")
        }
    }

    private func write(_ values: [[Double]], _ runner: HookContext) throws(HooktraceError) {
        for o in runner.optimizers.indices where o < values.count {
            let count = min(values[o].count, runner.optimizers[o].groups.count)
            let name = runner.optimizers[o].name
            for g in 0..<count {
                let v = values[o][g]
                switch kind {
                case .lr:
                    runner.optimizers[o].groups[g].lr = v
                    try runner.effect(.setLR(optimizer: name, group: g, value: v))
                case .momentum:
                    guard runner.optimizers[o].groups[g].currentMomentum != nil else { continue }
                    runner.optimizers[o].groups[g].setMomentum(v)
                    try runner.effect(.setMomentum(optimizer: name, group: g, value: v))
                }
            }
        }
    }

    private func regularValues(_ runner: HookContext) throws(HooktraceError) -> [[Double]] {
        if case .oneCycleMomentum = policy {
            var result: [[Double]] = []
            for opt in runner.optimizers {
                var row: [Double] = []
                for g in opt.groups { row.append(oneCycleMomentum(runner, g)) }
                result.append(row)
            }
            return result
        }
        var result: [[Double]] = []
        for bases in base {
            var row: [Double] = []
            for b in bases { row.append(try value(runner, base: b)) }
            result.append(row)
        }
        return result
    }

    private func warmupValues(_ cur: Int, _ w: Int) -> [[Double]] {
        let r = warmupRatio
        if case .yolox = policy {
            // YOLOX's get_warmup_lr: whatever `warmup` says, the base times ratio × ((cur + 1) / w)².
            let k = r * pow(Double(cur + 1) / Double(w), 2)
            return base.map { row in row.map { $0 * k } }
        }
        let lr = kind == .lr
        return regular.map { row in
            row.map { reg in
                switch warmup {
                case "constant":
                    return lr ? reg * r : reg / r
                case "linear":
                    let k = (1 - Double(cur) / Double(w)) * (1 - r)
                    return lr ? reg * (1 - k) : reg / (1 - k)
                default:  // exp
                    let k = pow(r, 1 - Double(cur) / Double(w))
                    return lr ? reg * k : reg / k
                }
            }
        }
    }

    /// `get_lr(runner, base_lr)` / `get_momentum(runner, base_momentum)` of the policy.
    func value(_ runner: HookContext, base b: Double) throws(HooktraceError) -> Double {
        let p = byEpoch ? runner.epoch : runner.iter
        let m = (byEpoch ? runner.maxEpochs : runner.maxIters) ?? 0
        switch policy {
        case .fixed:
            return b
        case .step(let every, let milestones, let gamma, let minimum):
            let e = every.map { p / $0 } ?? (milestones.firstIndex(where: { p < $0 }) ?? milestones.count)
            var v = b * pow(gamma, Double(e))
            if let minimum { v = max(v, minimum) }
            return v
        case .exp(let gamma):
            return b * pow(gamma, Double(p))
        case .poly(let power, let minLR):
            let coeff = pow(1 - Double(p) / Double(m), power)
            return (b - minLR) * coeff + minLR
        case .inv(let gamma, let power):
            return b * pow(1 + gamma * Double(p), -power)
        case .cosineAnnealing(let target):
            return annealingCos(b, target.of(b), Double(p) / Double(m))
        case .linearAnnealing(let target):
            return annealingLinear(b, target.of(b), Double(p) / Double(m))
        case .yolox(let numLastEpochs, let target):
            // The fixed tail is counted in iterations of the current loader, also when by_epoch.
            let lastIter = (runner.dataLoaderLength ?? 0) * numLastEpochs
            let progress = p + 1
            let end = target.of(b)
            if progress >= m - lastIter { return end }
            let w = warmupIters ?? 0
            guard m - w - lastIter != 0 else {
                throw settingError("num_last_epochs", "warmup_iters (\(w)) plus num_last_epochs × loader length (\(lastIter)) equals the whole run (\(m)): mmdetection divides by zero here")
            }
            return annealingCos(b, end, Double(progress - w) / Double(m - w - lastIter))
        case .flatCosineAnnealing(let startPercent, let target):
            let total = m
            let start = Int((Double(total) * startPercent).rounded(.toNearestOrEven))
            let progress = p - start
            let maxProgress = total - start
            if progress < 0 { return b }
            return annealingCos(b, target.of(b), Double(progress) / Double(maxProgress))
        case .cosineRestart(let periods, let weights, let target):
            var cumulative: [Int] = []
            var sum = 0
            for period in periods {
                sum += period
                cumulative.append(sum)
            }
            guard let idx = cumulative.firstIndex(where: { p < $0 }) else {
                throw settingError("periods", "progress \(p) exceeds the cumulative periods \(cumulative) (mmcv raises ValueError); make the periods cover the whole run")
            }
            let w = weights[idx]
            let nearestRestart = idx == 0 ? 0 : cumulative[idx - 1]
            let alpha = min(Double(p - nearestRestart) / Double(periods[idx]), 1)
            return annealingCos(b, target.of(b), alpha, w)
        case .cyclic(_, _, _, let anneal, let gamma):
            let cur = runner.iter % maxIterPerPhase
            let cycle = runner.iter / maxIterPerPhase
            let scale = pow(gamma, Double(cycle))
            for phase in cyclicPhases where phase.start <= Double(cur) && Double(cur) < phase.end {
                var startRatio = phase.startRatio
                var endRatio = phase.endRatio
                if phase.start == 0 {
                    endRatio = (1 - scale) + endRatio * scale
                } else {
                    startRatio = (1 - scale) + startRatio * scale
                }
                let progress = Double(cur) - phase.start
                return anneal(b * startRatio, b * endRatio, progress / (phase.end - phase.start))
            }
            return b
        case .oneCycleLR(_, _, _, let anneal, _, _, _):
            let cur = Double(runner.iter)
            var start = 0.0
            for phase in cyclePhases {
                if cur <= phase.end {
                    let pct = (cur - start) / (phase.end - start)
                    return anneal(b * phase.startRatio, b * phase.endRatio, pct)
                }
                start = phase.end
            }
            return b
        case .oneCycleMomentum:
            return b
        }
    }

    private func oneCycleMomentum(_ runner: HookContext, _ group: ParamGroupState) -> Double {
        guard case .oneCycleMomentum(_, _, _, let anneal, _) = policy else { return 0 }
        let cur = Double(runner.iter)
        var start = 0.0
        func pick(_ selector: Double) -> Double {
            (selector == 0 ? group.baseMomentum : group.maxMomentum) ?? 0
        }
        for (i, phase) in cyclePhases.enumerated() {
            if cur <= phase.end || i == cyclePhases.count - 1 {
                let pct = (cur - start) / (phase.end - start)
                return anneal(pick(phase.startRatio), pick(phase.endRatio), pct)
            }
            start = phase.end
        }
        return 0
    }
}
