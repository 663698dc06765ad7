import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

#if canImport(Glibc)
import Glibc
#endif

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct DiffOptionGroup: ParsableArguments {
    @Option(name: .long, help: "Report as text or json.")
    var format: ReportFormat = .text

    @Option(name: .long, help: ArgumentHelp("Compare only these kinds: lr, momentum, checkpoint, eval, log, optimizer, order, other (comma-separated).", valueName: "KINDS"))
    var only: String?

    @Option(name: .long, help: "How many items each list in the report shows.")
    var limit: Int = 10

    @Flag(name: .long, help: "Also compare call timestamps and the timing fields of log records.")
    var includeTiming = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        _ = try kinds()
    }

    func kinds() throws -> Set<DiffKind> {
        guard let only else { return Set(DiffKind.allCases) }
        var out: Set<DiffKind> = []
        for part in only.split(separator: ",") {
            let name = part.trimmingCharacters()
            guard let kind = DiffKind(rawValue: name) else {
                throw ValidationError("unknown kind '\(name)' in --only; use \(DiffKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.insert(kind)
        }
        return out
    }

    var options: TraceDiff.Options {
        var o = TraceDiff.Options()
        o.kinds = (try? kinds()) ?? Set(DiffKind.allCases)
        o.limit = limit
        o.includeTiming = includeTiming
        return o
    }

    /// Prints the report; exits 1 when the traces differ.
    func report(_ diff: TraceDiff) throws {
        var out = StandardOutput()
        out.write(format == .json ? diff.json : diff.text)
        out.flush()
        // A damaged trace was compared up to its damage: say so on stderr too, and exit 1
        // (the one rule for reading damaged traces) even when the intact part is the same.
        var damaged = false
        for side in [diff.a, diff.b] {
            if let damage = side.damage {
                printError("hooktrace: error: " + (side.path.isEmpty ? "" : "\(side.path): ") + damage)
                damaged = true
            }
        }
        if !diff.same || damaged { throw ExitCode(1) }
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-drive a recorded run with another hook set and report what changed.",
        discussion: """
            Keeps the recorded inputs (calls, counters, timestamps, observations) and recomputes \
            every effect with the hook set of the recording, changed by --hooks (a JSON file with \
            any of lr_config, momentum_config, optimizer_config, checkpoint_config, log_config, \
            custom_hooks, evaluation, optimizer) and --cfg-options (single values, as mmcv's tools \
            take them). Keys that shape the recorded calls (runner, workflow, data, simulation) \
            cannot change.

            Prints the semantic diff against the recording, compared while the replay runs \
            (the same report `hooktrace diff` gives for the recording and the kept replay); \
            -o FILE also keeps the replayed trace. Exit status: 0 same effects, 1 \
            different or the recording is damaged (the replay then stops at the damage and says \
            where), 2 trouble (bad hooks, a file that is not a trace).

            Examples:
              hooktrace replay run.htrace --hooks new_schedule.json -o new.htrace
              hooktrace replay run.htrace --cfg-options lr_config.step=[9,11]
              hooktrace replay run.htrace --cfg-options checkpoint_config.max_keep_ckpts=3 --only checkpoint
            """
    )

    @Argument(help: "The recorded trace.")
    var trace: String

    @Option(name: .long, help: "A JSON file of hook settings that replace the recording's.")
    var hooks: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Override single values: key.path=value (e.g. lr_config.step=[16,22]).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @Option(name: .shortAndLong, help: "Also keep the replayed run's trace here (a file or a device; stdout carries the report).")
    var output: String?

    @OptionGroup var report: DiffOptionGroup

    func run() throws {
        var hooksJSON: JSONValue?
        if let hooks {
            let text = try readTextFile(hooks)
            let parsed = Result { () throws(JSONSyntaxError) in try JSONValue.parse(text) }
            switch parsed {
            case .success(let v): hooksJSON = v
            case .failure(let e): throw HooktraceError(.invalidInput, "not valid JSON: \(e)", file: hooks)
            }
        }
        let overrides = try parseCfgOptions(cfgOptions)
        // The replay is compared with the recording as it runs; -o also keeps it as a trace.
        var out: OutputPath?
        var writer: TraceWriter?
        if let output {
            guard output != "-" else {
                throw HooktraceError(.usage, "replay prints its report on standard output, so the replayed trace cannot go there too; give a file with -o")
            }
            let path = try OutputPath(output, inputs: [trace] + (hooks.map { [$0] } ?? []))
            removePartialOnInterrupt(path)
            do {
                writer = try TraceWriter(path: path.writePath)
            } catch {
                path.discard()
                throw error
            }
            out = path
        }
        let label = output ?? (report.format == .text ? "replay of \(trace) (not kept; -o FILE keeps it)" : "")
        let comparison = ReplayComparison(recorded: trace, replay: label, options: report.options)
        let hooksValue = hooksJSON
        let overridesValue = overrides
        let sink: any RunSink = writer.map { TeeSink([comparison, $0]) } ?? comparison
        let result = Result { () throws(HooktraceError) in
            try Replayer.replay(trace: trace, hooks: hooksValue, overrides: overridesValue,
                                prepare: { start, inputs in comparison.prepare(start: start, inputs: inputs) }, to: sink)
        }
        var failure: HooktraceError?
        if case .failure(let error) = result { failure = error }
        // A replay that failed before its first call has nothing worth keeping or comparing.
        if let failure, comparison.events <= 1 {
            try? writer?.close()
            out?.discard()
            throw HooktraceError(failure.code, failure.message, file: hooks ?? failure.file ?? trace, offset: failure.offset, block: failure.block)
        }
        if let writer, let out {
            try writer.close()
            try out.commit()
        }
        let diff = comparison.finish()
        if let failure, comparison.stoppedByHooks {
            // A result, not trouble: the new hooks end the run early (exit 1, different).
            printError("hooktrace: note: " + failure.message)
            try report.report(diff)
            return
        }
        if let failure {
            // What was replayed before the failure (damage, divergence) is still compared.
            _ = try? report.report(diff)
            if let output { printError("hooktrace: the replay up to the failure is in \(output) (it ends with a failed run_end)") }
            throw failure
        }
        try report.report(diff)
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two traces call by call: LRs, checkpoints, evaluation, logs, hook order.",
        discussion: """
            Aligns the traces call by call and reports the first divergence (stage, epoch, \
            iteration, hook, the values in A and B), then a summary per kind. Traces of different \
            runs are matched by (stage, epoch, iter) with a warning. Learning rates and momenta \
            are compared as the values in force during each training iteration; checkpoint \
            paths relative to each run's work_dir, so a real run (mmengine writes absolute paths) \
            compares with its simulation: `hooktrace diff sim.htrace real.htrace --only \
            lr,momentum,checkpoint` (with --only, the steps' losses and metrics are a warning, \
            not a difference). Timing is left out unless --include-timing. --format json \
            gives a stable object for scripts (docs/FORMAT.md).

            An mmcv 1.x run against an mmengine run (a migration: mmdetection 2.x's config \
            and its 3.x port) is compared by training iteration and completed epochs \
            instead, the stage and hook names mapped: LR and momentum per group (which \
            iterations differ by schedule, which only in the last bits), optimizer steps, \
            evaluations, best choices, checkpoints kept.

            Exit status: 0 same, 1 different (or a trace is damaged: compared up to the damage, \
            which is named on stderr), 2 trouble.
            """
    )

    @Argument(help: "The first trace (A).")
    var a: String

    @Argument(help: "The second trace (B).")
    var b: String

    @OptionGroup var report: DiffOptionGroup

    func run() throws {
        // An mmcv 1.x run against an mmengine run (a migration) has other calls and names:
        // it is compared by training iteration instead, with the names mapped.
        if let x = try? traceRunStart(a), let y = try? traceRunStart(b), MigrationDiff.applies(x, y) {
            let diff = try MigrationDiff.compare(a, b, kinds: report.options.kinds, limit: report.limit)
            var out = StandardOutput()
            out.write(report.format == .json ? diff.json : diff.text)
            out.flush()
            for run in [diff.a, diff.b] {
                if let damage = run.damage { printError("hooktrace: error: \(run.path): \(damage)") }
            }
            if !diff.same { throw ExitCode(1) }
            return
        }
        try report.report(try TraceDiff.compare(a, b, options: report.options))
    }
}
