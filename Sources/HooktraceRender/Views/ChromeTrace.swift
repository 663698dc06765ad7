import HooktraceFormat
import HooktraceSim
import HooktraceAnalysis

/// A run as a Chrome / Perfetto timeline (the Trace Event JSON format).
///
/// On one track: epochs contain iterations, which contain the `call_hook` stages (each
/// lasting until the next call), which contain each hook's span when the trace has
/// per-hook timing. Counters for the learning rate and the loss; instant events for
/// checkpoints and evaluations.
package enum ChromeTrace {
    /// Above this many timeline events the viewers struggle; export refuses and says which range to use.
    package static let eventLimit = 2_000_000

    /// Writes the timeline of `path` (calls within `epochs`) in pieces through `sink`.
    package static func export(_ path: String, epochs: ClosedRange<Int>? = nil, limit: Int = eventLimit, sink: (String) throws -> Void) throws {
        let estimate = try count(path, epochs: epochs)
        if estimate.events > limit {
            let perEpoch = max(1, estimate.events / max(1, estimate.epochs))
            let fit = max(1, limit / perEpoch)
            throw HooktraceError(.limit, "the timeline would have about \(estimate.events) events, more than Perfetto and chrome://tracing load (\(limit)); export a range of about \(fit) epoch(s), e.g. --epoch 0:\(fit - 1)", file: path)
        }
        let reader = try TraceReader(path: path)
        var out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
        var first = true
        func event(_ json: String) throws {
            if !first { out += ",\n" }
            first = false
            out += json
            if out.utf8.count > 1 << 16 {
                try sink(out)
                out = ""
            }
        }
        func us(_ ns: Int64) -> String {
            let whole = ns / 1000, frac = abs(ns % 1000)
            return "\(whole).\(String(repeating: "0", count: 3 - String(frac).count))\(frac)"
        }
        try event("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\(jsonString(fileName(path)))}}")
        try event("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"runner\"}}")
        var openStage: (name: String, start: Int64, args: String)?
        var openIter: (name: String, start: Int64)?
        var openEpoch: (name: String, start: Int64)?
        var closeIterAtNext = false, closeEpochAtNext = false
        var lastTime: Int64 = 0
        func inRange(_ c: Call?) -> Bool {
            guard let epochs else { return true }
            guard let c else { return false }
            return epochs.contains(c.epoch)
        }
        func slice(_ name: String, _ start: Int64, _ end: Int64, _ args: String = "") throws {
            try event("{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"name\":\(jsonString(name)),\"ts\":\(us(start)),\"dur\":\(us(max(0, end - start)))\(args)}")
        }
        try reader.forEachIntact { entry in
            switch entry.event {
            case .call(let c):
                lastTime = c.time
                if let s = openStage { try slice(s.name, s.start, c.time, s.args); openStage = nil }
                if closeIterAtNext, let i = openIter { try slice(i.name, i.start, c.time); openIter = nil; closeIterAtNext = false }
                if closeEpochAtNext, let e = openEpoch { try slice(e.name, e.start, c.time); openEpoch = nil; closeEpochAtNext = false }
                guard inRange(c) else { return }
                openStage = (c.stage, c.time, ",\"args\":{\"epoch\":\(c.epoch),\"iter\":\(c.iter),\"inner_iter\":\(c.innerIter)}")
                switch c.stage {
                case "before_train_epoch", "before_val_epoch":
                    openEpoch = ("\(c.stage == "before_train_epoch" ? "train" : "val") epoch \(c.epoch)", c.time)
                case "after_train_epoch", "after_val_epoch":
                    closeEpochAtNext = true
                case "before_train_iter", "before_val_iter":
                    openIter = (c.mode == .val ? "val iter \(c.innerIter)" : "iter \(c.iter)", c.time)
                case "after_train_iter", "after_val_iter":
                    closeIterAtNext = true
                default: break
                }
            case .hookSpan(let s) where inRange(entry.context):
                try slice(s.hook, s.start, s.start + s.duration)
            case .effect(let e) where inRange(entry.context):
                let t = entry.context?.time ?? lastTime
                switch e.action {
                case .setLR(let o, let g, let v):
                    try event("{\"ph\":\"C\",\"pid\":1,\"name\":\"lr\",\"ts\":\(us(t)),\"args\":{\(jsonString((o.isEmpty ? "" : o + ".") + "group \(g)")):\(formatDouble(v))}}")
                case .checkpointSave(let p), .checkpointRemove(let p):
                    let what = { if case .checkpointSave = e.action { return "checkpoint saved" } else { return "checkpoint removed" } }()
                    try event("{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"tid\":1,\"name\":\(jsonString(what)),\"ts\":\(us(t)),\"args\":{\"path\":\(jsonString(p)),\"hook\":\(jsonString(e.hook))}}")
                case .evaluate(let fields):
                    let args = fields.map { "\(jsonString($0.key)):\(jsonScalar($0.value))" }.joined(separator: ",")
                    try event("{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"tid\":1,\"name\":\"evaluation\",\"ts\":\(us(t)),\"args\":{\(args)}}")
                default: break
                }
            case .observe(let o) where inRange(entry.context) && o.kind == .logVar && o.name == "loss":
                if let v = o.value.number, v.isFinite, entry.context?.mode == .train {
                    try event("{\"ph\":\"C\",\"pid\":1,\"name\":\"loss\",\"ts\":\(us(entry.context?.time ?? lastTime)),\"args\":{\"loss\":\(formatDouble(v))}}")
                }
            default: break
            }
        }
        if let s = openStage { try slice(s.name, s.start, lastTime, s.args) }
        if let i = openIter { try slice(i.name, i.start, lastTime) }
        if let e = openEpoch { try slice(e.name, e.start, lastTime) }
        out += "\n]}\n"
        try sink(out)
        if case .damaged(let e) = reader.state { throw e }
    }

    /// Timeline events the export would write, and the epochs they cover.
    static func count(_ path: String, epochs: ClosedRange<Int>?) throws -> (events: Int, epochs: Int) {
        let reader = try TraceReader(path: path, filter: TraceFilter(epochs: epochs))
        var n = 0
        var seen = Set<Int>()
        try reader.forEachIntact { e in
            switch e.event {
            case .call(let c):
                n += c.stage.hasSuffix("_iter") ? 2 : 1
                seen.insert(c.epoch)
            case .hookSpan, .effect: n += 1
            case .observe(let o) where o.name == "loss": n += 1
            default: break
            }
        }
        return (n, max(1, seen.count))
    }
}
