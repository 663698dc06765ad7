#if canImport(Glibc)
import Glibc
#endif

/// mmcv's `EMAHook`: the momentum of each EMA update, and the parameter/EMA swaps at
/// epoch boundaries (spec §7.9).
public final class EMAHook: Hook {
    public let type: String
    public let config: JSONValue
    public let momentum: Double
    public let interval: Int
    public let warmUp: Int
    public var methods: Set<Stage> { [.beforeRun, .afterTrainIter, .beforeTrainEpoch, .afterTrainEpoch] }

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        let m = try args.double("momentum", default: 0.0002)
        guard m > 0 && m < 1 else { throw configError(args.keyPath("momentum"), "must be in (0, 1), got \(formatDouble(m))") }
        interval = try args.int("interval", default: 1)
        guard interval > 0 else { throw configError(args.keyPath("interval"), "must be a positive integer, got \(interval)") }
        warmUp = try args.int("warm_up", default: 100)
        _ = args.raw("resume_from")
        momentum = pow(m, Double(interval))
    }

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        switch method {
        case .afterTrainIter:
            let m = min(momentum, Double(1 + runner.iter) / Double(warmUp + runner.iter))
            if runner.iter % interval != 0 { return }
            try runner.effect(self, .emaUpdate(momentum: m))
        case .beforeTrainEpoch, .afterTrainEpoch:
            try runner.effect(self, .custom(kind: "ema_swap", fields: []))
        default:
            break
        }
    }
}

/// mmdetection 2.x's `ExpMomentumEMAHook` and `LinearMomentumEMAHook` (its BaseEMAHook,
/// registered in mmcv's registry when mmdetection is imported): an EMA update after every
/// `interval`-th iteration with the momentum of its momentum function, and the swaps at
/// epoch boundaries.
public final class MomentumEMAHook: Hook {
    public let type: String
    public let config: JSONValue
    public let momentum: Double
    public let interval: Int
    /// `total_iter` (Exp) or `warm_up` (Linear).
    public let horizon: Int
    public var methods: Set<Stage> { [.beforeRun, .afterTrainIter, .beforeTrainEpoch, .afterTrainEpoch] }

    static let types = ["ExpMomentumEMAHook", "LinearMomentumEMAHook"]

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        momentum = try args.double("momentum", default: 0.0002)
        guard momentum > 0 && momentum < 1 else { throw configError(args.keyPath("momentum"), "must be in (0, 1), got \(formatDouble(momentum))") }
        interval = try args.int("interval", default: 1)
        guard interval > 0 else { throw configError(args.keyPath("interval"), "must be a positive integer, got \(interval)") }
        _ = try args.bool("skip_buffers", default: false)
        _ = args.raw("resume_from")
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

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        switch method {
        case .afterTrainIter:
            guard (runner.iter + 1) % interval == 0 else { return }
            try runner.effect(self, .emaUpdate(momentum: momentum(at: runner.iter)))
        case .beforeTrainEpoch, .afterTrainEpoch:
            try runner.effect(self, .custom(kind: "ema_swap", fields: []))
        default:
            break
        }
    }
}
