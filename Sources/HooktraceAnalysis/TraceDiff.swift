import HooktraceFormat
import HooktraceSim

/// What `hooktrace diff` compares.
package enum DiffKind: String, CaseIterable, Sendable {
    case lr, momentum, checkpoint, eval, log, optimizer, order, other

    static func of(_ action: EffectAction) -> DiffKind {
        switch action {
        case .setLR: .lr
        case .setMomentum: .momentum
        case .checkpointSave, .checkpointRemove, .checkpointLink: .checkpoint
        case .evaluate, .bestUpdate: .eval
        case .log: .log
        case .optimizerStep: .optimizer
        case .emaUpdate, .stop, .note, .custom: .other
        }
    }

    /// The kind's bit in a set of kinds held as a mask (hashing a `Set` per effect is slow).
    var bit: UInt32 {
        switch self {
        case .lr: 1
        case .momentum: 2
        case .checkpoint: 4
        case .eval: 8
        case .log: 16
        case .optimizer: 32
        case .order: 64
        case .other: 128
        }
    }
}

/// A semantic comparison of two traces, call by call.
package struct TraceDiff {
    package struct Options: Sendable {
        package var kinds: Set<DiffKind> = Set(DiffKind.allCases)
        /// How many items (ranges, paths, hooks) each list shows.
        package var limit = 10
        /// Compare call timestamps and the timing fields of log records too.
        package var includeTiming = false
        package init() {}
    }

    package struct Side: Sendable {
        package var path: String
        package var source = ""
        package var runner = ""
        package var calls = 0
        package var events: UInt64 = 0
        package var hooks: [HookInfo] = []
        package var damage: String?
    }

    /// Where and how the traces first differ.
    package struct Divergence: Sendable {
        package var kind: DiffKind
        package var stage: String
        package var epoch: Int
        package var iter: Int
        package var innerIter: Int
        package var mode: String
        package var hook: String
        package var a: String
        package var b: String
    }

    /// A per-iteration series (LR or momentum of one param group).
    package struct Series: Sendable {
        package var kind: DiffKind
        package var optimizer: String
        package var group: Int
        package var compared = 0
        package var differing = 0
        package var ranges: [ClosedRange<Int>] = []
        package var maxAbs: (diff: Double, iter: Int, a: Double, b: Double)?
        package var maxRel: (diff: Double, iter: Int, a: Double, b: Double)?
        /// The group's name when its run names its groups (paramwise_cfg's classes).
        package var name: String?

        package var label: String { (optimizer.isEmpty ? "" : optimizer + ".") + "\(kind.rawValue)[\(name ?? String(group))]" }
    }

    package struct Counts: Sendable {
        package var a = 0
        package var b = 0
        package var differing = 0
    }

    package var a: Side
    package var b: Side
    package var options: Options
    package var warnings: [String] = []
    /// Calls whose (stage, epoch, iter, inner_iter, mode) differ or exist in one trace only.
    package var callMismatches = 0
    package var firstCallMismatch: String?
    /// Aligned calls whose observations differ.
    package var observationMismatches = 0
    package var timingMismatches = 0
    package var firstDivergence: Divergence?
    package var series: [Series] = []
    package var checkpoints = Checkpoints()
    package var evaluations = Counts()
    package var best: (a: [String], b: [String]) = ([], [])
    package var logRecords = Counts()
    package var firstLogDifference: String?
    package var optimizerSteps = Counts()
    package var otherEffects = Counts()
    package var order: [String] = []

    package struct Checkpoints: Sendable {
        package var savedA: [String] = []
        package var savedB: [String] = []
        package var removedA: [String] = []
        package var removedB: [String] = []
        package var keptA: [String] = []
        package var keptB: [String] = []
        /// The same files kept, in any order (files saved in one call are found in name
        /// order by a recorder's directory scan, in saving order by a simulation).
        package var sameKept: Bool { keptA.count == keptB.count && Set(keptA) == Set(keptB) }
    }

    /// Whether the traces agree in everything compared.
    /// With `--only`, the kinds asked for decide; the steps' observations (losses, timings,
    /// metrics) decide only a full comparison (a real run and its simulation train differently).
    package var same: Bool {
        callMismatches == 0 && (observationMismatches == 0 || options.kinds.count < DiffKind.allCases.count)
            && timingMismatches == 0 && firstDivergence == nil
            && order.isEmpty && series.allSatisfy { $0.differing == 0 }
            && [evaluations, logRecords, optimizerSteps, otherEffects].allSatisfy { $0.differing == 0 }
            && Set(checkpoints.savedA) == Set(checkpoints.savedB) && checkpoints.sameKept
    }

    /// Compares two traces.
    /// - Complexity: O(events) time; memory bounded by one call group per trace plus the
    ///   checkpoint names and the ranges it reports.
    package static func compare(_ pathA: String, _ pathB: String, options: Options = Options()) throws(HooktraceError) -> TraceDiff {
        var engine = try Engine(pathA, pathB, options)
        try engine.run()
        return engine.diff
    }
}

/// What the diff compares of one call: the call (nil for the prelude) and its effects.
/// Both a trace's call groups and a replay's calls, as they happen, are compared this way.
package protocol DiffGroup {
    var call: Call? { get }
    var isPrelude: Bool { get }
    var isAfterTrainIter: Bool { get }
    /// runner.iter at the call (0 for the prelude).
    var iter: Int { get }
    /// Whether damage cut the group short (its effects are then counted, not compared).
    var cutShort: Bool { get }
    /// Calls `body` with the group's effects in place (a trace's groups keep theirs in
    /// their block's memory; compared through a collection protocol across modules, each
    /// element read cost a heap allocation).
    func withEffects<R>(_ body: (UnsafeBufferPointer<Effect>) throws -> R) rethrows -> R
}

extension CallGroup: DiffGroup {}
extension GroupRef: DiffGroup {
    package func withEffects<R>(_ body: (UnsafeBufferPointer<Effect>) throws -> R) rethrows -> R { try body(effects) }
}

/// A call and its effects held in memory (a replay's calls as they happen).
package struct EffectGroup: DiffGroup {
    package var call: Call?
    package var effects: ArraySlice<Effect>
    package let isAfterTrainIter: Bool
    package var isPrelude: Bool { call == nil }
    package var iter: Int { call?.iter ?? 0 }
    package var cutShort: Bool { false }

    package init(call: Call?, effects: ArraySlice<Effect>) {
        self.call = call
        self.effects = effects
        isAfterTrainIter = call?.stage == Stage.afterTrainIter.rawValue
    }

    package func withEffects<R>(_ body: (UnsafeBufferPointer<Effect>) throws -> R) rethrows -> R {
        try effects.withUnsafeBufferPointer(body)
    }
}

/// One trace's history that the diff reports (what is in force comes from ``RunState``).
struct Tracker {
    var saved: [String] = []
    var removed: [String] = []
    var best: [String] = []

    mutating func apply(_ e: Effect, in group: some DiffGroup) {
        switch e.action {
        case .checkpointSave(let p):
            saved.append(p)
        case .checkpointRemove(let p):
            removed.append(p)
        case .bestUpdate(let k, let v, let c):
            let call = group.call
            best.append("\(k)=\(formatDouble(v)) \(fileName(c)) (epoch \(call?.epoch ?? 0), iter \(call?.iter ?? 0))")
        default: break
        }
    }
}

struct Engine {
    var diff: TraceDiff
    /// The traces read, when comparing two files (a replay feeds its groups instead).
    var ra: CallGroupReader!
    var rb: CallGroupReader!
    var ta = Tracker()
    var tb = Tracker()
    var pendingA: CallGroup?
    var pendingB: CallGroup?
    /// Both runs' state: the values in force, the files kept.
    var stateA = RunState()
    var stateB = RunState()
    /// Per series (parallel to `diff.series`), its param group's index in each run's state.
    var seriesGroups: [(a: Int?, b: Int?)] = []
    var names = NameMatcher()
    /// Each run's work_dir (run_start's meta) with a trailing slash; "" when not given.
    /// Each run's param group names (run_start's `param_group_names`), if it gives them.
    var groupNamesA = GroupNames(), groupNamesB = GroupNames()
    var workDirA = ""
    var workDirB = ""
    /// `diff.options.kinds` as a mask of ``DiffKind/bit``.
    let wanted: UInt32

    func wants(_ kind: DiffKind) -> Bool { wanted & kind.bit != 0 }

    /// Notes that group `index` of one run's state has values of `kind`, adding the series
    /// (kind, optimizer, group) when it is new.
    mutating func noteSeries(_ kind: RunState.ValueKind, _ index: Int, a: Bool) {
        let diffKind: DiffKind = kind == .lr ? .lr : .momentum
        // Known already (every value after the first): integers only.
        for i in seriesGroups.indices where (a ? seriesGroups[i].a : seriesGroups[i].b) == index && diff.series[i].kind == diffKind {
            return
        }
        let g = (a ? stateA : stateB).groups[index]
        var i = 0
        while i < diff.series.count {
            let s = diff.series[i]
            if s.group == g.group && s.kind == diffKind && s.optimizer == g.optimizer { break }
            i += 1
        }
        if i == diff.series.count {
            var series = TraceDiff.Series(kind: diffKind, optimizer: g.optimizer, group: g.group)
            let names = a ? groupNamesA : groupNamesB
            series.name = names.name(g.optimizer, g.group)
            diff.series.append(series)
            seriesGroups.append((nil, nil))
        }
        if a { seriesGroups[i].a = index } else { seriesGroups[i].b = index }
    }

    /// A checkpoint effect with its paths relative to its run's work_dir: a real mmengine
    /// run writes absolute paths (it makes work_dir absolute), a simulation the config's.
    func local(_ e: Effect, a: Bool) -> Effect {
        let dir = a ? workDirA : workDirB
        guard !dir.isEmpty else { return e }
        func strip(_ p: String) -> String { p.hasPrefix(dir) ? String(p.dropFirst(dir.utf8.count)) : p }
        switch e.action {
        case .checkpointSave(let p): return Effect(hook: e.hook, .checkpointSave(path: strip(p)))
        case .checkpointRemove(let p): return Effect(hook: e.hook, .checkpointRemove(path: strip(p)))
        case .checkpointLink(let l, let t): return Effect(hook: e.hook, .checkpointLink(link: strip(l), target: strip(t)))
        case .bestUpdate(let k, let v, let c): return Effect(hook: e.hook, .bestUpdate(key: k, value: v, checkpoint: strip(c)))
        default: return e
        }
    }

    /// Applies one run's effect to its history and state, a file's paths made relative to
    /// its work_dir first (only effects that name a file are rebuilt: the others, every
    /// call's LRs and log records, go through as they are).
    mutating func apply(_ e: Effect, a: Bool, in g: some DiffGroup) {
        switch e.action {
        case .checkpointSave, .checkpointRemove, .checkpointLink, .bestUpdate:
            let l = local(e, a: a)
            if a { ta.apply(l, in: g) } else { tb.apply(l, in: g) }
            track(l, a: a)
        default:
            if a { ta.apply(e, in: g) } else { tb.apply(e, in: g) }
            track(e, a: a)
        }
    }

    mutating func track(_ e: Effect, a: Bool) {
        let change = a ? stateA.apply(e.action) : stateB.apply(e.action)
        // The series a value belongs to (added the first time either run sets it).
        if case .value(let kind, let index, _) = change { noteSeries(kind, index, a: a) }
    }

    /// The value in force of series `i` in one run (NaN where that run never had it).
    func value(_ i: Int, a: Bool) -> Double {
        let kind: RunState.ValueKind = diff.series[i].kind == .lr ? .lr : .momentum
        guard let index = a ? seriesGroups[i].a : seriesGroups[i].b else { return .nan }
        return (a ? stateA : stateB).values(kind)[index]
    }

    init(_ a: String, _ b: String, _ options: TraceDiff.Options) throws(HooktraceError) {
        self.init(sides: a, b, options)
        ra = try CallGroupReader(path: a)
        rb = try CallGroupReader(path: b)
    }

    /// An engine that is fed groups (``compare(_:_:)``, ``alone(_:a:)``) rather than reading them.
    init(sides a: String, _ b: String, _ options: TraceDiff.Options) {
        diff = TraceDiff(a: TraceDiff.Side(path: a), b: TraceDiff.Side(path: b), options: options)
        wanted = options.kinds.reduce(0) { $0 | $1.bit }
    }

    mutating func nextA() -> CallGroup? {
        if let p = pendingA { pendingA = nil; return p }
        return ra.next()
    }

    mutating func nextB() -> CallGroup? {
        if let p = pendingB { pendingB = nil; return p }
        return rb.next()
    }

    mutating func start(_ g: CallGroup, a: Bool) {
        guard let r = g.runStart else { return }
        start(r, a: a)
    }

    mutating func start(_ r: RunStart, a: Bool) {
        var dir = ""
        if case .string(let d)? = r.meta.first(where: { $0.key == "work_dir" })?.value, !d.isEmpty {
            dir = d.hasSuffix("/") ? d : d + "/"
        }
        if a { workDirA = dir } else { workDirB = dir }
        let names = RunState.groupNames(r)
        if a { groupNamesA = names } else { groupNamesB = names }
        if a {
            diff.a.source = r.source
            diff.a.runner = r.runner
            diff.a.hooks = r.hooks
        } else {
            diff.b.source = r.source
            diff.b.runner = r.runner
            diff.b.hooks = r.hooks
        }
        if a { stateA.apply(.runStart(r)) } else { stateB.apply(.runStart(r)) }
        let state = a ? stateA : stateB
        for i in state.groups.indices {
            noteSeries(.lr, i, a: a)
            if state.groups[i].hasMomentum { noteSeries(.momentum, i, a: a) }
        }
    }

    mutating func run() throws(HooktraceError) {
        while true {
            let ga = nextA()
            let gb = nextB()
            if ga == nil && gb == nil { break }
            // The common case first, on unwrapped groups (each `!` of an optional group was a
            // copy: a reference count on its batch).
            if let a = ga, let b = gb {
                if a.isPrelude { start(a, a: true) }
                if b.isPrelude { start(b, a: false) }
                if a.sameCall(as: b, &names) {
                    // A group cut short by damage holds only part of its call: counted, not compared.
                    if a.cutShort || b.cutShort {
                        if !a.isPrelude { countCutShort() }
                        continue
                    }
                    compare(a, b)
                    continue
                }
            } else if let a = ga, a.isPrelude {
                start(a, a: true)
            } else if let b = gb, b.isPrelude {
                start(b, a: false)
            }
            // Misaligned: report, and let the trace that is behind catch up.
            diff.callMismatches += 1
            if diff.firstCallMismatch == nil {
                diff.firstCallMismatch = "call \(diff.a.calls) differs: A has \(ga.map(describe) ?? "nothing (ended)"), B has \(gb.map(describe) ?? "nothing (ended)")"
                if ga == nil || gb == nil {
                    // One trace ends first: a shorter (or damaged) recording of the same run, not another run.
                    let (ended, reader) = ga == nil ? ("A", ra!) : ("B", rb!)
                    endsFirst(ended, damaged: reader.damage != nil)
                } else {
                    diff.warnings.append("the traces' calls differ (\(diff.firstCallMismatch!)); they come from different runs, so calls are matched by (stage, epoch, iter) where they can be")
                }
            }
            switch (ga, gb) {
            case (let x?, nil): alone(x, a: true)
            case (nil, let y?): alone(y, a: false)
            case (let x?, let y?):
                let kx = (x.call?.iter ?? -1, x.call?.epoch ?? -1)
                let ky = (y.call?.iter ?? -1, y.call?.epoch ?? -1)
                if kx < ky {
                    alone(x, a: true)
                    pendingB = y
                } else if ky < kx {
                    alone(y, a: false)
                    pendingA = x
                } else {
                    alone(x, a: true)
                    alone(y, a: false)
                }
            default: break
            }
        }
        finish(eventsA: ra.reader.nextSequence, eventsB: rb.reader.nextSequence, damageA: ra.damage, damageB: rb.damage)
    }

    /// A call group of trace A (`ofA`) or B that has no counterpart because the other trace
    /// ended; `first` for the first such group (it names the call and says which trace ended).
    mutating func unmatched(_ g: some DiffGroup, ofA: Bool, first: Bool) {
        diff.callMismatches += 1
        if first && diff.firstCallMismatch == nil {
            let here = describe(g), none = "nothing (ended)"
            diff.firstCallMismatch = "call \(diff.a.calls) differs: A has \(ofA ? here : none), B has \(ofA ? none : here)"
            endsFirst(ofA ? "B" : "A", damaged: false)
        }
        alone(g, a: ofA)
    }

    /// A call that damage cut short in one trace: counted, not compared.
    mutating func countCutShort() {
        diff.a.calls += 1
        diff.b.calls += 1
    }

    /// An aligned call whose effects are identical in both runs (checked by the caller,
    /// here A's stand for both): what ``compareEffects(_:_:)``'s fast path does.
    mutating func compareIdenticalEffects(_ g: some DiffGroup) {
        diff.a.calls += 1
        diff.b.calls += 1
        if g.isAfterTrainIter { compareSeries(at: g) }
        g.withEffects { effects in
            for e in effects {
                apply(e, a: true, in: g)
                apply(e, a: false, in: g)
                let kind = DiffKind.of(e.action)
                if wants(kind) { count(kind, a: 1, b: 1, differing: false) }
            }
        }
    }

    /// An aligned call with no effects in either run (a replay's common case): counted, and
    /// at after_train_iter the values in force compared.
    mutating func compareCallWithoutEffects(_ g: some DiffGroup) {
        diff.a.calls += 1
        diff.b.calls += 1
        if g.isAfterTrainIter { compareSeries(at: g) }
    }

    /// The observations of an aligned call differ.
    mutating func observationsDiffer(at g: some DiffGroup) {
        diff.observationMismatches += 1
        if diff.observationMismatches == 1 {
            diff.warnings.append("observations differ at \(describe(g)): the traces record different training steps")
        }
    }

    /// Notes that trace `ended` ("A" or "B") has no more calls while the other goes on.
    mutating func endsFirst(_ ended: String, damaged: Bool) {
        let why = damaged ? "it is damaged" : "it stops early"
        diff.warnings.append("\(ended) ends after \(diff.a.calls) calls (\(why)); the other trace's remaining calls are counted as differing")
    }

    /// Completes the diff once both sides have been compared to their end.
    mutating func finish(eventsA: UInt64, eventsB: UInt64, damageA: HooktraceError?, damageB: HooktraceError?) {
        diff.a.events = eventsA
        diff.b.events = eventsB
        if let d = damageA { diff.a.damage = d.message; diff.warnings.append("A is damaged: \(d.description); compared up to the damage") }
        if let d = damageB { diff.b.damage = d.message; diff.warnings.append("B is damaged: \(d.description); compared up to the damage") }
        diff.checkpoints.savedA = ta.saved.filter { !tb.saved.contains($0) }
        diff.checkpoints.savedB = tb.saved.filter { !ta.saved.contains($0) }
        diff.checkpoints.removedA = ta.removed.filter { !tb.removed.contains($0) }
        diff.checkpoints.removedB = tb.removed.filter { !ta.removed.contains($0) }
        diff.checkpoints.keptA = stateA.files
        diff.checkpoints.keptB = stateB.files
        diff.best = (ta.best, tb.best)
        if diff.options.kinds.contains(.order) { diff.order = orderChanges(diff.a.hooks, diff.b.hooks) }
        if !diff.options.kinds.contains(.checkpoint) { diff.checkpoints = TraceDiff.Checkpoints() }
    }

    func describe(_ g: some DiffGroup) -> String {
        guard let c = g.call else { return "the prelude" }
        return "\(c.stage) (epoch \(c.epoch), iter \(c.iter), inner_iter \(c.innerIter), \(c.mode))"
    }

    mutating func alone(_ g: some DiffGroup, a: Bool) {
        if !g.isPrelude {
            if a { diff.a.calls += 1 } else { diff.b.calls += 1 }
        }
        g.withEffects { effects in
            for e in effects {
                apply(e, a: a, in: g)
                let kind = DiffKind.of(e.action)
                guard wants(kind) else { continue }
                count(kind, a: a ? 1 : 0, b: a ? 0 : 1, differing: true)
            }
        }
    }

    mutating func count(_ kind: DiffKind, a: Int, b: Int, differing: Bool) {
        func bump(_ c: inout TraceDiff.Counts) {
            c.a += a
            c.b += b
            if differing { c.differing += 1 }
        }
        switch kind {
        case .eval: bump(&diff.evaluations)
        case .log: bump(&diff.logRecords)
        case .optimizer: bump(&diff.optimizerSteps)
        case .other: bump(&diff.otherEffects)
        default: break
        }
    }

    static let timingKeys: Set<String> = ["time", "data_time", "memory"]
    /// Fields of the run's meta record (TextLoggerHook's first line) that describe the run,
    /// not what its hooks did: the config's text and the machine. Not compared.
    static let descriptionKeys: Set<String> = ["config", "env_info"]

    /// What of an effect the diff compares: log records without their timing fields
    /// (unless `timing`); an optimizer step by whether it stepped and clipped, not by the
    /// norm, which is what the step observed (the runs' own, like their losses).
    func comparable(_ e: Effect, timing: Bool) -> Effect {
        switch e.action {
        case .log(let fields) where !timing:
            return Effect(hook: e.hook, .log(fields.filter { !Engine.timingKeys.contains($0.key) && !Engine.descriptionKeys.contains($0.key) }))
        case .log(let fields):
            return Effect(hook: e.hook, .log(fields.filter { !Engine.descriptionKeys.contains($0.key) }))
        case .optimizerStep(let optimizer, let stepped, let norm?) where norm != 0:
            return Effect(hook: e.hook, .optimizerStep(optimizer: optimizer, stepped: stepped, gradNorm: 0))

        default:
            return e
        }
    }

    func same(_ x: Effect, _ y: Effect) -> Bool {
        x.hook == y.hook && (x.action.isIdentical(to: y.action) || Self.sameStop(x.action, y.action))
    }

    /// Two stops of the same hook at the same call, one without a reason: a real run's
    /// recorder sees that the loop was told to stop, not the hook's words.
    static func sameStop(_ a: EffectAction, _ b: EffectAction) -> Bool {
        guard case .stop(let r) = a, case .stop(let q) = b else { return false }
        return r.isEmpty || q.isEmpty
    }

    /// Whether two groups' effects are identical, in order (an index loop: `zip` cost a
    /// generic metadata lookup per group).
    func sameEffects(_ a: UnsafeBufferPointer<Effect>, _ b: UnsafeBufferPointer<Effect>) -> Bool {
        guard a.count == b.count else { return false }
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex {
            guard same(a[i], b[j]) else { return false }
            i += 1
            j += 1
        }
        return true
    }

    mutating func compare(_ ga: CallGroup, _ gb: CallGroup) {
        if !ga.sameObservations(as: gb, &names) { observationsDiffer(at: ga) }
        compareEffects(ga, gb)
    }

    /// Compares the effects of one call in both runs (the calls are the same call).
    mutating func compareEffects(_ ga: some DiffGroup, _ gb: some DiffGroup) {
        ga.withEffects { effectsA in gb.withEffects { effectsB in compareEffects(ga, effectsA, gb, effectsB) } }
    }

    private mutating func compareEffects(_ ga: some DiffGroup, _ effectsA: UnsafeBufferPointer<Effect>,
                                         _ gb: some DiffGroup, _ effectsB: UnsafeBufferPointer<Effect>) {
        // Between a real run and a simulation (its replay), notes are each tool's words
        // about its own side (a recorder's notes, the simulation's warnings about the config
        // or about a hook's setting), not what the run did: not compared. Between two
        // simulations they are the configs' warnings, and differ when the configs do.
        // Likewise a recording's "resumed" effect: the state the recorder read from a
        // resumed runner (a simulation resumes from launch.resume and says so in run_start).
        func isNote(_ e: Effect) -> Bool {
            switch e.action {
            case .note, .custom("resumed", _): true
            default: false
            }
        }
        if diff.a.source != diff.b.source && (effectsA.contains(where: isNote) || effectsB.contains(where: isNote)) {
            let a = effectsA.filter { !isNote($0) }, b = effectsB.filter { !isNote($0) }
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in compareEffects(ga, pa, gb, pb) } }
            return
        }
        if !ga.isPrelude {
            diff.a.calls += 1
            diff.b.calls += 1
        }
        if diff.options.includeTiming, let ca = ga.call, let cb = gb.call, ca.time != cb.time {
            diff.timingMismatches += 1
        }
        // The values in force during the iteration: before after_train_iter's own effects
        // (mmengine's ParamSchedulerHook writes the next iteration's values there).
        if ga.isAfterTrainIter { compareSeries(at: ga) }
        if effectsA.isEmpty && effectsB.isEmpty { return }
        for e in effectsA { apply(e, a: true, in: ga) }
        for e in effectsB { apply(e, a: false, in: gb) }
        let timing = diff.options.includeTiming
        // Fast path: identical effects (the common case) only need counting.
        if sameEffects(effectsA, effectsB) {
            for e in effectsA {
                let kind = DiffKind.of(e.action)
                if wants(kind) { count(kind, a: 1, b: 1, differing: false) }
            }
            return
        }
        // Learning rates and momenta are compared as the values in force at each iteration
        // (compareSeries), not write by write: a recording sees changes, a simulation every write.
        for kind in DiffKind.allCases where wants(kind) && kind != .order && kind != .lr && kind != .momentum {
            var ea = effectsA.filter { DiffKind.of($0.action) == kind }.map { comparable(local($0, a: true), timing: timing) }
            var eb = effectsB.filter { DiffKind.of($0.action) == kind }.map { comparable(local($0, a: false), timing: timing) }
            if kind == .checkpoint {
                // Files found by scanning a directory come in name order: compare as sets.
                ea.sort { Engine.checkpointKey($0).lexicographicallyPrecedes(Engine.checkpointKey($1)) }
                eb.sort { Engine.checkpointKey($0).lexicographicallyPrecedes(Engine.checkpointKey($1)) }
            }
            if ea.isEmpty && eb.isEmpty { continue }
            let equal = ea.count == eb.count && zip(ea, eb).allSatisfy { same($0, $1) }
            count(kind, a: ea.count, b: eb.count, differing: !equal)
            guard !equal else { continue }
            if kind == .log && diff.firstLogDifference == nil {
                diff.firstLogDifference = logDifference(ea, eb, at: ga)
            }
            if diff.firstDivergence == nil, let c = ga.call {
                let i = (0..<min(ea.count, eb.count)).first(where: { !same(ea[$0], eb[$0]) }) ?? min(ea.count, eb.count)
                let x = i < ea.count ? ea[i] : nil
                let y = i < eb.count ? eb[i] : nil
                // When the same effect comes from different hooks, the hook is the difference.
                let byHook = x != nil && y != nil && x!.hook != y!.hook
                func text(_ e: Effect?) -> String {
                    guard let e else { return "(nothing)" }
                    let (type, _, detail) = EventText.describe(.effect(e))
                    return "\(type) \(detail)" + (byHook ? " (by \(e.hook))" : "")
                }
                diff.firstDivergence = TraceDiff.Divergence(
                    kind: kind, stage: c.stage, epoch: c.epoch, iter: c.iter, innerIter: c.innerIter, mode: c.mode.description,
                    hook: x?.hook ?? y?.hook ?? "", a: text(x), b: text(y))
            }
        }
    }

    /// Orders a call's checkpoint effects by what they do to which file (then by hook).
    static func checkpointKey(_ e: Effect) -> [String] {
        switch e.action {
        case .checkpointSave(let p): ["save", p, e.hook]
        case .checkpointRemove(let p): ["remove", p, e.hook]
        case .checkpointLink(let l, let t): ["link", l, t, e.hook]
        default: [e.hook]
        }
    }

    /// The hook that sets a series (from run_start), for reporting.
    func hookFor(_ kind: DiffKind) -> String {
        let suffix = kind == .lr ? "LrUpdaterHook" : "MomentumUpdaterHook"
        return diff.a.hooks.first { $0.type.hasSuffix(suffix) }?.name ?? diff.b.hooks.first { $0.type.hasSuffix(suffix) }?.name ?? ""
    }

    func logDifference(_ ea: [Effect], _ eb: [Effect], at g: some DiffGroup) -> String {
        for (x, y) in zip(ea, eb) {
            guard case .log(let fa) = x.action, case .log(let fb) = y.action else { continue }
            for f in fa {
                let other = fb.first(where: { $0.key == f.key })
                if other.map({ !$0.value.isIdentical(to: f.value) }) ?? true {
                    return "\(describe(g)): \(x.hook) \(f.key) \(f.value) → \(other.map { "\($0.value)" } ?? "(absent)")"
                }
            }
            for f in fb where !fa.contains(where: { $0.key == f.key }) {
                return "\(describe(g)): \(y.hook) \(f.key) (absent) → \(f.value)"
            }
        }
        return "\(describe(g)): \(ea.count) record(s) in A, \(eb.count) in B"
    }

    /// Compares the values in force during the iteration of the after_train_iter call `g`
    /// (called before its effects are applied).
    mutating func compareSeries(at g: some DiffGroup) {
        let iter = g.iter
        for i in diff.series.indices {
            let kind = diff.series[i].kind
            guard wants(kind) else { continue }
            diff.series[i].compared += 1
            let x = value(i, a: true)
            let y = value(i, a: false)
            guard x.bitPattern != y.bitPattern else { continue }
            diff.series[i].differing += 1
            if diff.firstDivergence == nil, let c = g.call {
                let s = diff.series[i]
                diff.firstDivergence = TraceDiff.Divergence(
                    kind: kind, stage: "before_train_iter", epoch: c.epoch, iter: c.iter, innerIter: c.innerIter, mode: c.mode.description,
                    hook: hookFor(kind), a: "\(s.label)=\(formatDouble(x)) in force", b: "\(s.label)=\(formatDouble(y)) in force")
            }
            if let last = diff.series[i].ranges.last, last.upperBound == iter - 1 {
                diff.series[i].ranges[diff.series[i].ranges.count - 1] = last.lowerBound...iter
            } else if diff.series[i].ranges.count < 10_000 {
                diff.series[i].ranges.append(iter...iter)
            }
            let abs = Swift.abs(x - y)
            if diff.series[i].maxAbs.map({ abs > $0.diff }) ?? true { diff.series[i].maxAbs = (abs, iter, x, y) }
            let rel = abs / max(Swift.abs(x), Swift.abs(y))
            if diff.series[i].maxRel.map({ rel > $0.diff }) ?? true { diff.series[i].maxRel = (rel, iter, x, y) }
        }
    }

    /// "X moved before Y" for pairs whose order flipped, plus added, removed and re-prioritised hooks.
    func orderChanges(_ a: [HookInfo], _ b: [HookInfo]) -> [String] {
        var out: [String] = []
        let namesA = a.map(\.name), namesB = b.map(\.name)
        for h in a where !namesB.contains(h.name) { out.append("\(h.name) (\(Priority.label(h.priority))) only in A") }
        for h in b where !namesA.contains(h.name) { out.append("\(h.name) (\(Priority.label(h.priority))) only in B") }
        for h in a {
            if let g = b.first(where: { $0.name == h.name }), g.priority != h.priority {
                out.append("\(h.name): priority \(Priority.label(h.priority)) → \(Priority.label(g.priority))")
            }
        }
        let common = namesA.filter { namesB.contains($0) }
        for (i, x) in common.enumerated() {
            for y in common[(i + 1)...] {
                if let bx = namesB.firstIndex(of: x), let by = namesB.firstIndex(of: y), by < bx {
                    out.append("\(y) moved before \(x)")
                }
            }
        }
        return out
    }
}
