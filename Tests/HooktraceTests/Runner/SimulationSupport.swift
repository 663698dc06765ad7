@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import Testing

/// Records a config given as JSON text; returns the events and the runner.
func simulate(_ json: String, name: String = "test") throws -> (events: [Event], runner: Runner) {
    let config = try RunConfig(text: json, name: name)
    var events: [Event] = []
    let runner = try Simulator.record(config) { e throws(HooktraceError) in events.append(e) }
    return (events, runner)
}

/// The calls of a run as (stage, epoch, iter, inner_iter, mode) tuples.
func calls(_ events: [Event]) -> [String] {
    events.compactMap { e in
        guard case .call(let c) = e else { return nil }
        return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)"
    }
}

/// The effects of one hook, in order.
func effects(_ events: [Event], _ hook: String) -> [EffectAction] {
    events.compactMap { e in
        guard case .effect(let x) = e, x.hook == hook else { return nil }
        return x.action
    }
}

/// The error message a config produces, or nil when it is valid.
func configErrorMessage(_ json: String) -> String? {
    do {
        let config = try RunConfig(text: json, name: "t")
        _ = try Simulator.prepare(config) { _ throws(HooktraceError) in }
        return nil
    } catch {
        return error.message
    }
}

/// A minimal valid config with `extra` merged in (top-level keys).
func config(_ extra: String = "", runner: String = #""runner": {"type": "EpochBasedRunner", "max_epochs": 2}"#,
            data: String = #""data": {"train": 3}"#) -> String {
    // An `extra` that sets "data" replaces the default (a key may appear once).
    var parts = [runner, #""optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.95}"#]
    if !extra.contains(#""data":"#) { parts.append(data) }
    if !extra.isEmpty { parts.append(extra) }
    return "{" + parts.joined(separator: ", ") + "}"
}
