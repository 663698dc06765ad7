import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

/// An inclusive range written `A`, `A:B`, `A:` or `:B`.
struct CounterRange: ExpressibleByArgument {
    var range: ClosedRange<Int>

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        func number(_ s: Substring, default d: Int) -> Int? {
            s.isEmpty ? d : Int(s).flatMap { $0 >= 0 ? $0 : nil }
        }
        switch parts.count {
        case 1:
            guard let v = number(parts[0], default: -1), v >= 0 else { return nil }
            range = v...v
        case 2:
            guard let a = number(parts[0], default: 0), let b = number(parts[1], default: Int.max), a <= b else { return nil }
            range = a...b
        default:
            return nil
        }
    }

    static var defaultValueDescription: String { "A[:B]" }
}

struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only events of these epochs (runner.epoch, from 0).", valueName: "A[:B]"))
    var epoch: CounterRange?

    @Option(name: .long, help: ArgumentHelp("Only events of these iterations (runner.iter, from 0).", valueName: "A[:B]"))
    var iter: CounterRange?

    @Option(name: .long, help: ArgumentHelp("Only events of calls to this stage, e.g. before_train_iter.", valueName: "NAME"))
    var stage: String?

    @Option(name: .long, help: ArgumentHelp("Only effects of this hook, e.g. StepLrUpdaterHook.", valueName: "NAME"))
    var hook: String?

    var filter: TraceFilter {
        TraceFilter(epochs: epoch?.range, iters: iter?.range, stage: stage, hook: hook)
    }
}

/// The run_start a trace begins with, if it is a trace and has one.
func traceRunStart(_ path: String) throws -> RunStart? {
    guard startsWithTraceMagic(path), case .runStart(let r)? = try TraceReader(path: path).next()?.event else { return nil }
    return r
}

/// Reads every matching event, then reports damage as the error it is (after the good events were printed).
func readAll(_ path: String, filter: TraceFilter, _ body: (TraceEntry) throws -> Void) throws {
    let reader = try TraceReader(path: path, filter: filter)
    try reader.forEachIntact(body)
    if case .damaged(let error) = reader.state { throw error }
}

func humanBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return i == 0 ? "\(n) B" : fixed(v, 1) + " " + units[i]
}

func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return formatDouble(v) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded()
    let negative = r < 0
    var s = String(Int64(abs(r)))
    if digits > 0 {
        while s.count <= digits { s = "0" + s }
        s.insert(".", at: s.index(s.endIndex, offsetBy: -digits))
    }
    return (negative ? "-" : "") + s
}


package func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// The partial file of the output being written, removed if the command is interrupted.
nonisolated(unsafe) private var interruptedPartial: UnsafeMutablePointer<CChar>?

/// Ctrl-C (or SIGTERM) while writing `out`: its partial file is removed before the command
/// ends as the signal would end it. Simulated recordings, replays and renderings are made
/// again by running the command again, so a stopped one leaves nothing behind. (A real
/// run's recorder keeps its partial trace instead: that data cannot be made again. And a
/// `kill -9` leaves the partial file, which the next command names.)
func removePartialOnInterrupt(_ out: OutputPath) {
    guard !out.isDirect else { return }
    if let old = interruptedPartial { free(old) }
    interruptedPartial = strdup(out.writePath)
    for sig in [SIGINT, SIGTERM] {
        signal(sig) { sig in
            if let p = interruptedPartial { unlink(p) }
            signal(sig, SIG_DFL)
            raise(sig)
        }
    }
}

/// `--cfg-options key.path=value …`: each value read as mmcv's `DictAction` reads it
/// (``Replayer/parseOption(_:)``), for `replay` and `lr`.
func parseCfgOptions(_ options: [String]) throws -> [(path: String, value: JSONValue)] {
    var overrides: [(path: String, value: JSONValue)] = []
    for option in options {
        guard let eq = option.firstIndex(of: "="), eq != option.startIndex else {
            throw HooktraceError(.usage, "--cfg-options takes key.path=value (e.g. lr_config.step=[9,11]), got '\(option)'")
        }
        overrides.append((String(option[..<eq]), try Replayer.parseOption(String(option[option.index(after: eq)...]))))
    }
    return overrides
}

/// What mmdetection's `tools/train.py` takes on its command line and the config does not
/// say, stored in the config's `launch` key (so a replay of the trace reads the same).
struct LaunchOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Training processes (GPUs); more than 1 is a distributed run (default: 1).", valueName: "N"))
    var gpus: Int?

    @Option(name: .long, help: ArgumentHelp("The train dataset's size (len(dataset), after filtering and wrappers), when hooktrace's table does not know it; A,B gives mmdetection 2.x's two aspect-ratio groups.", valueName: "N|A,B"))
    var trainSize: String?

    @Option(name: .long, help: ArgumentHelp("The val dataset's size, likewise.", valueName: "N"))
    var valSize: String?

    @Flag(name: .long, help: "As mmdetection's --no-validate: no evaluation hook.")
    var noValidate = false

    @Flag(name: .long, help: "As mmdetection's --auto-scale-lr: enable the config's auto_scale_lr.")
    var autoScaleLr = false

    var isEmpty: Bool { gpus == nil && trainSize == nil && valSize == nil && !noValidate && !autoScaleLr }

    /// The settings as `launch.*` overrides.
    func overrides() throws -> [(path: String, value: JSONValue)] {
        var result: [(path: String, value: JSONValue)] = []
        if let gpus {
            guard gpus >= 1 else { throw HooktraceError(.usage, "--gpus must be at least 1, got \(gpus)") }
            result.append(("launch.gpus", .int(Int64(gpus))))
        }
        for (flag, key, text) in [("--train-size", "launch.train_size", trainSize), ("--val-size", "launch.val_size", valSize)] {
            guard let text else { continue }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.filter { $0 != " " }) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw HooktraceError(.usage, "\(flag) takes the dataset's size (e.g. 117266) or its aspect-ratio groups' sizes (e.g. 70000,47266), got '\(text)'")
            }
            result.append((key, parts.count == 1 ? .int(parts[0]!) : .array(parts.map { .int($0!) })))
        }
        if noValidate { result.append(("launch.validate", .bool(false))) }
        if autoScaleLr { result.append(("launch.auto_scale_lr", .bool(true))) }
        return result
    }
}
