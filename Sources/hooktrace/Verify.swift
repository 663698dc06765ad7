import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

#if canImport(Glibc)
import Glibc
#endif

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check golden traces: re-record (and replay) each and compare decoded events.",
        discussion: """
            A golden is a directory with config.json, optionally hooks.json (the config is \
            recorded, then replayed with these hooks), expected.htrace and expected.txt (a \
            readable dump for review). Prints PASS or FAIL per golden, with the semantic diff \
            of each failure.

            --update rewrites the goldens that changed (and records missing ones) and says \
            which; review expected.txt before committing. HOOKTRACE_RECORD=never|missing|failed|all \
            sets the mode without --update. With CI set, nothing is ever written.

            Exit status: 0 all pass, 1 a golden failed, 2 trouble.
            """
    )

    @Argument(help: "Goldens, or directories of goldens (default: traces/golden).")
    var paths: [String] = []

    @Flag(name: .long, help: "Rewrite goldens that differ and record missing ones.")
    var update = false

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    func run() throws {
        if update && getenv("CI") != nil {
            throw ValidationError("refusing to --update goldens with CI set; update them locally and commit the result")
        }
        let mode: Golden.RecordMode = update ? .failed : Golden.RecordMode.fromEnvironment(default: .never)
        let goldens = try Golden.discover(paths.isEmpty ? ["traces/golden"] : paths)
        var out = StandardOutput()
        var failed = 0
        var written = 0
        for golden in goldens {
            let result = try Golden.verify(golden, mode: mode)
            switch result.status {
            case .pass:
                if !quiet { out.write("PASS     \(golden.name)\n") }
            case .fail:
                failed += 1
                out.write("FAIL     \(golden.name)\n")
                out.write(result.message.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n")
            case .recorded, .updated:
                written += 1
                out.write("\(result.status.rawValue.padding(8)) \(golden.name): \(result.message.split(separator: "\n").first ?? "")\n")
            }
            out.flush()
        }
        out.write("\(goldens.count - failed) passed, \(failed) failed" + (written > 0 ? ", \(written) written" : "") + "\n")
        out.flush()
        if failed > 0 {
            printError("hooktrace: to accept the new behaviour run `hooktrace verify \(paths.isEmpty ? "traces/golden" : paths.joined(separator: " ")) --update` and review the changed expected.txt files")
            throw ExitCode(1)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
