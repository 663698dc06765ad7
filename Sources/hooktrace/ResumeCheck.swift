import ArgumentParser
import Foundation
import HooktraceFormat
import HooktraceSim

/// `hooktrace resume-check CONFIG`: does the run survive an interruption? Records the
/// uninterrupted run, then for each checkpoint it saves a run interrupted right after that
/// save and resumed from it (as mmcv's `runner.resume` or mmengine's `Runner.resume` does), and compares each resumed run
/// with the uninterrupted one from the resume point on.
struct ResumeCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume-check",
        abstract: "Interrupt a simulated run at each checkpoint, resume it, and report where it diverges from the uninterrupted run.",
        discussion: """
            For each checkpoint the run saves (or those given with --at), the run is stopped \
            right after that save (as a crash would stop it: after that epoch, or that \
            iteration), resumed from the checkpoint with record --resume-from's semantics \
            (mmcv 1.x's runner.resume, mmengine's Runner.resume), and compared with the uninterrupted run from the resume \
            point on: the lr and momentum of every param group at every iteration, optimizer \
            steps, checkpoints saved and removed, evaluations, new bests, log records (without \
            their timing fields), and at the end the checkpoints kept and the best. One line per \
            resume point: same, or the first divergence; then a summary. Exit status 1 when any \
            resume diverges. mmcv 1.x (runner.resume) and mmengine (Runner.resume) configs.

            Examples:
              hooktrace resume-check traces/examples/faster_rcnn_r50_fpn_1x_coco.json --cfg-options data.train=50
              hooktrace resume-check CONFIG.py --gpus 8 --at epoch_6.pth --format json
            """
    )

    @Argument(help: "The run config (JSON or .py).")
    var config: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Override values first, key.path=value (e.g. data.train=100).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @OptionGroup(title: "Launch (the training script's command line)")
    var launch: LaunchOptions

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Resume only from these checkpoints (file names such as epoch_3.pth); default: every one the run saves.", valueName: "CHECKPOINT"))
    var at: [String] = []

    @Option(name: .long, help: "Output: text or json.")
    var format: String = "text"

    func validate() throws {
        guard format == "text" || format == "json" else { throw ValidationError("unknown format '\(format)'; use text or json") }
    }

    /// One resume point's outcome.
    struct Outcome {
        var checkpoint: String
        var epoch = 0, iter = 0
        var divergence: String?
        var endDifferences: [String] = []
        var error: String?
        var same: Bool { divergence == nil && endDifferences.isEmpty && error == nil }
    }

    func run() throws {
        let cfg = try loadConfig(config, options: cfgOptions, launch: launch)
        guard cfg.launch.resume == nil, cfg.launch.stopAt == nil else {
            throw HooktraceError(.usage, "resume-check interrupts and resumes the run itself; remove launch.resume and launch.stop_at from the config", file: config)
        }
        let full = try Self.events(cfg)
        // Every regular checkpoint the run saves, with the call that saved it.
        var points: [(name: String, stop: Launch.StopAt)] = []
        var call: Call?
        let iterationLoop = cfg.engine.map { $0.kind == .iterBased } ?? (cfg.kind == .iterBased)
        for e in full {
            // mmengine's nested before_save_checkpoint is part of the saving call.
            if case .call(let c) = e, c.stage != "before_save_checkpoint" { call = c }
            if case .effect(let x) = e, case .checkpointSave(let p) = x.action, let c = call {
                let name = baseName(p)
                guard !name.hasPrefix("best_"), !points.contains(where: { $0.name == name }) else { continue }
                // Stopped right after the saving call's epoch or iteration: an epoch's end
                // (and its validation), an iteration's; a save after a validation (mmengine's
                // regular checkpoint saved again with a new best) stands where that is.
                let stop: Launch.StopAt
                switch c.stage {
                case "after_train_iter": stop = .iter(c.iter + 1)
                case "after_train_epoch": stop = iterationLoop ? .iter(c.iter) : .epoch(c.epoch + 1)
                default: stop = iterationLoop ? .iter(c.iter) : .epoch(c.epoch)
                }
                points.append((name, stop))
            }
        }
        if !at.isEmpty {
            for name in at where !points.contains(where: { $0.name == name }) {
                throw HooktraceError(.usage, "--at \(name): the run saves no such checkpoint; it saves \(points.map(\.name).joined(separator: ", "))")
            }
            points = points.filter { at.contains($0.name) }
        }
        guard !points.isEmpty else {
            throw HooktraceError(.invalidInput, "the run saves no checkpoint to resume from (\(cfg.engine == nil ? "checkpoint_config" : "default_hooks.checkpoint"))", file: config)
        }
        let fullBehaviour = Behaviour(full)
        // Each resume point is two independent simulations: over the cores.
        final class Results: @unchecked Sendable {
            var items: [Outcome]
            let lock = NSLock()
            init(_ n: Int) { items = Array(repeating: Outcome(checkpoint: ""), count: n) }
        }
        let results = Results(points.count)
        nonisolated(unsafe) let shared = (cfg, points, fullBehaviour)
        DispatchQueue.concurrentPerform(iterations: points.count) { i in
            let (cfg, points, full) = shared
            let outcome = Self.check(cfg, points[i].name, points[i].stop, against: full)
            results.lock.lock()
            results.items[i] = outcome
            results.lock.unlock()
        }
        let outcomes = results.items
        try report(outcomes, fullCalls: fullBehaviour.calls)
        if outcomes.contains(where: { !$0.same }) { throw ExitCode(1) }
    }

    static func events(_ cfg: RunConfig) throws(HooktraceError) -> [Event] {
        var events: [Event] = []
        _ = try Simulator.record(cfg) { e throws(HooktraceError) in events.append(e) }
        return events
    }

    static func check(_ cfg: RunConfig, _ name: String, _ stop: Launch.StopAt, against full: Behaviour) -> Outcome {
        var outcome = Outcome(checkpoint: name)
        do {
            var stopped = cfg
            stopped.launch.stopAt = stop
            let prefix = try events(stopped)
            let point = try ResumePoint.extract(events: prefix, name: "the run stopped after \(stop)", checkpoint: name)
            outcome.epoch = point.epoch
            outcome.iter = point.iter
            var resumed = cfg
            resumed.launch.resume = point
            let after = Behaviour(try events(resumed), skippingStart: true)
            let calls = prefix.reduce(0) { n, e in if case .call = e { n + 1 } else { n } }
            let expected = full.items.filter { $0.call >= calls }
            if let i = zip(expected, after.items).enumerated().first(where: { $0.element.0.text != $0.element.1.text })?.offset {
                let a = expected[i], b = after.items[i]
                outcome.divergence = a.place == b.place
                    ? "at \(a.place): uninterrupted: \(a.kind) \(a.text); resumed: \(b.kind) \(b.text)"
                    : "uninterrupted: \(a.kind) \(a.text) at \(a.place); resumed: \(b.kind) \(b.text) at \(b.place)"
            } else if expected.count != after.items.count {
                let longer = expected.count > after.items.count ? expected[after.items.count] : after.items[expected.count]
                outcome.divergence = "at \(longer.place): \(longer.kind): \(expected.count > after.items.count ? "only the uninterrupted run has" : "only the resumed run has") \(longer.text)"
            }
            let kept = after.keptBefore(point)
            if Set(kept) != Set(full.kept) { outcome.endDifferences.append("checkpoints kept at the end: uninterrupted [\(full.kept.joined(separator: ", "))], resumed [\(kept.joined(separator: ", "))]") }
            let best = after.best ?? point.hookMessages?.first { $0.key == "best_ckpt" }.map { m in
                if case .string(let s) = m.value { return baseName(s) } else { return "" }
            }
            if best != full.best { outcome.endDifferences.append("best checkpoint: uninterrupted \(full.best ?? "none"), resumed \(best ?? "none")") }
        } catch {
            outcome.error = (error as? HooktraceError)?.message ?? "\(error)"
        }
        return outcome
    }

    /// What a run did, in order, comparable between an uninterrupted and a resumed run.
    struct Behaviour {
        struct Item {
            var call: Int
            var place: String
            var kind: String
            var text: String
        }
        var items: [Item] = []
        var calls = 0
        /// The files present at the end (this run's changes only: see keptBefore).
        var saved: [String] = []
        var removed: Set<String> = []
        var best: String?
        var kept: [String] { saved.filter { !removed.contains($0) } }

        init(_ events: [Event], skippingStart: Bool = false) {
            var call: Call?
            var lr: [String: Double] = [:]
            for e in events {
                switch e {
                case .call(let c):
                    call = c
                    calls += 1
                case .effect(let x):
                    guard let c = call else { continue }
                    let place = "epoch \(c.epoch + 1), iter \(c.iter + 1) (\(c.stage))"
                    func add(_ kind: String, _ text: String) { items.append(Item(call: calls - 1, place: place, kind: kind, text: text)) }
                    switch x.action {
                    case .setLR(let o, let g, let v) where x.hook == "Runner.resume":
                        lr["\(o)[\(g)]"] = v  // the checkpoint's values loaded: state, not behaviour
                    case .setMomentum where x.hook == "Runner.resume":
                        break
                    case .setLR(let o, let g, let v):
                        let key = "\(o)[\(g)]"
                        if lr[key] != v || c.stage != "before_run" { lr[key] = v; add("lr", "lr\(key)=\(formatDouble(v)) at \(c.stage) \(c.epoch) \(c.iter)") }
                    case .setMomentum(let o, let g, let v):
                        let key = "\(o)[\(g)]"
                        add("momentum", "momentum\(key)=\(formatDouble(v)) at \(c.stage) \(c.epoch) \(c.iter)")
                    case .optimizerStep(let o, let stepped, _):
                        add("optimizer step", "\(o) \(stepped ? "stepped" : "accumulated") at \(c.epoch) \(c.iter)")
                    case .checkpointSave(let p):
                        let name = baseName(p)
                        saved.removeAll { $0 == name }
                        saved.append(name)
                        removed.remove(name)
                        add("checkpoint", "save \(name)")
                    case .checkpointRemove(let p):
                        let name = baseName(p)
                        removed.insert(name)
                        add("checkpoint", "remove \(name)")
                    case .bestUpdate(let k, let v, let ckpt):
                        best = baseName(ckpt)
                        add("best", "\(k)=\(formatDouble(v)) \(baseName(ckpt))")
                    case .evaluate(let fields):
                        add("evaluation", "at \(c.epoch) \(c.iter): " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                    case .log(let fields):
                        if c.stage == "before_run" { continue }  // the run's meta
                        let shown = fields.filter { !["time", "data_time", "memory", "eta"].contains($0.key) }
                        add("log", shown.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                    default:
                        break
                    }
                default:
                    break
                }
            }
        }

        /// The files at the end of a resumed run: the restored ones, with its changes.
        func keptBefore(_ point: ResumePoint) -> [String] {
            var files = point.files.filter { $0.link == nil }.map { baseName($0.path) }
            for name in saved where !files.contains(name) { files.append(name) }
            return files.filter { !removed.contains($0) }
        }
    }

    func report(_ outcomes: [Outcome], fullCalls: Int) throws {
        var out = StandardOutput()
        let differing = outcomes.filter { !$0.same }.count
        if format == "json" {
            let items: [JSONValue] = outcomes.map { o in
                .object([("checkpoint", .string(o.checkpoint)), ("epoch", .int(Int64(o.epoch))), ("iter", .int(Int64(o.iter))),
                         ("same", .bool(o.same)), ("first_divergence", o.divergence.map { .string($0) } ?? .null),
                         ("at_the_end", .array(o.endDifferences.map { .string($0) })), ("error", o.error.map { .string($0) } ?? .null)])
            }
            out.write(JSONValue.object([("config", .string(config)), ("resume_points", .array(items)),
                                        ("same", .int(Int64(outcomes.count - differing))), ("differ", .int(Int64(differing)))]).pretty() + "\n")
            out.flush()
            return
        }
        out.write("resume-check \(config): the uninterrupted run makes \(fullCalls) calls; \(outcomes.count) resume point(s)\n")
        for o in outcomes {
            var line = pad(o.checkpoint, 24) + " resumed at epoch \(o.epoch), iter \(o.iter): "
            if let e = o.error {
                line += "error: \(e)"
            } else if o.same {
                line += "same"
            } else {
                line += o.divergence.map { "differs \($0)" } ?? "same until the end"
                for d in o.endDifferences { line += "\n" + String(repeating: " ", count: 26) + d }
            }
            out.write(line + "\n")
        }
        out.write("summary: \(outcomes.count - differing) same, \(differing) differ\n")
        out.flush()
    }
}
