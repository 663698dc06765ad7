import HooktraceFormat

/// The seeded models that stand in for the model, the data loader and the evaluator.
///
/// Everything a simulated run observes comes from here, drawn from one SplitMix64
/// stream in a fixed order, so the same config and seed give the same trace. The
/// models are deliberately simple; docs/CONFIG.md documents each parameter.
package struct Simulation: Sendable {
    /// A value that decays from `start` to `end` with noise.
    package struct Curve: Sendable, Equatable {
        package var start: Double
        package var end: Double
        package var noise: Double
    }

    /// Values given outright instead of a curve (issue 18's what-if): one per evaluation
    /// (metrics) or per training step (loss, grad_norm) in order, or keyed by the epoch or
    /// iteration just finished, counted from 1 as the logs count them.
    package enum Script: Sendable, Equatable {
        case list([Double])
        case byEpoch([Int: Double])
        case byIter([Int: Double])
    }

    /// A duration in seconds: mean and uniform jitter (±).
    package struct Duration: Sendable, Equatable {
        package var mean: Double
        package var jitter: Double
    }

    package var seed: UInt64 = 0
    /// mmcv's `runner.meta` is a dict (mmdetection's train.py); false: None, as a plain
    /// script's runner has it (no before_run log record, no `hook_msgs`).
    package var runnerMeta = true
    /// What TextLoggerHook dumps of `runner.meta` at before_run, when a recording of a real
    /// run gave it (nil: a simulated meta of env_info, seed and exp_name).
    package var metaRecord: [Field]?
    /// `num_samples` of every step (the batch size).
    package var batchSize = 2
    /// The name of the model's first parameter (`model.named_parameters()`'s first), which
    /// decides the param group whose lr mmengine logs when `paramwise_cfg` splits the
    /// parameters into groups: an mmdetection detector's backbone comes first.
    package var firstParam = "backbone.conv1.weight"
    /// An OptimWrapperDict's first parameters by wrapper name, where they differ from
    /// ``firstParam`` (each wrapper optimizes its own module).
    package var firstParams: [String: String] = [:]
    /// An OptimWrapperDict's update intervals by wrapper name: the model's `train_step`
    /// calls the wrapper's `update_params` every this many iterations (1: every one).
    package var updateEvery: [String: Int] = [:]
    package var loss = Curve(start: 2.0, end: 0.4, noise: 0.05)
    /// Components of the loss, each a share of it (`loss_cls`: 0.4, …), in order.
    package var logVars: [(name: String, share: Double)] = []
    package var dataTime = Duration(mean: 0.05, jitter: 0.01)
    package var iterTime = Duration(mean: 0.3, jitter: 0.02)
    package var valIterTime = Duration(mean: 0.1, jitter: 0.01)
    package var checkpointTime = Duration(mean: 1.0, jitter: 0.0)
    /// Seconds per evaluation iteration (the evaluation's test loop).
    package var evalIterTime = Duration(mean: 0.05, jitter: 0.0)
    /// Gradient norm before clipping.
    package var gradNorm = Curve(start: 12.0, end: 4.0, noise: 1.0)
    /// Evaluation metrics and how they improve with training progress, in order.
    package var metrics: [(name: String, curve: Curve)] = []
    /// Scripted values by metric name, `loss` or `grad_norm` (their curves are then unused).
    package var scripts: [String: Script] = [:]
    /// How the drawn values are reported: as named, or as mmdetection's datasets report
    /// the evaluation's `metric` list (derived keys, rounding, COCO's copypaste string).
    package var report: MetricReport = .asNamed

    /// How simulated metric values become an evaluation's results.
    package enum MetricReport: Equatable, Sendable {
        /// Each curve is a result under its own name, rounded to 4 decimals.
        case asNamed
        /// mmdetection 2.x's `CocoDataset` / `VOCDataset.evaluate` for these metrics.
        case mmdet([String])
        /// mmdetection 3.x's `CocoMetric` for these metrics (`bbox`, `segm`).
        case mmdet3Coco([String])
    }

    package init() {}

    /// The first parameter of the model part wrapper `name` optimizes.
    package func firstParam(of name: String) -> String { firstParams[name] ?? firstParam }

    /// Whether the wrapper `name` updates at training iteration `iter` (0-based).
    package func updates(_ name: String, at iter: Int) -> Bool {
        guard let k = updateEvery[name] else { return true }
        return (iter + 1) % k == 0
    }

    /// The per-wrapper settings must name the config's wrappers.
    func checkWrapperNames(_ names: [String]) throws(HooktraceError) {
        for (key, given) in [("first_param", Array(firstParams.keys)), ("update_every", Array(updateEvery.keys))] {
            for name in given.sorted() where !names.contains(name) || names == [""] {
                throw configError("simulation.\(key).\(name)", names == [""]
                    ? "per-optimizer settings need several optimizers (an OptimWrapperDict in optim_wrapper)" + (key == "first_param" ? "; give first_param as a string" : "; a single wrapper updates every iteration")
                    : "names no optimizer of optim_wrapper (\(names.joined(separator: ", ")))" + suggestion(name, names))
            }
        }
    }

    static func == (a: Simulation, b: Simulation) -> Bool {
        a.seed == b.seed && a.batchSize == b.batchSize && a.loss == b.loss
            && a.logVars.elementsEqual(b.logVars, by: { $0 == $1 })
            && a.dataTime == b.dataTime && a.iterTime == b.iterTime && a.valIterTime == b.valIterTime
            && a.metrics.elementsEqual(b.metrics, by: { $0.name == $1.name && $0.curve == $1.curve }) && a.report == b.report
            && a.scripts == b.scripts
    }
}

/// e^x by a fixed series, so the simulation never depends on the platform's libm.
func expApprox(_ x: Double) -> Double {
    // e^x = (e^(x/64))^64, the inner value by a 12-term Taylor series.
    let y = x / 64
    var term = 1.0
    var sum = 1.0
    for k in 1...12 {
        term *= y / Double(k)
        sum += term
    }
    for _ in 0..<6 { sum *= sum }
    return sum
}
