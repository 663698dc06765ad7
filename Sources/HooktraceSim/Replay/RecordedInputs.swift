import HooktraceFormat

/// Inputs read back from a recorded trace: call times and step observations as they were
/// recorded, streamed call by call (memory does not grow with the trace).
///
/// Each call the replayed runner makes is checked against the recording; a mismatch means
/// the hook set changed something the runner depends on, and stops the replay with the
/// call that diverged.
package final class RecordedInputs: RunInputs {
    private let groups: CallGroupReader
    private var reader: TraceReader { groups.reader }
    /// The damage that ended the recording early, if any.
    package var damage: HooktraceError? { groups.damage }
    /// The recorded group of the call in progress (the last one `callTime` matched): what
    /// the step and an evaluation read, and what an inline comparison pairs the replayed
    /// call with. A handle without reference counting, valid until two more calls have
    /// been read (``CallGroupReader/nextRef()``): the comparison still reads it while the
    /// next call starts.
    @exclusivity(unchecked) package private(set) var currentRef: GroupRef?
    /// A group read for a call the replay did not make (it diverged there), for a
    /// comparison to count as unmatched.
    @exclusivity(unchecked) package private(set) var unmatched: CallGroup?
    /// The runner's symbol of each name id of the recording met so far; reset when a run
    /// starts.
    @exclusivity(unchecked) private var recordedNames = RecordedNameSymbols()
    /// Calls replayed so far.
    @exclusivity(unchecked) package private(set) var calls = 0
    /// Where the replayed hooks stopped the training (mmengine's stop_training) while the
    /// recording went on; the replay ends there.
    package private(set) var stoppedByHooks: (epoch: Int, iter: Int)?
    /// Where metrics come from when the recording has none at an evaluation: the
    /// simulation for simulated recordings, nothing for real ones.
    private let fallback: SimulatedInputs?
    package private(set) var missingMetrics: [String] = []

    /// Called with the recording's prelude (its notes before the first call) when the
    /// replay reaches it.
    @exclusivity(unchecked) package var onPrelude: ((CallGroup) -> Void)?
    /// The reader of the recording's groups (to read what the replay did not reach).
    package var groupReader: CallGroupReader { groups }

    package init(reader: TraceReader, fallback: SimulatedInputs?) {
        groups = CallGroupReader(reader: reader)
        self.fallback = fallback
    }

    package func start(_ runner: Runner) {
        recordedNames.removeAll()
    }

    package func callTime(_ stage: Stage, _ runner: Runner) throws(HooktraceError) -> Int64 {
        var next = groups.nextRef()
        while let g = next, g.isPrelude {  // the prelude's notes
            if let onPrelude { onPrelude(g.retained) }
            next = groups.nextRef()
        }
        guard let ref = next else {
            if let damage {
                throw HooktraceError(.damaged, "replay stopped after \(calls) calls: the recording is damaged (\(damage.message))", file: reader.path, offset: damage.offset, block: damage.block)
            }
            throw HooktraceError(.truncated, "replay stopped after \(calls) calls: the recording ends there (it stopped early, or the runner wants more calls than it recorded) while the replayed run calls \(stage.rawValue) at epoch \(runner.epoch), iter \(runner.iter)", file: reader.path)
        }
        guard ref.isCall(stage, epoch: runner.epoch, iter: runner.iter, innerIter: runner.innerIter, mode: runner.mode) else {
            let recorded = ref.call!
            let mine = Call(stage: stage.rawValue, epoch: runner.epoch, iter: runner.iter, innerIter: runner.innerIter, mode: runner.mode, time: recorded.time)
            let sequence = ref.sequence
            unmatched = ref.retained
            if runner.context.stopTraining {
                // A replayed hook (EarlyStoppingHook) ended the training where the recording went on.
                stoppedByHooks = (runner.epoch, runner.iter)
                throw HooktraceError(.invalidInput, "the replayed hooks stopped the training at epoch \(runner.epoch), iter \(runner.iter) (see the stop effect), where the recording went on; a replay keeps the recorded calls, so it ends there: `hooktrace record` the config to see the stopped run whole", file: reader.path)
            }
            throw HooktraceError(.invalidInput, "replay diverged from the recording at call \(calls) (event \(sequence)): the recording has \(describe(recorded)), the replayed runner calls \(describe(mine)); the hooks changed something the runner depends on", file: reader.path)
        }
        calls += 1
        currentRef = ref
        return ref.time
    }

    private func describe(_ c: Call) -> String {
        "\(c.stage) (epoch \(c.epoch), iter \(c.iter), inner_iter \(c.innerIter), mode \(c.mode))"
    }

    package func afterCall(_ runner: Runner) {}

    package func pass(_ passage: Passage, _ runner: Runner) {}

    package func step(train: Bool, _ runner: Runner, into observations: inout [StepObservation]) throws(HooktraceError) {
        // The step's observations were recorded after its before_*_iter call: the current one.
        let view = currentRef?.observationView ?? ObservationView()
        view.stepObservations(into: &observations, names: &recordedNames, symbols: runner.context.symbols)
    }

    /// A real mmengine run's clipped norm: in its wrapper's optimizer_step effect (the
    /// recorder reads it there), where a simulation also observes it.
    package func stepGradNorm(_ runner: Runner) -> Double? {
        guard fallback == nil, let ref = currentRef else { return nil }
        for e in ref.effects {
            if case .optimizerStep(_, true, let norm?) = e.action { return norm }
        }
        return nil
    }

    package func metrics(_ runner: Runner) throws(HooktraceError) -> [(String, Scalar)] {
        let recorded = (currentRef?.retained.observations ?? []).filter { $0.kind == .metric }.map { ($0.name, $0.value) }
        if !recorded.isEmpty { return recorded }
        if let fallback { return try fallback.metrics(runner) }
        missingMetrics.append("epoch \(runner.epoch), iter \(runner.iter)")
        return []
    }

    package func hookWork(_ work: HookWork, _ runner: Runner) {}
}
