import HooktraceFormat
import HooktraceSim

/// Renderings of a ``TraceDiff``: readable text, and JSON for scripts (docs/FORMAT.md,
/// "Diff JSON").
extension TraceDiff {
    private func list(_ items: [String]) -> String {
        let limit = max(1, options.limit)
        if items.count <= limit { return items.joined(separator: ", ") }
        return items.prefix(limit).joined(separator: ", ") + ", … (\(items.count - limit) more)"
    }

    private func ranges(_ r: [ClosedRange<Int>]) -> String {
        list(r.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" })
    }

    private func percent(_ x: Double) -> String {
        let p = x * 100
        return p >= 0.01 ? String(format2(p)) + "%" : formatDouble(x * 100) + "%"
    }

    private func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return formatDouble(r)
    }

    /// The report as text, one topic per line.
    package var text: String {
        var out: [String] = []
        func side(_ s: Side, _ label: String) -> String {
            "\(label): \(s.path) (\(s.source.isEmpty ? "unknown source" : s.source), \(s.runner), \(s.calls) calls)" + (s.damage != nil ? " DAMAGED" : "")
        }
        out.append(side(a, "A"))
        out.append(side(b, "B"))
        for w in warnings { out.append("warning: \(w)") }
        if let d = firstDivergence {
            out.append("first divergence: \(d.stage) epoch \(d.epoch) iter \(d.iter) inner_iter \(d.innerIter) (\(d.mode)), \(d.hook): \(d.a) → \(d.b)")
        }
        if callMismatches > 0 { out.append("calls: \(callMismatches) differ; \(firstCallMismatch ?? "")") }
        if observationMismatches > 0 { out.append("observations: differ at \(observationMismatches) call(s)") }
        if options.includeTiming { out.append("timing: " + (timingMismatches == 0 ? "same" : "\(timingMismatches) call time(s) differ")) }
        for kind in [DiffKind.lr, .momentum] where options.kinds.contains(kind) {
            let rows = series.filter { $0.kind == kind }
            if rows.isEmpty { continue }
            for s in rows {
                if s.differing == 0 {
                    out.append("\(s.label): same at all \(s.compared) iterations")
                    continue
                }
                var line = "\(s.label): \(s.differing) of \(s.compared) iterations differ (iters \(ranges(s.ranges)))"
                if let m = s.maxAbs {
                    line += "; largest difference \(formatDouble(m.diff)) at iter \(m.iter) (\(formatDouble(m.a)) → \(formatDouble(m.b)))"
                }
                if let r = s.maxRel {
                    line += "; largest relative \(percent(r.diff)) at iter \(r.iter)"
                }
                out.append(line)
            }
        }
        if options.kinds.contains(.checkpoint) {
            let c = checkpoints
            if c.savedA.isEmpty && c.savedB.isEmpty && c.removedA.isEmpty && c.removedB.isEmpty && c.sameKept {
                out.append("checkpoints: same (\(c.keptA.count) kept at the end)")
            } else {
                if !c.savedA.isEmpty { out.append("checkpoints saved only in A: \(list(c.savedA.map(fileName)))") }
                if !c.savedB.isEmpty { out.append("checkpoints saved only in B: \(list(c.savedB.map(fileName)))") }
                if !c.removedA.isEmpty { out.append("checkpoints removed only in A: \(list(c.removedA.map(fileName)))") }
                if !c.removedB.isEmpty { out.append("checkpoints removed only in B: \(list(c.removedB.map(fileName)))") }
                out.append("checkpoints kept at the end: A [\(list(c.keptA.map(fileName)))], B [\(list(c.keptB.map(fileName)))]")
            }
        }
        if options.kinds.contains(.eval) {
            if evaluations.differing == 0 && best.a == best.b {
                out.append("eval: same (\(evaluations.a) evaluation effects)")
            } else {
                out.append("eval: \(evaluations.differing) call(s) differ; best A: [\(list(best.a))], B: [\(list(best.b))]")
            }
        }
        func counts(_ name: String, _ c: Counts, _ unit: String) {
            out.append(c.differing == 0 ? "\(name): same (\(c.a) \(unit))" : "\(name): \(c.differing) call(s) differ (\(c.a) \(unit) in A, \(c.b) in B)")
        }
        if options.kinds.contains(.log) {
            counts("log", logRecords, "records")
            if let first = firstLogDifference { out.append("  first log difference: \(first)") }
        }
        if options.kinds.contains(.optimizer) { counts("optimizer", optimizerSteps, "steps") }
        if options.kinds.contains(.other), otherEffects.a + otherEffects.b > 0 { counts("other effects", otherEffects, "effects") }
        if options.kinds.contains(.order) {
            out.append(order.isEmpty ? "hook order: same" : "hook order: " + list(order))
        }
        out.append(same ? "result: same" : "result: different")
        return out.joined(separator: "\n") + "\n"
    }

    /// The report as one JSON object (stable keys; see docs/FORMAT.md).
    package var json: String {
        func str(_ s: String?) -> String { s.map(jsonString) ?? "null" }
        func arr(_ xs: [String]) -> String { "[" + xs.map(jsonString).joined(separator: ",") + "]" }
        func side(_ s: Side) -> String {
            "{\"path\":\(jsonString(s.path)),\"source\":\(jsonString(s.source)),\"runner\":\(jsonString(s.runner)),\"calls\":\(s.calls),\"events\":\(s.events),\"damage\":\(str(s.damage))}"
        }
        func counts(_ c: Counts) -> String { "{\"a\":\(c.a),\"b\":\(c.b),\"differing\":\(c.differing)}" }
        var fields: [String] = []
        fields.append("\"same\":\(same)")
        fields.append("\"a\":\(side(a))")
        fields.append("\"b\":\(side(b))")
        fields.append("\"warnings\":\(arr(warnings))")
        fields.append("\"calls\":{\"mismatches\":\(callMismatches),\"first\":\(str(firstCallMismatch))}")
        fields.append("\"observations\":{\"mismatches\":\(observationMismatches)}")
        fields.append("\"timing\":" + (options.includeTiming ? "{\"mismatches\":\(timingMismatches)}" : "null"))
        if let d = firstDivergence {
            fields.append("\"first_divergence\":{\"kind\":\(jsonString(d.kind.rawValue)),\"stage\":\(jsonString(d.stage)),\"epoch\":\(d.epoch),\"iter\":\(d.iter),\"inner_iter\":\(d.innerIter),\"mode\":\(jsonString(d.mode)),\"hook\":\(jsonString(d.hook)),\"a\":\(jsonString(d.a)),\"b\":\(jsonString(d.b))}")
        } else {
            fields.append("\"first_divergence\":null")
        }
        let seriesJSON = series.map { s -> String in
            var f = ["\"kind\":\(jsonString(s.kind.rawValue))", "\"optimizer\":\(jsonString(s.optimizer))", "\"group\":\(s.group)", "\"name\":\(s.name.map(jsonString) ?? "null")",
                     "\"iterations\":\(s.compared)", "\"differing\":\(s.differing)",
                     "\"ranges\":[" + s.ranges.prefix(max(1, options.limit)).map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",") + "]"]
            f.append("\"max_abs\":" + (s.maxAbs.map { "{\"diff\":\(formatDouble($0.diff)),\"iter\":\($0.iter),\"a\":\(formatDouble($0.a)),\"b\":\(formatDouble($0.b))}" } ?? "null"))
            f.append("\"max_rel\":" + (s.maxRel.map { "{\"diff\":\(formatDouble($0.diff)),\"iter\":\($0.iter),\"a\":\(formatDouble($0.a)),\"b\":\(formatDouble($0.b))}" } ?? "null"))
            return "{" + f.joined(separator: ",") + "}"
        }
        fields.append("\"series\":[" + seriesJSON.joined(separator: ",") + "]")
        let c = checkpoints
        fields.append("\"checkpoints\":{\"saved_only_a\":\(arr(c.savedA)),\"saved_only_b\":\(arr(c.savedB)),\"removed_only_a\":\(arr(c.removedA)),\"removed_only_b\":\(arr(c.removedB)),\"kept_a\":\(arr(c.keptA)),\"kept_b\":\(arr(c.keptB))}")
        fields.append("\"eval\":{\"effects\":\(counts(evaluations)),\"best_a\":\(arr(best.a)),\"best_b\":\(arr(best.b))}")
        fields.append("\"log\":{\"records\":\(counts(logRecords)),\"first_difference\":\(str(firstLogDifference))}")
        fields.append("\"optimizer\":\(counts(optimizerSteps))")
        fields.append("\"other\":\(counts(otherEffects))")
        fields.append("\"order\":\(arr(order))")
        return "{" + fields.joined(separator: ",") + "}\n"
    }
}
