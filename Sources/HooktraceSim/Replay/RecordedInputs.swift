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
    /// Observations of the current step (recorded after its before_*_iter call), and of
    /// the current call when it is another; each array is reused from call to call.
    /// (Single-threaded state touched at every call: no dynamic exclusivity checks.)
    @exclusivity(unchecked) private var stepGroup: [Observation] = []
    @exclusivity(unchecked) private var stepShape: [UInt64] = []
    @exclusivity(unchecked) private var stepHasMetrics = false
    @exclusivity(unchecked) private var otherGroup: [Observation] = []
    @exclusivity(unchecked) private var otherShape: [UInt64] = []
    @exclusivity(unchecked) private var currentIsStep = false
    /// Observations recorded after the current call.
    private var group: [Observation] { currentIsStep ? stepGroup : otherGroup }
    /// Calls replayed so far.
    @exclusivity(unchecked) package private(set) var calls = 0
    /// Where metrics come from when the recording has none at an evaluation: the
    /// simulation for simulated recordings, nothing for real ones.
    private let fallback: SimulatedInputs?
    package private(set) var missingMetrics: [String] = []

    /// Called with every recorded group as the replay reaches it (preludes included), before
    /// the replayed runner makes that call: what an inline comparison pairs the replay with.
    @exclusivity(unchecked) package var onGroup: ((CallGroup) -> Void)?
    /// The reader of the recording's groups (to read what the replay did not reach).
    package var groupReader: CallGroupReader { groups }

    package init(reader: TraceReader, fallback: SimulatedInputs?) {
        groups = CallGroupReader(reader: reader)
        self.fallback = fallback
    }

    package func callTime(_ stage: Stage, _ runner: Runner) throws(HooktraceError) -> Int64 {
        var next = groups.next()
        while let g = next, g.isPrelude {  // the prelude's notes
            onGroup?(g)
            next = groups.next()
        }
        if let g = next { onGroup?(g) }
        guard let g = next, !g.isPrelude else {
            if let damage {
                throw HooktraceError(.damaged, "replay stopped after \(calls) calls: the recording is damaged (\(damage.message))", file: reader.path, offset: damage.offset, block: damage.block)
            }
            throw HooktraceError(.truncated, "replay stopped after \(calls) calls: the recording ends there (it stopped early, or the runner wants more calls than it recorded) while the replayed run calls \(stage.rawValue) at epoch \(runner.epoch), iter \(runner.iter)", file: reader.path)
        }
        guard g.isCall(stage, epoch: runner.epoch, iter: runner.iter, innerIter: runner.innerIter, mode: runner.mode) else {
            let recorded = g.call!
            let mine = Call(stage: stage.rawValue, epoch: runner.epoch, iter: runner.iter, innerIter: runner.innerIter, mode: runner.mode, time: recorded.time)
            throw HooktraceError(.invalidInput, "replay diverged from the recording at call \(calls) (event \(g.sequence)): the recording has \(describe(recorded)), the replayed runner calls \(describe(mine)); the hooks changed something the runner depends on", file: reader.path)
        }
        calls += 1
        currentIsStep = stage == .beforeTrainIter || stage == .beforeValIter
        if currentIsStep {
            g.observations(into: &stepGroup, shape: &stepShape)
            stepHasMetrics = g.hasMetrics
        } else if g.hasObservations || !otherGroup.isEmpty {
            g.observations(into: &otherGroup, shape: &otherShape)
        }
        return g.time
    }

    private func describe(_ c: Call) -> String {
        "\(c.stage) (epoch \(c.epoch), iter \(c.iter), inner_iter \(c.innerIter), mode \(c.mode))"
    }

    package func afterCall(_ runner: Runner) {}

    package func pass(_ passage: Passage, _ runner: Runner) {}

    package func step(train: Bool, _ runner: Runner) throws(HooktraceError) -> [Observation] {
        stepHasMetrics ? stepGroup.filter { $0.kind != .metric } : stepGroup
    }

    package func metrics(_ runner: Runner) throws(HooktraceError) -> [(String, Scalar)] {
        let recorded = group.filter { $0.kind == .metric }.map { ($0.name, $0.value) }
        if !recorded.isEmpty { return recorded }
        if let fallback { return try fallback.metrics(runner) }
        missingMetrics.append("epoch \(runner.epoch), iter \(runner.iter)")
        return []
    }

    package func hookWork(_ work: HookWork, _ runner: Runner) {}
}
