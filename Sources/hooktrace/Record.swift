import Foundation
import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

#if canImport(Glibc)
import Glibc
#endif

/// Reads a config file (JSON, or a `.py` resolved by the loader) and applies `--cfg-options`
/// after it is read (after the `_base_` merge, as mmcv's DictAction does), naming the file
/// in errors.
func loadConfig(_ path: String, options: [String] = [], launch: LaunchOptions? = nil, values: [(path: String, value: JSONValue)] = []) throws -> RunConfig {
    let overrides = try parseCfgOptions(options) + (launch?.overrides() ?? []) + values
    var name = baseName(path)
    for ext in [".json", ".py"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
    let json = try readConfigJSON(path)
    let result = Result { () throws(HooktraceError) -> RunConfig in
        try RunConfig(json: overrides.isEmpty ? json : try Replayer.withOptions(json, overrides), name: name)
    }
    switch result {
    case .success(let config):
        return config
    case .failure(let error):
        throw HooktraceError(error.code, error.message + " (see docs/CONFIG.md)", file: path)
    }
}

/// A config file's JSON: a `.py` resolved by the loader (its notes said on stderr), or the
/// JSON file parsed.
func readConfigJSON(_ path: String, listFiles: Bool = false) throws -> JSONValue {
    if path.hasSuffix(".py") {
        let py = try PyConfig.resolve(path)
        for note in py.notes { printError("hooktrace: note: config: \(note)") }
        if listFiles { for f in py.files { printError(f) } }
        return py.json
    }
    if listFiles { printError(path) }
    let text = try readTextFile(path)
    let parsed = Result { () throws(JSONSyntaxError) in try JSONValue.parse(text) }
    switch parsed {
    case .success(let v): return v
    case .failure(let e): throw HooktraceError(.invalidInput, "not valid JSON: \(e) (see docs/CONFIG.md)", file: path)
    }
}

/// Prepares a run from `cfg`, naming the config file in any error.
func prepareRun(_ cfg: RunConfig, file: String) throws -> (Runner, RunStart) {
    let result = Result { () throws(HooktraceError) in
        try Simulator.prepare(cfg, to: EventSink { _ throws(HooktraceError) in })
    }
    switch result {
    case .success(let prepared): return prepared
    case .failure(let error): throw HooktraceError(error.code, error.message + " (see docs/CONFIG.md)", file: file)
    }
}

package func baseName(_ path: String) -> String {
    String(path.split(separator: "/").last ?? Substring(path))
}

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a training run: simulated from a config, or a real one (-- COMMAND).",
        discussion: """
            Runs the config's training loop with its hooks, without a model or a GPU: mmcv \
            1.x's EpochBasedRunner or IterBasedRunner for a config with mmcv's keys (runner, \
            lr_config, checkpoint_config, …), mmengine 0.10.7's Runner and loops for one with \
            mmengine's (train_cfg, param_scheduler, default_hooks, …). Every call_hook with the \
            framework's counters, seeded losses, timings and metrics, and every effect the \
            hooks have (learning rates, momenta, checkpoints, log records). The config is JSON \
            (docs/CONFIG.md); a config with both frameworks' keys is refused with exit 2.

            The config is checked completely before anything runs; on an error nothing is written. \
            The trace is written as OUTPUT.partial and appears at the output path only when \
            complete (a device or FIFO such as /dev/null is written directly).

            With -- COMMAND, runs the command (a Python program using mmcv 1.x or mmengine) with \
            hooktrace's recorder shim on its Python path, and records every call_hook of the real \
            run without changes to its code or config: counters, timestamps, log_vars, learning \
            rates and momenta, checkpoints, log records. Each process of a distributed run writes \
            its own trace (NAME.rankK.htrace). The trace is on disk from the run's start (within \
            about a second); if hooktrace itself is killed, NAME.partial keeps what was recorded \
            and the training goes on. The command's output passes through; hooktrace exits with \
            the command's exit status.

            Examples:
              hooktrace record --config traces/examples/faster_rcnn_r50_fpn_1x_coco.json -o run.htrace
              hooktrace record -o real.htrace -- python tools/train.py configs/faster_rcnn_r50_fpn_1x_coco.py
            """
    )

    @Option(name: .long, help: "The run config to simulate (JSON, or .py with its _base_ files).")
    var config: String?

    @Argument(parsing: .postTerminator, help: "A real training command to record (after --).")
    var command: [String] = []

    @Flag(name: .long, help: "With -- COMMAND: also record each hook's time inside each call.")
    var perHookTiming = false

    @Option(name: .shortAndLong, help: "Where to write the trace (default: the config's name with .htrace).")
    var output: String?

    @Option(name: .long, help: "Block codec: zstd, zlib or none.")
    var codec: String = "zstd"

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("With --config: override values first, key.path=value (e.g. data.train=7330).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @OptionGroup(title: "Launch, with --config (the training script's command line)")
    var launch: LaunchOptions

    @Option(name: .long, help: ArgumentHelp("With --config: end the run as a crash would after N train epochs or iterations; the trace ends failed, as a crashed run's does (kept in the config's launch.stop_at).", valueName: "epoch=N|iter=N"))
    var stopAt: String?

    @Option(name: .long, help: ArgumentHelp("With --config: resume from a checkpoint of a recorded run (default: what its latest.pth or last_checkpoint named at its end), as mmcv's runner.resume or mmengine's Runner.resume does (the state kept in launch.resume).", valueName: "TRACE[:CHECKPOINT]"))
    var resumeFrom: String?

    @Option(name: .long, help: ArgumentHelp("With --config: the run observes what a recorded run observed: its training losses, step by step, and its evaluations' metrics, one evaluation after another (as scripted simulation.loss and simulation.metrics).", valueName: "TRACE"))
    var observationsFrom: String?

    func validate() throws {
        if config == nil && !cfgOptions.isEmpty { throw ValidationError("--cfg-options changes a config given with --config; a real run's config is its program's own") }
        if let stopAt, Launch.StopAt(stopAt) == nil { throw ValidationError("--stop-at takes epoch=N or iter=N (train epochs or iterations done when the run crashes), got '\(stopAt)'") }
        if config == nil && stopAt != nil { throw ValidationError("--stop-at ends a simulated run (--config); a real run ends where it ends") }
        if config == nil && !launch.isEmpty { throw ValidationError("--gpus, --train-size, --val-size, --no-validate and --auto-scale-lr describe a simulated run of --config; a real run's are its program's own") }
        guard Codec(name: codec) != nil else { throw ValidationError("unknown codec '\(codec)'; use zstd, zlib or none") }
        if output == "-" { throw ValidationError("traces are written to files (readers seek); give a path with -o") }
        if config == nil && command.isEmpty {
            throw ValidationError("give a config to simulate (--config run.json) or a command to record after -- (-- python train.py ...)")
        }
        if config != nil && !command.isEmpty { throw ValidationError("give either --config or a command after --, not both") }
    }

    func run() throws {
        guard let config else { return try recordLive() }
        let extra: [String] = stopAt.map { ["launch.stop_at=" + $0] } ?? []
        var values: [(path: String, value: JSONValue)] = []
        if let resumeFrom {
            var trace = resumeFrom, checkpoint: String?
            if !FileManager.default.fileExists(atPath: resumeFrom), let colon = resumeFrom.lastIndex(of: ":") {
                trace = String(resumeFrom[..<colon])
                checkpoint = String(resumeFrom[resumeFrom.index(after: colon)...])
            }
            guard FileManager.default.fileExists(atPath: trace) else {
                throw HooktraceError(.usage, "--resume-from: no such trace \(trace) (give TRACE or TRACE:CHECKPOINT, e.g. run.htrace:epoch_5.pth)")
            }
            values.append(("launch.resume", try ResumePoint.extract(trace: trace, checkpoint: checkpoint).json))
        }
        if let observationsFrom { values += try recordedObservations(observationsFrom) }
        let cfg = try loadConfig(config, options: cfgOptions + extra, launch: launch, values: values)
        let out = output ?? (cfg.name + ".htrace")
        // Validate fully (build every hook) before creating any file.
        let (prepared, _) = try prepareRun(cfg, file: config)
        if !quiet { printConfigNotes(cfg, runner: prepared) }
        if !quiet, let r = cfg.launch.resume, let recorded = try? recordedConfig(r.trace) {
            for note in resumeDifferences(recorded, cfg) { printError("hooktrace: note: \(note)") }
        }
        var options = TraceWriter.Options()
        options.codec = Codec(name: codec) ?? .zstd
        let target = try OutputPath(out, inputs: [config])
        removePartialOnInterrupt(target)
        let writer: TraceWriter
        do {
            writer = try TraceWriter(path: target.writePath, options: options)
        } catch {
            target.discard()
            throw error
        }
        let started = ContinuousClock.now
        let runner: Runner
        do {
            runner = try Simulator.record(cfg, to: quiet ? writer : ProgressSink(writer))
            try writer.close()
        } catch {
            try? writer.close()
            target.discard()
            throw error
        }
        try target.commit()
        if quiet { return }
        for warning in runner.warnings { printError("hooktrace: warning: \(warning)") }
        let elapsed = ContinuousClock.now - started
        let runnerName = runner.dialect.framework == .mmcv ? runner.kind.rawValue
            : "mmengine Runner, " + (runner.kind == .epochBased ? "EpochBasedTrainLoop" : "IterBasedTrainLoop")
        if let r = cfg.launch.resume {
            printError("hooktrace: resumed from \(r.checkpoint) of \(r.trace) (its meta: epoch \(r.epoch), iter \(r.iter))")
        }
        if let stopped = runner.stoppedBy { printError("hooktrace: \(stopped): the trace ends failed, as a crashed run's does") }
        var summary = "recorded \(out): \(runnerName), \(runner.callCount) call_hook calls, \(writer.eventCount) events, \(humanBytes(writer.bytesWritten))"
        summary += " in \(fixed(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 2)) s"
        printError(summary)
        let kept = runner.files.contents
        if !kept.isEmpty {
            let shown = kept.count > 6 ? kept.suffix(6).map(fileNameOnly) : kept.map(fileNameOnly)
            printError("  checkpoints kept: \(kept.count)\(kept.count > 6 ? " (last 6)" : ""): \(shown.joined(separator: ", "))")
        }
        if let best = runner.hookMessages.bestCheckpoint, let score = runner.hookMessages.bestScore {
            printError("  best: \(fileNameOnly(best)) (\(formatDouble(score)))")
        }
        printError("  final lr: " + runner.context.currentLRs.map { ($0.optimizer.isEmpty ? "" : "\($0.optimizer) ") + formatDouble($0.lr) }.joined(separator: ", "))
    }
}

func fileNameOnly(_ path: String) -> String { baseName(path) }

/// A recorded run's observations as scripted values (`--observations-from`): the total loss
/// of each training step in order (`simulation.loss`), and each metric over the evaluations
/// (`simulation.metrics.<name>`), an evaluation being a call with metric observations.
func recordedObservations(_ trace: String) throws -> [(path: String, value: JSONValue)] {
    var losses: [JSONValue] = []
    var metrics: [(name: String, values: [JSONValue])] = []
    var pendingLoss: JSONValue?
    var pendingMetrics: [(String, JSONValue)] = []
    func number(_ s: Scalar) -> JSONValue? {
        switch s {
        case .double(let d) where d.isFinite: .double(d)
        case .int(let i): .int(i)
        default: nil
        }
    }
    // Timings, in seconds, as the simulation spends them: a training step from before_train_iter
    // to after_train_iter, loading the next batch from there to the next before_train_iter (in
    // an epoch), a validation step from before_val_iter to after_val_iter.
    var iterTimes: [Double] = [], dataTimes: [Double] = [], valTimes: [Double] = []
    var previous: Call?
    var trainLength = 0
    let reader = try TraceReader(path: trace)
    try reader.forEachIntact { entry in
        switch entry.event {
        case .runStart(let start):
            trainLength = start.loaders.first(where: { $0.mode == "train" })?.length ?? 0
        case .observe(let o):
            if o.kind == .logVar && o.name == "loss" { pendingLoss = number(o.value) }
            if o.kind == .metric, let v = number(o.value) { pendingMetrics.append((o.name, v)) }
        case .call(let c):
            if let p = previous {
                let seconds = Double(c.time - p.time) / 1e9
                switch (p.stage, c.stage) {
                case ("before_train_iter", "after_train_iter"): iterTimes.append(seconds)
                case ("after_train_iter", "before_train_iter"):
                    // An iteration loop's loader wraps at its end with a 2 s sleep, which the
                    // simulation adds itself.
                    let wraps = trainLength > 0 && c.iter > 0 && c.iter % trainLength == 0 && seconds >= 2
                    dataTimes.append(wraps ? seconds - 2 : seconds)
                case ("before_val_iter", "after_val_iter"): valTimes.append(seconds)
                default: break
                }
            }
            if c.stage != "before_save_checkpoint" { previous = c }
            if c.stage == "after_train_iter", let l = pendingLoss { losses.append(l) }
            pendingLoss = nil
            for (name, v) in pendingMetrics {
                if let i = metrics.firstIndex(where: { $0.name == name }) { metrics[i].values.append(v) } else { metrics.append((name, [v])) }
            }
            pendingMetrics = []
        default:
            break
        }
    }
    if case .damaged(let error) = reader.state { throw error }
    guard !losses.isEmpty || !metrics.isEmpty else {
        throw HooktraceError(.invalidInput, "the trace holds no training losses or evaluation metrics to take", file: trace)
    }
    var out: [(path: String, value: JSONValue)] = []
    if !losses.isEmpty { out.append(("simulation.loss", .array(losses))) }
    if !metrics.isEmpty { out.append(("simulation.metrics", .object(metrics.map { ($0.name, JSONValue.array($0.values)) }))) }
    for (key, samples) in [("iter_time", iterTimes), ("data_time", dataTimes), ("val_iter_time", valTimes)] {
        if let d = durationFit(samples) { out.append(("simulation." + key, d)) }
    }
    return out
}

/// A simulation duration (uniform over mean ± jitter) with the samples' mean and variance
/// (jitter √3·σ, at most the mean), rounded to the microsecond; nil without samples.
func durationFit(_ samples: [Double]) -> JSONValue? {
    guard !samples.isEmpty else { return nil }
    let mean = samples.reduce(0, +) / Double(samples.count)
    let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count)
    let jitter = min(mean, (3 * variance).squareRoot())
    func micro(_ x: Double) -> Double { (max(0, x) * 1e6).rounded() / 1e6 }
    return .object([("mean", .double(micro(mean))), ("jitter", .double(micro(jitter)))])
}

/// Notes about the config that do not change the run: top-level keys that do not affect
/// hooks, and keys mmcv itself ignores.
/// The config a recording's run_start carries (a simulation's, or the one read back from a
/// real run's objects).
func recordedConfig(_ trace: String) throws -> JSONValue? {
    let reader = try TraceReader(path: trace)
    guard case .runStart(let start)? = try reader.next()?.event, !start.config.isEmpty else { return nil }
    return try JSONValue.parse(start.config)
}

/// How a resumed config differs from the interrupted run's, key by top-level key, with
/// what the framework's resume makes of each difference (nothing is refused here: the
/// differences a resume cannot take, another runner or another number of param groups,
/// are errors of their own).
func resumeDifferences(_ recorded: JSONValue, _ cfg: RunConfig) -> [String] {
    guard case .object(let old) = recorded, case .object(let new) = cfg.json else { return [] }
    let skipped: Set<String> = ["launch", "simulation", "work_dir", "name", "meta"]
    var keys: [String] = []
    for (k, _) in old + new where !skipped.contains(k) && !keys.contains(k) {
        if recorded[k] != cfg.json[k] { keys.append(k) }
    }
    let engine = cfg.engine != nil
    return keys.map { key in
        let what: String
        switch (engine, key) {
        case (false, "optimizer"): what = "the checkpoint's param groups (lr, momentum, initial_lr) are loaded over it, so schedules go on from the checkpoint's initial_lr"
        case (false, "lr_config"), (false, "momentum_config"): what = "takes effect from the resumed epoch, scheduled from the checkpoint's initial values"
        case (true, "optim_wrapper"): what = "the checkpoint's param groups and base_param_settings are loaded over it"
        case (true, "param_scheduler"): what = "mmengine's load_state_dict keeps the checkpoint's scheduler settings (milestones, T_max, …) over the config's, so the change has no effect" + (cfg.launch.resume?.checkpointSettings.isEmpty == false ? "" : " there; hooktrace can keep them only from a simulated run's trace, so here it schedules by the config's")
        case (_, "data"), (_, "train_dataloader"): what = "takes effect: the loader's length changes, the checkpoint's iteration count stays"
        default: what = "takes effect from the resume on"
        }
        return "the resumed config differs from the recorded run's in \(key): \(what)"
    }
}

func printConfigNotes(_ cfg: RunConfig, runner: Runner?) {
    if !cfg.ignored.isEmpty {
        printError("hooktrace: note: ignoring config keys that do not affect hooks: \(cfg.ignored.joined(separator: ", "))")
    }
    for note in runner?.configNotes ?? [] { printError("hooktrace: note: \(note)") }
}

struct Hooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract: "Print the hooks a config registers, per stage, in its framework's order.",
        discussion: """
            The same listing the framework's runner logs as "Hooks will be executed in the \
            following order" (mmcv 1.x's get_hook_info, or mmengine's get_hooks_info for an \
            mmengine config), computed from the config alone: priorities, the insertion rule \
            for ties, and which stages each hook acts on. Given a trace instead, prints the \
            listing of the recorded run, from the stages recorded for each hook.
            """
    )

    @Argument(help: "The run config (JSON or .py), or a trace.")
    var config: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("With a config: override values first, key.path=value (e.g. data.train=7330).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @OptionGroup(title: "Launch (the training script's command line)")
    var launch: LaunchOptions

    func run() throws {
        if startsWithTraceMagic(config) {
            guard cfgOptions.isEmpty else { throw HooktraceError(.usage, "--cfg-options changes a config, and \(config) is a trace") }
            guard launch.isEmpty else { throw HooktraceError(.usage, "--gpus, --train-size, --val-size, --no-validate and --auto-scale-lr change a config, and \(config) is a trace") }
            return try listRecorded()
        }
        let cfg = try loadConfig(config, options: cfgOptions, launch: launch)
        let (runner, _) = try prepareRun(cfg, file: config)
        // The warnings `record` would give, on stderr, before the listing.
        printConfigNotes(cfg, runner: runner)
        for text in runner.configWarnings { printError("hooktrace: warning: config: \(text)") }
        for entry in runner.hooks {
            for text in (entry.hook as? any IgnoresSettings)?.ignoredSettings ?? [] { printError("hooktrace: warning: \(entry.name): \(text)") }
        }
        var out = StandardOutput()
        out.write(Simulator.hookListing(runner) + "\n")
        // Known passive types (mmdetection's check and model hooks) are listed under their
        // stages above; only the others' stages are unknown.
        let passive = runner.hooks.filter { ($0.hook as? PassiveHook)?.methods.isEmpty == true || ($0.hook as? MMEngineHook)?.methods.isEmpty == true }
        if !passive.isEmpty {
            out.write("\nnot simulated (passive; the stages they act on are unknown to hooktrace):\n")
            for p in passive { out.write("(" + pad(Priority.label(p.priority), 12) + ") " + p.hook.type + "\n") }
        }
        out.flush()
    }

    /// The listing of a recorded run, from its run_start.
    private func listRecorded() throws {
        let reader = try TraceReader(path: config)
        guard case .runStart(let start)? = try reader.next()?.event else {
            throw HooktraceError(.invalidInput, "the trace does not start with a run_start, so it names no hooks", file: config)
        }
        var out = StandardOutput()
        out.write(Framework.of(start).hookListing(start.hooks) + "\n")
        let unknown = start.hooks.filter { $0.stages == nil }
        if !unknown.isEmpty {
            out.write("\nstages not recorded (a format 1.0 trace, or the recorder could not ask the hook):\n")
            for h in unknown { out.write("(" + pad(Priority.label(h.priority), 12) + ") " + h.type + "\n") }
        }
        out.flush()
    }
}

extension Record {
    func recordLive() throws {
        let out = output ?? "run.htrace"
        // The shim of a checkout (or $HOOKTRACE_SHIM_DIR); else the copy this binary
        // carries, written to a private directory for this recording.
        let outcome = try ShimFiles.withDirectory { shim in
            var options = LiveRecorder.Options(output: out, shimDirectory: shim)
            options.perHookTiming = perHookTiming
            return try LiveRecorder(options: options).run(command: command)
        }
        if !quiet {
            for note in outcome.notes { printError("hooktrace: \(note)") }
            for t in outcome.traces { printError("recorded \(t.path): rank \(t.rank), \(t.events) events") }
        }
        // Errors are said even with --quiet: the recording cannot be trusted whole.
        for error in outcome.errors { printError("hooktrace: error: \(error)") }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        if !outcome.errors.isEmpty { throw ExitCode(2) }
    }
}


/// Passes a run's records to the trace writer, saying on stderr how far the run is when it
/// takes more than a second.
private final class ProgressSink: RunSink {
    private let writer: TraceWriter
    private var calls = 0
    private var last = ContinuousClock.now

    init(_ writer: TraceWriter) {
        self.writer = writer
    }

    func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        try writer.call(stage: stage, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time, symbols: symbols)
        calls += 1
        if calls & 0xFFFF == 0 {
            let now = ContinuousClock.now
            if now - last > .seconds(1) {
                last = now
                printError("recording: \(calls) calls, \(writer.eventCount) events…")
            }
        }
    }

    func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) {
        try writer.observe(kind: kind, name: name, value: value, symbols: symbols)
    }

    func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError) {
        try writer.observe(observations, symbols: symbols)
    }

    func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) {
        try writer.effect(hook: hook, action: action, symbols: symbols)
    }

    func event(_ event: Event) throws(HooktraceError) {
        try writer.append(event)
    }
}
