import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Keep every intact block of a damaged or unfinished trace and drop the rest.",
        discussion: """
            Copies the intact blocks and closes the copy with an end marker. With -o the \
            original is left untouched; without it the trace is replaced and the original is \
            kept as FILE.bak. The new file is written under a temporary name and renamed into \
            place, so an interrupted repair loses nothing.
            """
    )

    @Argument(help: "The trace to repair.")
    var file: String

    @Option(name: .shortAndLong, help: "Write the repaired trace here instead of replacing FILE.")
    var output: String?

    func validate() throws {
        if let output, output == file {
            throw ValidationError("-o names the input itself; omit -o to repair in place (a backup is kept)")
        }
    }

    func run() throws {
        let report = try IntegrityReport.check(path: file)
        guard let result = try TraceRepair.repair(path: file, output: output, report: report) else {
            print("\(file): intact; nothing to repair")
            return
        }
        print("\(result.output): kept \(result.keptBlocks) block(s), \(result.keptEvents) event(s); dropped \(result.droppedBytes) byte(s)")
        if report.verdict == .damaged { print("  dropped: \(report.lostEventsDescription)") }
        if let backup = result.backup { print("  original kept as \(backup)") }
    }
}
