#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat

/// The stages of every EMA hook: updates after training iterations, and the model's
/// parameters swapped with their averages at each training epoch's start and end.
private let emaStages: Set<Stage> = [.beforeRun, .afterTrainIter, .beforeTrainEpoch, .afterTrainEpoch]

/// The arguments every EMA hook has: `momentum` in (0, 1) and a positive `interval`.
private func emaArguments(_ args: inout ConfigArgs) throws(HooktraceError) -> (momentum: Double, interval: Int, ignored: [String]) {
    let m = try args.double("momentum", default: 0.0002)
    guard m > 0 && m < 1 else { throw configError(args.keyPath("momentum"), "must be in (0, 1), got \(formatDouble(m))") }
    let interval = try args.int("interval", default: 1)
    guard interval > 0 else { throw configError(args.keyPath("interval"), "must be a positive integer, got \(interval)") }
    var ignored: [String] = []
    if let r = args.raw("resume_from"), r != .null {
        ignored.append("\(args.keyPath("resume_from")): resuming the averaged weights is not simulated; the averages start from the model's weights")
    }
    return (m, interval, ignored)
}

/// The swap of parameters and averages at an epoch boundary, as an effect.
private func emaSwap(_ hook: any Hook, _ runner: HookContext) throws(HooktraceError) {
    try runner.effect(.custom(kind: "ema_swap", fields: []))
}

/// mmcv's `EMAHook`: the momentum of each EMA update, and the parameter/EMA swaps at
/// epoch boundaries (spec §7.9).
package final class EMAHook: IgnoresSettings {
    package let ignoredSettings: [String]
    package let type: String
    package let config: JSONValue
    package let momentum: Double
    package let interval: Int
    package let warmUp: Int
    package var methods: Set<Stage> { emaStages }

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        let (m, interval, ignored) = try emaArguments(&args)
        ignoredSettings = ignored
        self.interval = interval
        warmUp = try args.int("warm_up", default: 100)
        momentum = pow(m, Double(interval))
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .afterTrainIter:
            let m = min(momentum, Double(1 + runner.iter) / Double(warmUp + runner.iter))
            if runner.iter % interval != 0 { return }
            try runner.effect(.emaUpdate(momentum: m))
        case .beforeTrainEpoch, .afterTrainEpoch:
            try emaSwap(self, runner)
        default:
            break
        }
    }
}

/// mmdetection 2.x's `ExpMomentumEMAHook` and `LinearMomentumEMAHook` (its BaseEMAHook,
/// registered in mmcv's registry when mmdetection is imported): an EMA update after every
/// `interval`-th iteration with the momentum of its momentum function, and the swaps at
/// epoch boundaries.
package final class MomentumEMAHook: IgnoresSettings {
    package let ignoredSettings: [String]
    package let type: String
    package let config: JSONValue
    package let momentum: Double
    package let interval: Int
    /// `total_iter` (Exp) or `warm_up` (Linear).
    package let horizon: Int
    package var methods: Set<Stage> { emaStages }

    static let types = ["ExpMomentumEMAHook", "LinearMomentumEMAHook"]

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        (momentum, interval, ignoredSettings) = try emaArguments(&args)
        _ = try args.bool("skip_buffers", default: false)
        let key = type == "ExpMomentumEMAHook" ? "total_iter" : "warm_up"
        horizon = try args.int(key, default: type == "ExpMomentumEMAHook" ? 2000 : 100)
        guard horizon > 0 else { throw configError(args.keyPath(key), "must be a positive integer, got \(horizon)") }
    }

    /// The hook's `momentum_fun(runner.iter)`.
    func momentum(at iter: Int) -> Double {
        if type == "ExpMomentumEMAHook" {
            return (1 - momentum) * exp(-Double(1 + iter) / Double(horizon)) + momentum
        }
        return min(pow(momentum, Double(interval)), Double(1 + iter) / Double(horizon + iter))
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .afterTrainIter:
            guard (runner.iter + 1) % interval == 0 else { return }
            try runner.effect(.emaUpdate(momentum: momentum(at: runner.iter)))
        case .beforeTrainEpoch, .afterTrainEpoch:
            try emaSwap(self, runner)
        default:
            break
        }
    }
}
