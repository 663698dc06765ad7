import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct LR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr",
        abstract: "Print the learning rate (or momentum) in force at each training iteration, of a trace or a config.",
        discussion: """
            One row per training iteration: runner.iter, runner.epoch, then the value of every \
            param group during that iteration (after the before_train_iter hooks ran, before \
            the after_train_iter ones), as the framework's loggers read it. Values are printed \
            with the shortest digits that read back exactly.

            Given a run config instead of a trace (or with --config), simulates it in memory \
            (nothing is written) and prints its schedule: "what is my LR at iteration N" needs \
            no trace. --cfg-options changes the config first (any key, as mmcv's and mmengine's \
            --cfg-options do), so a schedule can be tried before it is trained.

            Examples:
              hooktrace lr run.htrace --iter 500          # the LR at iteration 500
              hooktrace lr run.htrace --epoch 8:8 --momentum
              hooktrace lr run.htrace --changes           # only iterations where a value changed
              hooktrace lr traces/examples/faster-rcnn_r50_fpn_1x_coco_mmdet3.json --changes
              hooktrace lr --config c.json --cfg-options 'param_scheduler.1.milestones=[9,11]' --iter 80000
            """
    )

    @Argument(help: "The trace to read, or a run config (JSON) to simulate.")
    var file: String?

    @Option(name: .long, help: "A run config (JSON) to simulate instead of a trace.")
    var config: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("With a config: override values first, key.path=value (e.g. lr_config.step=[16,22]).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @OptionGroup(title: "Launch, with a config (the training script's command line)")
    var launch: LaunchOptions

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

    func validate() throws {
        switch (file, config) {
        case (nil, nil): throw ValidationError("give a trace or a run config (e.g. hooktrace lr run.htrace, hooktrace lr --config c.json)")
        case (.some, .some): throw ValidationError("give a trace or --config, not both")
        default: break
        }
    }

    func run() throws {
        var table = Table(kind: momentum ? .momentum : .lr, iter: iter?.range, epoch: epoch?.range, changes: changes, json: json)
        let source: String
        if let path = config ?? file, config != nil || !startsWithTraceMagic(path) {
            source = path
            try simulate(path, into: &table)
        } else {
            guard launch.isEmpty else { throw HooktraceError(.usage, "--gpus, --train-size, --val-size, --no-validate and --auto-scale-lr change a config, and \(file!) is a trace") }
            guard cfgOptions.isEmpty else {
                throw HooktraceError(.usage, "--cfg-options changes a config, and \(file!) is a trace; to try other hook settings on a recorded run use `hooktrace replay \(file!) --cfg-options …`")
            }
            source = file!
            let reader = try TraceReader(path: source)
            try reader.forEachIntact { entry in table.consume(entry.event) }
            table.out.flush()
            if case .damaged(let error) = reader.state { throw error }
        }
        table.out.flush()
        if table.rows == 0 {
            printError("hooktrace: no training iterations" + (iter != nil || epoch != nil ? " in the given range" : "") + " in \(source)")
            throw ExitCode(1)
        }
    }

    /// Simulates the config (with `--cfg-options`) in memory, printing rows as the run goes.
    private func simulate(_ path: String, into table: inout Table) throws {
        let cfg = try loadConfig(path, options: cfgOptions, launch: launch)
        let (runner, _) = try prepareRun(cfg, file: path)
        printConfigNotes(cfg, runner: runner)
        for text in runner.configWarnings { printError("hooktrace: warning: config: \(text)") }
        var rows = table
        let result = Result { () throws(HooktraceError) in
            try Simulator.record(cfg) { e throws(HooktraceError) in rows.consume(e) }
        }
        table = rows
        if case .failure(let error) = result { throw HooktraceError(error.code, error.message, file: path) }
    }

    /// The rows of the table, from a run's events in order.
    struct Table {
        let kind: RunState.ValueKind
        let iter: ClosedRange<Int>?
        let epoch: ClosedRange<Int>?
        let changes: Bool
        let json: Bool
        var out = StandardOutput()
        var rows = 0
        private var state = RunState()
        private var last: [Double] = []
        private var headerWritten = false
        // The run's param groups that have this kind of value (run_start's all do), and their
        // column names: worked out again only when the groups change, not per row.
        private var columnGroups: [RunState.Group]?
        private var columns: [Int] = []
        private var names: [String] = []
        /// Names of the run's param groups (run_start's `param_group_names`: paramwise_cfg's classes).
        private var groupNames = GroupNames()

        init(kind: RunState.ValueKind, iter: ClosedRange<Int>?, epoch: ClosedRange<Int>?, changes: Bool, json: Bool) {
            self.kind = kind
            self.iter = iter
            self.epoch = epoch
            self.changes = changes
            self.json = json
        }

        /// Values are tracked from the start of the run; the filters only select rows.
        mutating func consume(_ event: Event) {
            if case .runStart(let r) = event { groupNames = RunState.groupNames(r) }
            guard case .call(let c) = event, c.stage == "after_train_iter" else {
                state.apply(event)
                return
            }
            if let iter, !iter.contains(c.iter) { return }
            if let epoch, !epoch.contains(c.epoch) { return }
            let momentum = kind == .momentum
            if columnGroups != state.groups {
                columnGroups = state.groups
                columns = state.groups.indices.filter { i in
                    state.groups[i].fromStart || (momentum ? state.groups[i].hasMomentum : state.groups[i].hasLR)
                }
                names = columns.map { i in
                    let g = state.groups[i]
                    let label = groupNames.name(g.optimizer, g.group) ?? String(g.group)
                    return (g.optimizer.isEmpty ? "" : g.optimizer + ".") + (momentum ? "momentum" : "lr") + "[\(label)]"
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
        }
    }
}
