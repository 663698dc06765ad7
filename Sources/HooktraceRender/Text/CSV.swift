import HooktraceFormat
import HooktraceSim
import HooktraceAnalysis

/// Writes events as CSV in long ("tidy") form, for pandas and spreadsheets.
///
/// One row per event; log and evaluation records (and custom effects) give one row per
/// field, sharing the event's `seq`. Columns are fixed (see ``header``); cells that do
/// not apply are empty. Quoting follows RFC 4180.
package enum CSVExport {
    package static let columns = [
        "seq", "type", "stage", "epoch", "iter", "inner_iter", "mode", "time", "hook", "key", "value", "detail",
    ]
    package static var header: String { columns.joined(separator: ",") + "\n" }

    /// Appends the rows for `entry` to `out`; param groups the run names (`names`, from
    /// its run_start) are keyed by name, `lr[backbone]`, as `hooktrace lr` heads them.
    package static func write(_ entry: TraceEntry, names: GroupNames = GroupNames(), to out: inout String) {
        let type = entry.event.typeName
        var base: [String] = [String(entry.sequence), type, "", "", "", "", "", ""]
        if let c = entry.context {
            base[2] = c.stage
            base[3] = String(c.epoch)
            base[4] = String(c.iter)
            base[5] = String(c.innerIter)
            base[6] = c.mode.description
            base[7] = formatSeconds(c.time)
        }
        func row(_ hook: String, _ key: String, _ value: String, _ detail: String) {
            out += (base + [hook, key, value, detail]).map(quote).joined(separator: ",")
            out += "\n"
        }
        switch entry.event {
        case .runStart(let r):
            row("", "runner", r.runner, EventText.describe(entry.event).2)
        case .call:
            row("", "", "", "")
        case .observe(let o):
            row("", o.name, csvScalar(o.value), o.kind.description)
        case .hookSpan(let s):
            base[7] = formatSeconds(s.start)
            row(s.hook, "duration", formatSeconds(s.duration), "")
        case .runEnd(let r):
            row("", "status", r.status.description, r.message)
        case .effect(let e):
            switch e.action {
            case .setLR(let opt, let g, let v):
                row(e.hook, (opt.isEmpty ? "" : opt + ".") + "lr[\(names.name(opt, g) ?? String(g))]", formatDouble(v), "")
            case .setMomentum(let opt, let g, let v):
                row(e.hook, (opt.isEmpty ? "" : opt + ".") + "momentum[\(names.name(opt, g) ?? String(g))]", formatDouble(v), "")
            case .optimizerStep(let opt, let stepped, let norm):
                row(e.hook, "grad_norm", norm.map(formatDouble) ?? "", (opt.isEmpty ? "" : opt + " ") + (stepped ? "stepped" : "skipped"))
            case .checkpointSave(let p): row(e.hook, "save", p, "")
            case .checkpointRemove(let p): row(e.hook, "remove", p, "")
            case .checkpointLink(let l, let t): row(e.hook, l, t, "link")
            case .log(let fields), .evaluate(let fields):
                if fields.isEmpty { row(e.hook, "", "", "") }
                for f in fields { row(e.hook, f.key, csvScalar(f.value), "") }
            case .custom(let kind, let fields):
                if fields.isEmpty { row(e.hook, "", "", kind) }
                for f in fields { row(e.hook, f.key, csvScalar(f.value), kind) }
            case .bestUpdate(let k, let v, let c): row(e.hook, k, formatDouble(v), c)
            case .emaUpdate(let m): row(e.hook, "momentum", formatDouble(m), "")
            case .stop(let r): row(e.hook, "", "", r)
            case .note(let t): row(e.hook, "", "", t)
            }
        }
    }

    static func csvScalar(_ v: Scalar) -> String {
        switch v {
        case .null: ""
        default: v.description
        }
    }

    /// A CSV field, quoted when it holds a separator, a quote or a line break.
    package static func quote(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
