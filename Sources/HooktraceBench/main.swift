// hooktrace-bench: speed and size of the trace format on the synthetic "COCO 1x" stream.
// Run with tools/bench (release build). Not part of the tests: numbers depend on the machine.
import HooktraceAnalysis
import HooktraceFormat
import HooktraceRender
import HooktraceSim
internal import CZstd
#if canImport(Glibc)
import Glibc
#endif

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func fileSize(_ path: String) -> UInt64 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
}

func fmt(_ v: Double, _ digits: Int) -> String {
    if v.isNaN { return "-" }
    var s = String(Int((v * pow(10, Double(digits))).rounded()))
    if digits > 0 {
        while s.count <= digits { s = "0" + s }
        s.insert(".", at: s.index(s.endIndex, offsetBy: -digits))
    }
    return s
}

var args = CommandLine.arguments.dropFirst()
var repeats = 3
var dir = "/tmp"
var only = ""
var recordConfig = "traces/examples/faster_rcnn_r50_fpn_1x_coco.json"
while let a = args.popFirst() {
    switch a {
    case "--repeats": repeats = Int(args.popFirst() ?? "3") ?? 3
    case "--dir": dir = args.popFirst() ?? dir
    case "--only": only = args.popFirst() ?? ""
    case "--config": recordConfig = args.popFirst() ?? recordConfig
    default:
        print("usage: hooktrace-bench [--repeats N] [--dir DIR]")
        exit(2)
    }
}

// Profiling modes: one pass of reading an existing trace, or of writing the stream.
if only == "read" {
    let reader = try TraceReader(path: "\(dir)/profile.htrace")
    var count = 0
    try reader.forEach { _ in count += 1 }
    print("read \(count) events; peak memory (RSS) \(fmt(peakRSSMiB(), 1)) MiB")
    exit(0)
}

// Simulation: record the Faster R-CNN 1x example (mmcv runner + hooks + trace writer).
/// Counts a run's records and drops them: the simulation's own cost.
final class CountingSink: RunSink {
    var calls = 0, events = 0
    func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        calls += 1
        events += 1
    }
    func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) { events += 1 }
    func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) { events += 1 }
    func event(_ event: Event) throws(HooktraceError) { events += 1 }
}

func benchRecord(_ configPath: String, repeats: Int, dir: String) throws {
    let config = try RunConfig(text: try readTextFile(configPath), name: "faster_rcnn_r50_fpn_1x_coco")
    var bestSim = Double.infinity, bestRec = Double.infinity
    var calls = 0, events = 0
    var size: UInt64 = 0
    for _ in 0..<repeats {
        var t0 = now()
        calls = 0
        events = 0
        let counter = CountingSink()
        try Simulator.record(config, to: counter)
        (calls, events) = (counter.calls, counter.events)
        bestSim = min(bestSim, Double(now() - t0))
        t0 = now()
        let writer = try TraceWriter(path: "\(dir)/record.htrace")
        try Simulator.record(config, to: writer)
        try writer.close()
        bestRec = min(bestRec, Double(now() - t0))
        size = fileSize("\(dir)/record.htrace")
    }
    print("simulate + record: Faster R-CNN 1x example, \(calls) call_hook calls, \(events) events")
    print("| stage | total ms | ns per call_hook | bytes/event |")
    print("|---|---:|---:|---:|")
    print("| simulate only (events discarded) | \(fmt(bestSim / 1e6, 1)) | \(fmt(bestSim / Double(calls), 1)) | - |")
    print("| simulate + write trace | \(fmt(bestRec / 1e6, 1)) | \(fmt(bestRec / Double(calls), 1)) | \(fmt(Double(size) / Double(events), 2)) |")
    print("")
    try compressionFloor(config, repeats: repeats, dir: dir)
}

/// What compressing this run's encoded events costs on its own: the same events written
/// uncompressed, then that file's bytes compressed block-sized piece by piece with libzstd.
/// No recording of the run can be faster than this (the trace is compressed by design).
func compressionFloor(_ config: RunConfig, repeats: Int, dir: String) throws {
    var o = TraceWriter.Options()
    o.codec = .none
    o.pipelined = false
    let writer = try TraceWriter(path: "\(dir)/record-raw.htrace", options: o)
    try Simulator.record(config, to: writer)
    try writer.close()
    let raw = try readFileBytes("\(dir)/record-raw.htrace")
    let blocks = max(1, Int((writer.eventCount + 8191) / 8192))
    let piece = (raw.count + blocks - 1) / blocks
    let cctx = ZSTD_createCCtx()
    defer { ZSTD_freeCCtx(cctx) }
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(piece))
    var line = "compression alone (libzstd on the \(fmt(Double(raw.count) / 1_048_576, 1)) MiB of encoded events, \(blocks) pieces):"
    for level: Int32 in [1, -5] {
        var best = Double.infinity
        for _ in 0..<max(repeats, 3) {
            let t0 = now()
            raw.withUnsafeBytes { src in
                var start = 0
                while start < src.count {
                    let n = min(piece, src.count - start)
                    _ = ZSTD_compressCCtx(cctx, &out, out.count, src.baseAddress! + start, n, level)
                    start += n
                }
            }
            best = min(best, Double(now() - t0))
        }
        line += " level \(level) \(fmt(best / 1e6, 1)) ms;"
    }
    print(String(line.dropLast()))
    print("")
}

// Replay and diff: the Faster R-CNN trace replayed with step [9, 11], then diffed.
func benchReplay(trace: String, dir: String, repeats: Int, label: String) throws {
    let hooks = try JSONValue.parse(#"{"lr_config": {"policy": "step", "step": [9, 11], "warmup": "linear", "warmup_iters": 500, "warmup_ratio": 0.001}}"#)
    var bestReplay = Double.infinity, bestDiff = Double.infinity, bestCompared = Double.infinity
    var events: UInt64 = 0, calls = 0
    let out = "\(dir)/replayed.htrace"
    for _ in 0..<repeats {
        let t0 = now()
        let writer = try TraceWriter(path: out)
        let result = try Replayer.replay(trace: trace, hooks: hooks, to: writer)
        try writer.close()
        calls = result.runner.callCount
        events = writer.eventCount
        bestReplay = min(bestReplay, Double(now() - t0))
        let t1 = now()
        let d = try TraceDiff.compare(trace, out)
        precondition(!d.same)
        bestDiff = min(bestDiff, Double(now() - t1))
        // What `hooktrace replay` does without -o: replay and compare in one pass.
        let t2 = now()
        let comparison = ReplayComparison(recorded: trace, replay: "", options: TraceDiff.Options())
        try Replayer.replay(trace: trace, hooks: hooks, prepare: { comparison.prepare(start: $0, inputs: $1) }, to: comparison)
        precondition(!comparison.finish().same)
        bestCompared = min(bestCompared, Double(now() - t2))
    }
    print("replay + diff: \(label), \(calls) calls, \(events) events per trace")
    print("| step | total ms | M events/s | ns per call_hook |")
    print("|---|---:|---:|---:|")
    print("| replay (read, re-run hooks, write) | \(fmt(bestReplay / 1e6, 1)) | \(fmt(Double(events) / (bestReplay / 1e9) / 1e6, 2)) | \(fmt(bestReplay / Double(calls), 1)) |")
    print("| replay compared as it runs (no trace written) | \(fmt(bestCompared / 1e6, 1)) | \(fmt(Double(events) / (bestCompared / 1e9) / 1e6, 2)) | \(fmt(bestCompared / Double(calls), 1)) |")
    print("| diff (both traces) | \(fmt(bestDiff / 1e6, 1)) | \(fmt(Double(2 * events) / (bestDiff / 1e9) / 1e6, 2)) | - |")
    print("peak memory (RSS, whole process): \(fmt(peakRSSMiB(), 1)) MiB")
    print("")
}

if only == "sizes" {
    print("Event \(MemoryLayout<Event>.size) Call \(MemoryLayout<Call>.size) Effect \(MemoryLayout<Effect>.size) EffectAction \(MemoryLayout<EffectAction>.size) Observation \(MemoryLayout<Observation>.size) CallGroup \(MemoryLayout<CallGroup>.size) TraceEntry \(MemoryLayout<TraceEntry>.size) Scalar \(MemoryLayout<Scalar>.size)")
    exit(0)
}
if only == "replayonly" {
    let hooks = try JSONValue.parse(#"{"lr_config": {"policy": "step", "step": [9, 11], "warmup": "linear", "warmup_iters": 500, "warmup_ratio": 0.001}}"#)
    for _ in 0..<repeats {
        let writer = try TraceWriter(path: "\(dir)/replayed2.htrace")
        try Replayer.replay(trace: "\(dir)/record.htrace", hooks: hooks, to: writer)
        try writer.close()
    }
    exit(0)
}
if only == "groups" {
    for _ in 0..<repeats { let r = try CallGroupReader(path: "\(dir)/record.htrace", prefetch: false); while r.next() != nil {} }
    exit(0)
}
// Profiling mode: the layers under diff, timed one by one on the replay benchmark's traces.
if only == "layers" {
    let a = "\(dir)/record.htrace", b = "\(dir)/replayed.htrace"
    func best(_ label: String, _ body: () throws -> Void) throws {
        var t = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            try body()
            t = min(t, Double(now() - t0))
        }
        print("\(label): \(fmt(t / 1e6, 1)) ms")
    }
    try best("decode A (events)") { var n = 0; try TraceReader(path: a).forEach { _ in n += 1 } }
    try best("groups A (one thread)") { let r = try CallGroupReader(path: a, prefetch: false); while r.next() != nil {} }
    try best("groups A (prefetched)") { let r = try CallGroupReader(path: a); while r.next() != nil {} }
    try best("groups A and B (prefetched)") {
        let ra = try CallGroupReader(path: a), rb = try CallGroupReader(path: b)
        while true { let x = ra.next(), y = rb.next(); if x == nil && y == nil { break } }
    }
    try best("diff") { _ = try TraceDiff.compare(a, b) }
    exit(0)
}
if only == "replay" {
    // Best of at least 7: these runs take a tenth of a second, where this machine's noise is ±30 %.
    try benchReplay(trace: "\(dir)/record.htrace", dir: dir, repeats: max(repeats, 7), label: "Faster R-CNN 1x, step [8, 11] → [9, 11]")
    exit(0)
}
if only == "replay-big" {
    try benchReplay(trace: "\(dir)/big.htrace", dir: dir, repeats: 1, label: "a long run")
    exit(0)
}

if only == "simulate" {
    // Profiling mode: the simulation alone (events counted and dropped), run `repeats` times.
    let config = try RunConfig(text: try readTextFile(recordConfig), name: "faster_rcnn_r50_fpn_1x_coco")
    for _ in 0..<repeats { try Simulator.record(config, to: CountingSink()) }
    exit(0)
}
if only.isEmpty || only == "record" {
    try benchRecord(recordConfig, repeats: repeats, dir: dir)
    if only == "record" { exit(0) }
}

let run = SyntheticRun()
var events: [Event] = []
events.reserveCapacity(run.eventCount)
run.generate { events.append($0) }
let n = Double(events.count)
print("stream: synthetic COCO 1x, \(run.epochs) epochs x \(run.itersPerEpoch) iterations, \(events.count) events")
print("zstd \(zstdVersion), zlib \(zlibVersion)\n")

struct Row { var name: String; var writeNs: Double; var bytes: Double; var readMeps: Double }
var rows: [Row] = []

if only == "write" {
    let writer = try TraceWriter(path: "\(dir)/profile.htrace")
    for e in events { try writer.append(e) }
    try writer.close()
    print("wrote \(events.count) events")
    exit(0)
}

let codecs: [(Codec, Int32)] = only.isEmpty ? [(.zstd, 1), (.zstd, 3), (.zlib, 6), (.none, 0)] : [(.zstd, 1)]
for (codec, level) in codecs {
    let path = "\(dir)/hooktrace-bench-\(codec).htrace"
    var best = Double.infinity
    for _ in 0..<repeats {
        var options = TraceWriter.Options()
        options.codec = codec
        options.level = codec == .none ? nil : level
        let t0 = now()
        let writer = try TraceWriter(path: path, options: options)
        for e in events { try writer.append(e) }
        try writer.close()
        best = min(best, Double(now() - t0))
    }
    var readBest = Double.infinity
    var count = 0
    for _ in 0..<repeats {
        let t0 = now()
        let reader = try TraceReader(path: path)
        count = 0
        try reader.forEach { _ in count += 1 }
        readBest = min(readBest, Double(now() - t0))
    }
    precondition(count == events.count, "read \(count) events, wrote \(events.count)")
    let size = Double(fileSize(path))
    let isDefault = level == codec.defaultLevel && codec == TraceWriter.Options().codec
    rows.append(Row(name: (codec == .none ? "hooktrace none" : "hooktrace \(codec)-\(level)") + (isDefault ? " (default)" : ""),
                    writeNs: best / n, bytes: size / n, readMeps: Double(count) / (readBest / 1e9) / 1e6))
    unlink(path)
}

// Baseline: the same events as JSON lines (hooktrace's own jsonl export), zstd level 3, streamed.
func jsonBaseline(_ events: [Event]) -> Int {
    let cctx = ZSTD_createCCtx()
    defer { ZSTD_freeCCtx(cctx) }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)
    var out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    var total = 0
    var text = ""
    var context: Call?
    func drain(_ mode: ZSTD_EndDirective) {
        var bytes = Array(text.utf8)
        text.removeAll(keepingCapacity: true)
        bytes.withUnsafeMutableBytes { src in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            while true {
                let remaining = out.withUnsafeMutableBytes { dst -> Int in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let r = ZSTD_compressStream2(cctx, &output, &input, mode)
                    total += output.pos
                    return r
                }
                if mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size { break }
            }
        }
    }
    for (i, e) in events.enumerated() {
        if case .call(let c) = e { context = c }
        JSONLines.write(TraceEntry(sequence: UInt64(i), event: e, context: context), to: &text)
        if text.utf8.count > 1 << 16 { drain(ZSTD_e_continue) }
    }
    drain(ZSTD_e_end)
    return total
}

if only.isEmpty {
    var best = Double.infinity
    var compressedBytes = 0
    for _ in 0..<repeats {
        let t0 = now()
        compressedBytes = jsonBaseline(events)
        best = min(best, Double(now() - t0))
    }
    rows.append(Row(name: "JSON lines + zstd-3 (baseline)", writeNs: best / n, bytes: Double(compressedBytes) / n, readMeps: .nan))
}

print("| format | write ns/event | bytes/event | read M events/s |")
print("|---|---:|---:|---:|")
for r in rows {
    print("| \(r.name) | \(fmt(r.writeNs, 1)) | \(fmt(r.bytes, 2)) | \(fmt(r.readMeps, 1)) |")
}
print("\npeak memory (RSS, whole process incl. the \(events.count)-event array held for the runs): \(fmt(peakRSSMiB(), 1)) MiB")
