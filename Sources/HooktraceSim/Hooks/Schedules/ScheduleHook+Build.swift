import HooktraceFormat

/// Building schedule hooks from config, with mmcv's validation (spec §4.3, §5.2) in plain words.
extension ScheduleHook {
    /// `register_lr_hook`'s policy → type normalisation: all-lower-case names are
    /// title-cased (`step` → `Step`, `cosine_annealing` → `Cosine_Annealing`).
    package static func normalisePolicy(_ policy: String) -> String {
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

    /// Exactly one of `min_x` / `min_x_ratio`.
    static func target(_ args: inout ConfigArgs, _ name: String, _ owner: String) throws(HooktraceError) -> Target {
        let absolute = try args.optionalDouble("min_\(name)")
        let ratio = try args.optionalDouble("min_\(name)_ratio")
        switch (absolute, ratio) {
        case (let a?, nil): return .value(a)
        case (nil, let r?): return .ratio(r)
        default:
            throw configError(args.path, "\(owner) needs exactly one of min_\(name) and min_\(name)_ratio (mmcv asserts this)")
        }
    }

    static func step(_ args: inout ConfigArgs, _ type: String, gammaDefault: Double, minimum: String) throws(HooktraceError) -> SchedulePolicy {
        guard let stepValue = args.raw("step"), stepValue != .null else {
            throw configError(args.keyPath("step"), "\(type) needs 'step': an epoch (or iteration) interval, or a list of milestones such as [8, 11]")
        }
        var every: Int?
        var milestones: [Int] = []
        switch stepValue {
        case .int(let s):
            guard s > 0 else { throw configError(args.keyPath("step"), "must be a positive integer, got \(s)") }
            every = Int(s)
        case .array(let items):
            for (i, item) in items.enumerated() {
                guard case .int(let s) = item else { throw configError(args.keyPath("step") + "[\(i)]", "expected an integer, got \(describeValue(item))") }
                guard s > 0 else { throw configError(args.keyPath("step") + "[\(i)]", "milestones must be positive, got \(s)") }
                milestones.append(Int(s))
            }
            for i in milestones.indices.dropFirst() where milestones[i] <= milestones[i - 1] {
                throw configError(args.keyPath("step"), "milestones must be in increasing order, got \(describeValue(stepValue))")
            }
        default:
            throw configError(args.keyPath("step"), "expected an integer or a list of integers, got \(describeValue(stepValue))")
        }
        let gamma = try args.double("gamma", default: gammaDefault)
        if gamma < 0 { throw configError(args.keyPath("gamma"), "must not be negative, got \(formatDouble(gamma))") }
        let minValue = try args.optionalDouble(minimum)
        return .step(every: every, milestones: milestones, gamma: gamma, minimum: minValue)
    }

    static func anneal(_ args: inout ConfigArgs) throws(HooktraceError) -> Anneal {
        let name = try args.string("anneal_strategy", default: "cos")
        guard let a = Anneal(rawValue: name) else {
            throw configError(args.keyPath("anneal_strategy"), "must be \"cos\" or \"linear\", got \"\(name)\"")
        }
        return a
    }

    /// A float in [0, 1]; mmcv rejects ints here (`isinstance(x, float)`).
    static func fraction(_ args: inout ConfigArgs, _ key: String, default d: Double) throws(HooktraceError) -> Double {
        guard let v = args.raw(key), v != .null else { return d }
        guard case .double(let x) = v else {
            throw configError(args.keyPath(key), "must be a float between 0 and 1 (mmcv rejects \(describeValue(v)); write it as \(describeValue(v)).0 if you mean it)")
        }
        guard x >= 0 && x <= 1 else { throw configError(args.keyPath(key), "must be between 0 and 1, got \(formatDouble(x))") }
        return x
    }

    static func noEpochs(_ args: inout ConfigArgs, _ type: String) throws(HooktraceError) {
        if args.has("by_epoch"), try args.bool("by_epoch", default: false) {
            throw configError(args.keyPath("by_epoch"), "\(type) works per iteration only; by_epoch must be false (mmcv asserts this)")
        }
    }

    static func cyclic(_ args: inout ConfigArgs, _ type: String, ratioDefault: (Double, Double), checkGamma: Bool) throws(HooktraceError) -> SchedulePolicy {
        try noEpochs(&args, type)
        var ratio = ratioDefault
        if let v = args.raw("target_ratio"), v != .null {
            switch v {
            case .double(let t): ratio = (t, t / 1e5)
            case .array(let items):
                let numbers = items.compactMap(\.number)
                guard numbers.count == items.count, numbers.count == 1 || numbers.count == 2 else {
                    throw configError(args.keyPath("target_ratio"), "must be a float or a pair of numbers (mmcv asserts a length of 2), got \(describeValue(v))")
                }
                ratio = numbers.count == 1 ? (numbers[0], numbers[0] / 1e5) : (numbers[0], numbers[1])
            default:
                throw configError(args.keyPath("target_ratio"), "must be a float or a pair such as [10, 1e-4] (mmcv raises ValueError for \(describeValue(v)))")
            }
        }
        let times = try args.int("cyclic_times", default: 1)
        guard times > 0 else { throw configError(args.keyPath("cyclic_times"), "must be a positive integer, got \(times)") }
        let up = try args.double("step_ratio_up", default: 0.4)
        guard up >= 0 && up < 1 else { throw configError(args.keyPath("step_ratio_up"), "must be in [0, 1), got \(formatDouble(up))") }
        let a = try anneal(&args)
        let gamma = try args.double("gamma", default: 1)
        if checkGamma && !(gamma > 0 && gamma <= 1) {
            throw configError(args.keyPath("gamma"), "must be in (0, 1], got \(formatDouble(gamma))")
        }
        return .cyclic(targetRatio: ratio, cyclicTimes: times, stepRatioUp: up, anneal: a, gamma: gamma)
    }

    /// A number, a list or a dict (OneCycle's per-group/per-optimizer parameters).
    static func groupParam(_ args: inout ConfigArgs, _ key: String, default d: JSONValue?, allowInt: Bool) throws(HooktraceError) -> JSONValue {
        guard let v = args.raw(key), v != .null else {
            guard let d else { throw configError(args.keyPath(key), "missing: a number, a list (one per param group) or a dict (one per optimizer)") }
            return d
        }
        switch v {
        case .double, .array, .object: return v
        case .int where allowInt: return v
        default:
            throw configError(args.keyPath(key), "must be a float, a list or a dict (mmcv raises ValueError for \(describeValue(v)))")
        }
    }

    static func build(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) -> ScheduleHook {
        let isLR = type.hasSuffix("LrUpdaterHook")
        let kind: Kind = isLR ? .lr : .momentum
        let name = isLR ? "lr" : "momentum"
        let policyName = String(type.dropLast(isLR ? "LrUpdaterHook".count : "MomentumUpdaterHook".count))
        var byEpochDefault = true
        let policy: SchedulePolicy
        switch policyName {
        case "Fixed":
            policy = .fixed
        case "Step":
            policy = try step(&args, type, gammaDefault: isLR ? 0.1 : 0.5, minimum: "min_\(name)")
        case "Exp":
            guard let gamma = try args.optionalDouble("gamma") else { throw configError(args.keyPath("gamma"), "\(type) needs 'gamma'") }
            policy = .exp(gamma: gamma)
        case "Poly":
            policy = .poly(power: try args.double("power", default: 1), minLR: try args.double("min_lr", default: 0))
        case "Inv":
            guard let gamma = try args.optionalDouble("gamma") else { throw configError(args.keyPath("gamma"), "\(type) needs 'gamma'") }
            policy = .inv(gamma: gamma, power: try args.double("power", default: 1))
        case "CosineAnnealing":
            policy = .cosineAnnealing(try target(&args, name, type))
        case "LinearAnnealing":
            policy = .linearAnnealing(try target(&args, name, type))
        case "YOLOX":
            guard let n = args.raw("num_last_epochs"), n != .null else {
                throw configError(args.keyPath("num_last_epochs"), "YOLOXLrUpdaterHook needs 'num_last_epochs', the epochs at the fixed final LR (mmdetection raises TypeError)")
            }
            guard case .int(let last) = n, last >= 0 else { throw configError(args.keyPath("num_last_epochs"), "expected a non-negative integer, got \(describeValue(n))") }
            policy = .yolox(numLastEpochs: Int(last), try target(&args, name, type))
        case "FlatCosineAnnealing":
            let start = try fraction(&args, "start_percent", default: 0.75)
            policy = .flatCosineAnnealing(startPercent: start, try target(&args, name, type))
        case "CosineRestart":
            guard let p = args.raw("periods"), case .array(let items) = p, !items.isEmpty else {
                throw configError(args.keyPath("periods"), "\(type) needs 'periods', a list of period lengths such as [10, 10]")
            }
            var periods: [Int] = []
            for (i, item) in items.enumerated() {
                guard case .int(let n) = item, n > 0 else { throw configError(args.keyPath("periods") + "[\(i)]", "expected a positive integer, got \(describeValue(item))") }
                periods.append(Int(n))
            }
            var weights: [Double] = [1]
            if let w = args.raw("restart_weights"), w != .null {
                guard case .array(let ws) = w, ws.allSatisfy({ $0.number != nil }) else {
                    throw configError(args.keyPath("restart_weights"), "expected a list of numbers, got \(describeValue(w))")
                }
                weights = ws.compactMap(\.number)
            }
            guard weights.count == periods.count else {
                throw configError(args.path, "periods and restart_weights must have the same length (\(periods.count) vs \(weights.count)); mmcv asserts this")
            }
            policy = .cosineRestart(periods: periods, weights: weights, try target(&args, name, type))
        case "Cyclic":
            byEpochDefault = false
            policy = try cyclic(&args, type, ratioDefault: isLR ? (10, 1e-4) : (0.85 / 0.95, 1.0), checkGamma: isLR)
        case "OneCycle":
            byEpochDefault = false
            try noEpochs(&args, type)
            let pct = try fraction(&args, "pct_start", default: 0.3)
            let threePhase = try args.bool("three_phase", default: false)
            if isLR {
                let maxLR = try groupParam(&args, "max_lr", default: nil, allowInt: true)
                var totalSteps: Int?
                if let t = args.raw("total_steps"), t != .null {
                    guard case .int(let n) = t else { throw configError(args.keyPath("total_steps"), "must be an integer, got \(describeValue(t))") }
                    totalSteps = Int(n)
                }
                let a = try anneal(&args)
                policy = .oneCycleLR(maxLR: maxLR, totalSteps: totalSteps, pctStart: pct, anneal: a,
                                     divFactor: try args.double("div_factor", default: 25), finalDivFactor: try args.double("final_div_factor", default: 1e4),
                                     threePhase: threePhase)
            } else {
                let baseM = try groupParam(&args, "base_momentum", default: .double(0.85), allowInt: false)
                let maxM = try groupParam(&args, "max_momentum", default: .double(0.95), allowInt: false)
                policy = .oneCycleMomentum(base: baseM, max: maxM, pctStart: pct, anneal: try anneal(&args), threePhase: threePhase)
            }
        default:
            throw configError(args.path, "\(type) is not a known schedule")
        }
        return try ScheduleHook(type: type, kind: kind, policy: policy, args: &args, byEpochDefault: byEpochDefault)
    }

    /// mmcv 1.7's LR policies, plus mmdetection 2.x's `YOLOX` (it registers YOLOXLrUpdaterHook
    /// in mmcv's registry when imported).
    static let lrPolicies = ["Fixed", "Step", "Exp", "Poly", "Inv", "CosineAnnealing", "FlatCosineAnnealing", "CosineRestart", "Cyclic", "OneCycle", "LinearAnnealing", "YOLOX"]
    static let momentumPolicies = ["Step", "CosineAnnealing", "LinearAnnealing", "Cyclic", "OneCycle"]
}
