import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct LR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr",
        abstract: "Print the learning rate (or momentum) in force at each training iteration.",
        discussion: """
            One row per training iteration: runner.iter, runner.epoch, then the value of every \
            param group during that iteration (after the before_train_iter hooks ran), as \
            mmcv's loggers would read it. Values are printed with the shortest digits that \
            read back exactly.

            Examples:
              hooktrace lr run.htrace --iter 500          # the LR at iteration 500
              hooktrace lr run.htrace --epoch 8:8 --momentum
              hooktrace lr run.htrace --changes           # only iterations where a value changed
            """
    )

    @Argument(help: "The trace to read.")
    var file: String

    @Option(name: .long, help: ArgumentHelp("Only these iterations (runner.iter, from 0).", valueName: "A[:B]"))
    var iter: CounterRange?

    @Option(name: .long, help: ArgumentHelp("Only these epochs (runner.epoch, from 0).", valueName: "A[:B]"))
    var epoch: CounterRange?

    @Flag(name: .long, help: "Print momentum (or Adam's beta1) instead of the learning rate.")
    var momentum = false

    @Flag(name: .long, help: "Print only iterations where a value changed.")
    var changes = false

    @Flag(name: .long, help: "Print JSON lines.")
    var json = false

    func run() throws {
        // Values are tracked from the start of the trace; the filter only selects rows.
        let reader = try TraceReader(path: file)
        let kind: RunState.ValueKind = momentum ? .momentum : .lr
        var state = RunState()
        var last: [Double] = []
        var out = StandardOutput()
        var rows = 0
        var headerWritten = false
        // The run's param groups that have this kind of value (run_start's all do), and their
        // column names: worked out again only when the groups change, not per row.
        var columnGroups: [RunState.Group]?
        var columns: [Int] = []
        var names: [String] = []
        try reader.forEachIntact { entry in
            if case .call(let c) = entry.event, c.stage == "after_train_iter" {
                if let iter, !iter.range.contains(c.iter) { return }
                if let epoch, !epoch.range.contains(c.epoch) { return }
                if columnGroups != state.groups {
                    columnGroups = state.groups
                    columns = state.groups.indices.filter { i in
                        state.groups[i].fromStart || (momentum ? state.groups[i].hasMomentum : state.groups[i].hasLR)
                    }
                    names = columns.map { i in
                        let g = state.groups[i]
                        return (g.optimizer.isEmpty ? "" : g.optimizer + ".") + (momentum ? "momentum" : "lr") + "[\(g.group)]"
                    }
                }
                let all = state.values(kind)
                let values = columns.map { all[$0] }
                if changes && values.elementsEqual(last, by: { $0.bitPattern == $1.bitPattern }) { return }
                last = values
                rows += 1
                if json {
                    var fields = ["\"iter\":\(c.iter)", "\"epoch\":\(c.epoch)"]
                    for (name, value) in zip(names, values) { fields.append("\(jsonString(name)):\(formatDouble(value))") }
                    out.write("{" + fields.joined(separator: ",") + "}\n")
                } else {
                    if !headerWritten {
                        headerWritten = true
                        out.write(pad("ITER", 9) + pad("EPOCH", 7) + names.joined(separator: "  ") + "\n")
                    }
                    out.write(pad(String(c.iter), 9) + pad(String(c.epoch), 7) + values.map(formatDouble).joined(separator: "  ") + "\n")
                }
            } else {
                state.apply(entry.event)
            }
        }
        out.flush()
        if case .damaged(let error) = reader.state { throw error }
        if rows == 0 {
            printError("hooktrace: no training iterations" + (iter != nil || epoch != nil ? " in the given range" : "") + " in \(file)")
            throw ExitCode(1)
        }
    }
}
