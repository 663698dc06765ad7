import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

#if canImport(Glibc)
import Glibc
#endif

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case jsonl, csv
    case chromeTrace = "chrome-trace"
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trace as JSON lines, CSV or a Perfetto timeline (chrome-trace).",
        discussion: """
            jsonl: one JSON object per event, as `show --json` prints (docs/FORMAT.md, "JSON lines").
            csv: long form, one row per event and one per field of log/evaluation records; \
            columns seq,type,stage,epoch,iter,inner_iter,mode,time,hook,key,value,detail.
            chrome-trace: a timeline for ui.perfetto.dev and chrome://tracing: epochs, iterations \
            and call_hook stages as nested slices (hooks inside their stage with per-hook timing), \
            lr and loss counters, checkpoints and evaluations as instants. Large runs: use --epoch.

            With -o the file appears only when complete (written under a temporary name first).

            Examples:
              hooktrace export run.htrace --format csv -o run.csv
              hooktrace export run.htrace --format jsonl | jq 'select(.type=="set_lr")'
            """
    )

    @Argument(help: "The trace to read.")
    var file: String

    @Option(name: .long, help: "Output format: jsonl, csv or chrome-trace.")
    var format: ExportFormat = .jsonl

    @Option(name: .shortAndLong, help: "Write here instead of to standard output.")
    var output: String?

    @OptionGroup var filters: FilterOptions

    func run() throws {
        if let output {
            try writeAtomically(output, inputs: [file]) { sink in try export(sink) }
        } else {
            var out = StandardOutput()
            defer { out.flush() }
            try export { out.write($0) }
        }
    }

    private func export(_ sink: (String) throws -> Void) throws {
        if format == .chromeTrace {
            if filters.iter != nil || filters.stage != nil || filters.hook != nil {
                throw ValidationError("chrome-trace takes --epoch only")
            }
            try ChromeTrace.export(file, epochs: filters.epoch?.range, sink: sink)
            return
        }
        var text = ""
        // The run's names of its param groups, whatever the filter keeps.
        let names = format == .csv ? (try traceRunStart(file)).map(RunState.groupNames) ?? GroupNames() : GroupNames()
        if format == .csv { try sink(CSVExport.header) }
        do {
            try readAll(file, filter: filters.filter) { entry in
                switch format {
                case .jsonl: JSONLines.write(entry, to: &text)
                case .csv: CSVExport.write(entry, names: names, to: &text)
                case .chromeTrace: break
                }
                if text.utf8.count >= 1 << 16 {
                    try sink(text)
                    text.removeAll(keepingCapacity: true)
                }
            }
        } catch let damage as HooktraceError where damage.isDamageAfterReading {
            try sink(text)  // the events before the damage, then the damage
            throw damage
        }
        try sink(text)
    }
}

/// Writes the output `path` as ``OutputPath`` decides (a regular file through `PATH.partial`
/// renamed into place, so a failure leaves nothing half-written; `-`, a device or a FIFO
/// directly), refusing to write over one of `inputs`.
func writeAtomically(_ path: String, inputs: [String], _ body: ((String) throws -> Void) throws -> Void) throws {
    let out = try OutputPath(path, inputs: inputs)
    removePartialOnInterrupt(out)
    guard let file = fopen(out.writePath, "w") else {
        let why = String(cString: strerror(errno))
        out.discard()
        throw HooktraceError(.io, "cannot create the output: \(why); check the directory exists and is writable", file: path)
    }
    var closed = false
    do {
        try body { s in
            if fputs(s, file) < 0 {
                throw HooktraceError(.io, "cannot write the output: \(String(cString: strerror(errno)))", file: path)
            }
        }
        closed = true
        if fclose(file) != 0 {
            throw HooktraceError(.io, "cannot write the output: \(String(cString: strerror(errno)))", file: path)
        }
        try out.commit()
    } catch {
        if !closed { fclose(file) }
        out.discard()
        throw error
    }
}
