import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify every block of a trace and report damage.",
        discussion: """
            Reads every block, verifies its checksums and decodes its events. Prints the \
            good blocks, the first bad byte offset and the events lost.

            Exit status: 0 intact (or ended early without losing anything), 1 damaged, 2 unreadable.
            """
    )

    @Argument(help: "The trace to check.")
    var file: String

    @Flag(name: .shortAndLong, help: "Print only the verdict line.")
    var quiet = false

    func run() throws {
        let r = try IntegrityReport.check(path: file)
        var out = StandardOutput()
        defer { out.flush() }
        switch r.verdict {
        case .intact:
            out.write("\(file): OK: \(r.goodBlocks) block(s), \(r.goodEvents) event(s), closed\n")
        case .endedEarly:
            out.write("\(file): OK, ended early: \(r.goodBlocks) block(s), \(r.goodEvents) event(s) intact; the writer never closed the trace (crash, kill, or still recording)" + (r.runEnded ? "" : " and the run has no run_end event") + "\n")
            if !quiet { out.write("  nothing was lost; `hooktrace repair \(file)` adds the end marker\n") }
        case .damaged:
            let problem = r.problem
            out.write("\(file): DAMAGED at byte \(problem?.offset ?? r.goodBytes)" + (problem?.block.map { " (block \($0))" } ?? "") + "\n")
            if !quiet {
                out.write("  good:     \(r.goodBlocks) block(s), events 0…\(r.goodEvents == 0 ? "-" : String(r.goodEvents - 1)), bytes 0…\(r.goodBytes)\n")
                if let problem { out.write("  problem:  \(problem.message)\n") }
                if r.closed && r.headerDamage == nil {
                    out.write("  lost:     nothing (the bytes follow the end marker)\n")
                } else {
                    out.write("  lost:     \(r.lostEventsDescription)\n")
                }
                if !r.laterBlocks.isEmpty {
                    out.write("  after:    \(r.laterBlocks.count) intact-looking block(s) follow the damage; they cannot be read without the damaged block and are dropped by repair\n")
                }
                out.write("  fix:      hooktrace repair \(file)   (keeps the good part, backs up the original)\n")
            }
            out.flush()
            throw ExitCode(1)
        }
    }
}
