import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a trace's learning rate, momentum, loss or a metric as an SVG chart.",
        discussion: """
            Plots the value against the iteration, with epoch boundaries, checkpoint saves (▲) and \
            removals (✕) and evaluations (○) marked. Several traces overlay (recorded vs replayed, \
            before vs after a change), each with its own colour, dash pattern and marker lane. \
            Step-like series keep only the points where the value changes; noisy ones are thinned \
            per pixel column keeping minima and maxima, so long runs give small files.

            Examples:
              hooktrace plot run.htrace -o lr.svg
              hooktrace plot run.htrace new.htrace --what lr --log-y -o compare.svg
              hooktrace plot run.htrace --what metric:bbox_mAP -o map.svg
            """
    )

    @Argument(help: "One or more traces.")
    var files: [String]

    @Option(name: .shortAndLong, help: "Where to write the SVG (default: standard output).")
    var output: String?

    @Option(name: .long, help: "What to plot: lr, momentum, loss or metric:NAME.")
    var what: String = "lr"

    @Option(name: .long, help: ArgumentHelp("Which param group: its index, or its name where the run names groups (paramwise_cfg's classes, e.g. backbone).", valueName: "N|NAME"))
    var group: String = "0"

    @Option(name: .long, help: "Which optimizer, for runs with several (default: the first).")
    var optimizer: String?

    @Option(name: .long, help: ArgumentHelp("Only these epochs.", valueName: "A[:B]"))
    var epoch: CounterRange?

    @Option(name: .long, help: ArgumentHelp("Only these iterations.", valueName: "A[:B]"))
    var iter: CounterRange?

    @Flag(name: .long, help: "Logarithmic y axis.")
    var logY = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one trace") }
        if SeriesKind(name: what) == nil { throw ValidationError("--what takes lr, momentum, loss or metric:NAME, got '\(what)'") }
        if epoch != nil && iter != nil { throw ValidationError("give --epoch or --iter, not both") }
    }

    func run() throws {
        let kind = SeriesKind(name: what)!
        var series: [RunSeries] = []
        for file in files {
            let s = try RunSeries.read(file, kind: kind, group: group, optimizer: optimizer, iters: iter?.range, epochs: epoch?.range)
            if s.points.isEmpty && (kind == .lr || kind == .momentum) && !s.available.contains(kind.description) && (group != "0" || optimizer != nil) {
                throw HooktraceError(.invalidInput, "has no param group \(group)\(optimizer.map { " of optimizer \($0)" } ?? ""); its groups: \(try groupList(file))", file: file)
            }
            if s.points.isEmpty {
                let has = s.available.sorted().joined(separator: ", ")
                let range = (iter != nil || epoch != nil) ? " in the given range" : ""
                throw HooktraceError(.invalidInput, "has no \(what) values\(range); it has: \(has.isEmpty ? "no plottable series" : has)", file: file)
            }
            series.append(s)
        }
        let label = series.first?.groupLabel ?? group
        let title = "\(kind == .lr ? "learning rate" : kind.description)" + (kind == .lr || kind == .momentum ? (label != "0" ? " (param group \(label))" : "") : "")
        let chart = SVGChart(title: title, yLabel: kind.description, series: series, logY: logY)
        let svg = chart.svg
        if let output {
            try writeAtomically(output, inputs: files) { sink in try sink(svg) }
            printError("wrote \(output) (\(series.map { "\($0.points.count) points" }.joined(separator: ", ")))")
        } else {
            var out = StandardOutput()
            out.write(svg)
            out.flush()
        }
        // Plotted from the intact blocks; the damage is reported last (exit 1).
        if let damage = series.lazy.compactMap(\.damage).first { throw damage }
    }
}

/// The param groups a trace's run_start lists, as `plot --group` takes them.
private func groupList(_ path: String) throws -> String {
    guard let r = try traceRunStart(path) else { return "none" }
    let names = RunState.groupNames(r)
    return r.paramGroups.map { g in
        (g.optimizer.isEmpty ? "" : g.optimizer + ".") + (names.name(g.optimizer, g.group).map { "\(g.group) (\($0))" } ?? String(g.group))
    }.joined(separator: ", ")
}
