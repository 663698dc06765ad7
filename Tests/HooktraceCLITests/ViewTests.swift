import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim
import Testing

/// A small recorded run shared by the view tests.
private func recordedRun(_ scratch: Scratch, name: String = "run.htrace", extra: String = "") throws -> String {
    let cfg = scratch.file(name + ".json")
    let json = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 4}, "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}, "lr_config": {"policy": "step", "step": [2, 3], "warmup": "linear", "warmup_iters": 5, "warmup_ratio": 0.1}, "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2}, "evaluation": {"interval": 1, "metric": "bbox"}, "optimizer_config": {}, "data": {"train": 10, "val": 3}, "simulation": {"seed": 2}\#(extra)}"#
    try json.write(toFile: cfg, atomically: true, encoding: .utf8)
    let out = scratch.file(name)
    let r = try CLI.run(["record", "--config", cfg, "-o", out, "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    return out
}

/// The LR in force at each training iteration, from the trace.
private func lrInForce(_ path: String) throws -> [Int: Double] {
    let reader = try TraceReader(path: path)
    var lr = 0.0
    var out: [Int: Double] = [:]
    try reader.forEach { e in
        if case .runStart(let r) = e.event { lr = r.paramGroups[0].lr }
        if case .effect(let x) = e.event, case .setLR(_, 0, let v) = x.action { lr = v }
        if case .call(let c) = e.event, c.stage == "after_train_iter" { out[c.iter] = lr }
    }
    return out
}

final class SVGSeriesReader: NSObject, XMLParserDelegate {
    var groups: [[String: String]] = []
    var polylines: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "g", attributes["class"] == "series" { groups.append(attributes) }
        if name == "polyline", let p = attributes["points"] { polylines.append(p) }
    }
}

@Suite("Views: plot, report, chrome-trace")
struct ViewTests {
    @Test("the SVG is well-formed and its polyline carries the trace's LR at every kept iteration")
    func plotValues() throws {
        let scratch = Scratch()
        let run = try recordedRun(scratch)
        let svgPath = scratch.file("lr.svg")
        let r = try CLI.run(["plot", run, "-o", svgPath])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: svgPath))
        let parser = XMLParser(data: data)
        let reader = SVGSeriesReader()
        parser.delegate = reader
        #expect(parser.parse(), "the SVG must be well-formed XML: \(String(describing: parser.parserError))")
        let g = try #require(reader.groups.first)
        let x0 = Double(g["data-x0"]!)!, x1 = Double(g["data-x1"]!)!, y0 = Double(g["data-y0"]!)!, y1 = Double(g["data-y1"]!)!
        let left = Double(g["data-left"]!)!, right = Double(g["data-right"]!)!, top = Double(g["data-top"]!)!, bottom = Double(g["data-bottom"]!)!
        let expected = try lrInForce(run)
        var checked = 0
        for pair in reader.polylines[0].split(separator: " ") {
            let xy = pair.split(separator: ",").compactMap { Double($0) }
            let iter = x0 + (xy[0] - left) / (right - left) * (x1 - x0)
            let value = y0 + (bottom - xy[1]) / (bottom - top) * (y1 - y0)
            let i = Int(iter.rounded())
            let want = try #require(expected[i], "no iteration \(i)")
            #expect(abs(value - want) <= (y1 - y0) * 0.001, "iter \(i): plotted \(value), trace \(want)")
            checked += 1
        }
        #expect(checked >= 8, "warmup and both steps are plotted")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("saved epoch_1.pth"))
        #expect(text.contains("removed epoch_1.pth"))
        #expect(text.contains("evaluation at iter"))
    }

    @Test("overlays, log scale, ranges; a missing series names what the trace has")
    func plotOptions() throws {
        let scratch = Scratch()
        let a = try recordedRun(scratch, name: "a.htrace")
        let b = try recordedRun(scratch, name: "b.htrace", extra: #", "momentum_config": {"policy": "step", "step": [1]}"#)
        let r = try CLI.run(["plot", a, b, "--log-y", "--iter", "0:25"])
        #expect(r.status == 0)
        #expect(r.stdout.components(separatedBy: "class=\"series\"").count == 3)
        #expect(r.stdout.contains("stroke-dasharray=\"8 4\""), "the second series is dashed")
        let metric = try CLI.run(["plot", a, "--what", "metric:bbox_mAP"])
        #expect(metric.status == 0)
        let missing = try CLI.run(["plot", a, "--what", "metric:mIoU", "-o", scratch.file("x.svg")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("has no metric:mIoU values") && missing.stderr.contains("metric:bbox_mAP") && missing.stderr.contains("loss"))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("x.svg")))
        let empty = try CLI.run(["plot", a, "--iter", "5000:6000"])
        #expect(empty.status == 2 && empty.stderr.contains("in the given range"))
    }

    @Test("the report is one self-contained page with the run, charts, checkpoints, hooks and the diff")
    func report() throws {
        let scratch = Scratch()
        let a = try recordedRun(scratch, name: "a.htrace")
        let b = scratch.file("b.htrace")
        #expect(try CLI.run(["replay", a, "--cfg-options", "lr_config.step=[1]", "-o", b]).status == 1)
        let html = scratch.file("report.html")
        let r = try CLI.run(["report", a, "--vs", b, "-o", html])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: html, encoding: .utf8)
        for needed in ["<h2>Run</h2>", "<h2>Compared with b.htrace</h2>", "first divergence", "<h2>Learning rate</h2>", "<h2>Checkpoints</h2>",
                       "epoch_1.pth", "<h2>Hooks in order</h2>", "(VERY_HIGH   ) StepLrUpdaterHook", "<h2>Time</h2>", "<svg"] {
            #expect(text.contains(needed), "report lacks \(needed)")
        }
        #expect(!text.contains("<script"), "no scripts")
        #expect(!text.contains("http://") || text.contains("xmlns=\"http://www.w3.org/2000/svg\""), "no network references")
        #expect(text.components(separatedBy: "<svg").count - 1 == text.components(separatedBy: "</svg>").count - 1)
    }

    @Test("chrome-trace: valid JSON, stages nested in iterations, lr counters equal the trace, refusal past the limit")
    func chromeTrace() throws {
        let scratch = Scratch()
        let run = try recordedRun(scratch)
        let out = scratch.file("t.json")
        let r = try CLI.run(["export", run, "--format", "chrome-trace", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        let slices = events.filter { $0["ph"] as? String == "X" }
        let iter3 = try #require(slices.first { $0["name"] as? String == "iter 3" })
        let start = iter3["ts"] as! Double, end = start + (iter3["dur"] as! Double)
        let stages = slices.filter { s in
            let name = s["name"] as? String ?? ""
            let args = s["args"] as? [String: Any]
            return (name == "before_train_iter" || name == "after_train_iter") && args?["iter"] as? Int == 3
        }
        #expect(stages.count == 2)
        for s in stages {
            let ts = s["ts"] as! Double
            #expect(ts >= start && ts + (s["dur"] as! Double) <= end + 0.001, "stage slices nest inside their iteration")
        }
        let lrs = events.filter { $0["ph"] as? String == "C" && $0["name"] as? String == "lr" }.compactMap { ($0["args"] as? [String: Double])?["group 0"] }
        let inForce = try lrInForce(run)
        // (Foundation's JSON parser on Linux may be off in the last digit; the file itself has exact shortest digits.)
        for v in Set(inForce.values) {
            #expect(lrs.contains { abs($0 - v) <= abs(v) * 1e-12 }, "lr \(v) missing from the counters")
        }
        #expect(events.contains { $0["name"] as? String == "checkpoint saved" })
        #expect(events.contains { $0["name"] as? String == "evaluation" })
        var pieces = ""
        #expect(throws: HooktraceError.self) { try ChromeTrace.export(run, limit: 100) { pieces += $0 } }
        #expect(pieces.isEmpty, "nothing is written when refusing")
        do {
            try ChromeTrace.export(run, limit: 100) { _ in }
        } catch {
            #expect("\(error)".contains("--epoch 0:"))
        }
    }
}
