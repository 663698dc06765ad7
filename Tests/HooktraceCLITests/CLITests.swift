import Foundation
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim
import Testing

/// Runs the built `hooktrace` binary (next to the test bundle) and captures its output.
struct CLI {
    static let binary: String = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("hooktrace").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Whether the process died of a signal (a trap is SIGILL or SIGTRAP).
        var signalled = false
    }

    /// Starts the binary with `arguments` in the background, its output discarded;
    /// `environment` entries are added to this process's.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs the binary with `arguments`; `environment` entries are added to this process's.
    static func run(_ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], executable: String = binary) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// The small synthetic example trace, written into `scratch` as ex.htrace.
func exampleTrace(_ scratch: Scratch) throws -> String {
    let path = scratch.file("ex.htrace")
    let r = try CLI.run(["example", "--small", "-o", path])
    #expect(r.status == 0, "\(r.stderr)")
    return path
}

final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "hooktrace-cli-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

@Suite("hooktrace command line")
struct CLITests {
    private func example(_ scratch: Scratch) throws -> String { try exampleTrace(scratch) }

    @Test("help lists the commands and exits 0")
    func help() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for command in ["info", "show", "check", "repair", "export", "example"] {
            #expect(r.stdout.contains(command), "help lacks \(command)")
        }
        let sub = try CLI.run(["show", "--help"])
        #expect(sub.status == 0 && sub.stdout.contains("--epoch"))
    }

    @Test("info summarises the example run")
    func info() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        let r = try CLI.run(["info", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("events:       260 in 1 block(s)"))
        #expect(r.stdout.contains("EpochBasedRunner, max_epochs 2, max_iters 40"))
        #expect(r.stdout.contains("complete (run completed)"))
        #expect(r.stdout.contains("bytes/event"))
    }

    @Test("show filters by iteration and prints JSON lines that parse")
    func showJSON() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        let r = try CLI.run(["show", path, "--iter", "5", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 6)  // 2 calls, set_lr, 3 observations (log records fall on iter 4 and 9)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["iter"] as? Int == 5)
        }
        let lr = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["type"] as? String == "set_lr" }
        #expect(lr?["value"] as? Double == 0.02)
        #expect(lr?["hook"] as? String == "StepLrUpdaterHook")
    }

    @Test("show's table has a header and one line per event")
    func showTable() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        let r = try CLI.run(["show", path, "--hook", "CheckpointHook"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.contains("SEQ") == true)
        #expect(lines.count == 1 + 4)
        #expect(r.stdout.contains("save epoch_1.pth"))
        #expect(r.stdout.contains("latest.pth -> epoch_2.pth"))
    }

    @Test("export writes CSV and JSON lines with one record per event or field")
    func export() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        let csv = scratch.file("out.csv")
        let r = try CLI.run(["export", path, "--format", "csv", "-o", csv])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: csv, encoding: .utf8)
        let rows = text.split(separator: "\n")
        #expect(rows.first == "seq,type,stage,epoch,iter,inner_iter,mode,time,hook,key,value,detail")
        // 260 events; 8 log records of 8 fields add 7 rows each.
        #expect(rows.count == 1 + 260 + 8 * 7)
        #expect(rows.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 12 })
        let jsonl = try CLI.run(["export", path, "--format", "jsonl"])
        #expect(jsonl.stdout.split(separator: "\n").count == 260)
        #expect(!FileManager.default.fileExists(atPath: csv + ".tmp"))
    }

    @Test("a missing file, a non-trace and bad arguments exit 2 with a clear message")
    func badInput() throws {
        let scratch = Scratch()
        let missing = try CLI.run(["info", scratch.file("nope.htrace")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.htrace") && missing.stderr.contains("no such file"))
        #expect(missing.stdout.isEmpty)

        try "not a trace".write(toFile: scratch.file("x.txt"), atomically: true, encoding: .utf8)
        let wrong = try CLI.run(["show", scratch.file("x.txt")])
        #expect(wrong.status == 2 && wrong.stderr.contains("not a hooktrace trace"))

        let badRange = try CLI.run(["show", scratch.file("x.txt"), "--epoch", "5:2"])
        #expect(badRange.status == 2 && badRange.stderr.contains("--epoch"))

        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 2)

        let codec = try CLI.run(["example", "--codec", "lz4", "-o", scratch.file("e")])
        #expect(codec.status == 2 && codec.stderr.contains("unknown codec"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("e")))
    }

    @Test("check exits 1 on damage and names the offset; repair fixes it and keeps a backup")
    func checkAndRepair() throws {
        let scratch = Scratch()
        let path = try example(scratch)
        let ok = try CLI.run(["check", path])
        #expect(ok.status == 0 && ok.stdout.contains("OK"))

        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes = bytes.prefix(bytes.count - 200)
        try bytes.write(to: URL(fileURLWithPath: path))
        let bad = try CLI.run(["check", path])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("DAMAGED at byte"))
        #expect(bad.stdout.contains("hooktrace repair"))

        let show = try CLI.run(["show", path])
        #expect(show.status == 1, "damage after the intact blocks: exit 1")
        #expect(show.stderr.contains("hooktrace repair"))

        let fixed = try CLI.run(["repair", path])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("original kept as"))
        #expect(FileManager.default.fileExists(atPath: path + ".bak"))
        #expect(try CLI.run(["check", path]).status == 0)
    }
}

@Suite("hooktrace record and hooks")
struct RecordCLITests {
    static let examples: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("traces/examples").path
    }()

    @Test("record writes a complete trace and a summary")
    func record() throws {
        let scratch = Scratch()
        let out = scratch.file("run.htrace")
        let r = try CLI.run(["record", "--config", Self.examples + "/custom_hooks_mixed_priorities.json", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("recorded \(out): EpochBasedRunner"))
        #expect(r.stderr.contains("warning: MyVisualizationHook"))
        let check = try CLI.run(["check", out])
        #expect(check.status == 0)
        let info = try CLI.run(["info", out])
        #expect(info.stdout.contains("source:       simulated"))
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
    }

    @Test("every example config is valid: its hook listing prints (the config read and every hook built)")
    func examplesAreValid() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".json") }.sorted()
        #expect(names.count >= 10)
        for name in names {
            let r = try CLI.run(["hooks", Self.examples + "/" + name])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            #expect(r.stdout.hasPrefix("before_run:\n"), "\(name)")
        }
    }

    @Test("a bad config exits 2 with the config path and writes nothing")
    func badConfig() throws {
        let scratch = Scratch()
        let cfg = scratch.file("bad.json")
        try #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 2}, "optimizer": {"type": "SGD", "lr": 0.1}, "data": {"train": 2}, "checkpoint_config": {"max_keep_ckpts": "3"}}"#
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let out = scratch.file("bad.htrace")
        let r = try CLI.run(["record", "--config", cfg, "-o", out])
        #expect(r.status == 2)
        #expect(r.stderr.contains("checkpoint_config.max_keep_ckpts: expected an integer, got \"3\""))
        #expect(r.stderr.contains(cfg))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("bad.htrace") }
        #expect(leftovers.isEmpty)
        let missing = try CLI.run(["record", "--config", scratch.file("nope.json")])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
    }

    @Test("an mmengine config records as mmengine runs it; info names the framework; hooks lists mmengine's way; replay takes mmengine keys; an EarlyStoppingHook added in a replay ends it early")
    func mmengineConfig() throws {
        let scratch = Scratch()
        let cfg = scratch.file("mmdet3.json")
        let text = #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3}, "val_cfg": {}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "begin": 0, "end": 5}, {"type": "MultiStepLR", "milestones": [2]}], "default_hooks": {"logger": {"type": "LoggerHook", "interval": 5}, "checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 2}}, "data": {"train": 10, "val": 2}}"#
        try text.write(toFile: cfg, atomically: true, encoding: .utf8)
        let out = scratch.file("mmdet3.htrace")
        let r = try CLI.run(["record", "--config", cfg, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("mmengine Runner, EpochBasedTrainLoop"))
        let info = try CLI.run(["info", out])
        #expect(info.stdout.contains("framework:    mmengine\n") && info.stdout.contains("before_save_checkpoint 3"), "\(info.stdout)")
        let hooks = try CLI.run(["hooks", cfg])
        #expect(hooks.status == 0, "\(hooks.stderr)")
        #expect(hooks.stdout.hasPrefix("before_run:\n(VERY_HIGH   ) RuntimeInfoHook                    \n(BELOW_NORMAL) LoggerHook                         \n -------------------- \nbefore_train:\n"))
        #expect(hooks.stdout.components(separatedBy: " -------------------- ").count - 1 == 20)
        // The recording replays to itself; mmengine keys change it (a list element by index).
        let same = try CLI.run(["replay", out])
        #expect(same.status == 0 && same.stdout.hasSuffix("result: same\n"), "\(same.stdout)\(same.stderr)")
        let changed = try CLI.run(["replay", out, "--cfg-options", "param_scheduler.1.milestones=[1]", "default_hooks.checkpoint.max_keep_ckpts=1"])
        #expect(changed.stdout.contains("checkpoints removed only in B") && changed.stdout.contains("lr[0]:"), "\(changed.stdout)\(changed.stderr)")
        let fixed = try CLI.run(["replay", out, "--cfg-options", "train_cfg.max_epochs=4"])
        #expect(fixed.status == 2 && fixed.stderr.contains("train_cfg.max_epochs: cannot change in a replay"), "\(fixed.stderr)")
        let old = try CLI.run(["info", Self.examples + "/../golden/lr-step-linear-warmup/expected.htrace"])
        #expect(old.stdout.contains("framework:    mmcv 1.x\n"))
        // EarlyStoppingHook added in a replay ends the run early: a result (exit 1), said.
        let flat = scratch.file("flat.json"), flatTrace = scratch.file("flat.htrace"), earlyHooks = scratch.file("early.json")
        try text.replacingOccurrences(of: #""data":"#, with: #""simulation": {"metrics": {"flat_acc": {"start": 0.5, "end": 0.5, "noise": 0}}}, "data":"#)
            .write(toFile: flat, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["record", "--config", flat, "-o", flatTrace, "--quiet"]).status == 0)
        try #"{"custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "flat_acc", "patience": 1}]}"#.write(toFile: earlyHooks, atomically: true, encoding: .utf8)
        let early = try CLI.run(["replay", flatTrace, "--hooks", earlyHooks])
        #expect(early.status == 1 && early.stderr.contains("note: the replayed hooks stopped the training at epoch 2, iter 20"), "\(early.stdout)\(early.stderr)")
        #expect(early.stdout.contains("EarlyStoppingHook: (nothing) → stop flat_acc did not improve in the last 1 validations"), "\(early.stdout)")
    }

    @Test("hooks prints mmcv's listing")
    func hooks() throws {
        let r = try CLI.run(["hooks", Self.examples + "/faster_rcnn_r50_fpn_1x_coco.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("before_run:\n(VERY_HIGH   ) StepLrUpdaterHook                  \n"))
        #expect(r.stdout.contains("after_train_epoch:\n(NORMAL      ) CheckpointHook                     \n(LOW         ) EvalHook"))
        // mmdetection's NumClassCheckHook has known stages: listed there, not as passive.
        #expect(r.stdout.contains("before_train_epoch:\n(VERY_HIGH   ) StepLrUpdaterHook                  \n(NORMAL      ) NumClassCheckHook"))
        #expect(!r.stdout.contains("not simulated (passive"))
        // A hook of the user's own: its stages are unknown, so it is named apart.
        let own = try CLI.run(["hooks", Self.examples + "/custom_hooks_mixed_priorities.json"])
        #expect(own.status == 0, "\(own.stderr)")
        #expect(own.stdout.contains("not simulated (passive"))
    }

    @Test("hooks on a trace prints the recorded run's listing, the same as its config's")
    func hooksOfTrace() throws {
        let scratch = Scratch()
        for example in ["faster_rcnn_r50_fpn_1x_coco", "custom_hooks_mixed_priorities"] {
            let config = Self.examples + "/\(example).json", trace = scratch.file("\(example).htrace")
            #expect(try CLI.run(["record", "--config", config, "-o", trace, "--quiet"]).status == 0)
            let fromConfig = try CLI.run(["hooks", config]), fromTrace = try CLI.run(["hooks", trace])
            #expect(fromTrace.status == 0, "\(fromTrace.stderr)")
            let listing = { (text: String) in text.components(separatedBy: "\n\n").first ?? "" }
            #expect(listing(fromTrace.stdout) == listing(fromConfig.stdout) && !listing(fromTrace.stdout).isEmpty)
            // The user's own hook: its stages are unknown, and the trace says so.
            #expect(fromTrace.stdout.contains("stages not recorded") == fromConfig.stdout.contains("not simulated (passive"))
        }
    }
}

@Suite("hooktrace lr")
struct LRCLITests {
    @Test("hooks prints the warnings and notes record would give, on stderr, the listing on stdout")
    func hooksWarnings() throws {
        let scratch = Scratch()
        let path = scratch.file("w.json")
        try Data(#"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "optimizer": {"type": "SGD", "lr": 0.02}, "log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}], "foo": 1}, "evaluation": {"interval": 1, "priority": "HIGH"}, "data": {"train": 2, "val": 1}}"#.utf8).write(to: URL(fileURLWithPath: path))
        let r = try CLI.run(["hooks", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("hooktrace: note: log_config.foo is not read"))
        #expect(r.stderr.contains("hooktrace: warning: EvalHook: evaluation.priority"))
        #expect(r.stderr.contains("hooktrace: warning: EvalHook: evaluation has no metric"))
        #expect(!r.stdout.contains("warning") && r.stdout.contains("before_run:"))
    }

    @Test("lr prints the value in force at each iteration, from a recorded example")
    func lr() throws {
        let scratch = Scratch()
        let out = scratch.file("cos.htrace")
        let rec = try CLI.run(["record", "--config", RecordCLITests.examples + "/cosine_warmup.json", "-o", out, "--quiet"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let r = try CLI.run(["lr", out, "--iter", "0:1"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        // Linear warmup from 0.1 × 0.01 at iteration 0 (mmcv: k = (1 - 0/1000) × 0.9, lr = 0.01 × (1 - k)).
        #expect(lines[1].hasSuffix(formatDouble(0.01 * (1 - (1 - 0.0 / 1000) * (1 - 0.1)))))
        let json = try CLI.run(["lr", out, "--iter", "1000", "--json"])
        // Iteration 1000 == warmup_iters: the epoch-1 cosine value, end + 0.5 × (start - end) × (cos(π/12) + 1).
        let end = 0.01 * 1e-5
        let expected = end + 0.5 * 1 * (0.01 - end) * (cos(Double.pi * (1.0 / 12)) + 1)
        #expect(json.stdout == "{\"iter\":1000,\"epoch\":1,\"lr[0]\":\(formatDouble(expected))}\n")
        let none = try CLI.run(["lr", out, "--iter", "999999"])
        #expect(none.status == 1 && none.stderr.contains("no training iterations"))
    }

    /// A recorded mmengine run with paramwise_cfg's classes `backbone` (lr × 0.1) and `default`.
    static func paramwiseTrace(_ scratch: Scratch) throws -> String {
        let cfg = scratch.file("pw.json"), trace = scratch.file("pw.htrace")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "paramwise_cfg": {"custom_keys": {"backbone": {"lr_mult": 0.1}}}}, "param_scheduler": {"type": "MultiStepLR", "milestones": [1]}, "data": {"train": 2}}"#
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["record", "--config", cfg, "-o", trace, "--quiet"]).status == 0)
        return trace
    }

    @Test("plot and CSV export name groups as lr does: plot --group takes a name, --optimizer one of an OptimWrapperDict's; a group the run lacks lists its groups")
    func groupNamesInPlotAndCSV() throws {
        let scratch = Scratch()
        let trace = try Self.paramwiseTrace(scratch)
        let plot = try CLI.run(["plot", trace, "--group", "default"])
        #expect(plot.status == 0 && plot.stdout.contains("learning rate (param group default)"), "\(plot.stderr)")
        let missing = try CLI.run(["plot", trace, "--group", "neck"])
        #expect(missing.status == 2 && missing.stderr.contains("has no param group neck; its groups: 0 (backbone), 1 (default)"), "\(missing.stderr)")
        let csv = try CLI.run(["export", trace, "--format", "csv", "--epoch", "0:0"])
        #expect(csv.stdout.contains(",lr[backbone],0.0010000000000000002,") && csv.stdout.contains(",lr[default],0.010000000000000002,"), "\(csv.stdout)")

        let gan = scratch.file("gan.json"), ganTrace = scratch.file("gan.htrace")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 2}, "optim_wrapper": {"constructor": "MultiOptimWrapperConstructor", "generator": {"optimizer": {"type": "Adam", "lr": 0.001}}, "discriminator": {"optimizer": {"type": "SGD", "lr": 0.1}}}, "param_scheduler": {"generator": [], "discriminator": {"type": "MultiStepLR", "milestones": [1]}}, "data": {"train": 2}}"#
            .write(toFile: gan, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["record", "--config", gan, "-o", ganTrace, "--quiet"]).status == 0)
        let second = try CLI.run(["plot", ganTrace, "--optimizer", "discriminator"])
        #expect(second.status == 0 && second.stdout.contains("learning rate (param group discriminator.0)"), "\(second.stderr)")
        let lr = try CLI.run(["lr", ganTrace, "--changes"])
        #expect(lr.stdout.hasPrefix("ITER     EPOCH  generator.lr[0]  discriminator.lr[0]\n"), "\(lr.stdout)")
    }

    @Test("paramwise_cfg's groups are shown by name by lr, diff and replay")
    func groupNames() throws {
        let scratch = Scratch()
        let trace = try Self.paramwiseTrace(scratch)
        let lr = try CLI.run(["lr", trace, "--changes"])
        #expect(lr.stdout.hasPrefix("ITER     EPOCH  lr[backbone]  lr[default]\n0        0      0.010000000000000002  0.1\n"), "\(lr.stdout)")
        let replay = try CLI.run(["replay", trace, "--cfg-options", "param_scheduler.milestones=[2]"])
        #expect(replay.stdout.contains("lr[backbone]: 2 of 4 iterations differ") && replay.stdout.contains("lr[default]: 2 of 4"), "\(replay.stdout)")
        let json = try CLI.run(["diff", trace, trace, "--format", "json"])
        #expect(json.stdout.contains(#""group":0,"name":"backbone""#), "\(json.stdout)")
    }

    @Test("lr of a config simulates it in memory: the same rows as the recorded trace, for both dialects; --cfg-options changes it first")
    func lrOfConfig() throws {
        let scratch = Scratch()
        for example in ["cosine_warmup.json", "iter_based_schedule.json"] {
            let config = RecordCLITests.examples + "/" + example
            let trace = scratch.file(example + ".htrace")
            #expect(try CLI.run(["record", "--config", config, "-o", trace, "--quiet"]).status == 0)
            let fromTrace = try CLI.run(["lr", trace, "--changes"])
            let before = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
            let fromConfig = try CLI.run(["lr", config, "--changes"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == before, "lr of a config writes nothing")
            let viaOption = try CLI.run(["lr", "--config", config, "--changes", "--momentum"])
            #expect(fromConfig.status == 0 && viaOption.status == 0, "\(fromConfig.stderr)")
            #expect(fromConfig.stdout == fromTrace.stdout && fromConfig.stdout.split(separator: "\n").count > 3, "\(example)")
            #expect(viaOption.stdout == (try CLI.run(["lr", trace, "--changes", "--momentum"])).stdout)
        }
        // mmengine: LinearLR over [0, 2) reaches the base at its last step (mmengine's
        // total_iters is end - begin - 1); the milestones moved by --cfg-options (a list
        // element by index).
        let cfg = scratch.file("mmdet3.json")
        try #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 4}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.02}}, "param_scheduler": [{"type": "LinearLR", "start_factor": 0.5, "by_epoch": false, "end": 2}, {"type": "MultiStepLR", "milestones": [2]}], "data": {"train": 3}}"#
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let base = try CLI.run(["lr", cfg, "--changes"])
        #expect(base.stdout == "ITER     EPOCH  lr[0]\n0        0      0.01\n1        0      0.02\n6        2      0.002\n", "\(base.stdout)\(base.stderr)")
        let moved = try CLI.run(["lr", cfg, "--changes", "--cfg-options", "param_scheduler.1.milestones=[3]", "--iter", "3:"])
        #expect(moved.stdout == "ITER     EPOCH  lr[0]\n3        1      0.02\n9        3      0.002\n", "\(moved.stdout)\(moved.stderr)")
        // Errors: a bad option names the key; --cfg-options on a trace points at replay.
        let bad = try CLI.run(["lr", cfg, "--cfg-options", "param_scheduler.5.gamma=0.5"])
        #expect(bad.status == 2 && bad.stderr.contains("param_scheduler.5.gamma: index 5 is out of range: the list has 2 items"), "\(bad.stderr)")
        let trace = scratch.file("cosine_warmup.json.htrace")
        let onTrace = try CLI.run(["lr", trace, "--cfg-options", "lr_config.min_lr=0"])
        #expect(onTrace.status == 2 && onTrace.stderr.contains("hooktrace replay"), "\(onTrace.stderr)")
        #expect(try CLI.run(["lr"]).status != 0)
    }
}

@Suite("hooktrace record -- COMMAND (real runs, with stand-in mmcv and mmengine)")
struct LiveRecordTests {
    static let fixtures: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/standin").path
    }()

    static func record(_ args: [String], env extra: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(args, environment: extra.merging(["PYTHONPATH": fixtures]) { a, _ in a })
    }

    static func events(_ path: String) throws -> [TraceEntry] {
        let reader = try TraceReader(path: path)
        var out: [TraceEntry] = []
        try reader.forEach { out.append($0) }
        return out
    }

    @Test("a fault in the recorder's own code never stops the training: every hook still runs, the trace keeps the calls before it and says why it ends there", arguments: ["mmcv", "mmengine"])
    func recorderFault(framework: String) throws {
        let scratch = Scratch()
        let trace = scratch.file("real.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_recorder_fault.py", framework, "3"])
        // 3 epochs of 4 iterations, two counted calls each: the training ran to its end.
        #expect(r.stdout == "hook calls: 24\ndone\n", "\(r.stdout) \(r.stderr)")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("hooktrace: the recorder failed in "), "\(r.stderr)")
        #expect(r.stderr.contains("(RuntimeError: a bug in the recorder (planted by the test)); the training goes on, unrecorded from here"), "\(r.stderr)")
        #expect(r.stderr.contains("the recorder shim failed in "), "\(r.stderr)")
        let entries = try Self.events(trace)
        let calls = entries.filter { if case .call = $0.event { return true } else { return false } }.count
        // Calls up to the faulty one are kept (the fault comes after its 4th look at the params).
        #expect(calls > 3 && calls < 30, "\(calls) calls")
        let notes = entries.compactMap { e -> String? in
            if case .effect(let x) = e.event, case .note(let text) = x.action { return text }
            return nil
        }
        #expect(notes.contains { $0.hasPrefix("the recorder shim failed in ") }, "\(notes)")
        // The trace ends with a failed run_end saying why; the program's exit code is its own.
        if case .runEnd(let end)? = entries.last?.event {
            #expect(end.status == .failed && end.exitCode == 0 && end.message.hasPrefix("recording stopped: the recorder shim failed in "), "\(end)")
        } else {
            Issue.record("no run_end")
        }
        #expect(try CLI.run(["check", trace]).status == 0)
    }

    @Test("an installed binary (copied away from its checkout) records with the shim it carries, and leaves no copy behind")
    func installedBinary() throws {
        let scratch = Scratch()
        let bin = scratch.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.binary, toPath: bin + "/hooktrace")
        let tmp = scratch.file("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let trace = scratch.file("real.htrace")
        var env = ["PYTHONPATH": Self.fixtures, "TMPDIR": tmp]
        env["HOOKTRACE_SHIM_DIR"] = nil
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmcv.py", scratch.file("wd")],
                            environment: env, executable: bin + "/hooktrace")
        #expect(r.status == 0 && r.stdout == "training for 2 epochs\ndone\n", "\(r.stdout)\(r.stderr)")
        let calls = try Self.events(trace).filter { if case .call = $0.event { return true } else { return false } }
        #expect(calls.count > 10)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "the shim's copy is removed")
    }

    @Test("a shim of a newer protocol is an error after the run (exit 2, the program's output untouched), messages of unknown kinds are counted; the rest is recorded; an older shim's version is read (docs/SHIM.md)")
    func protocolVersions() throws {
        let scratch = Scratch()
        let shim = scratch.file("shim")
        try FileManager.default.createDirectory(atPath: shim, withIntermediateDirectories: true)
        for (name, text) in EmbeddedShim.files {
            let changed = name == "hooktrace_shim.py" ? text.replacingOccurrences(of: "PROTOCOL_VERSION = \(LiveRecorder.protocolVersion)\n", with: "PROTOCOL_VERSION = 99\n") : text
            #expect(changed != text || name != "hooktrace_shim.py")
            try changed.write(toFile: shim + "/" + name, atomically: true, encoding: .utf8)
        }
        let trace = scratch.file("t.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_future_message.py"], env: ["HOOKTRACE_SHIM_DIR": shim])
        #expect(r.status == 2 && r.stdout == "done\n", "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("hooktrace: error: the recorder shim of rank 0 speaks protocol 99; this hooktrace reads protocols 1 to \(LiveRecorder.protocolVersion)"), "\(r.stderr)")
        #expect(r.stderr.contains("skipped 3 messages the recorder does not know: a_future_message (3)"), "\(r.stderr)")
        let calls = try Self.events(trace).filter { if case .call = $0.event { return true } else { return false } }
        #expect(calls.count > 5)
        // The shim this hooktrace carries says its version, and nothing is said; nor for a
        // shim of protocol 1, which this recorder still reads.
        let plain = try Self.record(["record", "-o", scratch.file("u.htrace"), "--", "python3", Self.fixtures + "/train_mmengine.py"])
        #expect(plain.status == 0 && !plain.stderr.contains("protocol"), "\(plain.stderr)")
        let older = scratch.file("older")
        try FileManager.default.createDirectory(atPath: older, withIntermediateDirectories: true)
        for (name, text) in EmbeddedShim.files {
            try text.replacingOccurrences(of: "PROTOCOL_VERSION = \(LiveRecorder.protocolVersion)\n", with: "PROTOCOL_VERSION = 1\n")
                .write(toFile: older + "/" + name, atomically: true, encoding: .utf8)
        }
        let one = try Self.record(["record", "-o", scratch.file("o.htrace"), "--", "python3", Self.fixtures + "/train_mmengine.py"], env: ["HOOKTRACE_SHIM_DIR": older])
        #expect(one.status == 0 && !one.stderr.contains("protocol"), "\(one.stderr)")
    }

    /// Every set_lr of a trace as "stage@iter hook value".
    static func lrChanges(_ trace: String) throws -> [String] {
        var changes: [String] = []
        var at = ""
        for e in try events(trace) {
            if case .call(let c) = e.event { at = "\(c.stage)@\(c.iter)" }
            if case .effect(let x) = e.event, case .setLR(_, _, let v) = x.action { changes.append("\(at) \(x.hook) \(v)") }
        }
        return changes
    }

    @Test("learning rates changed by several hooks are credited to the hook that changed them (by identity: a second instance is Kick#2)")
    func lrByIdentity() throws {
        let scratch = Scratch()
        let trace = scratch.file("two.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_two_lr_hooks.py", scratch.file("wd")])
        #expect(r.status == 0, "\(r.stderr)")
        let changes = try Self.lrChanges(trace)
        #expect(changes == ["before_train_iter@1 Kick 0.5", "before_train_epoch@3 StepLrUpdaterHook 0.010000000000000002",
                            "before_train_iter@4 Kick#2 0.7"], "\(changes)")
    }

    @Test("mmengine: a user's hook that writes the lr only at an epoch's end leaves after_train_iter to the scheduler hook (its changes, on the fast path); at the epoch's end each change is its writer's")
    func mmengineLRWritersByStage() throws {
        let scratch = Scratch()
        let trace = scratch.file("epoch.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine_epoch_writer.py"])
        #expect(r.status == 0 && r.stdout.contains("fast: after_train_iter before_train_iter"), "\(r.stdout)\(r.stderr)")
        let changes = try Self.lrChanges(trace)
        #expect(changes == ["after_train_iter@0 ParamSchedulerHook 0.05", "after_train_iter@1 ParamSchedulerHook 0.025",
                            "after_train_iter@2 ParamSchedulerHook 0.0125", "after_train_epoch@3 EpochBoostHook 1.0125",
                            "after_train_epoch@3 ParamSchedulerHook 10.125", "after_train_iter@3 ParamSchedulerHook 5.0625",
                            "after_train_iter@4 ParamSchedulerHook 2.53125", "after_train_iter@5 ParamSchedulerHook 1.265625",
                            "after_train_epoch@6 EpochBoostHook 2.265625", "after_train_epoch@6 ParamSchedulerHook 22.65625"], "\(changes)")
    }

    @Test("a fault of the recorder while it looks after one of several lr writers on the fast path stops the recording, not the training: every hook runs to the end")
    func writerFault() throws {
        let scratch = Scratch()
        let trace = scratch.file("wf.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine_writer_fault.py"])
        #expect(r.status == 0 && r.stdout == "kick 12 scheduler 12\ndone\n", "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("hooktrace: the recorder failed in after_train_iter (RuntimeError: an lr that cannot be compared (planted by the test)); the training goes on, unrecorded from here"), "\(r.stderr)")
        if case .runEnd(let end)? = try Self.events(trace).last?.event {
            #expect(end.status == .failed && end.exitCode == 0 && end.message.hasPrefix("recording stopped: the recorder shim failed in after_train_iter"), "\(end)")
        } else {
            Issue.record("the trace does not end with a run_end")
        }
    }

    @Test("mmengine: two hooks writing the lr in the same stage are each credited with their own changes")
    func mmengineLRByIdentity() throws {
        let scratch = Scratch()
        let trace = scratch.file("two.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine_two_lr_hooks.py"])
        #expect(r.status == 0, "\(r.stderr)")
        let changes = try Self.lrChanges(trace)
        #expect(changes == ["after_train_iter@0 ParamSchedulerHook 0.05", "after_train_iter@1 Kick 1.0", "after_train_iter@1 ParamSchedulerHook 0.5",
                            "after_train_iter@2 ParamSchedulerHook 0.25"], "\(changes)")
    }

    @Test("messages of known kinds the recorder cannot read are reported after the run, by shape with an example; the rest is recorded")
    func malformedMessages() throws {
        let scratch = Scratch()
        let trace = scratch.file("m.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_malformed_messages.py"])
        #expect(r.status == 0 && r.stdout == "done\n", "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("the shim sent 8 messages the recorder could not read, not recorded: 2 \"lr\" messages (first: [\"only-an-optimizer\"]); 2 batch items of no known shape (first: (1, 0, 1.0))"), "\(r.stderr)")
        #expect(r.stderr.contains("2 batch strings that are not a message (first: not json); 2 call tuples"), "\(r.stderr)")
        let calls = try Self.events(trace).filter { if case .call = $0.event { return true } else { return false } }
        #expect(calls.count == 3 + 2 * 2 + 4)
        #expect(r.stderr.contains("2 call tuples (first: (0, 'not-a-stage-id', 0, 0, 0, 0, 0))"), "\(r.stderr)")
    }

    @Test("the shim's test of a hook call that does nothing: Hook's own methods passing the call on to empty ones are left out; any effect, override, object's own method or misfit argument keeps the call")
    func doesNothing() throws {
        let shim = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/hooktrace_shim").path
        let p = try CLI.run(["python3", Self.fixtures + "/shim_does_nothing.py", shim], executable: "/usr/bin/env")
        #expect(p.status == 0 && p.stdout == "ok\n", "\(p.stdout)\(p.stderr)")
    }

    @Test("log tailing: each record once, a line being written held until its newline, a last record without one whole, all that was appended read")
    func tailLog() throws {
        let shim = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/hooktrace_shim").path
        let scratch = Scratch()
        let out = scratch.file("looks.marshal")
        let p = try CLI.run(["python3", Self.fixtures + "/shim_tail_log.py", shim, out], executable: "/usr/bin/env")
        try #require(p.status == 0 && p.stdout == "ok\n", "\(p.stdout)\(p.stderr)")
        // The shim's looks, through the recorder's decoder: the records each look gives.
        guard let looks = ShimDecoder.items(of: Array(try Data(contentsOf: URL(fileURLWithPath: out)))) else {
            Issue.record("\(out) is not a marshal list")
            return
        }
        var decoder = ShimDecoder()
        var records: [[[Field]]] = []
        var unreadable: [String] = []
        for look in looks {
            guard case .list(let items) = look else { Issue.record("a look that is not a list: \(look)"); return }
            var these: [[Field]] = []
            for item in items {
                guard case .logRecords(let events, let bad) = decoder.decode(item) else { Issue.record("not log bytes: \(item)"); continue }
                for e in events {
                    if case .effect(let effect) = e, effect.hook == "LoggerHook", case .log(let fields) = effect.action { these.append(fields) }
                }
                unreadable += bad
            }
            records.append(these)
        }
        try #require(records.count == 7)
        let record = { (lr: Double, step: Int64) in [Field("lr", .double(lr)), Field("step", .int(step))] }
        #expect(records[0].isEmpty, "no log file yet")
        #expect(records[1] == [record(0.1, 1)], "a whole record; the one being written held back")
        #expect(records[2].isEmpty, "nothing new")
        #expect(records[3] == [record(0.2, 2)], "the held line completed; a line that is not an object skipped")
        #expect(records[4] == [record(0.3, 3)], "a last record without its newline is whole")
        #expect(records[5].count == 1000 && records[5].first == [Field("step", .int(100)), Field("note", .string(String(repeating: "x", count: 200)))]
                && records[5].last?.first == Field("step", .int(1099)), "everything appended since the last look")
        #expect(records[6] == [[Field("caf\u{e9}", .int(1))]], "UTF-8 text")
        #expect(unreadable == ["{\"broken\": }"], "a line that looks like a record but is not JSON is reported")
    }

    @Test("the shim the binary carries is the one in tools/hooktrace_shim (after changing it, run tools/embed-shim)")
    func embeddedShimIsCurrent() throws {
        let dir = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/hooktrace_shim").path
        for (name, text) in EmbeddedShim.files {
            let onDisk = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            #expect(text == onDisk, "\(name) differs from the embedded copy: run tools/embed-shim")
        }
        #expect(EmbeddedShim.files.map(\.name) == ["hooktrace_shim.py", "sitecustomize.py", "hooktrace_config.py"])
        // RFC 4648's vectors, with the line breaks and indentation the embedding has.
        for (encoded, plain) in [("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYg==", "foob"), ("Zm9vYmE=", "fooba"), ("Zm9v\n    YmFy", "foobar")] {
            #expect(EmbeddedShim.decodeBase64(encoded) == Array(plain.utf8), "\(encoded)")
        }
    }

    @Test("an mmcv run is recorded call by call with its observations and effects; its output passes through")
    func mmcv() throws {
        let scratch = Scratch()
        let trace = scratch.file("real.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmcv.py", scratch.file("wd")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "training for 2 epochs\ndone\n")
        let entries = try Self.events(trace)
        guard case .runStart(let start)? = entries.first?.event else {
            Issue.record("no run_start")
            return
        }
        #expect(start.source == "mmcv 1.7.2-standin" && start.runner == "EpochBasedRunner" && start.maxEpochs == 2)
        #expect(start.hooks.map(\.name) == ["StepLrUpdaterHook", "CheckpointHook", "MyHook", "TextLoggerHook"])
        // Each hook's get_triggered_stages(), as the runner reported it (MyHook overrides nothing).
        #expect(start.hooks.map(\.stages) == [["before_run", "before_train_epoch"], ["after_train_epoch"], [], ["before_run", "after_train_iter"]])
        #expect(start.paramGroups == [ParamGroup(group: 0, lr: 0.1, momentum: 0.9)])
        let calls = entries.compactMap { e -> String? in
            if case .call(let c) = e.event { return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)" }
            return nil
        }
        #expect(calls.prefix(9) == ["before_run 0 0 0 none", "before_train_epoch 0 0 0 train",
                                    "before_train_iter 0 0 0 train", "after_train_iter 0 0 0 train",
                                    "before_train_iter 0 1 1 train", "after_train_iter 0 1 1 train",
                                    "before_train_iter 0 2 2 train", "after_train_iter 0 2 2 train",
                                    "after_train_epoch 0 3 2 train"])
        #expect(calls.last == "after_run 2 6 1 val")
        #expect(calls.count == 2 + 2 * (2 + 3 * 2) + 2 * (2 + 2 * 2))
        let effects = entries.compactMap { e -> Effect? in if case .effect(let x) = e.event { x } else { nil } }
        #expect(effects.contains(Effect(hook: "StepLrUpdaterHook", .setLR(optimizer: "", group: 0, value: 0.1 * 0.1))))
        #expect(effects.filter { if case .checkpointSave = $0.action { true } else { false } }.count == 2)
        #expect(effects.filter { if case .log = $0.action { true } else { false } }.count == 2)
        let losses = entries.compactMap { e -> Double? in
            if case .observe(let o) = e.event, o.name == "loss", e.context?.mode == .train { return o.value.number }
            return nil
        }
        #expect(losses.first == 2.0)
        if case .runEnd(let end)? = entries.last?.event { #expect(end.status == .completed) } else { Issue.record("no run_end") }
        #expect(try CLI.run(["check", trace]).status == 0)
    }

    @Test("a crash mid-run keeps everything recorded so far, ends the trace cleanly and passes the exit status on")
    func crash() throws {
        let scratch = Scratch()
        let trace = scratch.file("crash.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmcv.py", scratch.file("wd")], env: ["CRASH_AT": "4"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("CUDA out of memory (simulated)"))
        let entries = try Self.events(trace)
        let iterations = entries.filter { if case .call(let c) = $0.event { c.stage == "after_train_iter" } else { false } }.count
        #expect(iterations == 4)
        if case .runEnd(let end)? = entries.last?.event {
            #expect(end.status == .failed && end.exitCode == 1)
        } else {
            Issue.record("no run_end")
        }
        #expect(try CLI.run(["check", trace]).status == 0)
    }

    @Test("fidelity: replaying a real recording with its own hooks reproduces its LRs and checkpoints; unknown hooks are named")
    func fidelity() throws {
        let scratch = Scratch()
        let trace = scratch.file("real.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmcv.py", scratch.file("wd")])
        #expect(r.status == 0, "\(r.stderr)")
        let same = try CLI.run(["replay", trace, "--only", "lr,checkpoint"])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("lr[0]: same at all 6 iterations"))
        #expect(same.stdout.contains("checkpoints: same"))
        let order = try CLI.run(["replay", trace, "--only", "order"])
        #expect(order.stdout.contains("MyHook (NORMAL) only in A"), "\(order.stdout)")
        let changed = try CLI.run(["replay", trace, "--cfg-options", "lr_config.step=[2]", "--only", "lr"])
        #expect(changed.status == 1)
        #expect(changed.stdout.contains("lr[0]: 3 of 6 iterations differ (iters 3-5)"), "\(changed.stdout)")
    }

    @Test("--per-hook-timing records each hook's span inside its call; the timeline nests them in their stage")
    func perHookTiming() throws {
        let scratch = Scratch()
        let trace = scratch.file("spans.htrace")
        let r = try Self.record(["record", "-o", trace, "--per-hook-timing", "--", "python3", Self.fixtures + "/train_mmcv.py", scratch.file("wd")])
        #expect(r.status == 0, "\(r.stderr)")
        let entries = try Self.events(trace)
        var calls = 0
        var spans = 0
        for e in entries {
            if case .call = e.event { calls += 1 }
            if case .hookSpan(let s) = e.event {
                spans += 1
                let c = try #require(e.context)
                #expect(s.start >= c.time && s.duration >= 0)
            }
        }
        #expect(spans == calls * 4, "four hooks, one span each per call")
        let json = scratch.file("t.json")
        #expect(try CLI.run(["export", trace, "--format", "chrome-trace", "-o", json]).status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        #expect(events.filter { $0["name"] as? String == "CheckpointHook" && $0["ph"] as? String == "X" }.count == calls)
        let report = scratch.file("r.html")
        #expect(try CLI.run(["report", trace, "-o", report]).status == 0)
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("<td>StepLrUpdaterHook</td>"))
    }

    @Test("each rank of a multi-process run writes its own trace")
    func ranks() throws {
        let scratch = Scratch()
        let trace = scratch.file("ranks.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/launch_ranks.py", scratch.path])
        #expect(r.status == 0, "\(r.stderr)")
        for (rank, path) in [(0, trace), (1, scratch.file("ranks.rank1.htrace"))] {
            let entries = try Self.events(path)
            guard case .runStart(let start)? = entries.first?.event else {
                Issue.record("no run_start in \(path)")
                continue
            }
            #expect(start.meta.contains(Field("rank", .int(Int64(rank)))))
            #expect(start.meta.contains(Field("world_size", .int(2))))
        }
        let info = try CLI.run(["info", trace, scratch.file("ranks.rank1.htrace")])
        #expect(info.stdout.contains("ranks:\n  \(scratch.file("ranks.rank1.htrace")): the same 30 calls"), "\(info.stdout)")
    }

    @Test("an mmengine run is recorded with its stage names, outputs and metrics")
    func mmengine() throws {
        let scratch = Scratch()
        let trace = scratch.file("me.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine.py"])
        #expect(r.status == 0, "\(r.stderr)")
        let entries = try Self.events(trace)
        guard case .runStart(let start)? = entries.first?.event else {
            Issue.record("no run_start")
            return
        }
        #expect(start.source == "mmengine 0.10.7-standin")
        #expect(start.hooks.first?.priority == 60)
        let stages = entries.compactMap { e -> String? in if case .call(let c) = e.event { c.stage } else { nil } }
        #expect(stages.prefix(3) == ["before_run", "before_train", "before_train_epoch"])
        let metrics = entries.compactMap { e -> Double? in if case .observe(let o) = e.event, o.kind == .metric { o.value.number } else { nil } }
        #expect(metrics.count == 2)
        // mmengine's log records (scalars.json of its local visualization backend) are the
        // LoggerHook's log effects, each after the call that wrote it.
        var lastCall = ""
        var logs: [(after: String, fields: [Field])] = []
        for e in entries {
            if case .call(let c) = e.event { lastCall = c.stage }
            if case .effect(let x) = e.event, x.hook == "LoggerHook", case .log(let fields) = x.action { logs.append((lastCall, fields)) }
        }
        #expect(logs.map(\.after) == ["after_train_iter", "after_train_iter", "after_val_epoch", "after_train_iter", "after_train_iter", "after_val_epoch"])
        #expect(logs.first?.fields.contains(Field("loss", .double(1.0))) == true)
        #expect(logs.last?.fields.contains(Field("step", .int(2))) == true)
    }

    /// The shim's hot path for mmengine (protocols 4 and 5) without torch: a stand-in run
    /// whose iteration calls all take it (Tests/Fixtures/standin/train_mmengine_hot.py).
    /// With `own-dump` the log is written by a backend whose `_dump` the shim does not
    /// watch: after_train_iter takes the general path, which reads it at the logger's interval.
    /// With `cut-log` the log's last line has no end. The runner's call_hook is mmengine's plain loop, which the shim runs itself without the
    /// hooks whose call does nothing; with `changing-hooks` the hook list changes between
    /// epochs and a hook has a method of its own set on it: every hook that does something is
    /// called each time (counted by the program), the ones that do nothing are left out.
    @Test("mmengine's hot path (stand-in): each step's values from the message hub, its one optimizer step, the lr and the log records on their calls, across name changes, nested saves and batches; every hook that acts is called",
          arguments: ["watched", "own-dump", "changing-hooks", "cut-log", "two-writers"])
    func mmengineHotPath(logs mode: String) throws {
        let scratch = Scratch()
        let trace = scratch.file("hot.htrace"), expectedFile = scratch.file("hot.json")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine_hot.py", expectedFile, mode])
        #expect(r.status == 0 && !r.stderr.contains("the recorder could not read"), "\(r.stderr)")
        // A log line left without its end as the run stopped is said (`cut-log`), not dropped silently.
        #expect(r.stderr.contains("rank 0: the log's last line has no end (21 bytes: a record cut off as the run stopped), not recorded: {\"loss\": 0.00125, \"it")
                == (mode == "cut-log"), "\(r.stderr)")
        // What the program saw: each step's outputs and the lr after its after_train_iter,
        // and the log records it wrote.
        let lines = try String(contentsOfFile: expectedFile, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        var outputs: [Int: [(String, Double)]] = [:], lrs: [Int: Double] = [:]
        var logs: [[(key: String, value: JSONValue)]] = []
        var calls: [String: Int] = [:], plans: [String: [String]] = [:]
        for line in lines {
            if line["calls"] != nil {
                (calls, plans) = Self.callsAndPlans(line)
            } else if case .array(let records)? = line["logs"] {
                logs = records.compactMap { if case .object(let m) = $0 { m } else { nil } }
            } else if case .int(let it)? = line["iter"], case .object(let o)? = line["outputs"], let lr = line["lr"]?.number {
                outputs[Int(it)] = o.compactMap { m in m.value.number.map { (m.key, $0) } }
                lrs[Int(it)] = lr
            }
        }
        try #require(outputs.count == 800 && logs.count == 114)
        // The hooks called: every one that does something, each time (a hook that only has
        // IterTimerHook's _before_iter/_after_iter, one registered and one put in another's
        // place at the second epoch, one with a method set on it); the shim's plans as the run
        // ended leave out only those whose calls do nothing (Hook's own methods).
        var wantCalls = ["timer before train": 800, "timer after train": 800]
        var wantPlans = ["before_train_iter": ["IterTimerHook"]]
        if mode == "watched" || mode == "cut-log" {
            wantPlans["after_train_iter"] = ["RuntimeInfoHook", "IterTimerHook", "LoggerHook", "ParamSchedulerHook", "CheckpointHook"]
        }
        if mode == "two-writers" {
            wantPlans["after_train_iter"] = ["RuntimeInfoHook", "IterTimerHook", "KickHook", "LoggerHook", "ParamSchedulerHook", "CheckpointHook"]
        }
        if mode == "changing-hooks" {
            wantCalls.merge(["told before": 800, "registered before": 400, "registered after": 400,
                             "replacing before": 400, "replacing after": 400]) { a, _ in a }
            wantPlans["before_train_iter"] = ["IterTimerHook", "replacing", "registered", "told"]
            // (after_train_iter keeps its fast path: of the hooks that may write learning
            // rates, ParamSchedulerHook and KickHook act there, looked after one by one.)
            wantPlans["after_train_iter"] = ["RuntimeInfoHook", "IterTimerHook", "replacing", "registered", "KickHook", "LoggerHook",
                                             "ParamSchedulerHook", "CheckpointHook"]
        }
        #expect(calls == wantCalls)
        #expect(plans == wantPlans)
        // The recording, iteration by iteration: before_train_iter, one optimizer step, the
        // step's values, after_train_iter, the lr it set (then a nested save, a log record).
        var seen = 0, logIndex = 0, kicks = 0
        var pending: [Event] = []
        var lastAfter = -1
        for e in try Self.events(trace).map(\.event) {
            if case .call(let c) = e, c.stage == "after_train_iter" {
                let it = c.iter
                let steps = pending.filter { if case .effect(let x) = $0, case .optimizerStep = x.action { true } else { false } }
                let values = pending.compactMap { x -> (String, Double)? in
                    if case .observe(let o) = x, o.kind == .logVar, case .double(let v) = o.value { (o.name, v) } else { nil }
                }
                #expect(steps.count == 1, "iteration \(it): \(steps.count) optimizer steps before its after_train_iter")
                let want = outputs[it] ?? []
                #expect(values.map(\.0) == want.map(\.0) && values.map(\.1) == want.map(\.1), "iteration \(it): \(values) against \(want)")
                pending = []
                lastAfter = it
                seen += 1
                continue
            }
            if case .call(let c) = e {
                if c.stage == "before_save_checkpoint" { #expect(lastAfter == 249 || lastAfter == 499, "a save after iteration \(lastAfter)") }
                if c.stage != "before_save_checkpoint" { lastAfter = -1 }
                pending = []
                continue
            }
            if case .effect(let x) = e, case .setLR(_, _, let v) = x.action, lastAfter >= 0 {
                if x.hook == "KickHook" {
                    // (two-writers: the user's hook's change, before the scheduler's)
                    #expect((mode == "two-writers" || mode == "changing-hooks") && lastAfter % 100 == 50, "a KickHook change after iteration \(lastAfter)")
                    kicks += 1
                    continue
                }
                #expect(v == lrs[lastAfter], "iteration \(lastAfter): lr \(v) against \(String(describing: lrs[lastAfter]))")
                #expect(x.hook == "ParamSchedulerHook")
                continue
            }
            if case .effect(let x) = e, case .log(let fields) = x.action {
                try #require(logIndex < logs.count)
                let want = logs[logIndex]
                #expect(lastAfter >= 0 && (lastAfter % 400 + 1) % 7 == 0, "a log record after iteration \(lastAfter)")
                #expect(fields.map(\.key) == want.map(\.key) && fields.first?.value == .double(want.first?.value.number ?? .nan), "\(fields)")
                logIndex += 1
                continue
            }
            pending.append(e)
        }
        #expect(seen == 800 && logIndex == 114, "\(seen) after_train_iter calls, \(logIndex) log records")
        #expect(kicks == (mode == "two-writers" || mode == "changing-hooks" ? 8 : 0))
    }

    /// What a plan fixture wrote: `{"calls": {NAME: COUNT}, "plans": {STAGE: [HOOK]}}` — each
    /// hook's calls as the program counted them, and the hooks the shim's plans call.
    static func callsAndPlans(_ v: JSONValue) -> (calls: [String: Int], plans: [String: [String]]) {
        var calls: [String: Int] = [:], plans: [String: [String]] = [:]
        if case .object(let counts)? = v["calls"] {
            for (name, n) in counts { if case .int(let n) = n { calls[name] = Int(n) } }
        }
        if case .object(let made)? = v["plans"] {
            for (stage, hooks) in made {
                if case .array(let hooks) = hooks { plans[stage] = hooks.compactMap { if case .string(let s) = $0 { s } else { nil } } }
            }
        }
        return (calls, plans)
    }

    /// mmcv's fast path runs mmcv's hook loop itself, without the hooks whose call does
    /// nothing (Tests/Fixtures/standin/train_mmcv_plans.py): every hook that does something
    /// is still called each time, across a hook registered and one replaced between epochs.
    @Test("mmcv's fast path: every hook that acts is called each time (one with only before_iter/after_iter, one set on the object, one registered and one replaced between epochs); only those whose calls do nothing are left out")
    func mmcvCallPlans() throws {
        let scratch = Scratch()
        let out = scratch.file("plans.json")
        let r = try Self.record(["record", "-o", scratch.file("p.htrace"), "--", "python3", Self.fixtures + "/train_mmcv_plans.py",
                                 scratch.file("wd"), out])
        #expect(r.status == 0 && !r.stderr.contains("the recorder could not read"), "\(r.stderr)")
        let (calls, plans) = Self.callsAndPlans(try JSONValue.parse(String(contentsOfFile: out, encoding: .utf8)))
        #expect(calls == ["timer before train": 100, "timer after train": 100, "timer before val": 20, "timer after val": 20,
                          "told after": 100, "registered after": 50, "replacing after": 50])
        // (before_train_iter is among them although the run has hooks mmcv does not have,
        // which may write learning rates: none of them acts there, see _stage_writers.)
        #expect(plans == ["after_train_iter": ["IterTimerHook", "registered", "replacing", "told"], "before_train_iter": ["IterTimerHook"],
                          "before_val_iter": ["IterTimerHook"], "after_val_iter": ["IterTimerHook"]])
    }

    @Test("a plain mmengine script's recording replays without a config: the settings come from the runner's objects; what-ifs change them; a runner without them is said")
    func mmengineReplayWithoutConfig() throws {
        let scratch = Scratch()
        let trace = scratch.file("loops.htrace")
        let r = try Self.record(["record", "-o", trace, "--", "python3", Self.fixtures + "/train_mmengine_loops.py"])
        #expect(r.status == 0 && !r.stderr.contains("could not be read"), "\(r.stderr)")
        let entries = try Self.events(trace)
        guard case .runStart(let start)? = entries.first?.event, let config = try? JSONValue.parse(start.config) else {
            Issue.record("no run_start with a config")
            return
        }
        // The reconstruction: the loop (with dynamic_intervals), the wrapper's accumulation, the
        // scheduler with its milestones, hooks by default key and the rest as custom hooks.
        #expect(config["train_cfg"]?["dynamic_intervals"] == .array([.array([.int(3), .int(1)])]))
        #expect(config["optim_wrapper"]?["accumulative_counts"] == .int(2))
        guard case .array(let schedulers)? = config["param_scheduler"] else { Issue.record("no param_scheduler"); return }
        #expect(schedulers.first?["type"] == .string("MultiStepLR") && schedulers.first?["milestones"] == .array([.int(2), .int(3)]))
        #expect(config["default_hooks"]?["param_scheduler"]?["type"] == .string("ParamSchedulerHook"))
        #expect(config["default_hooks"]?["checkpoint"] == .null)
        let replay = try CLI.run(["replay", trace])
        #expect(replay.status == 0 && replay.stdout.hasSuffix("result: same\n"), "\(replay.stdout)\(replay.stderr)")
        let whatIf = try CLI.run(["replay", trace, "--cfg-options", "param_scheduler.0.milestones=[3]"])
        #expect(whatIf.status == 1 && whatIf.stdout.contains("lr[0]: 6 of 12 iterations differ (iters 6-11)"), "\(whatIf.stdout)\(whatIf.stderr)")
        // A runner without the objects mmengine builds: recorded, and said that replay needs a config.
        let bare = try Self.record(["record", "-o", scratch.file("bare.htrace"), "--", "python3", Self.fixtures + "/train_mmengine.py"])
        #expect(bare.status == 0 && bare.stderr.contains("the run's hook settings could not be read from its runner"), "\(bare.stderr)")
    }

    @Test("no command, a missing command, a program without a runner: clear messages, nothing half-written")
    func badCommands() throws {
        let scratch = Scratch()
        let none = try Self.record(["record", "-o", scratch.file("n.htrace")])
        #expect(none.status == 2 && none.stderr.contains("--config"))
        let missing = try Self.record(["record", "-o", scratch.file("m.htrace"), "--", "no-such-command-xyz"])
        #expect(missing.status == 2 && missing.stderr.contains("command not found"))
        let plain = try Self.record(["record", "-o", scratch.file("p.htrace"), "--", "python3", Self.fixtures + "/no_framework.py"])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("neither mmcv nor mmengine"))
        #expect(plain.stderr.contains("nothing was recorded"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
        // A program that fails before its first hook: its status, and its own error as the reason.
        let failing = try Self.record(["record", "-o", scratch.file("f.htrace"), "--", "python3", "-c", "import sys; sys.exit('bad config: no train_cfg')"])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("bad config: no train_cfg"))
        #expect(failing.stderr.contains("nothing was recorded: the command exited with status 1 before its first hook call"), "\(failing.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
        let unwritable = try Self.record(["record", "-o", "/nonexistent/dir/r.htrace", "--", "python3", Self.fixtures + "/no_framework.py"])
        #expect(unwritable.status == 2 && unwritable.stderr.contains("cannot create") && unwritable.stderr.contains("check the directory exists"))
    }
}

/// Whether python3 here imports `modules` (integration tests with real frameworks run only then).
func pythonImports(_ modules: String, environment: [String: String] = [:]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import " + modules]
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// The environment that makes real mmcv 1.x importable: an installed mmcv, or mmcv
/// 1.7.2's pure-Python source that tools/bench fetches into .build-mmcv (with a stand-in
/// torchvision, which mmcv's runner imports for checkpoint URLs only).
let realMMCVEnvironment: [String: String] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let source = root.appendingPathComponent(".build-mmcv/mmcv-1.7.2").path
    guard FileManager.default.fileExists(atPath: source + "/mmcv/runner/base_runner.py") else { return [:] }
    let stubs = root.appendingPathComponent("Tests/Fixtures/mmcv_stubs").path
    return ["PYTHONPATH": [source, stubs, ProcessInfo.processInfo.environment["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")]
}()

/// Whether real mmcv 1.x (with torch) is importable here.
let realMMCVAvailable = pythonImports("torch, mmcv.runner", environment: realMMCVEnvironment)

@Suite("Integration with real mmcv (skipped unless torch and mmcv 1.x are importable)")
struct RealMMCVTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/real_mmcv_train.py").path

    @Test("a real mmcv run records its hooks, LRs, optimizer steps and checkpoints, and replays without a config (its settings read back from the hooks)",
          .enabled(if: realMMCVAvailable, "torch and mmcv 1.x are not installed (tools/bench fetches mmcv 1.7.2's source into .build-mmcv); the stand-in runner tests cover the shim"),
          arguments: ["step", "warmup", "iter", "eval", "outdir"])
    func realRun(kind: String) throws {
        let scratch = Scratch()
        let trace = scratch.file("real.htrace")
        var environment = realMMCVEnvironment
        environment["PYTHONWARNINGS"] = "ignore"
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.script, scratch.file("wd"), kind], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("could not be read"), "\(r.stderr)")
        let reader = try TraceReader(path: trace)
        var lrs: [Double] = [], steps = 0, calls = 0
        try reader.forEach { e in
            if case .call = e.event { calls += 1 }
            if case .effect(let x) = e.event, case .setLR(_, _, let v) = x.action { lrs.append(v) }
            if case .effect(let x) = e.event, case .optimizerStep = x.action { steps += 1 }
        }
        if kind == "step" {
            #expect(calls == 2 + 2 * (2 + 3 * 2))
            #expect(lrs.contains(0.002))
        }
        #expect(steps == (kind == "iter" || kind == "eval" || kind == "outdir" ? 9 : kind == "warmup" ? 12 : 6), "\(steps) optimizer steps")
        if kind == "outdir" {
            // CheckpointHook's out_dir is followed as work_dir is: its saves, latest.pth's
            // relinks and the removals max_keep_ckpts=1 makes there, all the hook's.
            var effects: [String] = []
            try TraceReader(path: trace).forEach { e in
                guard case .effect(let x) = e.event else { return }
                switch x.action {
                case .checkpointSave(let p): effects.append("\(x.hook) save \(p.components(separatedBy: "/out/").last ?? p)")
                case .checkpointRemove(let p): effects.append("\(x.hook) remove \(p.components(separatedBy: "/out/").last ?? p)")
                default: break
                }
            }
            #expect(effects == ["CheckpointHook save wd/epoch_1.pth", "CheckpointHook save wd/epoch_2.pth", "CheckpointHook remove wd/epoch_1.pth",
                                "CheckpointHook save wd/epoch_3.pth", "CheckpointHook remove wd/epoch_2.pth"], "\(effects)")
        }
        if kind == "eval" {
            // EvalHook's results as metrics and evaluate effects, its new bests, and the
            // before_run record of runner.meta with its nested hook_msgs kept (as JSON text).
            var metrics = 0, bests: [String] = [], first: [Field]?
            try TraceReader(path: trace).forEach { e in
                if case .observe(let o) = e.event, o.kind == .metric { metrics += 1 }
                if case .effect(let x) = e.event, case .bestUpdate(let k, let v, _) = x.action { bests.append("\(k)=\(v)") }
                if case .effect(let x) = e.event, case .log(let f) = x.action, first == nil { first = f }
            }
            #expect(metrics == 6 && bests == ["acc=0.1", "acc=0.2", "acc=0.3"], "\(metrics) \(bests)")
            #expect(first?.contains(Field("hook_msgs", .string("{}"))) == true, "\(first ?? [])")
            // Each file credited to the hook that called runner.save_checkpoint (by identity).
            var savers: [String: Set<String>] = [:]
            try TraceReader(path: trace).forEach { e in
                if case .effect(let x) = e.event, case .checkpointSave(let p) = x.action {
                    savers[x.hook, default: []].insert((p as NSString).lastPathComponent.hasPrefix("best_") ? "best" : "regular")
                }
            }
            #expect(savers == ["EvalHook": ["best"], "CheckpointHook": ["regular"]], "\(savers)")
        }
        // The recording replays from the hooks' own settings: the same run.
        let replay = try CLI.run(["replay", trace])
        #expect(replay.status == 0 && replay.stdout.hasSuffix("result: same\n"), "\(kind): \(replay.stdout)\(replay.stderr)")
    }
}

extension RealMMCVTests {
    static let mmdet2Wheel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build-mmdet/mmdet-2.28.2-py3-none-any.whl").path

    /// A real mmcv run of the fixture's `kind` (2 epochs), then a second process resumed from
    /// its `checkpoint` (4 epochs), and hooktrace's `--resume-from` of the first run's
    /// recording, with its settings read back from the hooks as the config and the second
    /// run's max_epochs (plus `options`): the second run's and the simulation's outlines.
    static func resumedPair(_ kind: String, _ checkpoint: String, options: [String] = []) throws -> (real: ResumeTests.Run, sim: ResumeTests.Run)? {
        let scratch = Scratch()
        var environment = realMMCVEnvironment
        environment["PYTHONWARNINGS"] = "ignore"
        let wd = scratch.file("wd")
        let first = scratch.file("first.htrace"), second = scratch.file("second.htrace")
        let a = try CLI.run(["record", "-o", first, "--", "python3", Self.script, wd, kind], environment: environment)
        #expect(a.status == 0, "\(a.stderr)")
        environment["HOOKTRACE_TEST_RESUME"] = wd + "/" + checkpoint
        let b = try CLI.run(["record", "-o", second, "--", "python3", Self.script, wd, kind], environment: environment)
        #expect(b.status == 0, "\(b.stderr)")
        guard case .runStart(let start)? = try TraceReader(path: first).next()?.event else { Issue.record("no run_start"); return nil }
        let config = scratch.file("first.json")
        try start.config.write(toFile: config, atomically: true, encoding: .utf8)
        let simulated = scratch.file("sim.htrace")
        let r = try CLI.run(["record", "--config", config, "--resume-from", first + ":" + checkpoint, "--cfg-options", "runner.max_epochs=4"] + options + ["-o", simulated])
        #expect(r.status == 0, "\(r.stderr)")
        return (try ResumeTests.read(second), try ResumeTests.read(simulated))
    }

    @Test("a real mmcv run resumed from its epoch_2.pth and hooktrace's --resume-from of its recording: the same calls, LRs, checkpoints, bests and meta keys",
          .enabled(if: realMMCVAvailable, "torch and mmcv 1.x are not installed (tools/bench fetches mmcv 1.7.2's source into .build-mmcv)"))
    func resume() throws {
        // Scripted values continue the resumed run's count (evaluations 3 and 4 here), and the
        // second process's dataset starts again at 0.1.
        guard let (real, sim) = try Self.resumedPair("resume", "epoch_2.pth", options: ["simulation.metrics.acc=[0.1,0.2,0.1,0.2]", "simulation.metrics.flat_loss=[0.5,0.5,0.5,0.5]"]) else { return }
        #expect(real.calls.first == "before_run 2 6 0", "\(real.calls.prefix(2))")
        #expect(sim.calls == real.calls, "\(sim.calls) vs \(real.calls)")
        #expect(sim.lr == real.lr && !real.lr.isEmpty, "\(sim.lr) vs \(real.lr)")
        #expect(sim.saved == real.saved, "\(sim.saved) vs \(real.saved)")
        #expect(sim.bests == real.bests, "\(sim.bests) vs \(real.bests)")
        #expect(sim.meta.map(\.key) == real.meta.map(\.key), "\(sim.meta) vs \(real.meta)")
        let hookMsgs = { (run: ResumeTests.Run) in run.meta.first { $0.key == "hook_msgs" }?.value }
        #expect(hookMsgs(sim) == hookMsgs(real), "\(String(describing: hookMsgs(sim))) vs \(String(describing: hookMsgs(real)))")
    }

    @Test("a real mmcv run resumed from a mid-epoch checkpoint (by iteration, one-cycle) and hooktrace's --resume-from of its recording: the same calls (the next epoch, the saving iteration's index again), LRs and checkpoints",
          .enabled(if: realMMCVAvailable, "torch and mmcv 1.x are not installed (tools/bench fetches mmcv 1.7.2's source into .build-mmcv)"))
    func resumeMidEpoch() throws {
        guard let (real, sim) = try Self.resumedPair("resume-iter", "epoch_1.pth") else { return }
        // epoch_1.pth was written at the second iteration of epoch 1: meta epoch 1 (epoch + 1), iter 1.
        #expect(real.calls.first == "before_run 1 1 0", "\(real.calls.prefix(2))")
        #expect(sim.calls == real.calls, "\(sim.calls) vs \(real.calls)")
        #expect(sim.lr == real.lr && !real.lr.isEmpty, "\(sim.lr) vs \(real.lr)")
        #expect(sim.saved == real.saved, "\(sim.saved) vs \(real.saved)")
    }

    @Test("mmdetection 2.x's ExpMomentumEMAHook and LinearMomentumEMAHook in a real mmcv run: each update's momentum and the swaps recorded, their settings read back (total_iter, warm_up from the momentum function), replay the same",
          .enabled(if: realMMCVAvailable && FileManager.default.fileExists(atPath: mmdet2Wheel), "torch, mmcv 1.x or mmdetection 2.28.2's wheel (pip download --no-deps mmdet==2.28.2 -d .build-mmdet) are missing"),
          arguments: ["mmdet-exp-ema", "mmdet-linear-ema"])
    func mmdetEMA(kind: String) throws {
        let scratch = Scratch()
        let trace = scratch.file("real.htrace")
        var environment = realMMCVEnvironment
        environment["PYTHONWARNINGS"] = "ignore"
        environment["HOOKTRACE_TEST_MMDET2_WHEEL"] = Self.mmdet2Wheel
        let r = try CLI.run(["record", "-o", trace, "--", "python3", Self.script, scratch.file("wd"), kind], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        var momenta: [Double] = [], swaps = 0
        try TraceReader(path: trace).forEach { e in
            guard case .effect(let x) = e.event else { return }
            if case .emaUpdate(let m) = x.action { momenta.append(m) }
            if case .custom("ema_swap", _) = x.action { swaps += 1 }
        }
        // 2 epochs of 3 iterations: every iteration (Exp) or every second (Linear); a swap at each epoch's edges.
        #expect(momenta.count == (kind == "mmdet-exp-ema" ? 6 : 3), "\(momenta)")
        #expect(swaps == 4)
        let replay = try CLI.run(["replay", trace])
        #expect(replay.status == 0 && replay.stdout.hasSuffix("result: same\n"), "\(kind): \(replay.stdout)\(replay.stderr)")
    }
}

@Suite("replay's report, compared as it runs")
struct ReplayReportTests {
    static let goldens = RecordCLITests.examples.replacingOccurrences(of: "traces/examples", with: "traces/golden")

    /// The report `replay` prints (comparing while it replays) must be the report `diff`
    /// prints for the recording and the replay written with -o: text and JSON, same
    /// status, for unchanged hooks, changed schedules, checkpoints and evaluation, and a
    /// recording damaged part way.
    @Test("replay reports exactly what diff reports for the recording and the kept replay", arguments: [
        ("eval-save-best", ["--cfg-options", "evaluation.interval=2"]),
        ("eval-save-best", []),
        ("epoch-train-val-workflow", ["--cfg-options", "lr_config.step=[1]"]),
        ("checkpoint-retention", ["--cfg-options", "checkpoint_config.max_keep_ckpts=1"]),
        ("iter-based-train-val", ["--cfg-options", "log_config.interval=7"]),
        ("custom-hooks-mixed-priorities", ["--cfg-options", "checkpoint_config.interval=2", "--only", "order,checkpoint"]),
        ("gradient-accumulation", ["--include-timing", "--limit", "2"]),
    ])
    func sameAsDiff(golden: String, options: [String]) throws {
        let scratch = Scratch()
        let recording = scratch.file("rec.htrace")
        #expect(try CLI.run(["record", "--config", Self.goldens + "/\(golden)/config.json", "-o", recording, "--quiet"]).status == 0)
        try check(recording, options, scratch)
    }

    @Test("a recording cut off part way: the replay stops at the damage, and both reports compare up to there")
    func tornRecording() throws {
        let scratch = Scratch()
        // eval-save-best with 1500 iterations per epoch: several blocks of 8192 events.
        let config = try String(contentsOfFile: Self.goldens + "/eval-save-best/config.json", encoding: .utf8)
            .replacingOccurrences(of: "\"train\": 3,", with: "\"train\": 1500,")
        try config.write(toFile: scratch.file("c.json"), atomically: true, encoding: .utf8)
        let recording = scratch.file("rec.htrace")
        #expect(try CLI.run(["record", "--config", scratch.file("c.json"), "-o", recording, "--quiet"]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: recording))
        let torn = scratch.file("torn.htrace")
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: torn))
        try check(torn, [], scratch)
        try check(torn, ["--cfg-options", "lr_config.step=[1]", "evaluation.interval=2"], scratch)
    }

    private func check(_ recording: String, _ options: [String], _ scratch: Scratch) throws {
        for format in ["text", "json"] {
            let kept = scratch.file("replay-\(format)-\(UUID().uuidString).htrace")
            let replay = try CLI.run(["replay", recording, "-o", kept, "--format", format] + options)
            let diffOptions = options.filter { $0 == "--include-timing" } + (options.firstIndex(of: "--limit").map { ["--limit", options[$0 + 1]] } ?? [])
                + (options.firstIndex(of: "--only").map { ["--only", options[$0 + 1]] } ?? [])
            let diff = try CLI.run(["diff", recording, kept, "--format", format] + diffOptions)
            #expect(replay.stdout == diff.stdout, "\(recording) \(options) \(format):\n--- replay\n\(replay.stdout)\n--- diff\n\(diff.stdout)\n\(replay.stderr)")
            #expect(!replay.stdout.isEmpty)
            // Same verdict; a damaged recording is exit 1 for both.
            #expect(replay.status == diff.status || (replay.status == 1 && diff.status == 1), "\(replay.stderr)")
        }
    }
}

@Suite("hooktrace diff of an mmcv 1.x run against an mmengine run (a migration)")
struct MigrationDiffCLITests {
    static let mmcv = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 3}, "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "optimizer_config": {}, "lr_config": LR, "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]}, "evaluation": {"interval": 1, "metric": "bbox"}, "workflow": [["train", 1]], "data": {"train": 3, "val": 1}}"#
    static let mmengine = #"{"train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 3, "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}}, "param_scheduler": SCHED, "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1, "max_keep_ckpts": 2}, "logger": {"type": "LoggerHook", "interval": 2}}, "val_evaluator": {"type": "CocoMetric", "metric": "bbox"}, "data": {"train": 3, "val": 1}}"#

    func record(_ scratch: Scratch, _ name: String, _ json: String) throws -> String {
        let cfg = scratch.file(name + ".json"), out = scratch.file(name + ".htrace")
        try json.write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run(["record", "--config", cfg, "-o", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    @Test("the same training in both frameworks: aligned by iteration, names mapped; mmengine's LinearLR ends its warmup one step before mmcv's linear warmup")
    func warmupDiffers() throws {
        let scratch = Scratch()
        let a = try record(scratch, "v2", Self.mmcv.replacingOccurrences(of: "LR", with: #"{"policy": "step", "step": [2], "warmup": "linear", "warmup_iters": 4, "warmup_ratio": 0.1}"#))
        let b = try record(scratch, "v3", Self.mmengine.replacingOccurrences(of: "SCHED", with: #"[{"type": "LinearLR", "start_factor": 0.1, "by_epoch": false, "begin": 0, "end": 4}, {"type": "MultiStepLR", "milestones": [2]}]"#))
        let r = try CLI.run(["diff", a, b])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("migration: mmcv 1.x → mmengine"), "\(r.stdout)")
        #expect(r.stdout.contains("hooks: StepLrUpdaterHook → ParamSchedulerHook, OptimizerHook → OptimWrapper, CheckpointHook → CheckpointHook"), "\(r.stdout)")
        #expect(r.stdout.contains("stages only in B: before_train 1, before_save_checkpoint 3, before_val 3"), "\(r.stdout)")
        // mmcv's warmup at iteration k: 0.1 × (1 - (1 - k/4) × 0.9); mmengine's LinearLR reaches
        // the base at its last step (k = 3): only iterations 1-3 differ by their schedule.
        #expect(r.stdout.contains("lr[0]: "), "\(r.stdout)")
        let lrLine = r.stdout.split(separator: "\n").first { $0.hasPrefix("lr[0]: ") }.map(String.init) ?? ""
        #expect(lrLine.contains("at iter 3 (\(formatDouble(0.1 * (1 - (1 - 3.0 / 4) * 0.9))) → 0.1)"), "\(lrLine)")
        #expect(r.stdout.contains("by more than 1e-09 relative (iters 1-3)"), "\(r.stdout)")
        #expect(r.stdout.contains("momentum[0]: same at all 9 iterations"))
        #expect(r.stdout.contains("optimizer: same (9 steps)"))
        #expect(r.stdout.contains("eval: same (3 evaluations, after the same iterations)"))
        #expect(r.stdout.contains("checkpoints: same (2 kept at the end)"))
        // The same the other way round, and as JSON.
        let back = try CLI.run(["diff", b, a])
        #expect(back.status == 1 && back.stdout.contains("migration: mmengine → mmcv 1.x") && back.stdout.contains("ParamSchedulerHook → StepLrUpdaterHook"), "\(back.stdout)")
        let json = try CLI.run(["diff", a, b, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["migration"] as? Bool == true && object["same"] as? Bool == false)
        let series = try #require(object["series"] as? [[String: Any]])
        #expect(series.first?["name"] as? String == "lr[0]" && series.first?["visible"] as? Int == 3)
        // --only leaves the LR out: the rest is the same.
        let rest = try CLI.run(["diff", a, b, "--only", "momentum,optimizer,eval,checkpoint"])
        #expect(rest.status == 0 && rest.stdout.hasSuffix("result: same\n"), "\(rest.stdout)")
    }

    @Test("a schedule both frameworks compute alike is the same (exit 0): the step schedule without warmup, to the last bit")
    func stepScheduleSame() throws {
        let scratch = Scratch()
        let a = try record(scratch, "v2", Self.mmcv.replacingOccurrences(of: "LR", with: #"{"policy": "step", "step": [1, 2]}"#))
        let b = try record(scratch, "v3", Self.mmengine.replacingOccurrences(of: "SCHED", with: #"{"type": "MultiStepLR", "milestones": [1, 2]}"#))
        let r = try CLI.run(["diff", a, b])
        // mmcv computes base × 0.1^k, mmengine multiplies the current value by 0.1 at each
        // milestone: 0.1 × 0.010000000000000002 and 0.1 × 0.1 × 0.1 are the same double.
        #expect(r.status == 0 && r.stdout.contains("lr[0]: same at all 9 iterations") && r.stdout.hasSuffix("result: same\n"), "\(r.stdout)")
    }
}
