import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

#if canImport(Glibc)
import Glibc
#endif

@main
struct Hooktrace: ParsableCommand {
    // Every command names itself (commandName): deriving a name from the type at start-up
    // scans every protocol conformance of the binary, about 3 ms of each command's run.
    static let configuration = CommandConfiguration(
        commandName: "hooktrace",
        abstract: "Record, read and check traces of mmcv-style training hooks.",
        discussion: """
            A trace (.htrace) holds every runner.call_hook(stage) of a training run with its \
            counters and time, the observations between calls (loss, timings, metrics) and the \
            effects each hook had (learning rates, checkpoints, log records).

            Exit status: 0 success; 1 a problem was found: `check` found damage, a reading \
            command met damage after printing what the intact blocks hold, `diff` and `replay` \
            found differences; 2 trouble: bad arguments, a file that is not a trace or cannot be \
            read at all.
            """,
        version: hooktraceVersion,
        subcommands: [Record.self, Replay.self, Diff.self, Sweep.self, Verify.self, ResumeCheck.self, Hooks.self, LR.self, ConfigCommand.self, Plot.self, Report.self, Info.self, Show.self, Check.self, Repair.self, Export.self, Example.self]
    )

    /// Runs the command, mapping errors to diff(1)-style exit codes: 0 ok, 1 problem found, 2 trouble.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as HooktraceError {
            printError("hooktrace: error: \(error)")
            // One rule for damaged traces: a command that read what the intact blocks hold
            // and then met damage exits 1; 2 is for nothing readable at all.
            Glibc.exit(error.isDamageAfterReading ? 1 : 2)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Glibc.exit(0)
            }
            printError(message.hasPrefix("Error:") ? "hooktrace: error:" + message.dropFirst(6) : message)
            Glibc.exit(2)
        }
    }
}

func printError(_ message: String) {
    var text = message
    if !text.hasSuffix("\n") { text += "\n" }
    writeFD(2, text)
}

/// Writes all of `text` to a file descriptor; stops quietly when the reader went away.
func writeFD(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buf in
        var done = 0
        while done < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { Glibc.exit(0) }
                return
            }
            done += n
        }
    }
}

/// Buffered writing to stdout.
struct StandardOutput {
    private var buffer = ""

    mutating func write(_ s: String) {
        buffer += s
        if buffer.utf8.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        writeFD(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
