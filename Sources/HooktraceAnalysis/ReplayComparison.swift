import HooktraceFormat
import HooktraceSim

/// Compares a replay with its recording while it runs: each replayed call is paired with
/// the recorded call the replay's inputs came from, and the two are compared as `diff`
/// compares two traces' calls. The replay is never written and read back for its report
/// (`-o` still writes it), and the recording is read once.
///
/// Feed it the recording's start and inputs (``prepare(start:inputs:)``, through
/// `Replayer.replay(prepare:)`), make it the replay's ``RunSink``, then take the result
/// (``finish()``): the same ``TraceDiff`` as `TraceDiff.compare(recording, replay)`.
package final class ReplayComparison {
    // Touched at every replayed event, on one thread, and private: no dynamic exclusivity
    // checks (they were a sixth of the replay's instructions).
    @exclusivity(unchecked) private var engine: Engine
    private var inputs: RecordedInputs?
    /// Whether the replay ended because its hooks stopped the training early.
    package var stoppedByHooks: Bool { inputs?.stoppedByHooks != nil }
    /// The recording's prelude effects (notes before the first call).
    @exclusivity(unchecked) private var recordedPrelude: [Effect] = []
    /// The recorded call of the replayed call in progress (the replay's inputs read it
    /// just before the runner made the call).
    /// (A handle without reference counting: the inputs hold the group while it is compared.)
    @exclusivity(unchecked) private var recordedCurrent: GroupRef?
    /// The replayed group in progress: nil call for the prelude.
    @exclusivity(unchecked) private var open = false
    /// The replayed call in progress, as the runner gave it (the `Call` value with its
    /// stage's name is built only for a call with effects).
    @exclusivity(unchecked) private var call: RawCall?
    private struct RawCall {
        var stage: UInt32
        var epoch: Int, iter: Int, innerIter: Int
        var mode: Mode
        var time: Int64
    }
    /// The run's names (from the first record that brings them).
    private var symbols = SymbolTable()
    @exclusivity(unchecked) private var effects: [Effect] = []
    /// How many of the replayed call's effects so far equal the recorded call's, in order,
    /// while all of them do (then `effects` stays empty: the recorded ones stand for them).
    @exclusivity(unchecked) private var sameEffects = 0
    @exclusivity(unchecked) private var effectsDiffer = false
    /// The replayed group's observations so far, checked one by one against the recorded
    /// call's (which the replay's inputs came from).
    @exclusivity(unchecked) private var observationCount = 0
    @exclusivity(unchecked) private var observationsDiffer = false
    /// Events the replay produced.
    @exclusivity(unchecked) package private(set) var events: UInt64 = 0

    /// `recorded` is the recording's path (side A); `replay` names side B in the report.
    package init(recorded: String, replay: String, options: TraceDiff.Options) {
        engine = Engine(sides: recorded, replay, options)
    }

    /// Starts side A with the recording's run_start and follows the recorded groups the
    /// replay's inputs read.
    package func prepare(start: RunStart, inputs: RecordedInputs) {
        engine.start(start, a: true)
        self.inputs = inputs
        inputs.onPrelude = { [unowned self] g in recordedPrelude.append(contentsOf: g.effects) }
    }

    /// The run symbol of each recorded name id met so far.
    @exclusivity(unchecked) private var recordedNames = RecordedNameSymbols()

    /// The recorded call's observations as plain memory (kept alive by `recordedCurrent`).
    @exclusivity(unchecked) private var recordedObservations = ObservationView()

    private func startCall(_ raw: RawCall) {
        finishGroup()
        call = raw
        open = true
        recordedCurrent = inputs?.currentRef
        recordedObservations = recordedCurrent?.observationView ?? ObservationView()
    }

    /// Whether the recorded call's observation at the replay's position is this one.
    private func recordedHas(kind: ObservationKind, name: UInt32, value: ScalarBits) -> Bool {
        let view = recordedObservations, i = observationCount
        guard i < view.count, view.kind(i) == kind else { return false }
        let recorded = view.valueBits(i)
        guard recorded.tag == value.tag else { return false }
        // Numbers bit for bit; a string, like the key, as a symbol of the replay's table.
        if value.isString {
            guard recordedSymbol(UInt32(truncatingIfNeeded: recorded.bits)) == UInt32(truncatingIfNeeded: value.bits) else { return false }
        } else if recorded.bits != value.bits {
            return false
        }
        return recordedSymbol(view.key(i)) == name
    }

    /// The replay's symbol of one of the recording's name ids.
    private func recordedSymbol(_ id: UInt32) -> UInt32 {
        if let known = recordedNames.symbol(id) { return known }
        return recordedNames.remember(id, symbols.intern(recordedObservations.name(id)))
    }

    /// Leaves the fast path at the replayed call's first effect that differs from the
    /// recording's (or that comes as an event): the effects so far, which agreed, are the
    /// recorded call's prefix; from here on they are collected and compared as diff does.
    private func collectEffects() {
        guard !effectsDiffer else { return }
        effectsDiffer = true
        if call != nil, let recorded = recordedCurrent { effects.append(contentsOf: recorded.effects.prefix(sameEffects)) }
    }

    /// Compares the replayed group in progress with its recorded counterpart.
    private func finishGroup() {
        guard open else { return }
        let differ = observationsDiffer
        defer {
            effects.removeAll(keepingCapacity: true)
            observationCount = 0
            observationsDiffer = false
            sameEffects = 0
            effectsDiffer = false
            recordedCurrent = nil
            recordedObservations = ObservationView()
        }
        guard let call else {
            engine.compareEffects(EffectGroup(call: nil, effects: recordedPrelude[...]), EffectGroup(call: nil, effects: effects[...]))
            return
        }
        guard let recorded = recordedCurrent else { return }
        if recorded.cutShort {
            // Damage cut the recorded call short: counted, not compared (as diff does).
            engine.countCutShort()
            return
        }
        if differ || recorded.observationCount != observationCount { engine.observationsDiffer(at: recorded) }
        // The replay keeps the recorded call times, so a call without effects on either
        // side has nothing else to compare.
        if !effectsDiffer && sameEffects == recorded.effects.count {
            if sameEffects == 0 {
                engine.compareCallWithoutEffects(recorded)
            } else {
                engine.compareIdenticalEffects(recorded)
            }
            return
        }
        // The replay stopped short of the recording's effects, or differs from them.
        collectEffects()
        let replayed = Call(stage: symbols.name(call.stage), epoch: call.epoch, iter: call.iter, innerIter: call.innerIter,
                            mode: call.mode, time: call.time)
        engine.compareEffects(recorded, EffectGroup(call: replayed, effects: effects[...]))
    }

    /// The comparison, once the replay has ended (completed or not): recorded calls the
    /// replay did not reach count as differing, as in a diff of the two traces.
    package func finish() -> TraceDiff {
        finishGroup()
        open = false
        let groups = inputs?.groupReader
        var first = true
        var unmatched = inputs?.unmatched
        while let g = unmatched ?? groups?.next() {
            unmatched = nil
            engine.unmatched(g, ofA: true, first: first)
            first = false
        }
        engine.finish(eventsA: groups?.reader.nextSequence ?? 0, eventsB: events, damageA: groups?.damage, damageB: nil)
        return engine.diff
    }
}

/// The replay's records come straight from the runner, names as symbols: observations are
/// checked against the recording's with integer compares, and only effects (which the
/// diff reports) are built as values.
extension ReplayComparison: RunSink {
    package func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        if self.symbols !== symbols { self.symbols = symbols }
        events += 1
        startCall(RawCall(stage: stage, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time))
    }

    package func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) {
        events += 1
        if !observationsDiffer && call != nil {
            observationsDiffer = !recordedHas(kind: kind, name: name, value: value)
        }
        observationCount += 1
    }

    package func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError) {
        for o in observations { try observe(kind: o.kind, name: o.name, value: o.value, symbols: symbols) }
    }

    package func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) {
        events += 1
        if !effectsDiffer, call != nil, let recorded = recordedCurrent, recordedEffect(recorded, is: hook, action) {
            sameEffects += 1
            return
        }
        collectEffects()
        effects.append(Effect(hook: symbols.name(hook), action))
    }

    /// Whether the recorded call's effect at the replay's position is this one (the hook's
    /// name and the action, doubles bit for bit).
    private func recordedEffect(_ recorded: GroupRef, is hook: UInt32, _ action: EffectAction) -> Bool {
        let all = recorded.effects
        guard sameEffects < all.count else { return false }
        return all[sameEffects].action.isIdentical(to: action) && symbols.name(hook, is: all[sameEffects].hook)
    }

    /// The rare events (run_start, the run's opening notes, run_end); calls and
    /// observations that come as events take the typed path.
    package func event(_ event: Event) throws(HooktraceError) {
        switch event {
        case .call(let c):
            try call(stage: symbols.intern(c.stage), epoch: c.epoch, iter: c.iter, innerIter: c.innerIter, mode: c.mode, time: c.time, symbols: symbols)
        case .observe(let o):
            try observe(kind: o.kind, name: symbols.intern(o.name), value: ScalarBits(o.value, symbols: symbols), symbols: symbols)
        case .runStart(let r):
            events += 1
            engine.start(r, a: false)
            open = true
        case .effect(let e):
            events += 1
            collectEffects()
            effects.append(e)
        case .hookSpan, .runEnd:
            events += 1
        }
    }
}
