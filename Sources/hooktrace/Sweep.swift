import ArgumentParser
import Foundation
import HooktraceAnalysis
import HooktraceFormat
import HooktraceRender
import HooktraceSim

/// `hooktrace sweep run.htrace --vary KEY=V1;V2 …`: the recorded run replayed with every
/// combination of hook settings, one row per variant.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Replay a recorded run with every combination of hook settings and tabulate what each changes.",
        discussion: """
            Each --vary KEY=V1;V2;… gives one setting and its values (written as --cfg-options \
            takes them); every combination is replayed against the recording (in parallel over \
            the cores), as `hooktrace replay run.htrace --cfg-options …` would. One row per \
            variant: whether it differs from the recording, the first divergence, the final \
            learning rate, the checkpoints kept at the end, whether the best checkpoint is \
            still on disk, and the number of evaluations. Exit status 0 (a table, whatever it \
            says), 2 on trouble.

            Examples:
              hooktrace sweep run.htrace --vary 'lr_config.step=[8,11];[9,11];[10,11]' --vary 'checkpoint_config.max_keep_ckpts=1;3'
              hooktrace sweep run.htrace --vary 'evaluation.interval=1;2' --format csv > sweep.csv
            """
    )

    @Argument(help: "The recorded trace.")
    var trace: String

    @Option(name: .long, help: ArgumentHelp("A setting and its values, separated by ';' (repeat for more settings).", valueName: "KEY=V1;V2;…"))
    var vary: [String] = []

    @Option(name: .long, help: "Output: text, json or csv.")
    var format: String = "text"

    func validate() throws {
        guard !vary.isEmpty else { throw ValidationError("give at least one --vary KEY=V1;V2 (e.g. --vary 'lr_config.step=[8,11];[9,11]')") }
        guard ["text", "json", "csv"].contains(format) else { throw ValidationError("unknown format '\(format)'; use text, json or csv") }
        for v in vary where !v.contains("=") { throw ValidationError("--vary takes KEY=V1;V2;…, got '\(v)'") }
    }

    struct Row {
        var settings: [String]
        var differs = false
        var divergence = ""
        var finalLR: Double?
        var kept: [String] = []
        var bestOnDisk: Bool?
        var evaluations = 0
        var error: String?
    }

    func run() throws {
        // The settings and their values; each value checked as --cfg-options reads it.
        var axes: [[String]] = []
        for v in vary {
            let eq = v.firstIndex(of: "=")!
            let key = String(v[..<eq])
            let values = v[v.index(after: eq)...].split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
                throw HooktraceError(.usage, "--vary \(key): give its values separated by ';', e.g. \(key)=1;2")
            }
            let options = values.map { key + "=" + $0 }
            _ = try parseCfgOptions(options)
            axes.append(options)
        }
        var variants: [[String]] = [[]]
        for axis in axes { variants = variants.flatMap { prefix in axis.map { prefix + [$0] } } }
        guard variants.count <= 10_000 else { throw HooktraceError(.usage, "\(variants.count) variants; at most 10000 at once") }
        // A clear error for a missing or damaged file, once; and for a setting a replay cannot
        // change (it shapes the recorded calls: runner, data, workflow, the loops), before any
        // variant runs: exit 2, nothing printed for the variants.
        let reader = try TraceReader(path: trace)
        if case .runStart(let start)? = try reader.next()?.event, let recorded = try? JSONValue.parse(start.config) {
            for axis in axes {
                for option in axis { _ = try Replayer.mergedConfig(recorded: recorded, hooks: nil, overrides: try parseCfgOptions([option])) }
            }
        }

        final class Results: @unchecked Sendable {
            var rows: [Row]
            init(_ n: Int) { rows = Array(repeating: Row(settings: []), count: n) }
        }
        let results = Results(variants.count)
        let lock = NSLock()
        nonisolated(unsafe) let shared = (trace, variants)
        DispatchQueue.concurrentPerform(iterations: variants.count) { i in
            let (trace, variants) = shared
            let row = Self.replay(trace, variants[i])
            lock.lock()
            results.rows[i] = row
            lock.unlock()
        }
        try report(results.rows)
    }

    static func replay(_ trace: String, _ settings: [String]) -> Row {
        var row = Row(settings: settings)
        do {
            let overrides = try parseCfgOptions(settings)
            var options = TraceDiff.Options()
            options.limit = 1
            let comparison = ReplayComparison(recorded: trace, replay: "", options: options)
            final class Tracker: @unchecked Sendable {
                var lr: Double?
                var evaluations = 0
                var best: String?
                var engine = false
            }
            let last = Tracker()
            let watch = EventSink { e throws(HooktraceError) in
                // mmengine's validations have no evaluate effect: each ends in after_val_epoch
                // (mmcv's val workflow phases, which do not evaluate, end there too).
                if case .runStart(let start) = e {
                    last.engine = Framework.of(start) == .mmengine
                    last.lr = start.paramGroups.first?.lr  // a constant lr has no set_lr effect
                }
                if case .call(let c) = e, c.stage == "after_val_epoch", last.engine { last.evaluations += 1 }
                guard case .effect(let x) = e else { return }
                switch x.action {
                case .setLR(_, 0, let v): last.lr = v
                case .evaluate: last.evaluations += 1
                case .bestUpdate(_, _, let c): last.best = (c as NSString).lastPathComponent
                default: break
                }
            }
            let result = Result { () throws(HooktraceError) in
                try Replayer.replay(trace: trace, hooks: nil, overrides: overrides,
                                    prepare: { start, inputs in comparison.prepare(start: start, inputs: inputs) },
                                    to: TeeSink([comparison, watch]))
            }
            if case .failure(let error) = result, !comparison.stoppedByHooks {
                row.error = error.message
                return row
            }
            let diff = comparison.finish()
            row.differs = !diff.same
            if let d = diff.firstDivergence {
                row.divergence = "\(d.kind.rawValue) at epoch \(d.epoch + 1), iter \(d.iter + 1): \(d.a) → \(d.b)"
            } else if !diff.same {
                row.divergence = diff.firstCallMismatch ?? "see hooktrace replay"
            }
            row.finalLR = last.lr
            row.kept = diff.checkpoints.keptB.map { ($0 as NSString).lastPathComponent }
            if let best = last.best { row.bestOnDisk = row.kept.contains(best) }
            row.evaluations = last.evaluations
        } catch {
            row.error = (error as? HooktraceError)?.message ?? "\(error)"
        }
        return row
    }

    func report(_ rows: [Row]) throws {
        var out = StandardOutput()
        func lr(_ r: Row) -> String { r.finalLR.map(formatDouble) ?? "" }
        func best(_ r: Row) -> String { r.bestOnDisk.map { $0 ? "yes" : "no" } ?? "none" }
        switch format {
        case "json":
            let items: [JSONValue] = rows.map { r in
                .object([("settings", .array(r.settings.map { .string($0) })), ("differs", .bool(r.differs)),
                         ("first_divergence", r.divergence.isEmpty ? .null : .string(r.divergence)),
                         ("final_lr", r.finalLR.map { .double($0) } ?? .null), ("kept", .array(r.kept.map { .string($0) })),
                         ("best_on_disk", r.bestOnDisk.map { .bool($0) } ?? .null), ("evaluations", .int(Int64(r.evaluations))),
                         ("error", r.error.map { .string($0) } ?? .null)])
            }
            out.write(JSONValue.object([("trace", .string(trace)), ("variants", .array(items))]).pretty() + "\n")
        case "csv":
            let q = CSVExport.quote
            out.write("settings,differs,first_divergence,final_lr,kept,best_on_disk,evaluations,error\n")
            for r in rows {
                out.write([q(r.settings.joined(separator: " ")), r.differs ? "yes" : "no", q(r.divergence), lr(r), q(r.kept.joined(separator: " ")),
                           best(r), String(r.evaluations), q(r.error ?? "")].joined(separator: ",") + "\n")
            }
        default:
            out.write("sweep of \(trace): \(rows.count) variant(s)\n")
            for r in rows {
                var line = r.settings.joined(separator: " ") + "\n  "
                if let e = r.error {
                    line += "error: \(e)"
                } else {
                    line += (r.differs ? "differs: " + r.divergence : "same as the recording")
                    line += "\n  final lr \(lr(r)); kept \(r.kept.count): \(r.kept.suffix(4).joined(separator: ", "))\(r.kept.count > 4 ? " (last 4)" : ""); best on disk: \(best(r)); evaluations: \(r.evaluations)"
                }
                out.write(line + "\n")
            }
        }
        out.flush()
    }
}
