import Foundation
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim
import Testing

/// Traces whose blocks are intact (valid CRCs) but whose values are extreme: every reading
/// command must answer with an exit status and a message, never trap.
@Suite("Reliability: extreme values in intact traces never crash a reader")
struct HostileValueTests {
    /// A small simulated run (a short tiny schedule) whose events `transform` rewrites.
    static func craft(_ path: String, _ transform: (inout Event, Int) -> Void) throws {
        let json = """
            {"runner": {"type": "EpochBasedRunner", "max_epochs": 2},
             "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9},
             "optimizer_config": {}, "lr_config": {"policy": "step", "step": [1]},
             "checkpoint_config": {"interval": 1}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
             "data": {"train": 4}}
            """
        let config = try RunConfig(text: json, name: "hostile")
        var events: [Event] = []
        _ = try Simulator.record(config) { e throws(HooktraceError) in events.append(e) }
        let writer = try TraceWriter(path: path)
        var calls = 0
        for var e in events {
            if case .call = e { calls += 1 }
            transform(&e, calls)
            try writer.append(e)
        }
        try writer.close()
    }

    static let limit = Int64(1) << 61

    /// Every reading command, run on `path`: none may die of a signal.
    static func readEverything(_ path: String, _ scratch: Scratch) throws {
        let commands: [[String]] = [
            ["info", path], ["show", path], ["show", path, "--json"], ["check", path],
            ["export", path, "--format", "csv"], ["export", path, "--format", "jsonl"],
            ["export", path, "--format", "chrome-trace"], ["report", path, "-o", scratch.file("r.html")],
            ["plot", path], ["plot", path, "--what", "loss"], ["lr", path, "--changes"], ["lr", path, "--iter", "3"],
            ["replay", path], ["diff", path, path], ["repair", path, "-o", scratch.file("fixed-\(UUID().uuidString).htrace")],
        ]
        for args in commands {
            let r = try CLI.run(args)
            #expect(r.signalled == false, "\(args) died of signal \(r.status): \(r.stderr.suffix(300))")
            #expect((0...2).contains(r.status), "\(args) exited \(r.status)")
            if r.status == 2 { #expect(!r.stderr.isEmpty, "\(args) failed without a message") }
        }
    }

    @Test("call times from INT64_MIN to INT64_MAX are damage, reported")
    func extremeTimes() throws {
        let scratch = Scratch()
        let path = scratch.file("times.htrace")
        try Self.craft(path) { e, n in
            if case .call(var c) = e { c.time = n % 2 == 0 ? .max : .min; e = .call(c) }
        }
        let check = try CLI.run(["check", path])
        #expect(check.status == 1 && check.stdout.contains("out of range"))
        try Self.readEverything(path, scratch)
    }

    @Test("times and spans at the largest accepted magnitudes read everywhere")
    func boundaryTimes() throws {
        let scratch = Scratch()
        let path = scratch.file("edge.htrace")
        try Self.craft(path) { e, n in
            switch e {
            case .call(var c):
                c.time = n % 2 == 0 ? Self.limit : -Self.limit
                e = .call(c)
            default: break
            }
        }
        #expect(try CLI.run(["check", path]).status == 0)
        try Self.readEverything(path, scratch)
    }

    @Test("a hook span of INT64_MAX is damage; one at the limit reads")
    func spans() throws {
        let scratch = Scratch()
        for (name, value) in [("max", Int64.max), ("limit", Self.limit)] {
            let path = scratch.file("span-\(name).htrace")
            try Self.craft(path) { e, _ in
                if case .call(var c) = e, c.stage == "after_train_iter" {
                    c.time = Self.limit
                    e = .call(c)
                }
            }
            // Append spans through a second writer pass: one per call at the extreme.
            let reader = try TraceReader(path: path)
            var entries: [Event] = []
            try reader.forEach { entries.append($0.event) }
            let spanned = scratch.file("spanned-\(name).htrace")
            let writer = try TraceWriter(path: spanned)
            for e in entries {
                try writer.append(e)
                if case .call = e {
                    try writer.append(.hookSpan(HookSpan(hook: "CheckpointHook", start: value, duration: value)))
                }
            }
            try writer.close()
            let check = try CLI.run(["check", spanned])
            #expect(check.status == (name == "max" ? 1 : 0), "\(check.stdout)")
            try Self.readEverything(spanned, scratch)
        }
    }

    @Test("an iteration of INT64_MAX is damage; one at the limit reads")
    func iterations() throws {
        let scratch = Scratch()
        for (name, value) in [("max", Int.max), ("limit", Int(Self.limit))] {
            let path = scratch.file("iter-\(name).htrace")
            try Self.craft(path) { e, n in
                if case .call(var c) = e, n > 5 { c.iter = value; c.innerIter = value; e = .call(c) }
            }
            let check = try CLI.run(["check", path])
            #expect(check.status == (name == "max" ? 1 : 0), "\(check.stdout)")
            try Self.readEverything(path, scratch)
        }
    }
}


/// One exit-code rule for damaged traces (README, "Reading a trace"): every reading command
/// prints what the intact blocks hold, names the damage on stderr and exits 1; 2 only when
/// nothing could be read (not a trace, a missing file).
@Suite("Exit status of every reading command on damaged traces")
struct DamageExitTests {
    /// (arguments with TRACE standing for the trace, whether the command writes to stdout)
    static let commands: [([String], Bool)] = [
        (["info", "TRACE"], true), (["show", "TRACE"], true), (["show", "TRACE", "--json"], true), (["check", "TRACE"], true),
        (["lr", "TRACE", "--changes"], true), (["export", "TRACE"], true), (["export", "TRACE", "--format", "csv"], true),
        (["export", "TRACE", "--format", "chrome-trace"], true), (["plot", "TRACE"], true), (["plot", "TRACE", "--what", "loss"], true),
        (["report", "TRACE", "-o", "OUT"], false), (["diff", "GOOD", "TRACE"], true), (["replay", "TRACE"], true),
    ]

    static func run(_ args: [String], trace: String, good: String, scratch: Scratch) throws -> CLI.Result {
        let out = scratch.file("out-\(UUID().uuidString).html")
        return try CLI.run(args.map { $0 == "TRACE" ? trace : $0 == "GOOD" ? good : $0 == "OUT" ? out : $0 })
    }

    /// A recording of the cosine example (good.htrace) and a copy damaged by `damage`.
    static func recordAndDamage(_ scratch: Scratch, _ damage: (inout Data) -> Void) throws -> (good: String, damaged: String) {
        let good = scratch.file("good.htrace")
        #expect(try CLI.run(["record", "--config", RecordCLITests.examples + "/cosine_warmup.json", "-q", "-o", good]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        damage(&bytes)
        let damaged = scratch.file("damaged.htrace")
        try bytes.write(to: URL(fileURLWithPath: damaged))
        return (good, damaged)
    }

    @Test("a trace damaged after some intact blocks: output from them, the damage on stderr, exit 1")
    func damagedMidway() throws {
        let scratch = Scratch()
        let (good, damaged) = try Self.recordAndDamage(scratch) { $0 = $0.prefix($0.count * 2 / 3) }
        for (args, prints) in Self.commands {
            let r = try Self.run(args, trace: damaged, good: good, scratch: scratch)
            #expect(r.status == 1, "\(args): exit \(r.status): \(r.stderr.suffix(200))")
            #expect(!prints || !r.stdout.isEmpty, "\(args) printed nothing")
            if args[0] != "check" && args[0] != "info" {
                #expect(r.stderr.contains("damaged.htrace") && (r.stderr.contains("block") || r.stderr.contains("damage")), "\(args): \(r.stderr)")
            }
        }
    }

    @Test("a damaged header with intact blocks: the blocks are read, the header damage is named, exit 1")
    func damagedHeader() throws {
        let scratch = Scratch()
        let (good, damaged) = try Self.recordAndDamage(scratch) { $0[9] ^= 0x10 }  // the format version's high byte
        for (args, prints) in Self.commands where args[0] != "replay" {
            let r = try Self.run(args, trace: damaged, good: good, scratch: scratch)
            #expect(r.status == 1, "\(args): exit \(r.status): \(r.stderr.suffix(200))")
            #expect(!prints || !r.stdout.isEmpty, "\(args) printed nothing")
        }
    }

    @Test("a file that is not a trace, or no file: exit 2 and a message")
    func unreadable() throws {
        let scratch = Scratch()
        let good = try exampleTrace(scratch)
        let text = scratch.file("notes.txt")
        try Data("not a trace\n".utf8).write(to: URL(fileURLWithPath: text))
        for path in [text, scratch.file("missing.htrace")] {
            for (args, _) in Self.commands {
                let r = try Self.run(args, trace: path, good: good, scratch: scratch)
                #expect(r.status == 2, "\(args) on \(path): exit \(r.status)")
                #expect(r.stderr.contains("hooktrace: error:"), "\(args): \(r.stderr)")
            }
        }
    }
}
