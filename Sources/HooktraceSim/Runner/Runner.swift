import HooktraceFormat

/// What a hook sees of the run, and the only ways it can act on it.
///
/// mmcv's hooks are handed the whole runner; hooktrace's get this narrower view of it: the
/// counters and run facts (read-only: only the runner advances them), the state mmcv's
/// hooks legitimately change (the optimizers' param groups, the log buffer, the run's
/// files, `runner.meta['hook_msgs']`), and methods to record what they did. A hook cannot
/// make a call, register hooks or run another hook's method, except the one mmcv's
/// EvalHook needs (``runLoggersAfterTrainIter()``). Effects are attributed to the hook the
/// runner is calling, by its registered name, so a hook never names itself.
///
/// The runner owns one context and drives it; a test can build one on its own
/// (``init(kind:workDir:optimizers:sink:)``) and call a single hook against it.
package final class HookContext {
    // Counters and step results, advanced by the runner only (this file). Reads are on the
    // hot path of every hook, so the private storage skips the dynamic exclusivity checks;
    // the runner is single-threaded and nothing outside this file can write it.
    @exclusivity(unchecked) fileprivate var counters = Counters()
    fileprivate struct Counters {
        var epoch = 0, iter = 0, innerIter = 0
        var mode: Mode = .none
        var maxEpochs: Int?, maxIters: Int?
        var dataLoaderLength: Int?
        var clock: Int64 = 0
        var numSamples = 0
        var gradNorm: Double?
    }

    /// `runner.epoch`, `runner.iter`, `runner.inner_iter`, the current mode.
    package var epoch: Int { counters.epoch }
    package var iter: Int { counters.iter }
    package var innerIter: Int { counters.innerIter }
    package var mode: Mode { counters.mode }
    package var maxEpochs: Int? { counters.maxEpochs }
    package var maxIters: Int? { counters.maxIters }
    /// `len(runner.data_loader)`; nil before the first train or val call.
    package var dataLoaderLength: Int? { counters.dataLoaderLength }
    /// `len(train_dataloader)` and `len(val_dataloader)` (0 without one).
    package var trainLoaderLength: Int { runner?.loaders.first(where: { $0.mode == "train" })?.length ?? 0 }
    package var valLoaderLength: Int { runner?.loaders.first(where: { $0.mode == "val" })?.length ?? 0 }
    /// The current call's time (ns since the run started).
    package var clock: Int64 { counters.clock }
    /// `num_samples` of the current step.
    package var numSamples: Int { counters.numSamples }
    /// The last observed gradient norm (what `clip_grad_norm_` returns); in a replay of a
    /// real mmcv run, the norm its optimizer hook logged at the current call.
    package var gradNorm: Double? {
        if let n = counters.gradNorm { return n }
        return runner?.recordedGradNorm()
    }

    // Run facts.
    package let kind: Runner.Kind
    package let workDir: String
    /// `runner.meta['exp_name']`.
    package let experimentName: String
    /// Whether `runner.optimizer` is a dict of named optimizers.
    package let isDictOptimizer: Bool
    /// The run's seed (`runner.meta['seed']`, what the text logger prints first).
    package let seed: UInt64
    /// Whether mmcv's `runner.meta` is a dict (mmdetection's train.py passes one; a plain
    /// script's runner has None): TextLoggerHook dumps it at before_run, and CheckpointHook
    /// and EvalHook keep their `hook_msgs` in it.
    package var hasMeta = true
    /// What TextLoggerHook dumps of `runner.meta` at before_run (nil: a simulated meta).
    package var metaRecord: [Field]?
    /// `runner.meta['config']`: the config's text, as mmdetection 2.x's train.py puts it there.
    package var configText = ""
    /// `runner.max_iters` as the run will see it from before_run on (an EpochBasedRunner's
    /// is max_epochs × the train loader's length, set when the run starts).
    package let plannedMaxIters: Int?

    // State hooks change, as mmcv's hooks change the runner's. Touched by several hooks on
    // every call (a dynamic exclusivity check on each access was 7 % of a simulation), so
    // they are stored properties without the dynamic check: the runner and its hooks run
    // on one thread, and nothing outside the package can reach them. (They were private
    // storage behind _read/_modify accessors, which allowed exactly the same access.)

    /// The optimizers, with their param groups' lr and momentum.
    @exclusivity(unchecked) package var optimizers: [OptimizerState]
    /// `runner.log_buffer`.
    @exclusivity(unchecked) package var logBuffer: LogBuffer
    /// `runner.meta['hook_msgs']`.
    @exclusivity(unchecked) package var hookMessages = Runner.HookMessages()
    /// The files under the work dir (checkpoints, links).
    @exclusivity(unchecked) package var files = VirtualFiles()
    /// What the last validation reported (mmengine's `metrics` of `after_val_epoch`).
    package fileprivate(set) var validationMetrics: [(String, Scalar)] = []
    /// mmengine's `train_loop.stop_training`: the train loop ends before its next epoch or iteration.
    package var stopTraining = false
    /// mmengine's message hub (its logging hooks' scalars).
    @exclusivity(unchecked) package var messageHub = MessageHub()
    /// The current step's outputs (log_vars) by name symbol, in order, when a dialect's hooks
    /// read them from the call (mmengine's `outputs` of `after_train_iter`); kept only
    /// then (``keepsStepOutputs``).
    @exclusivity(unchecked) package fileprivate(set) var stepOutputs: [(UInt32, Double)] = []
    package var keepsStepOutputs = false

    fileprivate let sink: any RunSink
    /// The run's names: stages, hooks, observation keys.
    package let symbols: SymbolTable
    /// The registered hooks, and which one is being called (for effects' names).
    fileprivate var hooks: [RegisteredHook] = []
    /// Each registered hook's name as a symbol (parallel to `hooks`).
    fileprivate var hookSymbols: [UInt32] = []
    @exclusivity(unchecked) fileprivate var current = 0
    fileprivate var warned: Set<String> = []
    fileprivate(set) var warnings: [String] = []
    /// What the current step's inputs say; the runner's (see `Runner.inputs`). Unowned, not
    /// weak: a weak reference moves the runner's reference counts to a side table, which
    /// made every retain of the runner take the slow path (a context used after its runner
    /// is gone traps here).
    fileprivate unowned var runner: Runner?

    /// A context on its own, for calling one hook in a test; effects go to `sink`, named
    /// after `hookName`.
    package convenience init(kind: Runner.Kind = .epochBased, workDir: String = "work_dirs/test", optimizers: [OptimizerState],
                             maxEpochs: Int? = nil, maxIters: Int? = nil, hookName: String = "Hook",
                             sink: @escaping (Event) throws(HooktraceError) -> Void) {
        self.init(kind: kind, workDir: workDir, experimentName: "test", isDictOptimizer: false, seed: 0,
                  plannedMaxIters: maxIters, optimizers: optimizers, sink: EventSink(sink), symbols: SymbolTable())
        counters.maxEpochs = maxEpochs
        counters.maxIters = maxIters
        hooks = [RegisteredHook(hook: PassiveHook(type: hookName, config: .null), name: hookName, priority: 50)]
        hookSymbols = [symbols.intern(hookName)]
    }

    fileprivate init(kind: Runner.Kind, workDir: String, experimentName: String, isDictOptimizer: Bool, seed: UInt64,
                     plannedMaxIters: Int?, optimizers: [OptimizerState], sink: any RunSink, symbols: SymbolTable) {
        self.kind = kind
        self.workDir = workDir
        self.experimentName = experimentName
        self.isDictOptimizer = isDictOptimizer
        self.seed = seed
        self.plannedMaxIters = plannedMaxIters
        self.optimizers = optimizers
        self.logBuffer = LogBuffer(symbols: symbols)
        self.sink = sink
        self.symbols = symbols
    }

    /// Moves a standalone test context to the given counters (the runner's job in a run).
    package func setCounters(epoch: Int, iter: Int, innerIter: Int = 0, mode: Mode = .train, dataLoaderLength: Int? = nil, clock: Int64 = 0) {
        precondition(runner == nil, "the runner owns its context's counters")
        counters.epoch = epoch
        counters.iter = iter
        counters.innerIter = innerIter
        counters.mode = mode
        counters.dataLoaderLength = dataLoaderLength
        counters.clock = clock
    }

    // MARK: Acting

    /// Records an effect of the hook being called.
    package func effect(_ action: EffectAction) throws(HooktraceError) {
        try sink.effect(hook: hookSymbols[current], action: action, symbols: symbols)
    }

    /// Records what an evaluation reported (a metric observation of the current call).
    package func observe(_ observation: Observation) throws(HooktraceError) {
        try sink.observe(kind: observation.kind, name: symbols.intern(observation.name), value: ScalarBits(observation.value, symbols: symbols), symbols: symbols)
    }

    /// A warning, reported once per text as a note effect of the hook being called.
    package func warn(_ text: String) throws(HooktraceError) {
        guard warned.insert(text).inserted else { return }
        warnings.append("\(hooks[current].name): \(text)")
        try effect(.note(text))
    }

    /// Time the hook spends inside the current call (saving a checkpoint, evaluating).
    package func work(_ work: HookWork) {
        guard let runner else { return }
        runner.inputs.hookWork(work, runner)
    }

    /// mmengine's `runner.save_checkpoint` for the hook being called: the runner calls
    /// `before_save_checkpoint` (a call of its own, inside this one, with the counters as
    /// they are), then the file is written (the calling hook's save effect).
    package func saveCheckpoint(_ path: String) throws(HooktraceError) {
        if let runner, let capture = runner.captureSave {
            // The state a checkpoint holds is the state at its save: a resume's simulation of
            // the interrupted run ends right there (``Simulator/restoreEngine``).
            let name = baseName(path)
            runner.savesSeen[name, default: 0] += 1
            if name == capture.name && runner.savesSeen[name] == capture.occurrence {
                throw HooktraceError(Runner.stoppedCode, "stopped at the save of \(name)")
            }
        }
        work(.checkpoint)
        let caller = current
        if let runner { try runner.nestedCall(.beforeSaveCheckpoint) }
        current = caller
        files.write(path)
        try effect(.checkpointSave(path: path))
    }

    /// Metrics an evaluation at the current call reports, in order.
    func evaluateMetrics() throws(HooktraceError) -> [(String, Scalar)] {
        guard let runner else { return [] }
        return try runner.inputs.metrics(runner)
    }

    /// mmcv's EvalHook with by_epoch=False runs every logger hook's after_train_iter before
    /// it evaluates, so the iteration's record is written first.
    package func runLoggersAfterTrainIter() throws(HooktraceError) {
        let caller = current
        defer { current = caller }
        for i in hooks.indices where hooks[i].hook is LoggerHook {
            current = i
            try hooks[i].hook.call(.afterTrainIter, self)
        }
    }

    /// Whether `hook` is the last logger hook registered (mmcv's loggers reset the log
    /// buffer's output only there).
    package func isLastLogger(_ hook: LoggerHook) -> Bool {
        hooks.last(where: { $0.hook is LoggerHook })?.hook === hook
    }

    // MARK: Optimizer access

    /// The first optimizer's key ("" for a single optimizer), read without copying its state.
    package var firstOptimizerName: String { optimizers.isEmpty ? "" : optimizers[0].name }

    /// `runner.current_lr()` of group 0 of each optimizer, in order.
    package var currentLRs: [(optimizer: String, lr: Double)] {
        optimizers.map { ($0.name, $0.groups.first?.lr ?? 0) }
    }

    package var currentMomenta: [(optimizer: String, momentum: Double)] {
        optimizers.map { ($0.name, $0.groups.first?.currentMomentum ?? 0) }
    }
}

/// A simulated mmcv 1.x runner: EpochBasedRunner or IterBasedRunner.
///
/// It drives `call_hook` with exactly the counters mmcv's runners have at each call
/// (docs: the behavioural spec, sections 1 and 8), feeds hooks seeded observations in
/// place of a model, and writes every call, observation and effect to its event sink.
/// Hooks see it through its ``HookContext``. Time is simulated: a clock in nanoseconds
/// advanced by the simulation's models and by mmcv's own sleeps (2 s after each epoch
/// start and loader wrap, 1 s before `after_run`).
package final class Runner {
    package enum Kind: String, Sendable, CaseIterable {
        case epochBased = "EpochBasedRunner"
        case iterBased = "IterBasedRunner"
    }

    /// `runner.meta['hook_msgs']`.
    package struct HookMessages: Sendable {
        package var lastCheckpoint: String? { didSet { note("last_ckpt") } }
        package var bestScore: Double? { didSet { note("best_score") } }
        package var bestCheckpoint: String? { didSet { note("best_ckpt") } }
        /// Whether `runner.meta['hook_msgs']` exists (EvalHook with save_best and CheckpointHook
        /// create it), and its keys in the order they were first set.
        package var exists = false
        package private(set) var order: [String] = []

        private mutating func note(_ key: String) {
            exists = true
            if !order.contains(key) { order.append(key) }
        }

        /// The dict as TextLoggerHook dumps a nested value (compact JSON).
        package var json: JSONValue {
            .object(order.compactMap { key -> (key: String, value: JSONValue)? in
                switch key {
                case "last_ckpt": lastCheckpoint.map { (key, .string($0)) }
                case "best_score": bestScore.map { (key, .double($0)) }
                case "best_ckpt": bestCheckpoint.map { (key, .string($0)) }
                default: nil
                }
            })
        }
    }

    /// What the hooks see.
    package let context: HookContext
    package var kind: Kind { context.kind }
    package var epoch: Int { context.counters.epoch }
    package var iter: Int { context.counters.iter }
    package var innerIter: Int { context.counters.innerIter }
    package var mode: Mode { context.counters.mode }
    package var maxEpochs: Int? { context.counters.maxEpochs }
    package var maxIters: Int? { context.counters.maxIters }
    package var optimizers: [OptimizerState] { context.optimizers }
    package var hookMessages: HookMessages { context.hookMessages }
    package var files: VirtualFiles { context.files }
    package var workDir: String { context.workDir }
    package var warnings: [String] { context.warnings }

    // The loop's own state: private, single-threaded, on the hot path (no dynamic checks).
    private var counters: HookContext.Counters {
        get { context.counters }
        _modify { yield &context.counters }
    }
    package private(set) var hooks: [RegisteredHook] = [] {
        didSet { dispatchStale = true }
    }
    /// Per stage (by `Stage` index), the hooks that act on it: their index and the method.
    /// Per stage, the hooks that act on it, rebuilt at the first call after the hooks change.
    @exclusivity(unchecked) private var dispatch = DispatchTable([])
    @exclusivity(unchecked) private var dispatchStale = true
    /// The framework whose loops drive the run.
    package let dialect: any Dialect
    package let workflow: [WorkflowPhase]
    package let loaders: [LoaderLength]
    /// Whether any hook needs gradient norms (clipping configured).
    package var observesGradNorm = false
    /// Whether the current training step updates the parameters (see ``Loop/stepUpdates``).
    package var stepUpdates = true
    /// The optimizer wrapper's name as a symbol, once it has an effect.
    fileprivate var wrapperSymbol: UInt32?
    /// The context's sink, held here too: the runner's own events then cost no retain of it.
    private let sink: any RunSink
    private let symbols: SymbolTable
    /// The message hub's slot of `train/grad_norm` (-1 until first logged).
    @exclusivity(unchecked) private var gradNormSlot = -1
    /// The current step's observations (rewritten by each step; single-threaded).
    @exclusivity(unchecked) private var stepObservations: [StepObservation] = []

    /// Where observations and time come from.
    package let inputs: any RunInputs
    /// The simulation model of the run's config (seed, metric names).
    package let simulationModel: Simulation
    /// Warnings about the config as a whole (not one hook's settings), emitted at the run's start.
    package var configWarnings: [String] = []
    /// Things the user should know that do not change the run (keys mmcv itself ignores).
    package var configNotes: [String] = []
    /// The train loader never runs out (an infinite sampler): an iteration-based run never
    /// starts a new loader epoch.
    package var trainInfinite = false

    package init(kind: Kind, maxEpochs: Int?, maxIters: Int?, workflow: [WorkflowPhase], loaders: [LoaderLength],
                optimizers: [OptimizerState], isDictOptimizer: Bool, workDir: String, experimentName: String,
                simulation: Simulation, inputs: (any RunInputs)? = nil, dialect: any Dialect = MMCVDialect(), sink: any RunSink) {
        self.dialect = dialect
        self.workflow = workflow
        self.loaders = loaders
        self.sink = sink
        let symbols = SymbolTable()
        self.symbols = symbols
        self.simulationModel = simulation
        self.inputs = inputs ?? SimulatedInputs(simulation)
        var planned = maxIters
        if kind == .epochBased, let maxEpochs, let i = workflow.firstIndex(where: { $0.mode == "train" }) {
            let mode = workflow[i].mode
            planned = maxEpochs * (loaders.first(where: { $0.mode == mode })?.length ?? 0)
        }
        context = HookContext(kind: kind, workDir: workDir, experimentName: experimentName, isDictOptimizer: isDictOptimizer,
                              seed: simulation.seed, plannedMaxIters: planned, optimizers: optimizers, sink: sink, symbols: symbols)
        context.counters.maxEpochs = maxEpochs
        context.counters.maxIters = maxIters
        context.hasMeta = simulation.runnerMeta
        context.metaRecord = simulation.metaRecord
        context.runner = self
    }

    // MARK: Hooks

    /// `register_hook`: inserts after the last hook whose priority is ≤ `priority`.
    package func register(_ hook: any Hook, priority: Int, registered: JSONValue? = nil) {
        var count = 1
        for h in hooks where h.hook.type == hook.type { count += 1 }
        let name = HookInfo.uniqueName(hook.type, count: count)
        var index = 0
        for i in stride(from: hooks.count - 1, through: 0, by: -1) where hooks[i].priority <= priority {
            index = i + 1
            break
        }
        hooks.insert(RegisteredHook(hook: hook, name: name, priority: priority, registered: registered), at: index)
        context.hooks = hooks
        context.hookSymbols = hooks.map { symbols.intern($0.name) }
    }

    /// Runs `body` as the hook at `index` (its effects and warnings carry its name).
    package func acting<R>(as index: Int, _ body: (HookContext) throws(HooktraceError) -> R) throws(HooktraceError) -> R {
        context.current = index
        return try body(context)
    }

    /// `call_hook` calls made so far.
    @exclusivity(unchecked) package private(set) var callCount = 0

    /// `call_hook(stage)`: records the call, then runs every hook's method for it in order.
    package func callHook(_ stage: Stage) throws(HooktraceError) {
        callCount += 1
        counters.clock = try inputs.callTime(stage, self)
        let c = counters
        try sink.call(stage: SymbolTable.stage(stage), epoch: c.epoch, iter: c.iter, innerIter: c.innerIter, mode: c.mode, time: c.clock, symbols: symbols)
        if dispatchStale {
            dispatch = DispatchTable(hooks)
            dispatchStale = false
        }
        let list = dispatch.entries(for: stage)
        for i in list.indices {
            let entry = list[i]
            context.current = entry.index
            let outcome = entry.hook._withUnsafeGuaranteedRef { hook in
                Result { () throws(HooktraceError) in try entry.type.invoke(hook, entry.method, context) }
            }
            try outcome.get()
        }
        inputs.afterCall(self)
    }

    /// A call a hook's work makes inside the current one (mmengine's
    /// `before_save_checkpoint`): no mode and batch index of its own, as a recording of a
    /// real run gives it; the counters are restored afterwards.
    fileprivate func nestedCall(_ stage: Stage) throws(HooktraceError) {
        let (mode, inner) = (counters.mode, counters.innerIter)
        counters.mode = .none
        counters.innerIter = 0
        defer {
            counters.mode = mode
            counters.innerIter = inner
        }
        try callHook(stage)
    }

    // MARK: Effects and observations

    package func emit(_ event: Event) throws(HooktraceError) {
        try sink.event(event)
    }

    /// A norm the recording keeps outside the step's observations (a real run's optimizer
    /// step effect at the current call), when the run clips gradients.
    fileprivate func recordedGradNorm() -> Double? {
        observesGradNorm ? inputs.stepGradNorm(self) : nil
    }

    // MARK: The step

    fileprivate func step(train: Bool) throws(HooktraceError) {
        try inputs.step(train: train, self, into: &stepObservations)
        counters.numSamples = 1
        counters.gradNorm = nil
        // By index: withUnsafeBufferPointer (or a for-in loop) retained the array per step.
        for i in stepObservations.indices where stepObservations[i].kind == .numSamples {
            if let n = stepObservations[i].int { counters.numSamples = Int(n) }
        }
        // The sink takes the step's observations in one call (its per-observation code then
        // inlines into its own loop).
        try stepObservations.withUnsafeBufferPointer { (all) throws(HooktraceError) in try sink.observe(all, symbols: symbols) }
        if context.keepsStepOutputs {
            context.stepOutputs.removeAll(keepingCapacity: true)
            for o in stepObservations {
                guard let v = o.number else { continue }
                if o.kind == .logVar {
                    context.stepOutputs.append((o.name, v))
                } else if o.name == SymbolTable.gradNorm {
                    // mmengine's OptimWrapper logs the clipped norm during the step.
                    if gradNormSlot < 0 { gradNormSlot = context.messageHub.slot("train/grad_norm") }
                    context.messageHub.update(slot: gradNormSlot, v)
                }
            }
        }
        for i in stepObservations.indices {
            let o = stepObservations[i]
            switch o.kind {
            case .logVar:
                if let v = o.number { context.logBuffer.update(o.name, v, count: counters.numSamples) }
            case .other where o.name == SymbolTable.gradNorm:
                counters.gradNorm = o.number
            default:
                break
            }
        }
        if train && counters.gradNorm == nil && observesGradNorm && stepUpdates, let norm = inputs.stepGradNorm(self) {
            counters.gradNorm = norm
            if context.keepsStepOutputs {
                if gradNormSlot < 0 { gradNormSlot = context.messageHub.slot("train/grad_norm") }
                context.messageHub.update(slot: gradNormSlot, norm)
            }
        }
    }

    // MARK: Run loops

    /// Runs the workflow to the end, emitting `run_start` first and `run_end` last.
    package func run(runStart: RunStart) throws(HooktraceError) {
        inputs.start(self)
        try emit(.runStart(runStart))
        for text in configWarnings where context.warned.insert(text).inserted {
            context.warnings.append("config: \(text)")
            try emit(.effect(Effect(hook: "config", .note(text))))
        }
        for (i, entry) in hooks.enumerated() {
            for text in (entry.hook as? any IgnoresSettings)?.ignoredSettings ?? [] { try acting(as: i) { c throws(HooktraceError) in try c.warn(text) } }
        }
        for (i, entry) in hooks.enumerated() {
            guard let passive = entry.hook as? PassiveHook, !passive.isKnown else { continue }
            try acting(as: i) { c throws(HooktraceError) in try c.warn(passive.isLogger
                ? "logger type \(entry.hook.type) is not known to hooktrace (programs register their own through custom_imports); kept as a passive logger (called in order, its records are not simulated)"
                : "hook type \(entry.hook.type) is not simulated; kept as a passive hook (called in order, no effects)") }
        }
        do {
            try dialect.run(Loop(runner: self))
        } catch let stop where stop.code == Self.stoppedCode {
            // `launch.stop_at`: the run ends here as a crash would, with the trace kept.
            stoppedBy = stop.message
            try emit(.runEnd(RunEnd(status: .failed, exitCode: 1, message: stop.message)))
            return
        }
        try emit(.runEnd(RunEnd(status: .completed)))
    }

    /// The counters a resumed run starts from (``Simulator/resume(_:from:config:)``).
    package func restoreCounters(epoch: Int, iter: Int, innerIter: Int?) {
        context.counters.epoch = epoch
        context.counters.iter = iter
        if let innerIter { context.counters.innerIter = innerIter }
    }

    /// `launch.stop_at`'s end of a run (not a failure of the simulation).
    static let stoppedCode = HooktraceError.Code.stopped
    /// Why the run ended early (`launch.stop_at`), or nil.
    package private(set) var stoppedBy: String?
    /// Where a simulated crash ends the run (`launch.stop_at`).
    package var stopAt: Launch.StopAt?
    /// mmengine's resume still to load after `after_load_checkpoint`
    /// (``Loop/loadResumedState()``): the train loop's epoch and iteration, and the
    /// optimizers as the checkpoint holds them.
    package var pendingResume: (epoch: Int, iter: Int, optimizers: [OptimizerState])?
    /// A resume's simulation of the interrupted run: the save (its file name, and which save
    /// of that name) where the run is stopped, its state being the checkpoint's.
    package var captureSave: (name: String, occurrence: Int)?
    var savesSeen: [String: Int] = [:]
}

/// What a dialect's loops do to a run (``Dialect/run(_:)``): move the counters, make the
/// calls and the steps, let time pass. Only the runner makes one, for its dialect; hooks
/// get a ``HookContext``, which cannot do any of this.
package struct Loop {
    fileprivate let runner: Runner

    package var kind: Runner.Kind { runner.kind }
    package var workflow: [WorkflowPhase] { runner.workflow }
    package var loaders: [LoaderLength] { runner.loaders }
    /// The train loader never runs out (an infinite sampler).
    package var trainInfinite: Bool { runner.trainInfinite }
    /// Whether the run resumes from an mmengine checkpoint (its state still to load).
    package var resuming: Bool { runner.pendingResume != nil }
    package var maxEpochs: Int? {
        get { runner.context.counters.maxEpochs }
        nonmutating set { runner.context.counters.maxEpochs = newValue }
    }

    /// `len(data_loader)` of the loader of `mode` (0 when the run has none).
    package func loaderLength(_ mode: String) -> Int {
        runner.loaders.first(where: { $0.mode == mode })?.length ?? 0
    }

    // The counters the hooks read, as the framework's runner and loops set them.
    package var epoch: Int {
        get { runner.context.counters.epoch }
        nonmutating set { runner.context.counters.epoch = newValue }
    }
    package var iter: Int {
        get { runner.context.counters.iter }
        nonmutating set { runner.context.counters.iter = newValue }
    }
    package var innerIter: Int {
        get { runner.context.counters.innerIter }
        nonmutating set { runner.context.counters.innerIter = newValue }
    }
    package var mode: Mode {
        get { runner.context.counters.mode }
        nonmutating set { runner.context.counters.mode = newValue }
    }
    package var maxIters: Int? {
        get { runner.context.counters.maxIters }
        nonmutating set { runner.context.counters.maxIters = newValue }
    }
    package var dataLoaderLength: Int? {
        get { runner.context.counters.dataLoaderLength }
        nonmutating set { runner.context.counters.dataLoaderLength = newValue }
    }

    /// `call_hook(stage)`.
    @inline(__always)
    package func call(_ stage: Stage) throws(HooktraceError) {
        try runner.callHook(stage)
    }

    /// One training or validation step: its observations recorded and logged.
    @inline(__always)
    package func step(train: Bool) throws(HooktraceError) {
        try runner.step(train: train)
    }

    /// Whether a hook asked the train loop to stop (``HookContext/stopTraining``).
    package var stopTraining: Bool { runner.context.stopTraining }

    /// `launch.stop_at`: ends the run (as a crash there) once `epochs` train epochs or
    /// `iters` train iterations are done, at the first call of the next one.
    @inline(__always)
    package func crashPoint(epochs: Int? = nil, iters: Int? = nil) throws(HooktraceError) {
        guard let stop = runner.stopAt else { return }
        let reached: Bool
        switch stop {
        case .epoch(let e): reached = epochs.map { $0 >= e } ?? false
        case .iter(let i): reached = iters.map { $0 >= i } ?? false
        }
        if reached {
            throw HooktraceError(Runner.stoppedCode, "stopped after \(stop) by --stop-at, as a crash would stop it there")
        }
    }

    /// Whether the next training step updates the parameters (mmengine's OptimWrapper
    /// with gradient accumulation): a grad norm is observed only then.
    package var stepUpdates: Bool {
        get { runner.stepUpdates }
        nonmutating set { runner.stepUpdates = newValue }
    }

    /// The run's simulation settings (seed, per-wrapper update intervals, …).
    package var simulation: Simulation { runner.simulationModel }

    /// The grad norm the last step observed, if any.
    package var gradNorm: Double? { runner.context.counters.gradNorm }

    /// mmengine's `Runner.resume` loading the checkpoint: the train loop's counters, then
    /// the optimizer's state dict (each group's values become the checkpoint's; an lr or
    /// momentum that changes is an effect of `Runner.resume`).
    package func loadResumedState() throws(HooktraceError) {
        guard let (epoch, iter, saved) = runner.pendingResume else { return }
        runner.pendingResume = nil
        runner.restoreCounters(epoch: epoch, iter: iter, innerIter: nil)
        let context = runner.context
        let symbol = context.symbols.intern("Runner.resume")
        for (o, theirs) in saved.enumerated() where o < context.optimizers.count && context.optimizers[o].groups.count == theirs.groups.count {
            for g in theirs.groups.indices {
                let before = context.optimizers[o].groups[g]
                context.optimizers[o].groups[g] = theirs.groups[g]
                let after = theirs.groups[g]
                if before.lr != after.lr {
                    try context.sink.effect(hook: symbol, action: .setLR(optimizer: theirs.name, group: g, value: after.lr), symbols: context.symbols)
                }
                if let m = after.currentMomentum, before.currentMomentum != m {
                    try context.sink.effect(hook: symbol, action: .setMomentum(optimizer: theirs.name, group: g, value: m), symbols: context.symbols)
                }
            }
            // The wrapper's base_param_settings (the base_lr a log record shows) is in its
            // state dict too.
            context.optimizers[o].baseGroup = theirs.baseGroup
        }
    }

    /// An effect of the optimizer wrapper (not a hook: mmengine's train step calls it).
    package func wrapperEffect(_ action: EffectAction) throws(HooktraceError) {
        let context = runner.context
        if runner.wrapperSymbol == nil { runner.wrapperSymbol = context.symbols.intern("OptimWrapper") }
        try context.sink.effect(hook: runner.wrapperSymbol!, action: action, symbols: context.symbols)
    }

    /// Time passing between calls.
    @inline(__always)
    package func pass(_ passage: Passage) {
        runner.inputs.pass(passage, runner)
    }

    /// An evaluator's metrics at the end of a validation: recorded as metric observations
    /// (of the call in progress, as a recording of a real run has them) and handed to the
    /// hooks of the calls that follow (``HookContext/validationMetrics``).
    package func evaluate(batches: Int) throws(HooktraceError) {
        let metrics = try runner.inputs.metrics(runner)
        for (name, value) in metrics {
            try runner.context.observe(Observation(kind: .metric, name: name, value: value))
        }
        runner.inputs.hookWork(.evaluation(batches: batches), runner)
        runner.context.validationMetrics = metrics
    }
}

/// Which hook methods run for each stage, in order: the hooks unretained (the runner's
/// `hooks` own them for as long as the runner exists) with their types, which call them.
///
/// Calling through a strong `any Hook` loaded from an array cost an atomic retain and
/// release around every hook call, and one more for the stage's array: over a third of a
/// simulation's time. The entries are plain values in memory this table owns.
private struct DispatchTable: ~Copyable {
    struct Entry: BitwiseCopyable {
        let hook: Unmanaged<AnyObject>
        let type: any Hook.Type
        /// The hook's position in the runner's list.
        let index: Int
        /// The method that runs: the stage's own or its generic one.
        let method: Stage
    }

    private let storage: UnsafeMutableBufferPointer<Entry>
    /// Where each stage's entries start in `storage` (by `Stage.index`), and the end.
    private let starts: [Int]

    init(_ hooks: [RegisteredHook]) {
        var entries: [Entry] = []
        var starts: [Int] = []
        for stage in Stage.allCases {
            starts.append(entries.count)
            for (i, registered) in hooks.enumerated() {
                guard let method = registered.hook.method(for: stage) else { continue }
                entries.append(Entry(hook: .passUnretained(registered.hook), type: type(of: registered.hook), index: i, method: method))
            }
        }
        starts.append(entries.count)
        storage = .allocate(capacity: max(entries.count, 1))
        _ = storage.initialize(from: entries)
        self.starts = starts
    }

    deinit { storage.deallocate() }

    /// The entries of `stage`; valid while the table exists.
    @inline(__always)
    func entries(for stage: Stage) -> UnsafeBufferPointer<Entry> {
        let i = stage.index
        return UnsafeBufferPointer(rebasing: storage[starts[i]..<starts[i + 1]])
    }
}
