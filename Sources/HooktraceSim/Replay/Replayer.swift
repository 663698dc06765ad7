import HooktraceFormat

/// Replays a recorded run with another hook set: the recorded inputs (calls, counters,
/// timestamps, observations) are kept and every effect is recomputed by the new hooks.
///
/// ```swift
/// let hooks = try JSONValue.parse(#"{"lr_config": {"policy": "step", "step": [9, 11]}}"#)
/// try Replayer.replay(trace: "run.htrace", hooks: hooks) { event in try writer.append(event) }
/// ```
///
/// The replay is a pure function of the recording and the hook set: the same inputs give
/// the same events, and replaying a recording with its own hooks reproduces its effects.
package enum Replayer {
    /// Config keys a hooks file may set: the hook configuration, and the optimizer (whose
    /// initial learning rates the schedules start from).
    package static let hookKeys = ["lr_config", "momentum_config", "optimizer_config", "checkpoint_config", "log_config",
                                  "custom_hooks", "evaluation", "optimizer", "work_dir", "fp16"]
    /// Keys that shape the recorded calls or observations and so cannot change.
    package static let fixedKeys = ["runner", "workflow", "data", "simulation"]
    /// The same for an mmengine run: its hooks and schedulers may change; its loops (which
    /// decide the calls) may not.
    package static let mmengineHookKeys = ["default_hooks", "custom_hooks", "param_scheduler", "optim_wrapper", "log_processor", "work_dir"]
    package static let mmengineFixedKeys = ["train_cfg", "val_cfg", "test_cfg", "data", "simulation"]

    package struct Result {
        package var runner: Runner
        package var config: RunConfig
        /// Evaluations the new hooks asked for where a real recording has no metrics.
        package var missingMetrics: [String]
    }

    /// The recorded run's config with `hooks` (a hooks file) and `overrides` (`--cfg-options`) applied.
    package static func mergedConfig(recorded: JSONValue, hooks: JSONValue?, overrides: [(path: String, value: JSONValue)]) throws(HooktraceError) -> JSONValue {
        guard case .object(var members) = recorded else { throw HooktraceError(.invalidInput, "the recorded run config is not an object") }
        let engine = (try? Framework.of(configKeys: members.map(\.key))) == .mmengine
        let hookKeys = engine ? mmengineHookKeys : hookKeys
        let fixedKeys = engine ? mmengineFixedKeys : fixedKeys
        func set(_ key: String, _ value: JSONValue, path: String) throws(HooktraceError) {
            if fixedKeys.contains(key) {
                if let old = members.first(where: { $0.key == key })?.value, old == value { return }
                throw configError(path, "cannot change in a replay: the recorded calls and observations depend on it; record a new run with `hooktrace record` instead")
            }
            guard hookKeys.contains(key) else {
                throw configError(path, "is not a hook setting" + suggestion(key, hookKeys) + "; a hooks file may set \(hookKeys.joined(separator: ", "))")
            }
            if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append((key, value)) }
        }
        if let hooks {
            guard case .object(let entries) = hooks else { throw configError("", "a hooks file must be a JSON object with keys such as \"\(hookKeys[0])\"") }
            for (key, value) in entries { try set(key, value, path: key) }
        }
        for (path, value) in overrides {
            let parts = path.split(separator: ".").map(String.init)
            guard let first = parts.first, !first.isEmpty else { throw configError(path, "empty key in --cfg-options") }
            let current = members.first(where: { $0.key == first })?.value ?? .object([])
            try set(first, try assign(current, Array(parts.dropFirst()), value, path: path), path: path)
        }
        return .object(members)
    }

    /// `config` with `--cfg-options` values set at their key paths (any key: a new run,
    /// not a replay), as mmcv's and mmengine's `merge_from_dict` sets them.
    package static func withOptions(_ config: JSONValue, _ overrides: [(path: String, value: JSONValue)]) throws(HooktraceError) -> JSONValue {
        var result = config
        for (path, value) in overrides {
            let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !parts.contains(where: \.isEmpty) else { throw configError(path, "empty key in --cfg-options") }
            result = try assign(result, parts, value, path: path)
        }
        return result
    }

    private static func assign(_ node: JSONValue, _ path: [String], _ value: JSONValue, path full: String) throws(HooktraceError) -> JSONValue {
        guard let key = path.first else { return value }
        // A list element by its index (Config.merge_from_dict's allow_list_keys).
        if case .array(var items) = node, let i = Int(key) {
            guard i >= 0 && i < items.count else { throw configError(full, "index \(i) is out of range: the list has \(items.count) items") }
            items[i] = try assign(items[i], Array(path.dropFirst()), value, path: full)
            return .array(items)
        }
        guard case .object(var members) = node else {
            if node == .null { return try assign(.object([]), path, value, path: full) }
            throw configError(full, "cannot set '\(key)' inside \(describeValue(node))")
        }
        let child = members.first(where: { $0.key == key })?.value ?? .object([])
        let updated = try assign(child, Array(path.dropFirst()), value, path: full)
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = updated } else { members.append((key, updated)) }
        return .object(members)
    }

    /// Parses a `--cfg-options` value the way mmcv's `DictAction` does (``CfgOptions``).
    package static func parseOption(_ text: String) throws(HooktraceError) -> JSONValue {
        try CfgOptions.parse(text)
    }

    /// Replays `trace` with the merged hook set, sending the new run's events to `sink`.
    ///
    /// On divergence or damage the events up to that point have been sent, followed by a
    /// `run_end` saying why, and the error is thrown.
    @discardableResult
    package static func replay(trace: String, hooks: JSONValue?, overrides: [(path: String, value: JSONValue)] = [],
                              registry: HookRegistry = .standard, prepare: ((RunStart, RecordedInputs) -> Void)? = nil,
                              sink: @escaping (Event) throws(HooktraceError) -> Void) throws(HooktraceError) -> Result {
        try replay(trace: trace, hooks: hooks, overrides: overrides, registry: registry, prepare: prepare, to: EventSink(sink))
    }

    /// ``replay(trace:hooks:overrides:registry:prepare:sink:)`` with the new run's records
    /// going to `sink` as they are.
    @discardableResult
    package static func replay(trace: String, hooks: JSONValue?, overrides: [(path: String, value: JSONValue)] = [],
                              registry: HookRegistry = .standard, prepare: ((RunStart, RecordedInputs) -> Void)? = nil,
                              to sink: any RunSink) throws(HooktraceError) -> Result {
        let reader = try TraceReader(path: trace)
        guard let first = try reader.next(), case .runStart(let start) = first.event else {
            throw HooktraceError(.invalidInput, "the trace does not start with a run_start event; it cannot be replayed", file: trace)
        }
        guard !start.config.isEmpty else {
            throw HooktraceError(.invalidInput, "the trace has no run config (source: \(start.source)); replay needs a trace from `hooktrace record --config`, or a recorded real run whose config hooktrace could read (mmdetection-style runner.meta['config'])", file: trace)
        }
        let recordedConfig: JSONValue
        do {
            recordedConfig = try JSONValue.parse(start.config)
        } catch {
            throw HooktraceError(.damaged, "the recorded run config is not valid JSON (\(error))", file: trace)
        }
        // A real run's start may lack loader lengths that the shim saw only later; the calls show them.
        var completed = start.source == "simulated" ? recordedConfig : try RecordedLoaders.complete(recordedConfig, trace: trace)
        // A real run that Runner.resume resumed: the state it loaded, as launch.resume.
        if start.source != "simulated", case .object(var members) = completed,
           let point = try ResumePoint.recorded(in: trace, config: completed) {
            var launch: [(key: String, value: JSONValue)] = []
            if let i = members.firstIndex(where: { $0.key == "launch" }) {
                if case .object(let l) = members[i].value { launch = l }
                members.remove(at: i)
            }
            launch.removeAll { $0.key == "resume" }
            launch.append(("resume", point))
            members.append(("launch", .object(launch)))
            completed = .object(members)
        }
        let merged = try mergedConfig(recorded: completed, hooks: hooks, overrides: overrides)
        var name = "replay"
        if case .string(let exp)? = start.meta.first(where: { $0.key == "exp_name" })?.value {
            name = exp.hasSuffix(".py") ? String(exp.dropLast(3)) : exp
        }
        let config = try RunConfig(json: merged, name: name)
        let fallback = start.source == "simulated" ? SimulatedInputs(config.simulation) : nil
        let inputs = RecordedInputs(reader: reader, fallback: fallback)
        prepare?(start, inputs)
        // Hooks hooktrace does not know stay passive under the stages the recording lists.
        var registry = registry
        for h in start.hooks {
            guard let names = h.stages else { continue }
            let stages = Set(names.compactMap(Stage.init(rawValue:)))
            if !stages.isEmpty && registry.recordedStages[h.type] == nil { registry.recordedStages[h.type] = stages }
        }
        let runner: Runner
        do {
            runner = try Simulator.record(config, registry: registry, inputs: inputs, meta: [Field("replay", .bool(true))], to: sink)
        } catch {
            throw error
        }
        return Result(runner: runner, config: config, missingMetrics: inputs.missingMetrics)
    }
}
