import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report of a run (and its diff against another).",
        discussion: """
            The report needs no network and no scripts: the run summary, LR / momentum / loss \
            charts, the checkpoint timeline, the hooks in order with their priorities, time per \
            stage and (with per-hook timing) per hook, and with --vs the semantic diff with both \
            runs overlaid in the charts.
            """
    )

    @Argument(help: "The trace.")
    var file: String

    @Option(name: .long, help: "Another trace to compare with (e.g. a replay).")
    var vs: String?

    @Option(name: .shortAndLong, help: "Where to write the HTML.")
    var output: String

    func run() throws {
        let (html, damage) = try HTMLReport.make(file, vs: vs)
        try writeAtomically(output, inputs: [file] + (vs.map { [$0] } ?? [])) { sink in try sink(html) }
        printError("wrote \(output)" + (damage == nil ? "" : " (from the intact blocks)"))
        if let damage { throw damage }
    }
}
