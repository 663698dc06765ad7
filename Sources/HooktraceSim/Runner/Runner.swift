import HooktraceFormat

/// A simulated mmcv 1.x runner: EpochBasedRunner or IterBasedRunner.
///
/// It drives `call_hook` with exactly the counters mmcv's runners have at each call
/// (docs: the behavioural spec, sections 1 and 8), feeds hooks seeded observations in
/// place of a model, and writes every call, observation and effect to its event sink.
/// Time is simulated: a clock in nanoseconds advanced by the simulation's models and by
/// mmcv's own sleeps (2 s after each epoch start and loader wrap, 1 s before `after_run`).
package final class Runner {
    package enum Kind: String, Sendable, CaseIterable {
        case epochBased = "EpochBasedRunner"
        case iterBased = "IterBasedRunner"
    }

    /// `runner.meta['hook_msgs']`.
    package struct HookMessages: Sendable {
        package var lastCheckpoint: String?
        package var bestScore: Double?
        package var bestCheckpoint: String?
    }

    package let kind: Kind
    @exclusivity(unchecked) package internal(set) var epoch = 0
    @exclusivity(unchecked) package internal(set) var iter = 0
    @exclusivity(unchecked) package internal(set) var innerIter = 0
    @exclusivity(unchecked) package internal(set) var mode: Mode = .none
    package internal(set) var maxEpochs: Int?
    @exclusivity(unchecked) package internal(set) var maxIters: Int?
    /// `len(runner.data_loader)`; nil before the first train or val call.
    @exclusivity(unchecked) package internal(set) var dataLoaderLength: Int?
    @exclusivity(unchecked) package var optimizers: [OptimizerState]
    /// Whether `runner.optimizer` is a dict of named optimizers.
    package let isDictOptimizer: Bool
    @exclusivity(unchecked) package var logBuffer = LogBuffer()
    @exclusivity(unchecked) package var hookMessages = HookMessages()
    @exclusivity(unchecked) package var files = VirtualFiles()
    package let workDir: String
    /// `runner.meta['exp_name']`.
    package let experimentName: String
    @exclusivity(unchecked) package private(set) var clock: Int64 = 0
    @exclusivity(unchecked) package private(set) var hooks: [RegisteredHook] = [] {
        didSet { dispatch = nil }
    }
    // The hot state is `@exclusivity(unchecked)`: the runner is single-threaded and hooks
    // reach it only through the runner, so the dynamic exclusivity checks (a quarter of
    // the simulation's time) buy nothing here.
    /// Per stage (by `Stage` index), the hooks that act on it and the method each runs.
    @exclusivity(unchecked) private var dispatch: [[(hook: any Hook, method: Stage)]]?
    package let workflow: [WorkflowPhase]
    package let loaders: [LoaderLength]
    /// The current step's outputs (`runner.outputs`).
    @exclusivity(unchecked) package private(set) var outputs: [(name: String, value: Double)] = []
    @exclusivity(unchecked) package private(set) var numSamples = 0
    /// The last observed gradient norm (what `clip_grad_norm_` returns).
    @exclusivity(unchecked) package private(set) var gradNorm: Double?
    /// Whether any hook needs gradient norms (clipping configured).
    package var observesGradNorm = false

    /// Where observations and time come from.
    package let inputs: any RunInputs
    /// The simulation model of the run's config (seed, metric names).
    package let simulationModel: Simulation
    private let sink: (Event) throws(HooktraceError) -> Void
    private var warned: Set<String> = []
    package private(set) var warnings: [String] = []
    /// Warnings about the config as a whole (not one hook's settings), emitted at the run's start.
    package var configWarnings: [String] = []
    /// Things the user should know that do not change the run (keys mmcv itself ignores).
    package var configNotes: [String] = []

    package init(kind: Kind, maxEpochs: Int?, maxIters: Int?, workflow: [WorkflowPhase], loaders: [LoaderLength],
                optimizers: [OptimizerState], isDictOptimizer: Bool, workDir: String, experimentName: String,
                simulation: Simulation, inputs: (any RunInputs)? = nil, sink: @escaping (Event) throws(HooktraceError) -> Void) {
        self.kind = kind
        self.maxEpochs = maxEpochs
        self.maxIters = maxIters
        self.workflow = workflow
        self.loaders = loaders
        self.optimizers = optimizers
        self.isDictOptimizer = isDictOptimizer
        self.workDir = workDir
        self.experimentName = experimentName
        self.simulationModel = simulation
        self.inputs = inputs ?? SimulatedInputs(simulation)
        self.sink = sink
    }

    // MARK: Hooks

    /// `register_hook`: inserts after the last hook whose priority is ≤ `priority`.
    package func register(_ hook: any Hook, priority: Int) {
        var count = 1
        for h in hooks where h.hook.type == hook.type { count += 1 }
        let name = HookInfo.uniqueName(hook.type, count: count)
        var index = 0
        for i in stride(from: hooks.count - 1, through: 0, by: -1) where hooks[i].priority <= priority {
            index = i + 1
            break
        }
        hooks.insert(RegisteredHook(hook: hook, name: name, priority: priority), at: index)
    }

    /// The registered name of `hook` (its type, or `Type#n` for repeats).
    package func name(of hook: any Hook) -> String {
        hooks.first(where: { $0.hook === hook })?.name ?? hook.type
    }

    /// `call_hook(stage)`: records the call, then runs every hook's method for it in order.
    package func callHook(_ stage: Stage) throws(HooktraceError) {
        clock = try inputs.callTime(stage, self)
        try emit(.call(Call(stage: stage.rawValue, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: clock)))
        if dispatch == nil {
            dispatch = Stage.allCases.map { stage in
                hooks.compactMap { entry in entry.hook.method(for: stage).map { (entry.hook, $0) } }
            }
        }
        // One retain of the stage's list for the loop, none per entry.
        let entries = dispatch.unsafelyUnwrapped[stage.index]
        try entries.withUnsafeBufferPointer { (list) throws(HooktraceError) in
            for i in list.indices {
                try list[i].hook.call(list[i].method, self)
            }
        }
        inputs.afterCall(self)
    }

    // MARK: Effects and observations

    package func emit(_ event: Event) throws(HooktraceError) {
        try sink(event)
    }

    /// Records an effect of `hook`.
    package func effect(_ hook: any Hook, _ action: EffectAction) throws(HooktraceError) {
        try emit(.effect(Effect(hook: name(of: hook), action)))
    }

    /// A warning, reported once per text as a note effect of `hook`.
    package func warn(_ hook: any Hook, _ text: String) throws(HooktraceError) {
        guard warned.insert(text).inserted else { return }
        warnings.append("\(name(of: hook)): \(text)")
        try effect(hook, .note(text))
    }

    /// Time a hook spends inside the current call (saving a checkpoint, evaluating).
    package func work(_ work: HookWork) {
        inputs.hookWork(work, self)
    }

    /// Metrics an evaluation at the current call reports, in order.
    func evaluateMetrics() throws(HooktraceError) -> [(String, Scalar)] {
        try inputs.metrics(self)
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

    // MARK: The step

    private func step(train: Bool) throws(HooktraceError) {
        let observations = try inputs.step(train: train, self)
        // The same keys every step: overwrite in place (removeAll(keepingCapacity:) was a
        // generic replaceSubrange costing more than the step's other bookkeeping).
        var outputCount = 0
        numSamples = 1
        gradNorm = nil
        // Read through the buffer: a `for o in observations` loop copied each observation
        // (and retained and released its strings) once more per pass.
        try observations.withUnsafeBufferPointer { (buffer) throws(HooktraceError) in
            for i in buffer.indices where buffer[i].kind == .numSamples {
                if case .int(let n) = buffer[i].value { numSamples = Int(n) }
            }
            for i in buffer.indices {
                try emit(.observe(buffer[i]))
                switch buffer[i].kind {
                case .logVar:
                    if let v = buffer[i].value.number {
                        if outputCount < outputs.count {
                            // Usually the same key as last step: only the value changes.
                            if outputs[outputCount].name == buffer[i].name {
                                outputs[outputCount].value = v
                            } else {
                                outputs[outputCount] = (buffer[i].name, v)
                            }
                        } else {
                            outputs.append((buffer[i].name, v))
                        }
                        outputCount += 1
                        logBuffer.update(buffer[i].name, v, count: numSamples)
                    }
                case .other where buffer[i].name == "grad_norm":
                    gradNorm = buffer[i].value.number
                default:
                    break
                }
            }
        }
        if outputCount < outputs.count { outputs.removeLast(outputs.count - outputCount) }
    }

    // MARK: Run loops

    /// Runs the workflow to the end, emitting `run_start` first and `run_end` last.
    package func run(runStart: RunStart) throws(HooktraceError) {
        try emit(.runStart(runStart))
        for text in configWarnings where warned.insert(text).inserted {
            warnings.append("config: \(text)")
            try emit(.effect(Effect(hook: "config", .note(text))))
        }
        for entry in hooks {
            for text in (entry.hook as? any IgnoresSettings)?.ignoredSettings ?? [] { try warn(entry.hook, text) }
        }
        for entry in hooks {
            guard let passive = entry.hook as? PassiveHook, !passive.isKnown else { continue }
            try warn(entry.hook, passive.isLogger
                ? "logger type \(entry.hook.type) is not known to hooktrace (programs register their own through custom_imports); kept as a passive logger (called in order, its records are not simulated)"
                : "hook type \(entry.hook.type) is not simulated; kept as a passive hook (called in order, no effects)")
        }
        switch kind {
        case .epochBased: try runEpochBased()
        case .iterBased: try runIterBased()
        }
        try emit(.runEnd(RunEnd(status: .completed)))
    }

    /// `runner.max_iters` as the run will see it from before_run on (an EpochBasedRunner's is
    /// max_epochs × the train loader's length, set when the run starts).
    var plannedMaxIters: Int? {
        guard kind == .epochBased else { return maxIters }
        guard let maxEpochs, let i = workflow.firstIndex(where: { $0.mode == "train" }) else { return maxIters }
        return maxEpochs * loaderLength(i)
    }

    private func loaderLength(_ phase: Int) -> Int {
        let mode = workflow[phase].mode
        return loaders.first(where: { $0.mode == mode })?.length ?? 0
    }

    private func runEpochBased() throws(HooktraceError) {
        guard let maxEpochs else { throw HooktraceError(.invalidInput, "EpochBasedRunner needs runner.max_epochs") }
        if let i = workflow.firstIndex(where: { $0.mode == "train" }) { maxIters = maxEpochs * loaderLength(i) }
        try callHook(.beforeRun)
        while epoch < maxEpochs {
            for (i, phase) in workflow.enumerated() {
                for _ in 0..<phase.count {
                    if phase.mode == "train" && epoch >= maxEpochs { break }
                    if phase.mode == "train" {
                        try trainEpoch(length: loaderLength(i))
                    } else {
                        try valEpoch(length: loaderLength(i))
                    }
                }
            }
        }
        inputs.pass(.sleep(1_000_000_000), self)
        try callHook(.afterRun)
    }

    private func trainEpoch(length: Int) throws(HooktraceError) {
        mode = .train
        dataLoaderLength = length
        maxIters = (maxEpochs ?? 0) * length
        try callHook(.beforeTrainEpoch)
        inputs.pass(.sleep(2_000_000_000), self)
        for i in 0..<length {
            inputs.pass(.dataLoad, self)
            innerIter = i
            try callHook(.beforeTrainIter)
            try step(train: true)
            try callHook(.afterTrainIter)
            iter += 1
        }
        try callHook(.afterTrainEpoch)
        epoch += 1
    }

    private func valEpoch(length: Int) throws(HooktraceError) {
        mode = .val
        dataLoaderLength = length
        try callHook(.beforeValEpoch)
        inputs.pass(.sleep(2_000_000_000), self)
        for i in 0..<length {
            inputs.pass(.dataLoad, self)
            innerIter = i
            try callHook(.beforeValIter)
            try step(train: false)
            try callHook(.afterValIter)
        }
        try callHook(.afterValEpoch)
    }

    /// mmcv's `IterLoader`: wraps around its data loader, counting epochs.
    private struct IterLoader {
        let length: Int
        var position = 0
        var epoch = 0
    }

    private func next(_ loader: inout IterLoader) {
        if loader.position >= loader.length {
            loader.epoch += 1
            inputs.pass(.sleep(2_000_000_000), self)
            loader.position = 0
        }
        loader.position += 1
        inputs.pass(.dataLoad, self)
    }

    private func runIterBased() throws(HooktraceError) {
        guard let maxIters else { throw HooktraceError(.invalidInput, "IterBasedRunner needs runner.max_iters") }
        try callHook(.beforeRun)
        var iterLoaders = workflow.indices.map { IterLoader(length: loaderLength($0)) }
        try callHook(.beforeEpoch)
        while iter < maxIters {
            for (i, phase) in workflow.enumerated() {
                innerIter = 0
                for _ in 0..<phase.count {
                    if phase.mode == "train" && iter >= maxIters { break }
                    if phase.mode == "train" {
                        mode = .train
                        dataLoaderLength = iterLoaders[i].length
                        epoch = iterLoaders[i].epoch
                        next(&iterLoaders[i])
                        try callHook(.beforeTrainIter)
                        try step(train: true)
                        try callHook(.afterTrainIter)
                        innerIter += 1
                        iter += 1
                    } else {
                        mode = .val
                        dataLoaderLength = iterLoaders[i].length
                        next(&iterLoaders[i])
                        try callHook(.beforeValIter)
                        try step(train: false)
                        try callHook(.afterValIter)
                        innerIter += 1
                    }
                }
            }
        }
        inputs.pass(.sleep(1_000_000_000), self)
        try callHook(.afterEpoch)
        try callHook(.afterRun)
    }
}
