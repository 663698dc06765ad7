import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise a trace: run, events, blocks, time span, size.",
        discussion: "Reads the whole trace once. A damaged trace is summarised up to the damage; the exit status is then 1."
    )

    @Argument(help: "The trace to read; several (e.g. the ranks of a distributed run) are summarised and compared.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give a trace to summarise") }
    }

    func run() throws {
        var damaged = false
        for (i, file) in files.enumerated() {
            if i > 0 { writeFD(1, "\n") }
            do {
                try summarise(file)
            } catch let e as ExitCode where e.rawValue == 1 {
                damaged = true
            }
        }
        if files.count > 1 { try compareRanks() }
        if damaged { throw ExitCode(1) }
    }

    /// Where the processes of a distributed run disagree: call counts and counters.
    func compareRanks() throws {
        var out = StandardOutput()
        defer { out.flush() }
        out.write("\nranks:\n")
        var options = TraceDiff.Options()
        options.kinds = []
        for other in files.dropFirst() {
            let d = try TraceDiff.compare(files[0], other, options: options)
            if d.callMismatches == 0 {
                out.write("  \(other): the same \(d.b.calls) calls as \(files[0])\n")
            } else {
                out.write("  \(other): \(d.b.calls) calls, \(files[0]): \(d.a.calls); \(d.callMismatches) differ; first: \(d.firstCallMismatch ?? "")\n")
            }
        }
    }

    func summarise(_ file: String) throws {
        let s = try TraceSummary.read(path: file)
        var out = StandardOutput()
        defer { out.flush() }
        func row(_ key: String, _ value: String) { out.write(pad(key + ":", 14) + value + "\n") }

        row("file", file)
        row("format", "hooktrace \(s.header.majorVersion).\(s.header.minorVersion), codec \(s.header.codec)")
        for (k, v) in s.header.metadata { row(k, v) }
        if let r = s.runStart {
            row("source", r.source)
            row("framework", Framework.of(r).rawValue)
            var runner = r.runner
            if let e = r.maxEpochs { runner += ", max_epochs \(e)" }
            if let i = r.maxIters { runner += ", max_iters \(i)" }
            row("runner", runner)
            if !r.workflow.isEmpty {
                row("workflow", r.workflow.map { "(\($0.mode), \($0.count))" }.joined(separator: ", "))
            }
            if !r.loaders.isEmpty {
                row("loaders", r.loaders.map { "\($0.mode) \($0.length)" }.joined(separator: ", "))
            }
            for g in r.paramGroups {
                let name = g.optimizer.isEmpty ? "group \(g.group)" : "\(g.optimizer) group \(g.group)"
                row("param group", "\(name): lr \(formatDouble(g.lr))" + (g.momentum.map { ", momentum \(formatDouble($0))" } ?? ""))
            }
            if !r.hooks.isEmpty {
                row("hooks", r.hooks.map { "\($0.name) (\($0.priority))" }.joined(separator: ", "))
            }
            if r.seed != 0 { row("seed", String(r.seed)) }
        } else {
            row("source", "unknown (no run_start event)")
        }
        row("events", "\(s.events) in \(s.blocks) block(s)")
        if !s.counts.isEmpty {
            row("by type", s.counts.map { "\($0.type) \($0.count)" }.joined(separator: ", "))
        }
        if !s.stages.isEmpty {
            row("calls", s.stages.map { "\($0.stage) \($0.count)" }.joined(separator: ", "))
        }
        if let a = s.firstTime, let b = s.lastTime {
            row("time span", "\(formatSeconds(a)) s … \(formatSeconds(b)) s (\(fixed(Double(b - a) / 1e9, 3)) s)")
        }
        if let e = s.epochs { row("epochs", "\(e.lowerBound)…\(e.upperBound) (runner.epoch)") }
        if let i = s.iters { row("iterations", "\(i.lowerBound)…\(i.upperBound) (runner.iter)") }
        let perEvent = s.events > 0 ? fixed(Double(s.fileSize) / Double(s.events), 2) : "-"
        row("size", "\(humanBytes(s.fileSize)) on disk, \(humanBytes(s.rawBytes)) encoded, \(perEvent) bytes/event")
        if s.rawBytes > 0 && s.storedBytes > 0 {
            row("compression", fixed(Double(s.rawBytes) / Double(s.storedBytes), 2) + "x")
        }
        switch s.state {
        case .closed:
            row("status", s.runEnd.map { "complete (run \($0.status))" } ?? "complete (closed without a run_end event)")
        case .endedEarly, .reading:
            row("status", "ended early: the writer never closed the trace (crash, kill, or still recording); all \(s.blocks) block(s) intact")
        case .damaged(let error):
            row("status", "DAMAGED: \(error.message)")
            out.flush()
            throw ExitCode(1)
        }
    }
}
