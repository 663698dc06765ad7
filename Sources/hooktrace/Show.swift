import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a trace's events as a table or as JSON lines.",
        discussion: """
            Events after a call belong to it: --epoch, --iter and --stage select calls and \
            everything that happened during them. Blocks outside an --epoch/--iter range are \
            skipped without being decompressed.

            Examples:
              hooktrace show run.htrace --epoch 8 --stage before_train_iter
              hooktrace show run.htrace --hook CheckpointHook
              hooktrace show run.htrace --iter 500:510 --json | jq .
            """
    )

    @Argument(help: "The trace to read.")
    var file: String

    @OptionGroup var filters: FilterOptions

    @Flag(name: .long, help: "Print JSON lines (one object per event) instead of a table.")
    var json = false

    @Option(name: .long, help: "Stop after this many events.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() throws {
        var out = StandardOutput()
        var line = ""
        if !json { out.write(EventText.header + "\n") }
        var shown = 0
        struct Enough: Error {}
        do {
            try readAll(file, filter: filters.filter) { entry in
                if let limit, shown >= limit { throw Enough() }
                shown += 1
                if json {
                    line.removeAll(keepingCapacity: true)
                    JSONLines.write(entry, to: &line)
                    out.write(line)
                } else {
                    out.write(EventText.line(entry) + "\n")
                }
            }
        } catch is Enough {
        } catch {
            out.flush()
            throw error
        }
        out.flush()
        if shown == 0 && !filters.filter.isEmpty {
            printError("hooktrace: no events match the filter")
        }
    }
}
