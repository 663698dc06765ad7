import HooktraceFormat

/// The training framework whose hook system a run follows.
///
/// The two share hooks' idea and much of their vocabulary but not their config keys:
/// mmcv 1.x builds hooks from `lr_config`, `checkpoint_config`, `log_config`, … and runs
/// a `runner`'s `workflow`; mmengine builds them from `default_hooks`, `param_scheduler`,
/// `optim_wrapper` and runs the loops of `train_cfg`/`val_cfg`. A config's keys say which
/// one it is written for (``of(configKeys:)``), and a config never silently runs in the
/// other's semantics.
package enum Framework: String, Sendable, CaseIterable {
    case mmcv = "mmcv 1.x"
    case mmengine = "mmengine"

    /// Top-level keys only an mmcv 1.x config has (mmdetection 2.x's), hook-shaping first.
    static let mmcvKeys = ["lr_config", "momentum_config", "optimizer_config", "checkpoint_config", "log_config",
                           "evaluation", "runner", "workflow", "optimizer", "fp16"]
    /// Top-level keys only an mmengine config has (mmdetection 3.x's), hook-shaping first.
    static let mmengineKeys = ["train_cfg", "val_cfg", "test_cfg", "optim_wrapper", "param_scheduler", "default_hooks",
                               "train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator",
                               "test_evaluator", "log_processor", "visualizer", "default_scope", "env_cfg",
                               "randomness", "launcher"]

    /// The framework a config is written for, from its top-level keys: any of mmengine's
    /// own keys make it an mmengine config, otherwise it is mmcv 1.x's. A config with keys
    /// of both is refused, naming one of each (it would run half its hooks either way).
    package static func of(configKeys keys: [String]) throws(HooktraceError) -> Framework {
        let engine = keys.first { mmengineKeys.contains($0) }
        let mmcv = keys.first { mmcvKeys.contains($0) }
        switch (mmcv, engine) {
        case let (mmcv?, engine?):
            throw configError(engine, "is an mmengine key, and \"\(mmcv)\" is an mmcv 1.x key: a config is written for one framework (mmengine builds its hooks from train_cfg, default_hooks, param_scheduler, optim_wrapper; mmcv 1.x from runner, lr_config, checkpoint_config, log_config, evaluation); keep one framework's keys")
        case (_, .some):
            return .mmengine
        default:
            return .mmcv
        }
    }

    /// The framework a trace's run followed: a simulated mmengine run says so in its
    /// run_start's meta (`framework`), a real run's recorder in `source` ("mmengine
    /// 0.10.7", "mmcv 1.7.2"); other simulated runs are mmcv 1.x's.
    package static func of(_ run: RunStart) -> Framework {
        if case .string(let f)? = run.meta.first(where: { $0.key == "framework" })?.value, let known = Framework(rawValue: f) { return known }
        return run.source.hasPrefix("mmengine") ? .mmengine : .mmcv
    }

    /// `Hook.stages`: the stages of the framework's hook listing, in its order.
    package var listedStages: [String] {
        switch self {
        case .mmcv: Stage.listed.map(\.rawValue)
        case .mmengine: Stage.mmengineListed.map(\.rawValue)
        }
    }

    /// The hook listing the framework logs when its runner is built (mmcv's
    /// `get_hook_info()`, mmengine's `get_hooks_info()`): per listed stage that any hook
    /// acts on, the hooks acting on it with their priority, in hook order. Built from the
    /// stages recorded for each hook (hooks whose stages are unknown are left out), so a
    /// view never re-runs a simulation to print it. Stages a hook names that the listing
    /// does not have come after the listed ones.
    package func hookListing(_ hooks: [HookInfo]) -> String {
        var order = listedStages
        for h in hooks { for s in h.stages ?? [] where !order.contains(s) { order.append(s) } }
        var blocks: [String] = []
        for stage in order {
            let lines = hooks.filter { $0.stages?.contains(stage) == true }.map { h in
                "(" + pad(priorityLabel(h), 12) + ") " + pad(h.type, 35)
            }
            guard !lines.isEmpty else { continue }
            blocks.append(stage + ":\n" + lines.joined(separator: "\n") + "\n -------------------- ")
        }
        return blocks.joined(separator: "\n")
    }

    /// A hook's priority as the listing prints it: the level's name, or the number. mmengine
    /// keeps a priority as it was written and prints a string verbatim (`Priority("normal")`
    /// is not a member, so its `get_hooks_info` falls back to the value itself): a hook
    /// registered with `priority="normal"` is listed as `(normal      )`.
    func priorityLabel(_ hook: HookInfo) -> String {
        if self == .mmengine, hook.config.contains("\"priority\""), let config = try? JSONValue.parse(hook.config),
           case .string(let written)? = config["priority"] {
            return written
        }
        return Priority.label(hook.priority)
    }
}

/// What one framework's runner does its own way, behind the one simulator: how a config
/// becomes registered hooks, and the loops that make the calls. Everything else — the
/// runner's `call_hook`, the hooks' context, the inputs (simulated or recorded), the
/// trace — is shared. mmcv 1.x is ``MMCVDialect``; mmengine 0.10.7 is ``MMEngineDialect``.
package protocol Dialect: Sendable {
    /// The framework this dialect simulates.
    var framework: Framework { get }
    /// Registers the hooks `config` asks for on `runner`, in the framework's order and
    /// priorities, and checks what the config alone decides (errors the framework would
    /// raise mid-run come before anything runs).
    func registerHooks(_ config: RunConfig, registry: HookRegistry, on runner: Runner) throws(HooktraceError)
    /// Runs the training: every `call_hook` of the framework's runner and loops, in their
    /// order, with the counters they have at each call.
    func run(_ loop: Loop) throws(HooktraceError)
}
