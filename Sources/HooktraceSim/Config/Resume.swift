import HooktraceFormat

/// A checkpoint to resume from, as mmcv 1.x's `runner.resume` reads it: what the
/// checkpoint holds (the counters of its `meta`, the optimizer's param groups with their
/// `initial_lr`, the `hook_msgs`) and the work_dir's files when the run it came from ended.
/// Taken from a trace's events (``extract(trace:checkpoint:)``) and kept in the resumed
/// run's config as `launch.resume`, so that the resumed trace replays on its own.
package struct ResumePoint: Sendable, Equatable {
    package struct Group: Sendable, Equatable {
        package var optimizer: String
        package var index: Int
        package var lr: Double
        package var momentum: Double?
        package var initialLR: Double?
        package var initialMomentum: Double?
    }

    /// The trace and the checkpoint file (as that trace names it).
    package var trace: String
    package var checkpoint: String
    /// The runner the checkpoint was saved by (its meta's counters differ).
    package var runner: Runner.Kind
    /// `meta['epoch']` and `meta['iter']` of the checkpoint.
    package var epoch: Int
    package var iter: Int
    package var groups: [Group]
    /// `meta['hook_msgs']` at the save, in their order; nil when the meta had none.
    package var hookMessages: [(key: String, value: JSONValue)]?
    /// The rest of the checkpoint's meta as TextLoggerHook dumped the run's meta (env_info,
    /// config, seed, exp_name), in order.
    package var meta: [(key: String, value: JSONValue)]
    /// The work_dir's checkpoint files when the run ended (a link: its target).
    package var files: [(path: String, link: String?)]
    /// The GPUs of the run that saved it (its config's gpu_ids, in the checkpoint's meta).
    package var gpus: Int
    /// hooktrace's own: the steps, training steps and evaluations the run had simulated when
    /// it saved, so a resumed simulation draws the values the uninterrupted one would.
    package var simulation: [Int] = [0, 0, 0]
    /// The framework whose `resume` this is. mmengine's (`Runner.resume`): `epoch`/`iter`
    /// are the train loop's counters, `hookMessages` the message hub's entries its
    /// CheckpointHook keeps (keep_ckpt_ids, last_ckpt, best_score, best_ckpt).
    package var framework: Framework = .mmcv
    /// mmengine: where the run that saved it stood (epochs or iterations done), which the
    /// param schedulers' and the message hub's state are worked out at.
    package var savedAt: Launch.StopAt?
    /// mmengine: the interrupted run's work_dir (where its `last_checkpoint` is), so that a
    /// run in another work_dir finds its files and the paths its message hub names there.
    package var workDir: String?
    /// mmengine, from a simulated run: its `optim_wrapper` and `param_scheduler`, which the
    /// checkpoint's optimizer and scheduler state dicts come from whatever the resumed config
    /// says (`load_state_dict` keeps the saved settings).
    package var checkpointSettings: [(key: String, value: JSONValue)] = []
    /// mmengine, from a recording of a real resumed run: the message hub's resumed scalar
    /// histories as Runner.resume loaded them (their last values and counts), which the
    /// log records after the resume average over.
    package var scalars: [(key: String, values: [Double], counts: [Double])]?
    /// mmengine: which save of its file name the checkpoint was (a regular checkpoint is
    /// saved again after a new best), so the state is taken at that save itself.
    package var saveOrdinal: Int?

    package static func == (a: ResumePoint, b: ResumePoint) -> Bool {
        a.trace == b.trace && a.checkpoint == b.checkpoint && a.runner == b.runner && a.epoch == b.epoch && a.iter == b.iter
            && a.groups == b.groups && (a.hookMessages ?? []).elementsEqual(b.hookMessages ?? [], by: { $0.key == $1.key && $0.value == $1.value })
            && (a.hookMessages == nil) == (b.hookMessages == nil)
            && a.meta.elementsEqual(b.meta, by: { $0.key == $1.key && $0.value == $1.value })
            && a.files.elementsEqual(b.files, by: { $0.path == $1.path && $0.link == $1.link }) && a.gpus == b.gpus
            && a.simulation == b.simulation && a.framework == b.framework && a.savedAt == b.savedAt && a.workDir == b.workDir
            && a.checkpointSettings.elementsEqual(b.checkpointSettings, by: { $0.key == $1.key && $0.value == $1.value })
            && (a.scalars == nil) == (b.scalars == nil) && a.saveOrdinal == b.saveOrdinal
            && (a.scalars ?? []).elementsEqual(b.scalars ?? [], by: { $0.key == $1.key && $0.values == $1.values && $0.counts == $1.counts })
    }

    // MARK: The trace

    /// The state of `checkpoint` (a file name or path; nil: what `latest.pth` pointed at
    /// when the run ended) of the mmcv 1.x run recorded in `trace`.
    package static func extract(trace: String, checkpoint: String?) throws(HooktraceError) -> ResumePoint {
        let reader = try TraceReader(path: trace)
        guard case .runStart(let start)? = try reader.next()?.event else {
            throw HooktraceError(.invalidInput, "the trace does not start with a run_start, so it names no run to resume", file: trace)
        }
        var extractor = try Extractor(start, trace: trace)
        do {
            try reader.forEachIntact { entry in extractor.consume(entry.event) }
        } catch let error as HooktraceError {
            throw error
        } catch {
            throw HooktraceError(.io, "cannot read the trace: \(error)", file: trace)
        }
        if case .damaged(let error) = reader.state { throw error }
        return try extractor.point(checkpoint)
    }

    /// The same from a run's events in memory (`resume-check`); `events` starts with its run_start.
    package static func extract(events: [Event], name: String, checkpoint: String?) throws(HooktraceError) -> ResumePoint {
        guard case .runStart(let start)? = events.first else {
            throw HooktraceError(.invalidInput, "the run has no run_start")
        }
        var extractor = try Extractor(start, trace: name)
        for e in events.dropFirst() { extractor.consume(e) }
        return try extractor.point(checkpoint)
    }

    /// Follows a run's events: the state at each checkpoint save, the files at the end.
    struct Extractor {
        let trace: String
        let kind: Runner.Kind
        let gpus: Int
        var groups: [Group]
        var files = VirtualFiles()
        var messages: [(key: String, value: JSONValue)]
        var messagesExist: Bool
        var meta: [(key: String, value: JSONValue)] = []
        var call: Call?
        var calls = 0
        var steps = 0, trainSteps = 0
        /// Evaluations by the number of calls made when each happened.
        var evaluatedAt: [Int] = []
        /// mmengine: saves whose draw counts wait for the run's next training call (a
        /// resumed loop continues there: the validation after the save is not run again).
        var awaiting: [String] = []
        var workDir: String?
        var checkpointSettings: [(key: String, value: JSONValue)] = []
        /// Saves so far by file name, and which one each path's latest save was.
        var savesByName: [String: Int] = [:]
        var ordinals: [String: Int] = [:]
        var saves: [String: (call: Call, at: Int, steps: Int, trainSteps: Int, groups: [Group], messages: [(key: String, value: JSONValue)]?)] = [:]
        var latest: String?
        var sawMeta = false

        let framework: Framework

        init(_ start: RunStart, trace: String) throws(HooktraceError) {
            self.trace = trace
            framework = Framework.of(start)
            let config: JSONValue? = start.config.isEmpty ? nil : (try? JSONValue.parse(start.config))
            if framework == .mmengine {
                if start.source == "simulated" {
                    for key in ["optim_wrapper", "param_scheduler"] { if let v = config?[key] { checkpointSettings.append((key, v)) } }
                }
                guard let loop = ResumePoint.engineLoop(config) else {
                    throw HooktraceError(.invalidInput, "the trace's run has no train_cfg to tell its train loop by, so it cannot be resumed", file: trace)
                }
                kind = loop
            } else {
                guard let kind = Runner.Kind(rawValue: start.runner) else {
                    throw HooktraceError(.invalidInput, "the trace's runner \(start.runner) is neither EpochBasedRunner nor IterBasedRunner, so it cannot be resumed", file: trace)
                }
                self.kind = kind
            }
            var gpus = 1
            if case .int(let g)? = config?["launch"]?["gpus"] { gpus = Int(g) }
            self.gpus = gpus
            var groups = start.paramGroups.map { Group(optimizer: $0.optimizer, index: $0.group, lr: $0.lr, momentum: $0.momentum) }
            // A trace that was itself resumed carries its checkpoint's initial values.
            var earlier: ResumePoint?
            if let r = config?["launch"]?["resume"], case .object = r { earlier = try? ResumePoint(r) }
            let initialLR = start.hooks.contains { $0.type.hasSuffix("LrUpdaterHook") }
            let initialMomentum = start.hooks.contains { $0.type.hasSuffix("MomentumUpdaterHook") }
            for i in groups.indices {
                let before = earlier?.groups.first { $0.optimizer == groups[i].optimizer && $0.index == groups[i].index }
                if initialLR { groups[i].initialLR = before?.initialLR ?? groups[i].lr }
                if initialMomentum { groups[i].initialMomentum = before?.initialMomentum ?? groups[i].momentum }
            }
            self.groups = groups
            if let earlier { for f in earlier.files { if let l = f.link { files.link(f.path, to: l) } else { files.write(f.path) } } }
            messages = earlier?.hookMessages ?? []
            messagesExist = earlier?.hookMessages != nil
        }

        mutating func setMessage(_ key: String, _ value: JSONValue) {
            if let i = messages.firstIndex(where: { $0.key == key }) { messages[i].value = value } else { messages.append((key, value)) }
        }

        mutating func consume(_ event: Event) {
            switch event {
            case .call(let c):
                // mmengine's nested before_save_checkpoint is part of the saving call.
                if c.stage != "before_save_checkpoint" { call = c }
                if framework == .mmengine {
                    if c.stage == "before_train_epoch" || c.stage == "before_train_iter" {
                        for p in awaiting { saves[p]?.steps = steps; saves[p]?.trainSteps = trainSteps; saves[p]?.at = calls }
                        awaiting = []
                    }
                    // A validation (mmengine's has no evaluate effect; its metrics end it).
                    if c.stage == "after_val_epoch" { evaluatedAt.append(calls) }
                }
                calls += 1
                if c.stage == "after_train_iter" { steps += 1; trainSteps += 1 }
                if c.stage == "after_val_iter" { steps += 1 }
            case .effect(let x):
                switch x.action {
                case .setLR(let o, let g, let v):
                    if let i = groups.firstIndex(where: { $0.optimizer == o && $0.index == g }) { groups[i].lr = v }
                case .setMomentum(let o, let g, let v):
                    if let i = groups.firstIndex(where: { $0.optimizer == o && $0.index == g }) { groups[i].momentum = v }
                case .checkpointSave(let p):
                    files.write(p)
                    if let call { saves[p] = (call, calls, steps, trainSteps, groups, messagesExist || !messages.isEmpty ? messages : nil) }
                    if framework == .mmengine && !awaiting.contains(p) { awaiting.append(p) }
                    savesByName[baseName(p), default: 0] += 1
                    ordinals[p] = savesByName[baseName(p)]
                case .checkpointRemove(let p):
                    files.remove(p)
                case .checkpointLink(let l, let t):
                    files.link(l, to: t)
                    // mmcv's latest.pth; mmengine's work_dir/last_checkpoint (find_latest_checkpoint).
                    if baseName(l) == "latest.pth" || baseName(l) == "last_checkpoint" { latest = t }
                    if baseName(l) == "last_checkpoint" { workDir = String(l.dropLast("/last_checkpoint".count)) }
                case .custom("hook_msgs", let fields), .custom("message_hub", let fields):
                    for f in fields { setMessage(f.key, ResumePoint.json(f.value)) }
                case .bestUpdate(_, let v, let c):
                    setMessage("best_score", .double(v))
                    setMessage("best_ckpt", .string(c))
                case .evaluate:
                    evaluatedAt.append(calls)
                case .log(let fields) where !sawMeta && call?.stage == "before_run":
                    sawMeta = true
                    meta = fields.filter { !["hook_msgs", "epoch", "iter", "mmcv_version", "time"].contains($0.key) }.map { ($0.key, ResumePoint.json($0.value)) }
                    if fields.contains(where: { $0.key == "hook_msgs" }) { messagesExist = true }
                default:
                    break
                }
            default:
                break
            }
        }

        func point(_ checkpoint: String?) throws(HooktraceError) -> ResumePoint {
            // The checkpoint: named (a path or a file name), or latest.pth's target.
            let wanted = checkpoint ?? latest
            guard let wanted else {
                throw HooktraceError(.invalidInput, "the run left no latest.pth to resume from; name a checkpoint: \(files.contents.map { baseName($0) }.joined(separator: ", "))", file: trace)
            }
            let candidates = saves.keys.filter { $0 == wanted || baseName($0) == baseName(wanted) }.sorted()
            guard let path = candidates.last, let save = saves[path] else {
                throw HooktraceError(.invalidInput, "the run saved no checkpoint \(wanted); it saved \(saves.keys.map { baseName($0) }.sorted().joined(separator: ", "))", file: trace)
            }
            guard files.exists(path) else {
                throw HooktraceError(.invalidInput, "\(baseName(path)) was removed before the run ended (max_keep_ckpts or a newer best); the files left are \(files.contents.map { baseName($0) }.joined(separator: ", "))", file: trace)
            }
            var epoch = save.call.epoch + 1, iter = save.call.iter
            var savedAt: Launch.StopAt?
            if framework == .mmengine {
                // mmengine's save_checkpoint: by_epoch (after_train_epoch) epoch + 1 and iter;
                // by iteration (after_train_iter) epoch and iter + 1; a best checkpoint (and the
                // regular one saved again with it, after validation) the runner's epoch and
                // iter as they are then (meta given explicitly).
                switch save.call.stage {
                case "after_train_epoch": (epoch, iter) = (save.call.epoch + 1, save.call.iter)
                case "after_train_iter": (epoch, iter) = (save.call.epoch, save.call.iter + 1)
                default: (epoch, iter) = (save.call.epoch, save.call.iter)
                }
                savedAt = kind == .iterBased || save.call.stage == "after_train_iter" ? .iter(iter) : .epoch(epoch)
            }
            // mmcv's save_checkpoint: meta epoch = runner.epoch + 1, iter = runner.iter, as they
            // were in the saving call (both runners).
            var p = ResumePoint(trace: trace, checkpoint: path, runner: kind, epoch: epoch, iter: iter,
                                groups: save.groups, hookMessages: save.messages, meta: meta, files: files.entries, gpus: gpus)
            let done = framework == .mmengine && awaiting.contains(path)
            p.simulation = done ? [steps, trainSteps, evaluatedAt.count] : [save.steps, save.trainSteps, evaluatedAt.filter { $0 <= save.at }.count]
            p.framework = framework
            p.savedAt = savedAt
            p.workDir = framework == .mmengine ? workDir : nil
            p.checkpointSettings = checkpointSettings
            p.saveOrdinal = framework == .mmengine ? ordinals[path] : nil
            return p
        }
    }

    static func json(_ s: Scalar) -> JSONValue {
        switch s {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let t): .string(t)
        }
    }

    // MARK: The config's form (launch.resume)

    package var json: JSONValue {
        func opt(_ d: Double?) -> JSONValue { d.map { .double($0) } ?? .null }
        let groupItems: [JSONValue] = groups.map { g in
            .object([("optimizer", .string(g.optimizer)), ("index", .int(Int64(g.index))), ("lr", .double(g.lr)),
                     ("momentum", opt(g.momentum)), ("initial_lr", opt(g.initialLR)), ("initial_momentum", opt(g.initialMomentum))])
        }
        let fileItems: [JSONValue] = files.map { .array([.string($0.path), $0.link.map { .string($0) } ?? .null]) }
        var members: [(key: String, value: JSONValue)] = [
            ("trace", .string(trace)), ("checkpoint", .string(checkpoint)), ("runner", .string(runner.rawValue)),
            ("epoch", .int(Int64(epoch))), ("iter", .int(Int64(iter))),
            ("param_groups", .array(groupItems)),
            ("hook_msgs", hookMessages.map { .object($0) } ?? .null),
            ("meta", .object(meta)),
            ("files", .array(fileItems)),
            ("gpus", .int(Int64(gpus))),
            ("simulation", .array(simulation.map { .int(Int64($0)) })),
        ]
        guard framework == .mmengine else { return .object(members) }
        members.append(("framework", .string("mmengine")))
        members.append(("saved_at", .string(savedAt?.text ?? "")))
        members.append(("work_dir", workDir.map { .string($0) } ?? .null))
        members.append(("checkpoint_settings", .object(checkpointSettings)))
        if let saveOrdinal { members.append(("save_ordinal", .int(Int64(saveOrdinal)))) }
        if let scalars {
            let histories: [(key: String, value: JSONValue)] = scalars.map { h in
                let values: [JSONValue] = h.values.map { .double($0) }, counts: [JSONValue] = h.counts.map { .double($0) }
                return (h.key, .array([.array(values), .array(counts)]))
            }
            members.append(("scalars", .object(histories)))
        }
        return .object(members)
    }

    package init(trace: String, checkpoint: String, runner: Runner.Kind, epoch: Int, iter: Int, groups: [Group],
                 hookMessages: [(key: String, value: JSONValue)]?, meta: [(key: String, value: JSONValue)], files: [(path: String, link: String?)], gpus: Int) {
        self.gpus = gpus
        self.trace = trace
        self.checkpoint = checkpoint
        self.runner = runner
        self.epoch = epoch
        self.iter = iter
        self.groups = groups
        self.hookMessages = hookMessages
        self.meta = meta
        self.files = files
    }

    package init(_ value: JSONValue) throws(HooktraceError) {
        var args = try ConfigArgs(value, path: "launch.resume")
        trace = try args.string("trace", default: "")
        checkpoint = try args.string("checkpoint", default: "")
        guard !checkpoint.isEmpty else { throw configError("launch.resume.checkpoint", "missing: the checkpoint resumed from (record --resume-from writes it)") }
        let kind = try args.string("runner", default: "EpochBasedRunner")
        guard let k = Runner.Kind(rawValue: kind) else { throw configError("launch.resume.runner", "expected EpochBasedRunner or IterBasedRunner, got \"\(kind)\"") }
        runner = k
        epoch = try args.int("epoch", default: 0)
        iter = try args.int("iter", default: 0)
        guard epoch >= 0, iter >= 0 else { throw configError("launch.resume", "epoch and iter must not be negative") }
        groups = []
        if case .array(let items)? = args.raw("param_groups") {
            for (i, item) in items.enumerated() {
                var g = try ConfigArgs(item, path: "launch.resume.param_groups[\(i)]")
                groups.append(Group(optimizer: try g.string("optimizer", default: ""), index: try g.int("index", default: i), lr: try g.double("lr", default: 0),
                                    momentum: try g.optionalDouble("momentum"), initialLR: try g.optionalDouble("initial_lr"),
                                    initialMomentum: try g.optionalDouble("initial_momentum")))
                try g.finish(owner: "a resumed param group")
            }
        }
        if case .object(let m)? = args.raw("hook_msgs") { hookMessages = m } else { hookMessages = nil }
        if case .object(let m)? = args.raw("meta") { meta = m } else { meta = [] }
        files = []
        if case .array(let items)? = args.raw("files") {
            for item in items {
                guard case .array(let pair) = item, pair.count == 2, case .string(let p) = pair[0] else {
                    throw configError("launch.resume.files", "expected [path, link target or null] pairs")
                }
                if case .string(let l) = pair[1] { files.append((p, l)) } else { files.append((p, nil)) }
            }
        }
        gpus = try args.int("gpus", default: 1)
        if case .array(let items)? = args.raw("simulation") {
            let counts = items.compactMap { v -> Int? in if case .int(let n) = v, n >= 0 { Int(n) } else { nil } }
            guard counts.count == 3 else { throw configError("launch.resume.simulation", "expected [steps, training steps, evaluations]") }
            simulation = counts
        }
        if try args.string("framework", default: "mmcv") == "mmengine" {
            framework = .mmengine
            let text = try args.string("saved_at", default: "")
            guard let at = Launch.StopAt(text) else { throw configError("launch.resume.saved_at", "expected epoch=N or iter=N, got \"\(text)\"") }
            savedAt = at
            workDir = try args.optionalString("work_dir")
            if case .object(let m)? = args.raw("checkpoint_settings") { checkpointSettings = m }
            if let raw = args.raw("scalars"), raw != .null { scalars = try Self.histories(raw, path: "launch.resume.scalars") }
            if args.has("save_ordinal") { saveOrdinal = try args.int("save_ordinal", default: 1) }
        }
        try args.finish(owner: "launch.resume")
    }

    /// The point with the interrupted run's work_dir (`workDir`) replaced by `dir` in its
    /// files' paths and its message hub's paths (mmengine).
    package func rebased(to dir: String) -> ResumePoint {
        guard let from = workDir, !from.isEmpty else { return self }
        var to = dir
        while to.hasSuffix("/") && to.count > 1 { to.removeLast() }
        guard from != to else { return self }
        func move(_ p: String) -> String { p.hasPrefix(from + "/") ? to + p.dropFirst(from.count) : p }
        var r = self
        r.files = files.map { (move($0.path), $0.link.map(move)) }
        r.hookMessages = hookMessages?.map { m in
            if case .string(let s) = m.value { return (m.key, .string(move(s))) }
            return m
        }
        r.workDir = to
        return r
    }

    /// `{key: [[values], [counts]]}`, as a recording of a resumed run gives them.
    static func histories(_ raw: JSONValue, path: String) throws(HooktraceError) -> [(key: String, values: [Double], counts: [Double])] {
        guard case .object(let members) = raw else { throw configError(path, "expected {key: [[values], [counts]]}") }
        var out: [(key: String, values: [Double], counts: [Double])] = []
        for (key, value) in members {
            guard case .array(let pair) = value, pair.count == 2, case .array(let v) = pair[0], case .array(let c) = pair[1], v.count == c.count else {
                throw configError(path + "." + key, "expected [[values], [counts]] of one length")
            }
            let values = v.compactMap(\.number), counts = c.compactMap(\.number)
            guard values.count == v.count, counts.count == c.count else { throw configError(path + "." + key, "expected numbers") }
            out.append((key, values, counts))
        }
        return out
    }

    /// The point a recording of a real mmengine run resumed by Runner.resume carries (its
    /// "resumed" effect: checkpoint, counters, and the state the shim read from the runner),
    /// in the form `launch.resume` takes, or nil when the recording has none.
    package static func recorded(in trace: String, config: JSONValue) throws(HooktraceError) -> JSONValue? {
        let reader = try TraceReader(path: trace)
        var found: [Field]?
        while found == nil, let entry = try reader.next() {
            if case .effect(let x) = entry.event, x.hook == "Runner.resume", case .custom("resumed", let fields) = x.action { found = fields }
            if case .call(let c) = entry.event, c.stage == "before_train" { break }  // Runner.resume comes before it
        }
        guard let fields = found else { return nil }
        func field(_ key: String) -> Scalar? { fields.first { $0.key == key }?.value }
        guard case .string(let checkpoint)? = field("checkpoint"), case .int(let epoch)? = field("epoch"), case .int(let iter)? = field("iter"),
              case .string(let text)? = field("state"), let state = try? JSONValue.parse(text) else {
            throw HooktraceError(.invalidInput, "the recording's Runner.resume effect is incomplete (checkpoint, epoch, iter, state); it cannot be resumed in a replay", file: trace)
        }
        let iterBased = engineLoop(config) == .iterBased
        var length = 0
        if case .int(let n)? = config["data"]?["train"] { length = Int(n) }
        let aligned = !iterBased && length > 0 && Int(iter) == Int(epoch) * length
        var p = ResumePoint(trace: trace, checkpoint: checkpoint, runner: iterBased ? .iterBased : .epochBased, epoch: Int(epoch), iter: Int(iter),
                            groups: [], hookMessages: nil, meta: [], files: [], gpus: 1)
        if case .object(let hub)? = state["hub"] { p.hookMessages = hub }
        if case .array(let items)? = state["files"] {
            p.files = items.compactMap { item in
                guard case .array(let pair) = item, pair.count == 2, case .string(let path) = pair[0] else { return nil }
                if case .string(let link) = pair[1] { return (path, link) }
                return (path, nil)
            }
        }
        if case .string(let w)? = state["work_dir"], !w.isEmpty { p.workDir = w }
        if let raw = state["scalars"] { p.scalars = try histories(raw, path: "the recording's resumed message hub") }
        p.framework = .mmengine
        p.savedAt = aligned ? .epoch(Int(epoch)) : .iter(Int(iter))
        return p.json
    }

    /// The kind of an mmengine config's train loop, as MMEngineSettings reads `train_cfg`
    /// (its `type`, or `by_epoch`); nil when it says neither.
    static func engineLoop(_ config: JSONValue?) -> Runner.Kind? {
        let train = config?["train_cfg"]
        if case .string(let t)? = train?["type"] { return t.hasSuffix("IterBasedTrainLoop") ? .iterBased : .epochBased }
        if case .bool(let b)? = train?["by_epoch"] { return b ? .epochBased : .iterBased }
        return nil
    }
}
