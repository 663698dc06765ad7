import HooktraceFormat
import HooktraceSim
import HooktraceAnalysis

/// Writes events as JSON objects, one per line: the `--json` form of `show` and the
/// `jsonl` form of `export`. The layout is documented in docs/FORMAT.md ("JSON lines").
///
/// Every object has `seq` and `type`; events that belong to a call carry that call's
/// `stage`, `epoch`, `iter`, `inner_iter` and `mode` so that each line stands alone.
/// Doubles print with the shortest digits that round-trip; NaN and infinities print as
/// `NaN`, `Infinity` and `-Infinity`, as Python's `json` module writes and reads them.
package enum JSONLines {
    /// Appends one JSON line (with the trailing newline) for `entry` to `out`.
    package static func write(_ entry: TraceEntry, to out: inout String) {
        var o = JSONObject()
        o.int("seq", Int64(entry.sequence))
        o.string("type", entry.event.typeName)
        if let c = entry.context {
            if case .call = entry.event {} else {
                o.string("stage", c.stage)
                o.int("epoch", Int64(c.epoch))
                o.int("iter", Int64(c.iter))
                o.int("inner_iter", Int64(c.innerIter))
                o.string("mode", c.mode.description)
            }
        }
        switch entry.event {
        case .call(let c):
            o.string("stage", c.stage)
            o.int("epoch", Int64(c.epoch))
            o.int("iter", Int64(c.iter))
            o.int("inner_iter", Int64(c.innerIter))
            o.string("mode", c.mode.description)
            o.seconds("time", c.time)
        case .runStart(let r):
            o.string("source", r.source)
            o.string("runner", r.runner)
            o.optionalInt("max_epochs", r.maxEpochs)
            o.optionalInt("max_iters", r.maxIters)
            o.raw("workflow", "[" + r.workflow.map { "[\(jsonString($0.mode)),\($0.count)]" }.joined(separator: ",") + "]")
            o.raw("loaders", "{" + r.loaders.map { "\(jsonString($0.mode)):\($0.length)" }.joined(separator: ",") + "}")
            o.raw("param_groups", "[" + r.paramGroups.map { g in
                var s = "{\"optimizer\":\(jsonString(g.optimizer)),\"group\":\(g.group),\"lr\":\(formatDouble(g.lr))"
                s += ",\"momentum\":" + (g.momentum.map(formatDouble) ?? "null") + "}"
                return s
            }.joined(separator: ",") + "]")
            o.raw("hooks", "[" + r.hooks.map { h in
                "{\"name\":\(jsonString(h.name)),\"type\":\(jsonString(h.type)),\"priority\":\(h.priority),\"config\":\(jsonString(h.config))"
                    + (h.stages.map { ",\"stages\":[" + $0.map(jsonString).joined(separator: ",") + "]" } ?? "") + "}"
            }.joined(separator: ",") + "]")
            o.raw("seed", String(r.seed))
            o.string("config", r.config)
            o.fields("meta", r.meta)
        case .observe(let ob):
            o.string("kind", ob.kind.description)
            o.string("name", ob.name)
            o.scalar("value", ob.value)
        case .hookSpan(let s):
            o.string("hook", s.hook)
            o.seconds("start", s.start)
            o.seconds("duration", s.duration)
        case .runEnd(let r):
            o.string("status", r.status.description)
            o.int("exit_code", Int64(r.exitCode))
            o.string("message", r.message)
        case .effect(let e):
            o.string("hook", e.hook)
            switch e.action {
            case .setLR(let opt, let group, let value), .setMomentum(let opt, let group, let value):
                o.string("optimizer", opt)
                o.int("group", Int64(group))
                o.double("value", value)
            case .optimizerStep(let opt, let stepped, let norm):
                o.string("optimizer", opt)
                o.raw("stepped", stepped ? "true" : "false")
                o.raw("grad_norm", norm.map(formatDouble) ?? "null")
            case .checkpointSave(let path), .checkpointRemove(let path):
                o.string("path", path)
            case .checkpointLink(let link, let target):
                o.string("link", link)
                o.string("target", target)
            case .log(let fields), .evaluate(let fields):
                o.fields("fields", fields)
            case .bestUpdate(let key, let value, let ckpt):
                o.string("key", key)
                o.double("value", value)
                o.string("checkpoint", ckpt)
            case .emaUpdate(let m):
                o.double("momentum", m)
            case .stop(let reason):
                o.string("reason", reason)
            case .note(let text):
                o.string("text", text)
            case .custom(let kind, let fields):
                o.string("kind", kind)
                o.fields("fields", fields)
            }
        }
        out.append(o.text)
        out.append("}\n")
    }
}

/// Builds one JSON object into a string.
struct JSONObject {
    private var first = true
    var text = "{"

    private mutating func key(_ k: String) {
        if !first { text.append(",") }
        first = false
        text.append("\"")
        text.append(k)
        text.append("\":")
    }

    mutating func raw(_ k: String, _ v: String) {
        key(k)
        text.append(v)
    }

    mutating func int(_ k: String, _ v: Int64) { raw(k, String(v)) }
    mutating func double(_ k: String, _ v: Double) { raw(k, formatDouble(v)) }
    mutating func string(_ k: String, _ v: String) { raw(k, jsonString(v)) }
    mutating func optionalInt(_ k: String, _ v: Int?) { raw(k, v.map { String($0) } ?? "null") }
    mutating func seconds(_ k: String, _ ns: Int64) { raw(k, formatSeconds(ns)) }
    mutating func scalar(_ k: String, _ v: Scalar) { raw(k, jsonScalar(v)) }
    mutating func fields(_ k: String, _ fields: [Field]) {
        raw(k, "{" + fields.map { "\(jsonString($0.key)):\(jsonScalar($0.value))" }.joined(separator: ",") + "}")
    }
}

/// A scalar as a JSON value.
package func jsonScalar(_ v: Scalar) -> String {
    switch v {
    case .null: "null"
    case .bool(let b): b ? "true" : "false"
    case .int(let i): String(i)
    case .double(let d): formatDouble(d)
    case .string(let s): jsonString(s)
    }
}
