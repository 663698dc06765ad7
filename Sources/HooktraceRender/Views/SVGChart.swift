#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat
import HooktraceSim
import HooktraceAnalysis

/// A line chart as self-contained SVG text: axes with readable ticks, epoch boundaries,
/// checkpoint and evaluation markers, a legend; several series overlay, each with its own
/// colour, dash pattern and marker shape so they stay apart without colour too.
package struct SVGChart {
    package var title: String
    package var yLabel: String
    package var series: [RunSeries]
    package var logY = false
    package var width = 960.0
    package var height = 460.0

    package init(title: String, yLabel: String, series: [RunSeries], logY: Bool = false) {
        self.title = title
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"]
    static let dashes = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 2"]

    /// Plot area.
    var left: Double { 78 }
    var right: Double { width - 24 }
    var top: Double { 48 }
    var bottom: Double { height - 78 }

    package var svg: String {
        let all = series.flatMap(\.points)
        var xs = all.map { Double($0.x) }
        xs += series.flatMap { $0.epochStarts.map(Double.init) }
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        if x1 <= x0 { x1 = x0 + 1 }
        var ys = all.map(\.y).filter { $0.isFinite && (!logY || $0 > 0) }
        if ys.isEmpty { ys = [logY ? 1 : 0] }
        var y0 = ys.min()!, y1 = ys.max()!
        if logY {
            y0 = pow(10, floor(log10(y0)))
            y1 = pow(10, ceil(log10(y1)))
            if y1 <= y0 { y1 = y0 * 10 }
        } else {
            if y1 == y0 { y0 -= abs(y0) * 0.1 + 1e-12; y1 += abs(y1) * 0.1 + 1e-12 }
            let pad = (y1 - y0) * 0.05
            y0 = y0 >= 0 && y0 - pad < 0 ? 0 : y0 - pad
            y1 += pad
        }
        let yTicks = logY ? Self.logTicks(y0, y1) : Self.niceTicks(y0, y1, 6)
        if !logY, let f = yTicks.first, let l = yTicks.last { y0 = min(y0, f); y1 = max(y1, l) }
        let xTicks = Self.niceTicks(x0, x1, 8).filter { $0 >= x0 && $0 <= x1 }
        x0 = min(x0, xTicks.first ?? x0)
        x1 = max(x1, xTicks.last ?? x1)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (right - left) }
        func py(_ y: Double) -> Double {
            let t = logY ? (log10(y) - log10(y0)) / (log10(y1) - log10(y0)) : (y - y0) / (y1 - y0)
            return bottom - t * (bottom - top)
        }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        out += "<title>\(escape(title))</title>\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(left))\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        // Grid and ticks.
        out += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        for t in yTicks { out += "<line x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\"/>\n" }
        out += "</g>\n"
        // Epoch boundaries.
        let epochs = Set(series.flatMap(\.epochStarts)).sorted().filter { Double($0) > x0 && Double($0) <= x1 }
        if !epochs.isEmpty && epochs.count <= 400 {
            out += "<g class=\"epochs\" stroke=\"#bbbbbb\" stroke-width=\"1\" stroke-dasharray=\"3 3\">\n"
            for e in epochs { out += "<line x1=\"\(f(px(Double(e))))\" x2=\"\(f(px(Double(e))))\" y1=\"\(f(top))\" y2=\"\(f(bottom))\"/>\n" }
            out += "</g>\n"
        }
        out += "<g class=\"axes\" stroke=\"#333\" stroke-width=\"1\" fill=\"none\">\n"
        out += "<line x1=\"\(f(left))\" x2=\"\(f(right))\" y1=\"\(f(bottom))\" y2=\"\(f(bottom))\"/>\n"
        out += "<line x1=\"\(f(left))\" x2=\"\(f(left))\" y1=\"\(f(top))\" y2=\"\(f(bottom))\"/>\n"
        out += "</g>\n<g class=\"ticks\" fill=\"#333\">\n"
        for t in xTicks {
            out += "<line x1=\"\(f(px(t)))\" x2=\"\(f(px(t)))\" y1=\"\(f(bottom))\" y2=\"\(f(bottom + 5))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(bottom + 19))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in yTicks {
            out += "<line x1=\"\(f(left - 5))\" x2=\"\(f(left))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" stroke=\"#333\"/>\n"
            out += "<text x=\"\(f(left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        out += "</g>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 38))\" text-anchor=\"middle\">iteration (runner.iter)</text>\n"
        out += "<text transform=\"translate(18 \(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))\(logY ? " (log scale)" : "")</text>\n"
        // Series.
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let dash = Self.dashes[i % Self.dashes.count]
            let points = Self.downsample(s.points, columns: Int(right - left))
            let coords = points.filter { $0.y.isFinite && (!logY || $0.y > 0) }.map { "\(f(px(Double($0.x)))),\(f(py($0.y)))" }
            out += "<g class=\"series\" data-label=\"\(escape(s.label))\" data-x0=\"\(f(x0))\" data-x1=\"\(f(x1))\" data-y0=\"\(y0)\" data-y1=\"\(y1)\" data-log=\"\(logY)\" data-left=\"\(f(left))\" data-right=\"\(f(right))\" data-top=\"\(f(top))\" data-bottom=\"\(f(bottom))\">\n"
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") points=\"\(coords.joined(separator: " "))\"/>\n"
            // Markers: checkpoint saves (triangles), removals (crosses), evaluations (circles), offset per series.
            let lane = bottom - 8 - Double(i) * 10
            for save in s.saves.prefix(2000) {
                let x = px(Double(save.x))
                out += "<path d=\"M\(f(x - 4)),\(f(lane + 4)) L\(f(x + 4)),\(f(lane + 4)) L\(f(x)),\(f(lane - 4)) Z\" fill=\"\(color)\"><title>saved \(escape(fileName(save.path))) at iter \(save.x)</title></path>\n"
            }
            for removal in s.removals.prefix(2000) {
                let x = px(Double(removal.x))
                out += "<path d=\"M\(f(x - 4)),\(f(lane - 4)) L\(f(x + 4)),\(f(lane + 4)) M\(f(x - 4)),\(f(lane + 4)) L\(f(x + 4)),\(f(lane - 4))\" stroke=\"\(color)\" stroke-width=\"1.5\"><title>removed \(escape(fileName(removal.path))) at iter \(removal.x)</title></path>\n"
            }
            for e in s.evaluations.prefix(2000) {
                out += "<circle cx=\"\(f(px(Double(e))))\" cy=\"\(f(top + 8 + Double(i) * 10))\" r=\"3.5\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"><title>evaluation at iter \(e)</title></circle>\n"
            }
            out += "</g>\n"
        }
        // Legend: one row under the axis label.
        var lx = left
        let ly = height - 12
        out += "<g class=\"legend\">\n"
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let dash = Self.dashes[i % Self.dashes.count]
            out += "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 30))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + "/>\n"
            let label = String(s.label.prefix(36))
            out += "<text x=\"\(f(lx + 36))\" y=\"\(f(ly))\">\(escape(label))</text>\n"
            lx += 48 + Double(label.count) * 7
        }
        out += "<text x=\"\(f(right))\" y=\"\(f(ly))\" text-anchor=\"end\" fill=\"#555\">▲ checkpoint saved   ✕ removed   ○ evaluated   ┆ epoch start</text>\n"
        out += "</g>\n</svg>\n"
        return out
    }

    /// Keeps every point of a series that fits; else per pixel column the first, the
    /// minimum, the maximum and the last point (steps and extremes survive).
    static func downsample(_ points: [(x: Int, y: Double)], columns: Int) -> [(x: Int, y: Double)] {
        guard points.count > columns * 4, let first = points.first, let last = points.last, last.x > first.x else { return points }
        let span = Double(last.x - first.x)
        var out: [(x: Int, y: Double)] = []
        var bucket: [(x: Int, y: Double)] = []
        var current = -1
        func flush() {
            guard let a = bucket.first, let z = bucket.last else { return }
            let lo = bucket.min { $0.y < $1.y }!, hi = bucket.max { $0.y < $1.y }!
            var keep = [a, lo, hi, z].sorted { $0.x < $1.x }
            keep = keep.enumerated().filter { i, p in i == 0 || p.x != keep[i - 1].x || p.y != keep[i - 1].y }.map(\.element)
            out += keep
            bucket.removeAll(keepingCapacity: true)
        }
        for p in points {
            let column = Int(Double(p.x - first.x) / span * Double(columns))
            if column != current {
                flush()
                current = column
            }
            bucket.append(p)
        }
        flush()
        return out
    }

    /// 1, 2 or 5 × 10^k steps covering [a, b] with about `count` ticks.
    static func niceTicks(_ a: Double, _ b: Double, _ count: Int) -> [Double] {
        let raw = (b - a) / Double(max(1, count))
        guard raw > 0, raw.isFinite else { return [a] }
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var t = floor(a / step) * step
        while t <= b + step * 1e-9 && ticks.count < 100 {
            if t >= a - step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t) }
            t += step
        }
        return ticks
    }

    static func logTicks(_ a: Double, _ b: Double) -> [Double] {
        var out: [Double] = []
        var e = floor(log10(a))
        while e <= ceil(log10(b)) && out.count < 40 {
            out.append(pow(10, e))
            e += 1
        }
        return out
    }

    /// A tick label: integers plainly, large numbers as 12k / 1.5M, small ones in %g style.
    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 { return trim(v / 1e6) + "M" }
        if a >= 1e4 { return trim(v / 1e3) + "k" }
        if a >= 1 && v == v.rounded() { return String(Int(v)) }
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buffer, 32, "%g", $0) }
        return String(cString: buffer)
    }

    static func trim(_ v: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buffer, 32, "%.3g", $0) }
        return String(cString: buffer)
    }

    private func f(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : formatDouble(r)
    }
}

/// Text escaped for XML and HTML.
package func escape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
