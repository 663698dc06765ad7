import Foundation
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starts `hooktrace record -- python3 train_mmcv.py` with the stand-in runner, kills the
/// recorder with SIGKILL after `killAfter` seconds and waits for the training program
/// (which goes on without it) to finish.
private struct KilledRecording {
    let scratch = Scratch()
    var trace: String { scratch.file("run.htrace") }
    var done: String { scratch.file("DONE") }

    /// Returns whether the training program finished within `timeout` seconds after the kill.
    func run(env extra: [String: String], killAfter: Double, timeout: Double = 60) throws -> Bool {
        let process = try CLI.start(["record", "-q", "-o", trace, "--", "python3", LiveRecordTests.fixtures + "/train_mmcv.py", scratch.file("wd")],
                                    environment: extra.merging(["PYTHONPATH": LiveRecordTests.fixtures, "DONE_FILE": done]) { a, _ in a })
        usleep(UInt32(killAfter * 1_000_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: done) { return true }
            usleep(50_000)
        }
        // A hung training program: end it so that the test run itself does not hang.
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pkill.arguments = ["pkill", "-9", "-f", "^[^ ]*python3 .*" + scratch.file("wd")]
        try? pkill.run()
        pkill.waitUntilExit()
        return false
    }
}

@Suite("Reliability: a killed recorder never hangs or loses a real run", .serialized)
struct KilledRecorderTests {
    @Test("a recorder killed before the program's first batch does not hang the training")
    func noHang() throws {
        let k = KilledRecording()
        // The program starts slowly (2 s), then sends many batches to a recorder that is gone.
        // It must not even stall: the shim's 30 s send timeout is only a last resort.
        let finished = try k.run(env: ["START_DELAY": "2", "ITERS": "20000", "EPOCHS": "1"], killAfter: 1.0, timeout: 20)
        #expect(finished, "the training program hung after its recorder was killed")
        // Nothing of the socket is left on disk (abstract socket), and the reserved output
        // is visible under its name.
        #expect(FileManager.default.fileExists(atPath: k.trace + ".partial"))
    }

    @Test("a recorder killed mid-run leaves the run so far on disk, readable and checkable")
    func noLoss() throws {
        let k = KilledRecording()
        // About 4 s of training per epoch; killed 2.5 s in, in the middle of the first epoch.
        let finished = try k.run(env: ["ITERS": "400", "STEP_DELAY": "0.01", "EPOCHS": "1"], killAfter: 2.5)
        #expect(finished)
        let partial = k.trace + ".partial"
        #expect(!FileManager.default.fileExists(atPath: k.trace))
        let check = try CLI.run(["check", partial])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("ended early"))
        let entries = try LiveRecordTests.events(partial)
        guard case .runStart(let start)? = entries.first?.event else {
            Issue.record("the partial trace does not start with run_start")
            return
        }
        #expect(start.loaders == [LoaderLength("train", 400), LoaderLength("val", 2)])
        let iterations = entries.filter { if case .call(let c) = $0.event { c.stage == "after_train_iter" } else { false } }.count
        // At ~100 iterations a second, at least a second's worth must be on disk.
        #expect(iterations >= 50, "only \(iterations) iterations were kept")
        // Reading the missing final name points at the partial file.
        let info = try CLI.run(["info", k.trace])
        #expect(info.status == 2 && info.stderr.contains(partial))
        // And the partial file repairs into the final name.
        let repaired = try CLI.run(["repair", partial, "-o", k.trace])
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(try CLI.run(["check", k.trace]).status == 0)
    }

    @Test("a run killed by a signal ends as interrupted (SIGINT, SIGTERM, SIGHUP) or failed (others)")
    func runEndStatus() throws {
        let scratch = Scratch()
        let trace = scratch.file("t.htrace")
        let process = try CLI.start(["record", "-q", "-o", trace, "--", "python3", LiveRecordTests.fixtures + "/train_mmcv.py", scratch.file("wd")],
                                    environment: ["PYTHONPATH": LiveRecordTests.fixtures, "ITERS": "400", "STEP_DELAY": "0.01"])
        usleep(1_500_000)
        // The training program is the recorder's child: kill it, not the recorder.
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pkill.arguments = ["pkill", "-KILL", "-f", "^[^ ]*python3 .*" + scratch.file("wd")]
        try pkill.run()
        pkill.waitUntilExit()
        process.waitUntilExit()
        #expect(process.terminationStatus == 137)
        let entries = try LiveRecordTests.events(trace)
        guard case .runEnd(let end)? = entries.last?.event else {
            Issue.record("no run_end")
            return
        }
        #expect(end.status == .failed && end.exitCode == 137 && end.message.contains("signal 9"))
    }
}

@Suite("Reliability: -o never clobbers what it points at")
struct OutputPathTests {
    private func example(_ scratch: Scratch) throws -> String { try exampleTrace(scratch) }

    @Test("a character device is written directly, never replaced by a file")
    func devNull() throws {
        let scratch = Scratch()
        let trace = try example(scratch)
        for args in [["export", trace, "-o", "/dev/null"], ["plot", trace, "-o", "/dev/null"], ["report", trace, "-o", "/dev/null"],
                     ["record", "--config", RecordCLITests.examples + "/faster_rcnn_r50_fpn_1x_coco.json", "-q", "-o", "/dev/null"]] {
            let r = try CLI.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            var st = stat()
            #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR, "\(args) replaced /dev/null")
        }
        #expect(!FileManager.default.fileExists(atPath: "/dev/null.partial"))
    }

    @Test("export -o - writes to standard output")
    func dash() throws {
        let scratch = Scratch()
        let trace = try example(scratch)
        let r = try CLI.run(["export", trace, "--format", "csv", "-o", "-"])
        #expect(r.status == 0 && r.stdout.hasPrefix("seq,type,"))
    }

    @Test("a FIFO is written directly")
    func fifo() throws {
        let scratch = Scratch()
        let trace = try example(scratch)
        let fifo = scratch.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        let out = Pipe()
        reader.standardOutput = out
        try reader.run()
        let r = try CLI.run(["export", trace, "--format", "jsonl", "-o", fifo])
        let data = out.fileHandleForReading.readDataToEndOfFile()
        reader.waitUntilExit()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(String(decoding: data, as: UTF8.self).split(separator: "\n").count == 260)
        var st = stat()
        #expect(stat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test("an input of the same command, a directory and an empty path are refused; nothing changes")
    func refused() throws {
        let scratch = Scratch()
        let trace = try example(scratch)
        let config = scratch.file("v.json")
        try FileManager.default.copyItem(atPath: RecordCLITests.examples + "/faster_rcnn_r50_fpn_1x_coco.json", toPath: config)
        let before = try Data(contentsOf: URL(fileURLWithPath: config))
        let clobber = try CLI.run(["record", "--config", config, "-o", config])
        #expect(clobber.status == 2 && clobber.stderr.contains("also an input"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: config)) == before)
        let exportOver = try CLI.run(["export", trace, "-o", trace])
        #expect(exportOver.status == 2 && exportOver.stderr.contains("also an input"))
        let replayOver = try CLI.run(["replay", trace, "-o", trace])
        #expect(replayOver.status == 2 && replayOver.stderr.contains("also an input"))
        #expect(try CLI.run(["check", trace]).status == 0)
        let dir = scratch.file("d")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let intoDir = try CLI.run(["record", "--config", config, "-o", dir])
        #expect(intoDir.status == 2 && intoDir.stderr.contains("is a directory"))
        let dirConfig = try CLI.run(["record", "--config", dir, "-o", scratch.file("x.htrace")])
        #expect(dirConfig.status == 2 && dirConfig.stderr.contains("is a directory"), "\(dirConfig.stderr)")
        let empty = try CLI.run(["record", "--config", config, "-o", ""])
        #expect(empty.status == 2 && empty.stderr.contains("empty"))
        // replay compares as it runs: its trace can go to a device; not to stdout, the report's.
        let small = scratch.file("small.htrace")
        #expect(try CLI.run(["record", "--config", ReplayReportTests.goldens + "/eval-save-best/config.json", "-o", small, "--quiet"]).status == 0)
        let replayDev = try CLI.run(["replay", small, "-o", "/dev/null"])
        #expect(replayDev.status == 0 && replayDev.stdout.contains("result: same"), "\(replayDev.stderr)")
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        let replayStdout = try CLI.run(["replay", small, "-o", "-"])
        #expect(replayStdout.status == 2 && replayStdout.stderr.contains("standard output"))
        // Nothing was left behind by any refusal.
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
        #expect(left == ["d", "ex.htrace", "small.htrace", "v.json"])
    }

    @Test("a leftover OUT.partial is never overwritten: the command refuses and names it")
    func leftoverPartial() throws {
        let scratch = Scratch()
        let out = scratch.file("r.htrace")
        try Data("earlier data".utf8).write(to: URL(fileURLWithPath: out + ".partial"))
        let r = try CLI.run(["record", "--config", RecordCLITests.examples + "/faster_rcnn_r50_fpn_1x_coco.json", "-o", out])
        #expect(r.status == 2 && r.stderr.contains(out + ".partial exists"))
        #expect(try String(contentsOfFile: out + ".partial", encoding: .utf8) == "earlier data")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("Ctrl-C while recording a simulated run removes its partial file (it is made again by running again)")
    func interruptedRecord() throws {
        let scratch = Scratch()
        let out = scratch.file("fr.htrace")
        let process = try CLI.start(["record", "--config", RecordCLITests.examples + "/faster_rcnn_r50_fpn_1x_coco.json", "-q", "-o", out])
        // Wait for the partial file: the recording is under way.
        var waited = 0
        while !FileManager.default.fileExists(atPath: out + ".partial") && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            #expect(process.terminationStatus == SIGINT)
            #expect(!FileManager.default.fileExists(atPath: out + ".partial"), "the partial file was left behind")
            #expect(!FileManager.default.fileExists(atPath: out))
        } else {
            // The machine was fast enough to finish first: then the trace is complete.
            #expect(try CLI.run(["check", out]).status == 0)
        }
    }

    @Test("a symbolic link to a trace keeps being a link; the file it points at is replaced")
    func symlink() throws {
        let scratch = Scratch()
        let trace = try example(scratch)
        let real = scratch.file("real.svg")
        try Data("old".utf8).write(to: URL(fileURLWithPath: real))
        let link = scratch.file("link.svg")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let r = try CLI.run(["plot", trace, "-o", link])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == real)
        #expect(try String(contentsOfFile: real, encoding: .utf8).hasPrefix("<svg"))
    }

    @Test("repair never overwrites an existing backup: it takes the next free name")
    func backups() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        try Data("an older backup".utf8).write(to: URL(fileURLWithPath: path + ".bak"))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes = bytes.prefix(bytes.count - 200)
        try bytes.write(to: URL(fileURLWithPath: path))
        let fixed = try CLI.run(["repair", path])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains(path + ".bak.1"))
        #expect(try String(contentsOfFile: path + ".bak", encoding: .utf8) == "an older backup")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".bak.1")) == bytes)
        #expect(try CLI.run(["check", path]).status == 0)
    }
}
