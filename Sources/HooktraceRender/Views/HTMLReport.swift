import HooktraceFormat
import HooktraceSim
import HooktraceAnalysis

/// One self-contained HTML page about a run: no network, no scripts.
package enum HTMLReport {
    /// The report of `path`, compared with `other` when given, and the first damage met:
    /// a damaged trace's page shows its intact blocks and says where the damage is.
    package static func make(_ path: String, vs other: String? = nil) throws(HooktraceError) -> (html: String, damage: HooktraceError?) {
        var damage: HooktraceError?
        let summary = try TraceSummary.read(path: path)
        let details = try Details.read(path)
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>hooktrace report: \(escape(fileName(path)))</title>
        <style>
        body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        table { border-collapse: collapse; font-size: 13px; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
        th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
        pre { background: #f7f7f7; padding: 10px; font-size: 12px; overflow-x: auto; white-space: pre-wrap; }
        .muted { color: #777; } .chart { margin: 8px 0 20px 0; }
        </style></head><body>
        <h1>hooktrace report: \(escape(fileName(path)))</h1>

        """
        html += "<h2>Run</h2>\n<table>\n"
        func row(_ k: String, _ v: String) { html += "<tr><th>\(escape(k))</th><td>\(escape(v))</td></tr>\n" }
        if let r = summary.runStart {
            row("source", r.source)
            row("framework", Framework.of(r).rawValue)
            row("runner", r.runner + (r.maxEpochs.map { ", max_epochs \($0)" } ?? "") + (r.maxIters.map { ", max_iters \($0)" } ?? ""))
            if !r.workflow.isEmpty { row("workflow", r.workflow.map { "(\($0.mode), \($0.count))" }.joined(separator: ", ")) }
            if !r.loaders.isEmpty { row("loaders", r.loaders.map { "\($0.mode) \($0.length)" }.joined(separator: ", ")) }
            for g in r.paramGroups {
                row("param group", (g.optimizer.isEmpty ? "" : g.optimizer + " ") + "group \(g.group): lr \(formatDouble(g.lr))" + (g.momentum.map { ", momentum \(formatDouble($0))" } ?? ""))
            }
        }
        row("events", "\(summary.events) in \(summary.blocks) block(s), \(summary.counts.map { "\($0.type) \($0.count)" }.joined(separator: ", "))")
        if let a = summary.firstTime, let b = summary.lastTime { row("time span", "\(formatSeconds(b - a)) s") }
        row("status", statusText(summary))
        html += "</table>\n"

        if let other {
            let diff = try TraceDiff.compare(path, other)
            html += "<h2>Compared with \(escape(fileName(other)))</h2>\n<pre>\(escape(diff.text))</pre>\n"
        }
        let files = [path] + (other.map { [$0] } ?? [])
        for (kind, title) in [(SeriesKind.lr, "Learning rate"), (.momentum, "Momentum"), (.loss, "Training loss")] {
            var series: [RunSeries] = []
            for f in files {
                let s = try RunSeries.read(f, kind: kind)
                damage = damage ?? s.damage
                if !s.points.isEmpty { series.append(s) }
            }
            guard !series.isEmpty else { continue }
            html += "<h2>\(title)</h2>\n<div class=\"chart\">\n" + SVGChart(title: title.lowercased(), yLabel: kind.description, series: series, logY: kind == .lr).svg + "</div>\n"
        }
        for metric in details.metrics {
            var series: [RunSeries] = []
            for f in files {
                let s = try RunSeries.read(f, kind: .metric(metric))
                damage = damage ?? s.damage
                if !s.points.isEmpty { series.append(s) }
            }
            guard !series.isEmpty else { continue }
            html += "<h2>Metric \(escape(metric))</h2>\n<div class=\"chart\">\n" + SVGChart(title: metric, yLabel: metric, series: series).svg + "</div>\n"
        }

        html += "<h2>Checkpoints</h2>\n"
        if details.checkpoints.isEmpty {
            html += "<p class=\"muted\">No checkpoint effects in this trace.</p>\n"
        } else {
            html += "<table>\n<tr><th>epoch</th><th>iter</th><th>hook</th><th>what</th><th>file</th></tr>\n"
            for c in details.checkpoints.prefix(500) {
                html += "<tr><td class=\"num\">\(c.epoch)</td><td class=\"num\">\(c.iter)</td><td>\(escape(c.hook))</td><td>\(escape(c.what))</td><td>\(escape(c.file))</td></tr>\n"
            }
            html += "</table>\n"
            if details.checkpoints.count > 500 { html += "<p class=\"muted\">(\(details.checkpoints.count - 500) more not shown)</p>\n" }
            html += "<p>Kept at the end: \(escape(details.kept.map(fileName).joined(separator: ", ")))</p>\n"
            if !details.best.isEmpty { html += "<p>Best: \(escape(details.best.joined(separator: "; ")))</p>\n" }
        }

        html += "<h2>Hooks in order</h2>\n"
        if let listing = details.listing {
            html += "<p class=\"muted\">mmcv's listing, from the stages recorded for each hook.</p>\n<pre>\(escape(listing))</pre>\n"
        } else if let r = summary.runStart {
            html += "<table>\n<tr><th>#</th><th>hook</th><th>priority</th></tr>\n"
            for (i, h) in r.hooks.enumerated() {
                html += "<tr><td class=\"num\">\(i + 1)</td><td>\(escape(h.name))</td><td>\(escape(Priority.label(h.priority)))</td></tr>\n"
            }
            html += "</table>\n"
        }

        html += "<h2>Time</h2>\n"
        html += "<p class=\"muted\">Time from each call to the next, by stage: after before_train_iter it is the training step, after after_train_iter the next batch's loading.</p>\n"
        html += "<table>\n<tr><th>stage</th><th>calls</th><th>total s</th><th>mean ms</th></tr>\n"
        for s in details.stageTimes {
            html += "<tr><td>\(escape(s.stage))</td><td class=\"num\">\(s.count)</td><td class=\"num\">\(seconds(s.total))</td><td class=\"num\">\(millis(s.total / Int64(max(1, s.count))))</td></tr>\n"
        }
        html += "</table>\n"
        if details.hookTimes.isEmpty {
            html += "<p class=\"muted\">No per-hook timing in this trace (record with --per-hook-timing to get it).</p>\n"
        } else {
            html += "<table>\n<tr><th>hook</th><th>calls</th><th>total s</th><th>mean µs</th></tr>\n"
            for h in details.hookTimes {
                html += "<tr><td>\(escape(h.hook))</td><td class=\"num\">\(h.count)</td><td class=\"num\">\(seconds(h.total))</td><td class=\"num\">\(h.total / Int64(max(1, h.count)) / 1000)</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "<p class=\"muted\">Written by hooktrace \(hooktraceVersion).</p>\n</body></html>\n"
        return (html, damage)
    }

    static func statusText(_ s: TraceSummary) -> String {
        switch s.state {
        case .closed: return s.runEnd.map { "complete (run \($0.status))" } ?? "complete"
        case .endedEarly, .reading: return "ended early (the writer never closed the trace)"
        case .damaged(let e): return "DAMAGED: \(e.message)"
        }
    }

    static func seconds(_ ns: Int64) -> String { formatSeconds(ns).split(separator: ".").first.map(String.init).map { s in
        let frac = formatSeconds(ns).split(separator: ".").last.map { String($0.prefix(3)) } ?? "000"
        return s + "." + frac
    } ?? "0" }

    static func millis(_ ns: Int64) -> String {
        let us = ns / 1000
        return "\(us / 1000).\(String(repeating: "0", count: 3 - String(us % 1000).count))\(us % 1000)"
    }

    /// What the report needs beyond the summary, in one pass.
    struct Details {
        var checkpoints: [(epoch: Int, iter: Int, hook: String, what: String, file: String)] = []
        var kept: [String] = []
        var best: [String] = []
        var metrics: [String] = []
        var stageTimes: [(stage: String, count: Int, total: Int64)] = []
        var hookTimes: [(hook: String, count: Int, total: Int64)] = []
        var listing: String?

        static func read(_ path: String) throws(HooktraceError) -> Details {
            var d = Details()
            let reader = try TraceReader(path: path)
            var lastCall: Call?
            var stageIndex: [String: Int] = [:]
            var hookIndex: [String: Int] = [:]
            var state = RunState()
            do {
                try reader.forEachIntact { e in
                    state.apply(e.event)
                    switch e.event {
                    case .runStart(let r):
                        if r.hooks.contains(where: { $0.stages != nil }) { d.listing = Framework.of(r).hookListing(r.hooks) }
                    case .call(let c):
                        if let last = lastCall {
                            let i = stageIndex[last.stage] ?? { stageIndex[last.stage] = d.stageTimes.count; d.stageTimes.append((last.stage, 0, 0)); return d.stageTimes.count - 1 }()
                            d.stageTimes[i].count += 1
                            d.stageTimes[i].total = d.stageTimes[i].total.saturatingAdd(max(0, c.time - last.time))
                        }
                        lastCall = c
                    case .hookSpan(let s):
                        let i = hookIndex[s.hook] ?? { hookIndex[s.hook] = d.hookTimes.count; d.hookTimes.append((s.hook, 0, 0)); return d.hookTimes.count - 1 }()
                        d.hookTimes[i].count += 1
                        d.hookTimes[i].total = d.hookTimes[i].total.saturatingAdd(s.duration)
                    case .observe(let o):
                        if o.kind == .metric && !d.metrics.contains(o.name) { d.metrics.append(o.name) }
                    case .effect(let x):
                        let c = e.context
                        switch x.action {
                        case .checkpointSave(let p):
                            d.checkpoints.append((c?.epoch ?? 0, c?.iter ?? 0, x.hook, "saved", fileName(p)))
                        case .checkpointRemove(let p):
                            d.checkpoints.append((c?.epoch ?? 0, c?.iter ?? 0, x.hook, "removed", fileName(p)))
                        case .bestUpdate(let k, let v, let ck):
                            d.best.append("\(k) = \(formatDouble(v)) → \(fileName(ck)) (iter \(c?.iter ?? 0))")
                        default: break
                        }
                    default: break
                    }
                }
            } catch let error as HooktraceError {
                throw error
            } catch {
                throw HooktraceError(.io, "\(error)", file: path)
            }
            d.kept = state.files
            d.stageTimes.sort { $0.total > $1.total }
            d.hookTimes.sort { $0.total > $1.total }
            return d
        }
    }
}
