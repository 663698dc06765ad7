#if canImport(Glibc)
import Glibc
#endif

/// mmcv's `LrUpdaterHook` and its policies: sets every param group's learning rate.
///
/// Formulas and their evaluation order follow mmcv 1.7 (spec §4) so the values match to
/// the last bit on Linux (C `pow`/`cos` from glibc, as CPython uses).
public final class LrUpdaterHook: Hook {
    public enum Policy: Sendable {
        case fixed
        /// `step` as a list of milestones (an int step is `[step]` with `stepInterval`).
        case step(milestones: [Int]?, interval: Int?, gamma: Double, minLR: Double?)
    }

    public let type: String
    public let config: JSONValue
    public let policy: Policy
    public let byEpoch: Bool
    public let warmup: String?
    public private(set) var warmupIters: Int?
    public let warmupRatio: Double
    let warmupEpochs: Int?
    /// Per optimizer, per group.
    public private(set) var baseLR: [[Double]] = []
    public private(set) var regularLR: [[Double]] = []

    public var methods: Set<Stage> { [.beforeRun, .beforeTrainEpoch, .beforeTrainIter] }

    init(type: String, config: JSONValue, policy: Policy, args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        self.config = config
        self.policy = policy
        byEpoch = try args.bool("by_epoch", default: true)
        warmup = try args.optionalString("warmup")
        if let w = warmup, !["constant", "linear", "exp"].contains(w) {
            throw configError(args.keyPath("warmup"), "\"\(w)\" is not a supported warmup type; use \"constant\", \"linear\" or \"exp\"" + suggestion(w, ["constant", "linear", "exp"]))
        }
        let iters = try args.int("warmup_iters", default: 0)
        warmupRatio = try args.double("warmup_ratio", default: 0.1)
        let byEpochWarmup = try args.bool("warmup_by_epoch", default: false)
        if warmup != nil {
            guard iters > 0 else { throw configError(args.keyPath("warmup_iters"), "must be > 0 when warmup is set, got \(iters)") }
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

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            for o in runner.optimizers.indices {
                for g in runner.optimizers[o].groups.indices where runner.optimizers[o].groups[g].initialLR == nil {
                    runner.optimizers[o].groups[g].initialLR = runner.optimizers[o].groups[g].lr
                }
            }
            baseLR = runner.optimizers.map { $0.groups.map { $0.initialLR ?? $0.lr } }
        case .beforeTrainEpoch:
            if warmupIters == nil, let epochs = warmupEpochs {
                warmupIters = epochs * (runner.dataLoaderLength ?? 0)
            }
            guard byEpoch else { return }
            regularLR = try regular(runner)
            try write(regularLR, runner)
        case .beforeTrainIter:
            guard let w = warmupIters else {
                throw HooktraceError(.invalidInput, "\(type): warmup_by_epoch needs a train epoch to convert warmup epochs to iterations, and IterBasedRunner has none; set warmup_by_epoch to false")
            }
            let cur = runner.iter
            if !byEpoch {
                regularLR = try regular(runner)
                if warmup == nil || cur >= w {
                    try write(regularLR, runner)
                } else {
                    try write(warmupLR(cur, w), runner)
                }
            } else {
                if warmup == nil || cur > w { return }
                if cur == w {
                    try write(regularLR, runner)
                } else {
                    try write(warmupLR(cur, w), runner)
                }
            }
        default:
            break
        }
    }

    private func write(_ values: [[Double]], _ runner: Runner) throws(HooktraceError) {
        for o in runner.optimizers.indices where o < values.count {
            let count = min(values[o].count, runner.optimizers[o].groups.count)
            for g in 0..<count {
                runner.optimizers[o].groups[g].lr = values[o][g]
                try runner.effect(self, .setLR(optimizer: runner.optimizers[o].name, group: g, value: values[o][g]))
            }
        }
    }

    private func regular(_ runner: Runner) throws(HooktraceError) -> [[Double]] {
        var result: [[Double]] = []
        for bases in baseLR {
            var row: [Double] = []
            for b in bases { row.append(try lr(runner, base: b)) }
            result.append(row)
        }
        return result
    }

    private func warmupLR(_ cur: Int, _ w: Int) -> [[Double]] {
        let r = warmupRatio
        return regularLR.map { row in
            row.map { reg in
                switch warmup {
                case "constant":
                    return reg * r
                case "linear":
                    let k = (1 - Double(cur) / Double(w)) * (1 - r)
                    return reg * (1 - k)
                default:  // exp
                    let k = pow(r, 1 - Double(cur) / Double(w))
                    return reg * k
                }
            }
        }
    }

    /// `get_lr(runner, base_lr)` of the policy.
    func lr(_ runner: Runner, base b: Double) throws(HooktraceError) -> Double {
        let progress = byEpoch ? runner.epoch : runner.iter
        switch policy {
        case .fixed:
            return b
        case .step(let milestones, let interval, let gamma, let minLR):
            let e: Int
            if let interval {
                e = progress / interval
            } else {
                let steps = milestones ?? []
                e = steps.firstIndex(where: { progress < $0 }) ?? steps.count
            }
            var value = b * pow(gamma, Double(e))
            if let minLR { value = max(value, minLR) }
            return value
        }
    }

    // MARK: Building from config

    /// `register_lr_hook`'s policy → type normalisation: all-lower-case names are
    /// title-cased (`step` → `Step`, `cosine_annealing` → `Cosine_Annealing`).
    public static func normalisePolicy(_ policy: String) -> String {
        guard policy == policy.lowercased() else { return policy }
        var out = ""
        var previousIsLetter = false
        for ch in policy {
            if ch.isLetter {
                out += previousIsLetter ? String(ch).lowercased() : String(ch).uppercased()
                previousIsLetter = true
            } else {
                out.append(ch)
                previousIsLetter = false
            }
        }
        return out
    }

    static func buildStep(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) -> LrUpdaterHook {
        let config = args.value
        guard let stepValue = args.raw("step"), stepValue != .null else {
            throw configError(args.keyPath("step"), "\(type) needs 'step': an epoch (or iteration) interval, or a list of milestones such as [8, 11]")
        }
        var milestones: [Int]?
        var interval: Int?
        switch stepValue {
        case .int(let s):
            guard s > 0 else { throw configError(args.keyPath("step"), "must be a positive integer, got \(s)") }
            interval = Int(s)
        case .array(let items):
            var list: [Int] = []
            for (i, item) in items.enumerated() {
                guard case .int(let s) = item else { throw configError(args.keyPath("step") + "[\(i)]", "expected an integer, got \(describeValue(item))") }
                guard s > 0 else { throw configError(args.keyPath("step") + "[\(i)]", "milestones must be positive, got \(s)") }
                list.append(Int(s))
            }
            for i in list.indices.dropFirst() where list[i] <= list[i - 1] {
                throw configError(args.keyPath("step"), "milestones must be in increasing order, got \(describeValue(stepValue))")
            }
            milestones = list
        default:
            throw configError(args.keyPath("step"), "expected an integer or a list of integers, got \(describeValue(stepValue))")
        }
        let gamma = try args.double("gamma", default: 0.1)
        if gamma < 0 { throw configError(args.keyPath("gamma"), "must not be negative, got \(formatDouble(gamma))") }
        let minLR = try args.optionalDouble("min_lr")
        return try LrUpdaterHook(type: type, config: config, policy: .step(milestones: milestones, interval: interval, gamma: gamma, minLR: minLR), args: &args)
    }

    static func buildFixed(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) -> LrUpdaterHook {
        try LrUpdaterHook(type: type, config: args.value, policy: .fixed, args: &args)
    }
}
