import HooktraceFormat

/// A run's state as its effects leave it, folded over a trace's events: the one place that
/// says what "the learning rate in force", "the checkpoints kept", "the latest link", "the
/// best checkpoint" and "the hook messages" are. `lr`, `plot`, `report` and `diff` read
/// these from here instead of each following the effects on its own.
///
/// ```swift
/// var state = RunState()
/// while let entry = try reader.next() { state.apply(entry.event) }
/// print(state.files, state.best?.checkpoint ?? "-")
/// ```
package struct RunState: Sendable {
    /// What a value series is: a param group's learning rate or momentum (Adam's beta1).
    package enum ValueKind: Sendable { case lr, momentum }

    /// A param group of one optimizer (`""` for a run with a single optimizer).
    package struct Group: Equatable, Sendable {
        package var optimizer: String
        package var group: Int
        /// Whether the run_start named it (else an effect introduced it).
        package var fromStart: Bool
        /// Whether an lr / a momentum was ever given for it (by run_start or an effect).
        package var hasLR: Bool
        package var hasMomentum: Bool
    }

    /// The best checkpoint an evaluation hook keeps (`best_update`).
    package struct Best: Equatable, Sendable {
        package var key: String
        package var score: Double
        package var checkpoint: String
    }

    /// Param groups in the order first met: run_start's, then those effects introduce.
    package private(set) var groups: [Group] = []
    /// The learning rate in force per group (parallel to ``groups``; NaN where never given).
    package private(set) var lr: [Double] = []
    /// The momentum in force per group (NaN where never given).
    package private(set) var momentum: [Double] = []
    /// Checkpoint files present, in the order they were first written.
    package private(set) var files: [String] = []
    /// Links present (`latest.pth` → its target), in the order first made.
    package private(set) var links: [(link: String, target: String)] = []
    /// The latest best checkpoint and its score.
    package private(set) var best: Best?
    /// `runner.meta['hook_msgs']['last_ckpt']` (mmengine: the message hub's), as the
    /// checkpoint hook last set it.
    package private(set) var lastCheckpoint: String?
    /// mmcv's hook_msgs and mmengine's message-hub entries as the hooks last set them, in
    /// the order first set.
    package private(set) var messages: [(key: String, value: Scalar)] = []

    package init() {}

    /// The names a run gives its param groups (run_start's `param_group_names`:
    /// paramwise_cfg's classes): a JSON list for the run's only optimizer, or an object of
    /// such lists by optimizer name.
    package static func groupNames(_ r: RunStart) -> GroupNames {
        guard case .string(let text)? = r.meta.first(where: { $0.key == "param_group_names" })?.value,
              let value = try? JSONValue.parse(text) else { return GroupNames() }
        func list(_ v: JSONValue) -> [String] {
            guard case .array(let items) = v else { return [] }
            return items.compactMap { if case .string(let n) = $0 { n } else { nil } }
        }
        var names = GroupNames()
        switch value {
        case .array: names.byOptimizer[""] = list(value)
        case .object(let members): for (k, v) in members { names.byOptimizer[k] = list(v) }
        default: break
        }
        return names
    }

    /// The values of `kind`, parallel to ``groups``.
    package func values(_ kind: ValueKind) -> [Double] {
        kind == .lr ? lr : momentum
    }

    /// The index of a param group in ``groups``.
    package func index(optimizer: String, group: Int) -> Int? {
        var i = 0
        while i < groups.count {
            if groups[i].group == group && groups[i].optimizer == optimizer { return i }
            i += 1
        }
        return nil
    }

    /// What an event changed, for callers that follow values or files.
    package enum Change: Equatable, Sendable {
        case none
        /// run_start: the groups were reset to the run's.
        case started
        /// A value of group `index` was set; `isNewGroup` when the effect introduced the group.
        case value(ValueKind, index: Int, isNewGroup: Bool)
        case saved(String)
        case removed(String)
        case linked(String)
        case best
        case hookMessages
    }

    /// Applies one event; returns what it changed.
    @discardableResult
    package mutating func apply(_ event: Event) -> Change {
        switch event {
        case .runStart(let r):
            self = RunState()
            for g in r.paramGroups {
                groups.append(Group(optimizer: g.optimizer, group: g.group, fromStart: true, hasLR: true, hasMomentum: g.momentum != nil))
                lr.append(g.lr)
                momentum.append(g.momentum ?? .nan)
            }
            return .started
        case .effect(let e):
            return apply(e.action)
        default:
            return .none
        }
    }

    /// Applies one effect's action; returns what it changed.
    @discardableResult
    package mutating func apply(_ action: EffectAction) -> Change {
        switch action {
        case .setLR(let o, let g, let v):
            let (i, isNew) = groupIndex(o, g)
            lr[i] = v
            groups[i].hasLR = true
            return .value(.lr, index: i, isNewGroup: isNew)
        case .setMomentum(let o, let g, let v):
            let (i, isNew) = groupIndex(o, g)
            momentum[i] = v
            groups[i].hasMomentum = true
            return .value(.momentum, index: i, isNewGroup: isNew)
        case .checkpointSave(let p):
            if !files.contains(p) { files.append(p) }
            return .saved(p)
        case .checkpointRemove(let p):
            files.removeAll { $0 == p }
            links.removeAll { $0.link == p }
            return .removed(p)
        case .checkpointLink(let link, let target):
            if let i = links.firstIndex(where: { $0.link == link }) {
                links[i].target = target
            } else {
                links.append((link, target))
            }
            return .linked(link)
        case .bestUpdate(let key, let score, let checkpoint):
            best = Best(key: key, score: score, checkpoint: checkpoint)
            return .best
        case .custom(kind: "hook_msgs", let fields), .custom(kind: "message_hub", let fields):
            // mmcv's runner.meta['hook_msgs'], mmengine's message hub (its CheckpointHook's
            // keep_ckpt_ids, last_ckpt, best_score, best_ckpt).
            for f in fields {
                if let i = messages.firstIndex(where: { $0.key == f.key }) { messages[i].value = f.value } else { messages.append((f.key, f.value)) }
            }
            if let f = fields.first(where: { $0.key == "last_ckpt" }), case .string(let path) = f.value { lastCheckpoint = path }
            return .hookMessages
        default:
            return .none
        }
    }

    private mutating func groupIndex(_ optimizer: String, _ group: Int) -> (Int, Bool) {
        if let i = index(optimizer: optimizer, group: group) { return (i, false) }
        groups.append(Group(optimizer: optimizer, group: group, fromStart: false, hasLR: false, hasMomentum: false))
        lr.append(.nan)
        momentum.append(.nan)
        return (groups.count - 1, true)
    }
}

/// Param group names by optimizer (``RunState/groupNames(_:)``).
package struct GroupNames: Sendable {
    package var byOptimizer: [String: [String]] = [:]

    package init() {}

    /// The name of `group` of `optimizer`, if the run gave one.
    package func name(_ optimizer: String, _ group: Int) -> String? {
        guard let list = byOptimizer[optimizer], group < list.count else { return nil }
        return list[group]
    }
}
