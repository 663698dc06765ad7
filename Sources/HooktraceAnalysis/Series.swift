import HooktraceFormat
import HooktraceSim

/// What a chart plots.
package enum SeriesKind: Equatable, Sendable, CustomStringConvertible {
    case lr, momentum, loss
    case metric(String)

    /// Parses `lr`, `momentum`, `loss` or `metric:NAME`.
    package init?(name: String) {
        switch name {
        case "lr": self = .lr
        case "momentum": self = .momentum
        case "loss": self = .loss
        default:
            guard name.hasPrefix("metric:"), name.count > 7 else { return nil }
            self = .metric(String(name.dropFirst(7)))
        }
    }

    package var description: String {
        switch self {
        case .lr: "lr"
        case .momentum: "momentum"
        case .loss: "loss"
        case .metric(let m): m
        }
    }
}

/// A series read from a trace, with the run's markers (epochs, checkpoints, evaluations).
package struct RunSeries: Sendable {
    /// The damage that ended the trace early: the series holds the intact blocks' points.
    package var damage: HooktraceError?
    package var label: String
    /// (iteration, value), in order.
    package var points: [(x: Int, y: Double)] = []
    /// Iterations where a new train epoch starts.
    package var epochStarts: [Int] = []
    package var saves: [(x: Int, path: String)] = []
    package var removals: [(x: Int, path: String)] = []
    package var evaluations: [Int] = []
    /// What other series the trace has (for "no such series" messages).
    package var available: Set<String> = []

    /// The param group followed, as the run names it (`backbone`, or its index).
    package var groupLabel = "0"

    /// Reads `kind` (param group `group`, an index or a name the run gives its groups, of
    /// `optimizer` or else the first optimizer that has it) from `path`, keeping only
    /// iterations within `iters` / `epochs`. Step-like series (lr, momentum) keep only the
    /// points where the value changes (plus the last), so long runs stay small.
    /// - Complexity: O(events), memory O(points kept).
    package static func read(_ path: String, kind: SeriesKind, group: String = "0", optimizer: String? = nil, iters: ClosedRange<Int>? = nil,
                            epochs: ClosedRange<Int>? = nil) throws(HooktraceError) -> RunSeries {
        let reader = try TraceReader(path: path)
        var s = RunSeries(label: baseLabel(path))
        var state = RunState()
        // The value followed: group `group` of the first optimizer that has it.
        var followed: Int?
        var names = GroupNames()
        var lastEpoch = -1
        var lastKept: Double?
        var pendingLast: (Int, Double)?
        func inRange(_ c: Call?) -> Bool {
            guard let c else { return false }
            if let iters, !iters.contains(c.iter) { return false }
            if let epochs, !epochs.contains(c.epoch) { return false }
            return true
        }
        do {
            try reader.forEachIntact { entry in
                if case .runStart(let r) = entry.event { names = RunState.groupNames(r) }
                switch state.apply(entry.event) {
                case .started, .value(_, _, isNewGroup: true):
                    followed = state.groups.firstIndex { g in
                        (optimizer == nil || g.optimizer == optimizer) && (Int(group) == g.group || names.name(g.optimizer, g.group) == group)
                    }
                    if let i = followed {
                        let g = state.groups[i]
                        s.groupLabel = (g.optimizer.isEmpty ? "" : g.optimizer + ".") + (names.name(g.optimizer, g.group) ?? String(g.group))
                        s.available.insert("lr")
                        if state.groups[i].hasMomentum { s.available.insert("momentum") }
                    }
                default: break
                }
                switch entry.event {
                case .effect(let e):
                    switch e.action {
                    case .checkpointSave(let p) where inRange(entry.context): s.saves.append((entry.context!.iter, p))
                    case .checkpointRemove(let p) where inRange(entry.context): s.removals.append((entry.context!.iter, p))
                    case .evaluate where inRange(entry.context): s.evaluations.append(entry.context!.iter)
                    case .setMomentum: s.available.insert("momentum")
                    default: break
                    }
                case .observe(let o):
                    if o.kind == .logVar && o.name == "loss" { s.available.insert("loss") }
                    if o.kind == .metric { s.available.insert("metric:" + o.name) }
                    guard inRange(entry.context), let v = o.value.number, let c = entry.context else { return }
                    switch kind {
                    case .loss where o.kind == .logVar && o.name == "loss" && c.mode == .train:
                        s.points.append((c.iter, v))
                    case .metric(let name) where o.kind == .metric && o.name == name:
                        s.points.append((c.iter, v))
                    default: break
                    }
                case .call(let c):
                    if c.stage == "before_train_epoch" || (c.stage == "before_train_iter" && c.epoch != lastEpoch && lastEpoch >= 0) {
                        if c.epoch != lastEpoch && inRange(entry.context) { s.epochStarts.append(c.iter) }
                    }
                    if c.mode == .train { lastEpoch = c.epoch }
                    guard c.stage == "after_train_iter", kind == .lr || kind == .momentum, let i = followed, inRange(entry.context) else { return }
                    let v = state.values(kind == .lr ? .lr : .momentum)[i]
                    guard kind == .lr || state.groups[i].hasMomentum else { return }
                    if lastKept.map({ $0.bitPattern != v.bitPattern }) ?? true {
                        if let p = pendingLast { s.points.append((p.0, p.1)) }
                        s.points.append((c.iter, v))
                        lastKept = v
                        pendingLast = nil
                    } else {
                        pendingLast = (c.iter, v)
                    }
                default: break
                }
            }
        } catch let e as HooktraceError {
            throw e
        } catch {
            throw HooktraceError(.io, "\(error)", file: path)
        }
        if let p = pendingLast { s.points.append((p.0, p.1)) }
        if case .damaged(let e) = reader.state { s.damage = e }
        return s
    }

    static func baseLabel(_ path: String) -> String {
        var name = fileName(path)
        if name.hasSuffix(".htrace") { name.removeLast(7) }
        return name
    }
}
