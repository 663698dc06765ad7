/// mmcv's `OptimizerHook`: one optimizer step per training iteration, with optional
/// gradient clipping (the clipped norm is pushed to the log buffer as `grad_norm`).
public final class OptimizerHook: Hook {
    public let type: String
    public let config: JSONValue
    public let gradClip: Bool
    public var methods: Set<Stage> { [.afterTrainIter] }

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        let clip = args.raw("grad_clip")
        if let clip, clip != .null {
            guard case .object = clip else { throw configError(args.keyPath("grad_clip"), "expected null or an object such as {\"max_norm\": 35, \"norm_type\": 2}, got \(describeValue(clip))") }
            gradClip = true
        } else {
            gradClip = false
        }
        _ = try args.bool("detect_anomalous_params", default: false)
    }

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        var norm: Double?
        if gradClip, let g = runner.gradNorm {
            norm = g
            runner.logBuffer.update("grad_norm", g, count: runner.numSamples)
        }
        try runner.effect(self, .optimizerStep(optimizer: runner.optimizers.first?.name ?? "", stepped: true, gradNorm: norm))
    }
}

/// mmcv's `GradientCumulativeOptimizerHook`: steps every `cumulative_iters` iterations;
/// the remainder of `max_iters` (over the whole run, not per epoch) divides the loss by
/// the remainder instead (spec §7.2).
public final class GradientCumulativeOptimizerHook: Hook {
    public let type: String
    public let config: JSONValue
    public let gradClip: Bool
    public let cumulativeIters: Int
    private var initialized = false
    private var divisibleIters = 0
    private var remainderIters = 0
    private var notedRemainder = false
    public var methods: Set<Stage> { [.afterTrainIter] }

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        cumulativeIters = try args.int("cumulative_iters", default: 1)
        guard cumulativeIters > 0 else {
            throw configError(args.keyPath("cumulative_iters"), "must be a positive integer, got \(cumulativeIters)")
        }
        let clip = args.raw("grad_clip")
        gradClip = clip != nil && clip != .null
        _ = try args.bool("detect_anomalous_params", default: false)
    }

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        let maxIters = runner.maxIters ?? 0
        let c = cumulativeIters
        if !initialized {
            if runner.iter % c != 0 {
                try runner.warn(self, "resume iter number is not divisible by cumulative_iters in GradientCumulativeOptimizerHook, which means the gradient of some iters is lost and the result may be influenced slightly")
            }
            divisibleIters = maxIters / c * c
            remainderIters = maxIters - divisibleIters
            initialized = true
        }
        let factor = runner.iter < maxIters - remainderIters ? c : remainderIters
        if factor != c && !notedRemainder {
            notedRemainder = true
            try runner.warn(self, "the last \(remainderIters) iterations divide the loss by \(remainderIters) instead of \(c) (max_iters \(maxIters) is not a multiple of cumulative_iters)")
        }
        let stepped = (runner.iter + 1) % c == 0 || runner.iter + 1 == maxIters
        var norm: Double?
        if stepped && gradClip, let g = runner.gradNorm {
            norm = g
            runner.logBuffer.update("grad_norm", g, count: runner.numSamples)
        }
        try runner.effect(self, .optimizerStep(optimizer: runner.optimizers.first?.name ?? "", stepped: stepped, gradNorm: norm))
    }
}
