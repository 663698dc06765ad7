import HooktraceFormat

/// Loader lengths read back from a recording's calls, for a recorded real run whose start
/// did not carry them (a custom runner whose lengths the shim only saw later).
///
/// The recording is the source of truth: in an epoch-based run, a loader's length is the
/// number of `before_MODE_iter` calls in the first MODE epoch; in an iteration-based run,
/// the train loader's length L shows where `runner.epoch` first moves: mmcv's
/// IterBasedRunner reads the loader's epoch before drawing the batch, so the first call
/// of epoch 1 is at iteration L + 1.
enum RecordedLoaders {
    /// The lengths of `modes` that the calls of `trace` show, by mode.
    ///
    /// - Complexity: reads the trace up to the end of the first epoch of each mode.
    static func infer(trace: String, modes: [String], iterBased: Bool) throws(HooktraceError) -> [String: Int] {
        let reader = try TraceReader(path: trace)
        var found: [String: Int] = [:]
        var counting: [String: Int] = [:]
        var remaining = Set(modes)
        while !remaining.isEmpty, let entry = try reader.next() {
            guard case .call(let c) = entry.event else { continue }
            if iterBased {
                if remaining.contains("train"), c.epoch > 0, c.iter > 1 {
                    found["train"] = (c.iter - 1) / c.epoch
                    remaining.remove("train")
                }
                continue
            }
            for mode in remaining {
                switch c.stage {
                case "before_\(mode)_epoch" where counting[mode] == nil: counting[mode] = 0
                case "before_\(mode)_iter": if let n = counting[mode] { counting[mode] = n + 1 }
                case "after_\(mode)_epoch":
                    if let n = counting[mode], n > 0 {
                        found[mode] = n
                        remaining.remove(mode)
                    }
                default: break
                }
            }
        }
        return found
    }

    /// An OptimWrapperDict's update intervals, read back from the recorded optimizer steps:
    /// the model's own train_step decides which wrapper updates when, so a replay takes it
    /// from the recording (`simulation.update_every`) where it is regular — every k-th
    /// iteration, (iter + 1) % k == 0 — over the first `window` training iterations.
    static func updateIntervals(trace: String, window: Int = 10_000) throws(HooktraceError) -> [String: Int] {
        let reader = try TraceReader(path: trace)
        var updates: [String: [Int]] = [:]
        var lastIter = -1
        while let entry = try reader.next() {
            if case .call(let c) = entry.event, c.stage == "before_train_iter" {
                lastIter = c.iter
                if c.iter >= window { break }
            }
            guard case .effect(let e) = entry.event, case .optimizerStep(let name, _, _) = e.action, !name.isEmpty,
                  let c = entry.context else { continue }
            updates[name, default: []].append(c.iter)
        }
        var out: [String: Int] = [:]
        for (name, iters) in updates {
            guard let first = iters.first, first > 0 else { continue }  // updates at iteration 0: every iteration
            let k = first + 1
            let expected = Array(stride(from: k - 1, through: lastIter, by: k))
            if iters == expected { out[name] = k }
        }
        return out
    }

    /// `config` with the loader lengths its `data` lacks filled in from the recorded calls,
    /// and an OptimWrapperDict's update intervals (``updateIntervals(trace:window:)``).
    static func complete(_ config: JSONValue, trace: String) throws(HooktraceError) -> JSONValue {
        var config = config
        if case .string(let constructor)? = config["optim_wrapper"]?["constructor"], constructor.hasSuffix("MultiOptimWrapperConstructor"),
           config["simulation"]?["update_every"] == nil, case .object(var members) = config {
            let intervals = try updateIntervals(trace: trace)
            if !intervals.isEmpty {
                var simulation: [(key: String, value: JSONValue)] = []
                if case .object(let m)? = config["simulation"] { simulation = m }
                simulation.append(("update_every", .object(intervals.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })))
                members.removeAll { $0.key == "simulation" }
                members.append(("simulation", .object(simulation)))
                config = .object(members)
            }
        }
        guard case .object(var members) = config else { return config }
        var data: [(key: String, value: JSONValue)] = []
        if case .object(let d)? = config["data"] { data = d }
        var modes = ["train"]
        if case .array(let phases)? = config["workflow"] {
            for phase in phases {
                if case .array(let pair) = phase, case .string(let mode)? = pair.first, !modes.contains(mode) { modes.append(mode) }
            }
        }
        for key in ["evaluation", "val_cfg"] where config[key] != nil && config[key] != .null && !modes.contains("val") { modes.append("val") }
        let missing = modes.filter { m in !data.contains { $0.key == m && $0.value != .null } }
        guard !missing.isEmpty else { return config }
        var iterBased = false
        if case .string(let type)? = config["runner"]?["type"] { iterBased = type == "IterBasedRunner" }
        let found = try infer(trace: trace, modes: missing, iterBased: iterBased)
        guard !found.isEmpty else { return config }
        for mode in missing { if let n = found[mode] { data.append((mode, .int(Int64(n)))) } }
        members.removeAll { $0.key == "data" }
        members.append(("data", .object(data)))
        return .object(members)
    }
}
