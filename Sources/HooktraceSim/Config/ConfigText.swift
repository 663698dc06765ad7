import HooktraceFormat

/// A config as mmcv 1.x's `Config.pretty_text` lays it out before yapf reflows it: one
/// `key = value` line per top-level key, dicts as `dict(key=value, …)` (or `{'key': value}`
/// when a key is not an identifier), one entry per line, indented by 4. mmdetection 2.x's
/// tools/train.py puts that text in `runner.meta['config']`, which TextLoggerHook writes as
/// the first line of the `.log.json`. hooktrace has no yapf: the content is the same, the
/// line breaks are mmcv's own before yapf's.
package enum ConfigText {
    /// `runner.meta['config']` of mmdetection 2.x's tools/train.py: the config without
    /// hooktrace's own keys, with what train.py sets before it takes the text (work_dir
    /// from the file's name when absent, auto_resume, gpu_ids).
    package static func meta(_ config: RunConfig) -> String {
        guard case .object(var members) = config.json else { return render(config.json) }
        members.removeAll { $0.key == "simulation" || $0.key == "launch" }
        if !members.contains(where: { $0.key == "work_dir" }) { members.append(("work_dir", .string("./work_dirs/" + config.name))) }
        members.removeAll { $0.key == "auto_resume" || $0.key == "gpu_ids" }
        members.append(("auto_resume", .bool(false)))
        var text = render(.object(members))
        // Distributed: gpu_ids = range(world_size), whose str() is range's.
        text += config.launch.gpus > 1 ? "\ngpu_ids = range(0, \(config.launch.gpus))" : "\ngpu_ids = [0]"
        return text
    }

    package static func render(_ config: JSONValue) -> String {
        guard case .object(let members) = config else { return basic(config) }
        return dict(members, outermost: true)
    }

    private static func indent(_ s: String, _ spaces: Int) -> String {
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return s }
        let pad = String(repeating: " ", count: spaces)
        return lines[0] + "\n" + lines.dropFirst().map { pad + $0 }.joined(separator: "\n")
    }

    /// Python's `str()` of a value (strings as their `repr`).
    private static func basic(_ v: JSONValue) -> String {
        switch v {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let n): return String(n)
        case .double(let d): return d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : formatDouble(d)
        // mmcv writes '…' around a string without escaping; Python's repr keeps the text valid.
        case .string(let s): return pyRepr(s)
        case .array(let items): return "[" + items.map { basic($0) }.joined(separator: ", ") + "]"
        case .object(let members): return "{" + members.map { pyRepr($0.key) + ": " + basic($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// Python's `repr` of a string: single quotes unless it holds one and no double quote.
    private static func pyRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(quote) }
                else if c.value < 0x20 || c.value == 0x7f { out += "\\x" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) }
                else { out.unicodeScalars.append(c) }
            }
        }
        return out + String(quote)
    }

    private static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first.properties.isXIDStart else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isXIDContinue }
    }

    private static func key(_ k: String, mapping: Bool) -> String { mapping ? "'\(k)': " : "\(k)=" }

    private static func dict(_ members: [(key: String, value: JSONValue)], outermost: Bool = false) -> String {
        let mapping = !outermost && members.contains { !isIdentifier($0.key) }
        var lines: [String] = []
        for (i, (k, v)) in members.enumerated() {
            let end = outermost || i == members.count - 1 ? "" : ","
            let name = outermost ? "\(k) = " : key(k, mapping: mapping)
            switch v {
            case .object(let inner):
                lines.append(indent(name + "dict(\n" + dict(inner), 4) + ")" + end)
            case .array(let items) where !items.isEmpty && items.allSatisfy({ if case .object = $0 { true } else { false } }):
                let body = items.map { item -> String in
                    guard case .object(let inner) = item else { return "" }
                    return "dict(" + indent(dict(inner), 4) + "),"
                }.joined(separator: "\n")
                lines.append(indent(name + "[\n" + String(body.dropLast()), 4) + "]" + end)
            default:
                lines.append(indent(name + basic(v), 4) + end)
            }
        }
        let text = lines.joined(separator: "\n")
        return mapping ? "{" + text + "}" : text
    }
}
