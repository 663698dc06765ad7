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
