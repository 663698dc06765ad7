/// Inputs read back from a recorded trace: call times and step observations as they were
/// recorded, streamed call by call (memory does not grow with the trace).
///
/// Each call the replayed runner makes is checked against the recording; a mismatch means
/// the hook set changed something the runner depends on, and stops the replay with the
/// call that diverged.
public final class RecordedInputs: RunInputs {
    private let reader: TraceReader
    private var lookahead: TraceEntry?
    private var finished = false
    /// The damage that ended the recording early, if any.
    public private(set) var damage: HooktraceError?
    /// Observations recorded after the current call.
    private var group: [Observation] = []
    /// Observations of the current step (recorded after its before_*_iter call).
    private var stepGroup: [Observation] = []
    /// Calls replayed so far.
    public private(set) var calls = 0
    /// Where metrics come from when the recording has none at an evaluation: the
    /// simulation for simulated recordings, nothing for real ones.
    private let fallback: SimulatedInputs?
    public private(set) var missingMetrics: [String] = []

    public init(reader: TraceReader, fallback: SimulatedInputs?) {
        self.reader = reader
        self.fallback = fallback
    }

    private func read() -> TraceEntry? {
        guard !finished else { return nil }
        do {
            if let e = try reader.next() { return e }
        } catch {
            damage = error
        }
        finished = true
        return nil
    }

    public func callTime(_ stage: Stage, _ runner: Runner) throws(HooktraceError) -> Int64 {
        var entry = lookahead
        lookahead = nil
        while let e = entry, !isCall(e) { entry = read() }
        if entry == nil {
            repeat { entry = read() } while entry.map { !isCall($0) } ?? false
        }
        guard let e = entry, case .call(let recorded) = e.event else {
            if let damage {
                throw HooktraceError(.damaged, "replay stopped after \(calls) calls: the recording is damaged (\(damage.message))", file: reader.path, offset: damage.offset, block: damage.block)
            }
            throw HooktraceError(.truncated, "replay stopped after \(calls) calls: the recording ends there (it stopped early, or the runner wants more calls than it recorded) while the replayed run calls \(stage.rawValue) at epoch \(runner.epoch), iter \(runner.iter)", file: reader.path)
        }
        let mine = Call(stage: stage.rawValue, epoch: runner.epoch, iter: runner.iter, innerIter: runner.innerIter, mode: runner.mode, time: recorded.time)
        guard mine == recorded else {
            throw HooktraceError(.invalidInput, "replay diverged from the recording at call \(calls) (event \(e.sequence)): the recording has \(describe(recorded)), the replayed runner calls \(describe(mine)); the hooks changed something the runner depends on", file: reader.path)
        }
        calls += 1
        group.removeAll(keepingCapacity: true)
        while let next = read() {
            if isCall(next) {
                lookahead = next
                break
            }
            if case .observe(let o) = next.event { group.append(o) }
        }
        if stage == .beforeTrainIter || stage == .beforeValIter {
            stepGroup = group
        }
        return recorded.time
    }

    private func isCall(_ e: TraceEntry) -> Bool {
        if case .call = e.event { return true }
        return false
    }

    private func describe(_ c: Call) -> String {
        "\(c.stage) (epoch \(c.epoch), iter \(c.iter), inner_iter \(c.innerIter), mode \(c.mode))"
    }

    public func afterCall(_ runner: Runner) {}

    public func pass(_ passage: Passage, _ runner: Runner) {}

    public func step(train: Bool, _ runner: Runner) throws(HooktraceError) -> [Observation] {
        stepGroup.filter { $0.kind != .metric }
    }

    public func metrics(_ runner: Runner) throws(HooktraceError) -> [(String, Double)] {
        let recorded = group.filter { $0.kind == .metric }.compactMap { o in o.value.number.map { (o.name, $0) } }
        if !recorded.isEmpty { return recorded }
        if let fallback { return try fallback.metrics(runner) }
        missingMetrics.append("epoch \(runner.epoch), iter \(runner.iter)")
        return []
    }

    public func hookWork(_ work: HookWork, _ runner: Runner) {}
}
