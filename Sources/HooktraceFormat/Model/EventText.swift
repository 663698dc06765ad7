/// Human-readable rendering of events, for `hooktrace show`.
package enum EventText {
    /// The column header matching ``line(_:)``.
    package static let header = pad("SEQ", 8, right: true) + "  " + pad("TIME", 16, right: true) + "  "
        + pad("EPOCH", 5, right: true) + " " + pad("ITER", 8, right: true) + " " + pad("INNER", 6, right: true)
        + "  " + pad("MODE", 5) + "  " + pad("EVENT", 18) + "  " + pad("HOOK / STAGE", 24) + "  DETAIL"

    /// One line (without newline) for `entry`.
    package static func line(_ entry: TraceEntry) -> String {
        let (kind, who, detail) = describe(entry.event)
        var time = ""
        var epoch = "", iter = "", inner = "", mode = ""
        if let c = entry.context {
            epoch = String(c.epoch)
            iter = String(c.iter)
            inner = String(c.innerIter)
            mode = c.mode == .none ? "-" : c.mode.description
        }
        if case .call(let c) = entry.event { time = formatSeconds(c.time) }
        if case .hookSpan(let s) = entry.event { time = formatSeconds(s.start) }
        var line = pad(String(entry.sequence), 8, right: true) + "  " + pad(time, 16, right: true) + "  "
            + pad(epoch, 5, right: true) + " " + pad(iter, 8, right: true) + " " + pad(inner, 6, right: true)
            + "  " + pad(mode, 5) + "  " + pad(kind, 18) + "  " + pad(who, 24) + "  " + detail
        while line.last == " " { line.removeLast() }
        return line
    }

    /// (event type, hook or stage, details) for an event.
    package static func describe(_ event: Event) -> (String, String, String) {
        let kind = event.typeName
        switch event {
        case .runStart(let r):
            var parts = ["source=\(r.source)"]
            if let e = r.maxEpochs { parts.append("max_epochs=\(e)") }
            if let i = r.maxIters { parts.append("max_iters=\(i)") }
            parts.append("workflow=" + r.workflow.map { "\($0.mode)x\($0.count)" }.joined(separator: ","))
            parts.append("hooks=\(r.hooks.count)")
            return (kind, r.runner, parts.joined(separator: " "))
        case .call(let c):
            return (kind, c.stage, "")
        case .observe(let o):
            return (kind, "", "\(o.name)=\(o.value) (\(o.kind))")
        case .hookSpan(let s):
            return (kind, s.hook, "duration=\(formatSeconds(s.duration))s")
        case .runEnd(let r):
            return (kind, "", "status=\(r.status) exit_code=\(r.exitCode)" + (r.message.isEmpty ? "" : " message=\(jsonString(r.message))"))
        case .effect(let e):
            return (kind, e.hook, detail(e.action))
        }
    }

    static func detail(_ action: EffectAction) -> String {
        func group(_ opt: String, _ g: Int) -> String { opt.isEmpty ? "group \(g)" : "\(opt) group \(g)" }
        switch action {
        case .setLR(let opt, let g, let v): return "\(group(opt, g)) lr=\(formatDouble(v))"
        case .setMomentum(let opt, let g, let v): return "\(group(opt, g)) momentum=\(formatDouble(v))"
        case .optimizerStep(let opt, let stepped, let norm):
            var s = (opt.isEmpty ? "" : opt + " ") + (stepped ? "stepped" : "skipped")
            if let norm { s += " grad_norm=\(formatDouble(norm))" }
            return s
        case .checkpointSave(let p): return "save \(p)"
        case .checkpointRemove(let p): return "remove \(p)"
        case .checkpointLink(let l, let t): return "\(l) -> \(t)"
        case .log(let f), .evaluate(let f): return fieldsText(f)
        case .bestUpdate(let k, let v, let c): return "\(k)=\(formatDouble(v)) best=\(c)"
        case .emaUpdate(let m): return "momentum=\(formatDouble(m))"
        case .stop(let r): return r
        case .note(let t): return t
        case .custom(let k, let f): return k + (f.isEmpty ? "" : " " + fieldsText(f))
        }
    }

    static func fieldsText(_ fields: [Field]) -> String {
        fields.map { f in
            // A text of several lines (a config in runner.meta) on one line: its first line and size.
            if case .string(let s) = f.value, s.contains("\n") {
                let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
                return "\(f.key)=\"\(lines[0])…\" (\(lines.count) lines)"
            }
            // A long one-line text (a resumed run's state as JSON): its start and size (the
            // JSON output keeps it whole).
            if case .string(let s) = f.value, s.count > 240 {
                return "\(f.key)=\"\(s.prefix(160))…\" (\(s.utf8.count) bytes)"
            }
            return "\(f.key)=\(f.value)"
        }.joined(separator: " ")
    }
}
