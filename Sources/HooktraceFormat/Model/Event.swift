/// One entry of a trace.
///
/// A trace keeps two kinds of facts apart (see `docs/FORMAT.md` and the design notes):
/// - **inputs**, which the training process produced and hooks cannot change:
///   ``RunStart``, ``Call``, ``Observation``, ``HookSpan`` and ``RunEnd``;
/// - **effects**, which a hook decided, each attributed to that hook: ``Effect``.
///
/// Events have value semantics and compare field by field. Doubles compare with
/// `==`, so a NaN loss is not equal to itself; compare ``TraceRecord`` encodings
/// (or use ``Event/isIdentical(to:)``) when NaNs may occur.
public enum Event: Equatable, Sendable {
    /// The run's specification; the first event of every trace.
    indirect case runStart(RunStart)
    /// One `runner.call_hook(stage)`, with the runner counters as hooks saw them.
    case call(Call)
    /// A measurement the training step or the evaluation produced (loss, metric, …).
    case observe(Observation)
    /// Something a hook decided.
    case effect(Effect)
    /// The time one hook spent inside the current call (real runs with per-hook timing).
    case hookSpan(HookSpan)
    /// How the run ended.
    case runEnd(RunEnd)
}

/// The runner's mode at a call, as `runner.mode` shows it.
public enum Mode: UInt8, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    case none = 0
    case train = 1
    case val = 2
    case test = 3

    /// The text form, as hooktrace prints it.
    public var description: String {
        switch self {
        case .none: "none"
        case .train: "train"
        case .val: "val"
        case .test: "test"
        }
    }

    /// Parses `train`, `val`, `test` or `none`.
    public init?(name: String) {
        guard let mode = Mode.allCases.first(where: { $0.description == name }) else { return nil }
        self = mode
    }
}

/// One `runner.call_hook(stage)`.
public struct Call: Equatable, Sendable {
    /// The hook method called, e.g. `before_train_iter`.
    public var stage: String
    /// `runner.epoch` at the call.
    public var epoch: Int
    /// `runner.iter` at the call.
    public var iter: Int
    /// `runner.inner_iter` at the call.
    public var innerIter: Int
    /// `runner.mode` at the call.
    public var mode: Mode
    /// Monotonic time of the call in nanoseconds since the run started.
    public var time: Int64

    /// A call of `stage` with the runner counters the hooks saw.
    public init(stage: String, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64) {
        self.stage = stage
        self.epoch = epoch
        self.iter = iter
        self.innerIter = innerIter
        self.mode = mode
        self.time = time
    }
}

/// A scalar value: what log records, metrics and metadata hold.
public enum Scalar: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)

    /// The text form, as hooktrace prints it.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): formatDouble(d)
        case .string(let s): s
        }
    }

    /// The value as a double, when it is a number.
    public var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}

/// A named scalar, as in a log record or an evaluation result. Order is kept.
public struct Field: Equatable, Sendable {
    /// The field's name, e.g. `lr` or `bbox_mAP`.
    public var key: String
    /// The field's value.
    public var value: Scalar

    /// A field `key` with `value`.
    public init(_ key: String, _ value: Scalar) {
        self.key = key
        self.value = value
    }
}

/// What an ``Observation`` measures.
public enum ObservationKind: UInt8, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// A scalar of the step's `log_vars` (loss, loss_cls, acc, …).
    case logVar = 0
    /// The step's `num_samples`.
    case numSamples = 1
    /// An evaluation metric (bbox_mAP, …).
    case metric = 2
    /// A measured duration in seconds (data_time, time) reported by the process.
    case timing = 3
    /// Anything else the recorder saw (memory, …).
    case other = 4

    /// The text form, as hooktrace prints it.
    public var description: String {
        switch self {
        case .logVar: "log_var"
        case .numSamples: "num_samples"
        case .metric: "metric"
        case .timing: "timing"
        case .other: "other"
        }
    }
}

/// A measurement between calls; it belongs to the call before it.
public struct Observation: Equatable, Sendable {
    /// Where the value comes from (log_vars, num_samples, metric, timing, other).
    public var kind: ObservationKind
    /// The value's name, e.g. `loss` or `bbox_mAP`.
    public var name: String
    /// The measured value.
    public var value: Scalar

    /// An observation `name` of `kind` with `value`.
    public init(kind: ObservationKind, name: String, value: Scalar) {
        self.kind = kind
        self.name = name
        self.value = value
    }
}

/// Something a hook decided, attributed to the hook.
public struct Effect: Equatable, Sendable {
    /// The hook's name in the run's hook list (see ``HookInfo/name``).
    public var hook: String
    /// What the hook did.
    public var action: EffectAction

    /// An effect `action` of the hook registered as `hook`.
    public init(hook: String, _ action: EffectAction) {
        self.hook = hook
        self.action = action
    }
}

/// The effects hooks can have.
public enum EffectAction: Equatable, Sendable {
    /// The learning rate of one param group was set. `optimizer` is `""` for a single optimizer.
    case setLR(optimizer: String, group: Int, value: Double)
    /// The momentum (SGD) or `betas[0]` (Adam) of one param group was set.
    case setMomentum(optimizer: String, group: Int, value: Double)
    /// An optimizer step was taken (`stepped`) or deliberately skipped; the clipped grad norm if any.
    case optimizerStep(optimizer: String, stepped: Bool, gradNorm: Double?)
    /// A checkpoint file was written.
    case checkpointSave(path: String)
    /// A checkpoint file was deleted.
    case checkpointRemove(path: String)
    /// A link (e.g. `latest.pth`) now points at `target`.
    case checkpointLink(link: String, target: String)
    /// A log record was emitted (what a `.log.json` line holds), in order.
    case log([Field])
    /// An evaluation ran and produced these results.
    case evaluate([Field])
    /// The best score improved: `key` reached `value`; the best checkpoint is `checkpoint`.
    case bestUpdate(key: String, value: Double, checkpoint: String)
    /// The EMA parameters were updated with this momentum.
    case emaUpdate(momentum: Double)
    /// The hook asked the run to stop.
    case stop(reason: String)
    /// A message the hook produced (a warning, an info line).
    case note(String)
    /// An effect kind hooktrace has no dedicated encoding for.
    case custom(kind: String, fields: [Field])
}

/// Time one hook spent inside the current call.
public struct HookSpan: Equatable, Sendable {
    /// The hook's registered name (its type, or `Type#2` for a second instance).
    public var hook: String
    /// Start in nanoseconds since the run started.
    public var start: Int64
    /// Duration in nanoseconds.
    public var duration: Int64

    /// A span of `duration` ns that `hook` spent, starting at `start` ns.
    public init(hook: String, start: Int64, duration: Int64) {
        self.hook = hook
        self.start = start
        self.duration = duration
    }
}

/// One phase of a workflow, e.g. `("train", 1)`.
public struct WorkflowPhase: Equatable, Sendable {
    /// The phase's mode: `train` or `val`.
    public var mode: String
    /// How many epochs (or iterations) the phase runs each round.
    public var count: Int

    /// A workflow phase, as mmcv writes it: `("train", 1)`.
    public init(_ mode: String, _ count: Int) {
        self.mode = mode
        self.count = count
    }
}

/// The length of one data loader, by mode.
public struct LoaderLength: Equatable, Sendable {
    /// The loader's mode: `train` or `val`.
    public var mode: String
    /// `len(data_loader)`: batches per epoch of that mode.
    public var length: Int

    /// The length of the `mode` loader.
    public init(_ mode: String, _ length: Int) {
        self.mode = mode
        self.length = length
    }
}

/// One optimizer param group at the start of the run.
public struct ParamGroup: Equatable, Sendable {
    /// The optimizer's name; `""` when the run has a single optimizer.
    public var optimizer: String
    /// The index of the group in the optimizer's `param_groups`.
    public var group: Int
    /// The group's learning rate when the run started.
    public var lr: Double
    /// SGD momentum or Adam `betas[0]`; nil when the optimizer has none.
    public var momentum: Double?

    /// A param group's initial values.
    public init(optimizer: String = "", group: Int, lr: Double, momentum: Double?) {
        self.optimizer = optimizer
        self.group = group
        self.lr = lr
        self.momentum = momentum
    }
}

/// One registered hook, in the runner's (priority-sorted) order.
public struct HookInfo: Equatable, Sendable {
    /// Unique name within the run: the type, with `#2`, `#3`… for repeats.
    public var name: String
    /// The hook's registered type, e.g. `StepLrUpdaterHook`.
    public var type: String
    /// Priority as an integer 0…100 (lower runs first).
    public var priority: Int
    /// The hook's config as JSON, or `""` when unknown.
    public var config: String
    /// The stages the hook acts on, in the framework's listing order (mmcv's and mmengine's
    /// `get_triggered_stages()`): what the hook listing shows. Nil when the recording did
    /// not say (format 1.0 traces, recorders that could not ask).
    public var stages: [String]?

    /// The run's name for the `count`-th hook of `type`: the type, then `Type#2`, `Type#3`…
    public static func uniqueName(_ type: String, count: Int) -> String {
        count == 1 ? type : "\(type)#\(count)"
    }

    package init(name: String, type: String, priority: Int, config: String = "", stages: [String]? = nil) {
        self.name = name
        self.type = type
        self.priority = priority
        self.config = config
        self.stages = stages
    }
}

/// The run's specification: everything the hooks are given before the first call.
public struct RunStart: Equatable, Sendable {
    /// Where the trace came from: `simulated`, `mmcv 1.7.2`, `mmengine 0.10.7`, `synthetic`.
    public var source: String
    /// `EpochBasedRunner` or `IterBasedRunner` (or the framework's runner class).
    public var runner: String
    /// `runner.max_epochs` (nil for an IterBasedRunner).
    public var maxEpochs: Int?
    /// `runner.max_iters` as configured (nil when the runner derives it).
    public var maxIters: Int?
    /// The workflow: `[("train", 1), ("val", 1)]`.
    public var workflow: [WorkflowPhase]
    /// The data loaders' lengths by mode.
    public var loaders: [LoaderLength]
    /// Every optimizer's param groups with their initial lr and momentum.
    public var paramGroups: [ParamGroup]
    /// The registered hooks, in the runner's order.
    public var hooks: [HookInfo]
    /// The seed of the simulation's generators (0 for real runs).
    public var seed: UInt64
    /// The run config as JSON, or `""`.
    public var config: String
    /// Anything else (rank, world size, framework version, …).
    public var meta: [Field]

    /// A run specification with every field given.
    public init(
        source: String, runner: String, maxEpochs: Int? = nil, maxIters: Int? = nil,
        workflow: [WorkflowPhase] = [], loaders: [LoaderLength] = [], paramGroups: [ParamGroup] = [],
        hooks: [HookInfo] = [], seed: UInt64 = 0, config: String = "", meta: [Field] = []
    ) {
        self.source = source
        self.runner = runner
        self.maxEpochs = maxEpochs
        self.maxIters = maxIters
        self.workflow = workflow
        self.loaders = loaders
        self.paramGroups = paramGroups
        self.hooks = hooks
        self.seed = seed
        self.config = config
        self.meta = meta
    }
}

/// How a run ended.
public enum RunStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case completed = 0
    case failed = 1
    case interrupted = 2

    /// The text form, as hooktrace prints it.
    public var description: String {
        switch self {
        case .completed: "completed"
        case .failed: "failed"
        case .interrupted: "interrupted"
        }
    }
}

/// The last event of a run that ended under the recorder's watch.
public struct RunEnd: Equatable, Sendable {
    /// Whether the run completed, failed or was interrupted.
    public var status: RunStatus
    /// The training process's exit status (0 for a simulated run).
    public var exitCode: Int
    /// Why the run ended so, when it did not complete (empty otherwise).
    public var message: String

    /// How a run ended.
    public init(status: RunStatus, exitCode: Int = 0, message: String = "") {
        self.status = status
        self.exitCode = exitCode
        self.message = message
    }
}

/// Formats a double the way Python's `repr` does for ordinary values
/// (shortest round-trip digits), `NaN`, `Infinity` and `-Infinity` otherwise.
package func formatDouble(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    return d.description
}

// MARK: Bitwise identity

extension Scalar {
    /// Equal, with doubles compared bit for bit (0.0 differs from -0.0), any NaN equal to
    /// any NaN: a run's NaN loss keeps no meaning in its sign or payload (torch's is
    /// negative, a JSON log's "NaN" positive).
    public func isIdentical(to other: Scalar) -> Bool {
        switch (self, other) {
        case (.double(let a), .double(let b)): same(a, b)
        default: self == other
        }
    }
}

package func identicalFields(_ a: [Field], _ b: [Field]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value.isIdentical(to: $1.value) }
}

/// Bit for bit, every NaN the same.
@inline(__always)
func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

extension EffectAction {
    /// Equal, with doubles compared bit for bit.
    public func isIdentical(to other: EffectAction) -> Bool {
        switch (self, other) {
        case (.setLR(let o1, let g1, let v1), .setLR(let o2, let g2, let v2)),
             (.setMomentum(let o1, let g1, let v1), .setMomentum(let o2, let g2, let v2)):
            return o1 == o2 && g1 == g2 && same(v1, v2)
        case (.optimizerStep(let o1, let s1, let n1), .optimizerStep(let o2, let s2, let n2)):
            return o1 == o2 && s1 == s2 && (n1 == nil) == (n2 == nil) && same(n1 ?? 0, n2 ?? 0)
        case (.log(let f1), .log(let f2)), (.evaluate(let f1), .evaluate(let f2)):
            return identicalFields(f1, f2)
        case (.custom(let k1, let f1), .custom(let k2, let f2)):
            return k1 == k2 && identicalFields(f1, f2)
        case (.bestUpdate(let k1, let v1, let c1), .bestUpdate(let k2, let v2, let c2)):
            return k1 == k2 && same(v1, v2) && c1 == c2
        case (.emaUpdate(let m1), .emaUpdate(let m2)):
            return same(m1, m2)
        default:
            return self == other
        }
    }
}

extension Observation {
    /// Equal, with doubles compared bit for bit (NaN equals NaN).
    public func isIdentical(to other: Observation) -> Bool {
        kind == other.kind && name == other.name && value.isIdentical(to: other.value)
    }
}

extension Event {
    /// The event's `type` name, as `show`, JSON lines and CSV name it.
    public var typeName: String {
        switch self {
        case .runStart: "run_start"
        case .call: "call"
        case .observe: "observe"
        case .hookSpan: "hook_span"
        case .runEnd: "run_end"
        case .effect(let e):
            switch e.action {
            case .setLR: "set_lr"
            case .setMomentum: "set_momentum"
            case .optimizerStep: "optimizer_step"
            case .checkpointSave: "checkpoint_save"
            case .checkpointRemove: "checkpoint_remove"
            case .checkpointLink: "checkpoint_link"
            case .log: "log"
            case .evaluate: "evaluate"
            case .bestUpdate: "best_update"
            case .emaUpdate: "ema_update"
            case .stop: "stop"
            case .note: "note"
            case .custom: "custom"
            }
        }
    }
}
