import HooktraceFormat

/// A hook of the simulated runner: mmcv's `Hook` class, as a protocol.
///
/// A hook declares which methods its class defines (``methods``); the runner calls the
/// method for a stage when the hook defines it, or else the generic method the stage
/// falls back to (`before_train_epoch` → `before_epoch`), exactly as mmcv's `Hook` base
/// class does. Hooks change the run only through the runner, and report what they did
/// as effects (``HookContext/effect(_:)``).
package protocol Hook: AnyObject {
    /// The registered type name, e.g. `StepLrUpdaterHook`.
    var type: String { get }
    /// The methods the hook's class defines.
    var methods: Set<Stage> { get }
    /// The hook's config as given (for the trace's run_start).
    var config: JSONValue { get }
    /// Runs the hook's method `method` (a stage, or a generic method).
    func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError)
    /// Runs `call` on `hook`, an instance of this type passed as a plain object: how the
    /// runner calls hooks without a retain and a release around each call (it holds them
    /// unretained; the default implementation is the only one needed).
    static func invoke(_ hook: AnyObject, _ method: Stage, _ runner: HookContext) throws(HooktraceError)
}

extension Hook {
    package static func invoke(_ hook: AnyObject, _ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        try unsafeDowncast(hook, to: Self.self).call(method, runner)
    }
}

/// A hook that accepts settings it does not act on: each is reported once, as a warning
/// naming the key and what happens instead (nothing is accepted and ignored silently).
package protocol IgnoresSettings: Hook {
    var ignoredSettings: [String] { get }
}

extension Hook {
    /// `get_triggered_stages()`: the stages of `framework`'s listing the hook's class acts
    /// on, in the framework's `Hook.stages` order.
    package func triggeredStages(_ framework: Framework) -> [Stage] {
        let listed = framework == .mmcv ? Stage.listed : Stage.mmengineListed
        return listed.filter { stage in
            methods.contains(stage) || (stage.generic.map { methods.contains($0) } ?? false)
        }
    }

    /// The method that runs for `stage`, if any.
    package func method(for stage: Stage) -> Stage? {
        if methods.contains(stage) { return stage }
        if let g = stage.generic, methods.contains(g) { return g }
        return nil
    }

    // mmcv's helper predicates.
    func everyNEpochs(_ runner: HookContext, _ n: Int) -> Bool { n > 0 && (runner.epoch + 1) % n == 0 }
    func everyNInnerIters(_ runner: HookContext, _ n: Int) -> Bool { n > 0 && (runner.innerIter + 1) % n == 0 }
    func everyNIters(_ runner: HookContext, _ n: Int) -> Bool { n > 0 && (runner.iter + 1) % n == 0 }
    func endOfEpoch(_ runner: HookContext) -> Bool { runner.innerIter + 1 == (runner.dataLoaderLength ?? -1) }
    func isLastEpoch(_ runner: HookContext) -> Bool { runner.epoch + 1 == (runner.maxEpochs ?? -1) }
    func isLastIter(_ runner: HookContext) -> Bool { runner.iter + 1 == (runner.maxIters ?? -1) }
}

/// A hook the simulation does not simulate: kept in the run, called in order, no effects.
///
/// mmdetection 2.x's check-only hooks have no effect a trace can show; their stages are
/// known, so the hook listing shows them where mmcv's does and no warning is given. Other
/// types' stages are unknown: they are in the run's hook list but in no stage's listing.
package final class PassiveHook: Hook {
    package let type: String
    package let config: JSONValue
    package let methods: Set<Stage>
    /// Whether the type is one of ``knownStages`` (no effects to miss, so no warning).
    package var isKnown: Bool { Self.knownStages[type] != nil }

    /// Stages of mmdetection 2.x hooks whose work a trace cannot show: checks, memory
    /// logging, and changes to the model or the data pipeline (YOLOX's mode switch, norm
    /// synchronisation across ranks, random input sizes). They change no learning rate,
    /// checkpoint or log record, so a run with them is simulated exactly.
    static let knownStages: [String: Set<Stage>] = [
        "NumClassCheckHook": [.beforeTrainEpoch, .beforeValEpoch],
        "CheckInvalidLossHook": [.afterTrainIter],
        "MemoryProfilerHook": [.afterIter],
        "SetEpochInfoHook": [.beforeTrainEpoch],
        "SyncNormHook": [.beforeTrainEpoch, .afterTrainEpoch],
        "SyncRandomSizeHook": [.afterTrainEpoch],
        "YOLOXModeSwitchHook": [.beforeTrainEpoch],
        // mmcv 1.7's receptive-field search (mmdetection's RF-Next configs): adapts the
        // model's dilations and writes its search state as JSON in work_dir.
        "RFSearchHook": [.afterTrainIter, .afterTrainEpoch],
    ]

    /// A logger from `log_config.hooks` (its records are what the simulation misses).
    package let isLogger: Bool

    /// Hooks of mmdetection 2.x whose stages are known but whose effects are not simulated
    /// (listed under their stages, and warned about). MMDetWandbHook is a WandbLoggerHook
    /// (LoggerHook's before_run, before_epoch, after_train_iter, after_train_epoch,
    /// after_val_epoch; WandbLoggerHook's after_run) that also uploads checkpoints and
    /// evaluation tables.
    static let listedStages: [String: Set<Stage>] = [
        "MMDetWandbHook": [.beforeRun, .beforeTrainEpoch, .beforeValEpoch, .afterTrainIter, .afterTrainEpoch, .afterValEpoch, .afterRun],
    ]

    package init(type: String, config: JSONValue, isLogger: Bool = false, recordedStages: Set<Stage>? = nil) {
        self.type = type
        self.config = config
        self.isLogger = isLogger
        methods = Self.knownStages[type] ?? Self.listedStages[type] ?? recordedStages ?? []
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {}
}

/// A hook in the runner's list.
package struct RegisteredHook {
    package var hook: any Hook
    /// Unique name in the run: the type, with `#2`, `#3`… for repeats.
    package var name: String
    package var priority: Int
    /// The entry `register_hook` was given, when it is what the framework keeps as the
    /// hook's settings (mmengine: `type`, the arguments and `priority` as written, which
    /// its hook listing prints verbatim); nil: the hook's own ``Hook/config``.
    package var registered: JSONValue? = nil

    /// The hook's settings as the trace records them.
    package var recordedConfig: JSONValue { registered ?? hook.config }
}
