import HooktraceFormat

/// The stages of an optimizer hook; for the fp16 variants, also reads the settings they add
/// (spec §7.3), checked as mmcv checks them. Loss scaling itself is not modelled: the
/// simulation's gradients never overflow, so every step is taken (a real GradScaler skips
/// the step of an overflowing iteration).
func optimizerHookMethods(_ args: inout ConfigArgs, fp16: Bool) throws(HooktraceError) -> Set<Stage> {
    guard fp16 else { return [.afterTrainIter] }
    _ = try args.bool("coalesce", default: true)
    _ = try args.int("bucket_size_mb", default: -1)
    _ = try args.bool("distributed", default: true)
    if let scale = args.raw("loss_scale") { try checkLossScale(scale, path: args.keyPath("loss_scale")) }
    // mmcv wraps the model for fp16 in before_run.
    return [.beforeRun, .afterTrainIter]
}

/// Reads `grad_clip`: null (no clipping) or the keyword arguments mmcv passes to torch's
/// `clip_grad_norm_(params, **grad_clip)` at every optimizer step. What that call would
/// reject at the first step (not a dict, no `max_norm`, a keyword it does not take) is
/// an error here before the run, the same for every optimizer hook. Returns whether
/// gradients are clipped.
func readGradClip(_ args: inout ConfigArgs) throws(HooktraceError) -> Bool {
    guard let clip = args.raw("grad_clip"), clip != .null else { return false }
    let path = args.keyPath("grad_clip")
    guard case .object(let members) = clip else {
        throw configError(path, "expected null or an object such as {\"max_norm\": 35, \"norm_type\": 2}, got \(describeValue(clip)) (mmcv passes it as keyword arguments to torch's clip_grad_norm_)")
    }
    let accepted = ["max_norm", "norm_type", "error_if_nonfinite", "foreach"]
    for (key, value) in members {
        guard accepted.contains(key) else {
            throw configError(path + "." + key, "torch's clip_grad_norm_ has no parameter '\(key)'" + suggestion(key, accepted) + "; it takes max_norm, norm_type, error_if_nonfinite and foreach")
        }
        switch (key, value) {
        case ("max_norm", .int), ("max_norm", .double), ("norm_type", .int), ("norm_type", .double), ("norm_type", .string("inf")),
             ("error_if_nonfinite", .bool), ("foreach", .bool), ("foreach", .null):
            continue
        default:
            throw configError(path + "." + key, "unexpected value \(describeValue(value))" + (key == "norm_type" ? " (a number, or \"inf\")" : key == "max_norm" ? " (a number)" : ""))
        }
    }
    guard members.contains(where: { $0.key == "max_norm" }) else {
        throw configError(path, "needs max_norm (torch's clip_grad_norm_ requires it; mmcv would fail at the first optimizer step), e.g. {\"max_norm\": 35, \"norm_type\": 2}")
    }
    return true
}

/// mmcv's check of `loss_scale`: a float (static), "dynamic", or GradScaler arguments.
func checkLossScale(_ value: JSONValue, path: String) throws(HooktraceError) {
    switch value {
    case .double, .object, .string("dynamic"): return
    default:
        var hint = ""
        if case .int(let n) = value { hint = "; write \(n).0 for a static scale" }
        throw configError(path, "must be a float, an object of GradScaler arguments or \"dynamic\", got \(describeValue(value)) (mmcv raises ValueError)\(hint)")
    }
}

/// mmcv's `OptimizerHook`: one optimizer step per training iteration, with optional
/// gradient clipping (the clipped norm is pushed to the log buffer as `grad_norm`).
/// As `Fp16OptimizerHook` it also acts in before_run (mmcv wraps the model for fp16 there).
package final class OptimizerHook: Hook {
    package let type: String
    package let config: JSONValue
    package let gradClip: Bool
    package let methods: Set<Stage>

    init(_ type: String, _ args: inout ConfigArgs, fp16: Bool = false) throws(HooktraceError) {
        self.type = type
        config = args.value
        methods = try optimizerHookMethods(&args, fp16: fp16)
        gradClip = try readGradClip(&args)
        _ = try args.bool("detect_anomalous_params", default: false)
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        guard method == .afterTrainIter else { return }
        var norm: Double?
        if gradClip, let g = runner.gradNorm {
            norm = g
            runner.logBuffer.update(SymbolTable.gradNorm, g, count: runner.numSamples)
        }
        try runner.effect(.optimizerStep(optimizer: runner.firstOptimizerName, stepped: true, gradNorm: norm))
    }
}

/// mmcv's `GradientCumulativeOptimizerHook`: steps every `cumulative_iters` iterations;
/// the remainder of `max_iters` (over the whole run, not per epoch) divides the loss by
/// the remainder instead (spec §7.2). As `GradientCumulativeFp16OptimizerHook` it also
/// acts in before_run, like `Fp16OptimizerHook`.
package final class GradientCumulativeOptimizerHook: Hook {
    package let type: String
    package let config: JSONValue
    package let gradClip: Bool
    package let cumulativeIters: Int
    private var initialized = false
    private var divisibleIters = 0
    private var remainderIters = 0
    private var notedRemainder = false
    package let methods: Set<Stage>

    init(_ type: String, _ args: inout ConfigArgs, fp16: Bool = false) throws(HooktraceError) {
        self.type = type
        config = args.value
        methods = try optimizerHookMethods(&args, fp16: fp16)
        cumulativeIters = try args.int("cumulative_iters", default: 1)
        guard cumulativeIters > 0 else {
            throw configError(args.keyPath("cumulative_iters"), "must be a positive integer, got \(cumulativeIters)")
        }
        gradClip = try readGradClip(&args)
        _ = try args.bool("detect_anomalous_params", default: false)
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        guard method == .afterTrainIter else { return }
        let maxIters = runner.maxIters ?? 0
        let c = cumulativeIters
        if !initialized {
            if runner.iter % c != 0 {
                try runner.warn("resume iter number is not divisible by cumulative_iters in GradientCumulativeOptimizerHook, which means the gradient of some iters is lost and the result may be influenced slightly")
            }
            divisibleIters = maxIters / c * c
            remainderIters = maxIters - divisibleIters
            initialized = true
        }
        let factor = runner.iter < maxIters - remainderIters ? c : remainderIters
        if factor != c && !notedRemainder {
            notedRemainder = true
            try runner.warn("the last \(remainderIters) iterations divide the loss by \(remainderIters) instead of \(c) (max_iters \(maxIters) is not a multiple of cumulative_iters)")
        }
        let stepped = (runner.iter + 1) % c == 0 || runner.iter + 1 == maxIters
        var norm: Double?
        if stepped && gradClip, let g = runner.gradNorm {
            norm = g
            runner.logBuffer.update(SymbolTable.gradNorm, g, count: runner.numSamples)
        }
        try runner.effect(.optimizerStep(optimizer: runner.firstOptimizerName, stepped: stepped, gradNorm: norm))
    }
}
