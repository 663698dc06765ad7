import HooktraceFormat

/// Where a run's inputs come from: the simulation's seeded models (`record`) or a
/// recorded trace (`replay`). Hooks never see the difference.
///
/// Inputs are everything the hooks cannot change: when each call happens, what each step
/// observes, what an evaluation reports. The runner asks for them in the order mmcv's
/// runner would meet them.
package protocol RunInputs: AnyObject {
    /// The run is about to start (before run_start): names can be interned in the
    /// runner's symbol table.
    func start(_ runner: Runner)
    /// The time of the call the runner is about to make (a recording also checks that it
    /// made this call).
    func callTime(_ stage: Stage, _ runner: Runner) throws(HooktraceError) -> Int64
    /// All hooks of the current call have run.
    func afterCall(_ runner: Runner)
    /// Time passing between calls: one of mmcv's sleeps, or loading a batch.
    func pass(_ passage: Passage, _ runner: Runner)
    /// What one training or validation step observes (log_vars, num_samples, grad_norm),
    /// written over `observations` (the runner's array, reused from step to step), names
    /// as symbols of the runner's table.
    func step(train: Bool, _ runner: Runner, into observations: inout [StepObservation]) throws(HooktraceError)
    /// A grad norm the last training step had outside its observations (a real mmengine
    /// run's recording carries it in the wrapper's optimizer_step effect); nil if none.
    func stepGradNorm(_ runner: Runner) -> Double?
    /// What an evaluation at the current call reports.
    func metrics(_ runner: Runner) throws(HooktraceError) -> [(String, Scalar)]
    /// Time a hook spends inside the current call.
    func hookWork(_ work: HookWork, _ runner: Runner)
}

extension RunInputs {
    package func stepGradNorm(_ runner: Runner) -> Double? { nil }
}

package enum Passage: Sendable {
    case sleep(Int64)
    case dataLoad
}

package enum HookWork: Sendable {
    case checkpoint
    case evaluation(batches: Int)
}

/// Inputs drawn from the simulation's models.
///
/// Every draw is keyed by what it is and where it happens (a stream and the step or
/// iteration), not by how many draws came before, so a run's observations do not depend
/// on its hooks: a replay with other hooks that evaluates at a new epoch gets the metric
/// the simulation would have reported there. Time that hooks spend inside a call is added
/// after the call, so every hook of a call sees the call's timestamp (a replay, which
/// keeps recorded timestamps, then computes the same timings).
package final class SimulatedInputs: RunInputs {
    package let model: Simulation
    private var now: Int64 = 0
    private var pending: Int64 = 0
    /// Set when the clock would pass Int64 nanoseconds (~292 years); the next call throws.
    private var overflowed = false
    private var steps = 0
    /// Training steps and evaluations so far (scripted values are taken in this order).
    private var trainSteps = 0
    private var evaluations = 0
    private var loads = 0
    private var works = 0
    /// The symbols of the loss components' names (`model.logVars`) in the runner's table
    /// (interned when the run starts), and their shares.
    private var logVarSymbols: [UInt32] = []
    private var logVarShares: [Double] = []

    package init(_ model: Simulation) {
        self.model = model
    }

    enum Stream: UInt64 {
        case loss = 1, gradNorm, dataTime, iterTime, valIterTime, checkpoint, evaluation, metric
    }

    /// A generator for one draw: a hash of the seed, the stream and the key.
    func rng(_ stream: Stream, _ a: Int, _ b: Int = 0) -> SplitMix64 {
        var mixer = SplitMix64(seed: model.seed ^ (stream.rawValue &* 0x9E37_79B9_7F4A_7C15))
        let x = mixer.next() ^ UInt64(bitPattern: Int64(a)) &* 0xBF58_476D_1CE4_E5B9
        var mixer2 = SplitMix64(seed: x)
        return SplitMix64(seed: mixer2.next() ^ UInt64(bitPattern: Int64(b)) &* 0x94D0_49BB_1331_11EB)
    }

    func nanoseconds(_ d: Simulation.Duration, _ stream: Stream, _ a: Int, _ b: Int = 0) -> Int64 {
        var g = rng(stream, a, b)
        let seconds = d.mean + (g.unit() * 2 - 1) * d.jitter
        return Int64((max(0, seconds) * 1e9).rounded())
    }

    package func start(_ runner: Runner) {
        logVarSymbols = model.logVars.map { runner.context.symbols.intern($0.name) }
        logVarShares = model.logVars.map(\.share)
    }

    package func callTime(_ stage: Stage, _ runner: Runner) throws(HooktraceError) -> Int64 {
        if overflowed {
            throw HooktraceError(.invalidInput, "the simulated clock passed 292 years (the limit of its nanosecond timestamps) at epoch \(runner.epoch), iter \(runner.iter); shorten the run or the simulation's times")
        }
        return now
    }

    /// Adds `ns` to `total`, noting an overflow instead of trapping.
    private func add(_ total: inout Int64, _ ns: Int64) {
        let (sum, overflow) = total.addingReportingOverflow(ns)
        if overflow { overflowed = true; total = .max } else { total = sum }
    }

    package func afterCall(_ runner: Runner) {
        add(&now, pending)
        pending = 0
    }

    package func pass(_ passage: Passage, _ runner: Runner) {
        switch passage {
        case .sleep(let ns):
            add(&now, ns)
        case .dataLoad:
            loads += 1
            add(&now, nanoseconds(model.dataTime, .dataTime, loads))
        }
    }

    private func progress(_ runner: Runner) -> Double {
        guard let m = runner.maxIters, m > 0 else { return 0 }
        return Double(runner.iter) / Double(m)
    }

    /// The curve's value at `progress`, float32 as a tensor's `.item()` gives.
    static func sample(_ c: Simulation.Curve, _ g: inout SplitMix64, progress: Double, decay: Double = 5) -> Double {
        let p = min(max(progress, 0), 1)
        let mean = c.end + (c.start - c.end) * expApprox(-decay * p)
        return Double(Float(mean + g.normal() * c.noise))
    }

    /// A resumed simulation continues the counts its draws are keyed by (``ResumePoint/simulation``).
    package func resume(steps: Int, trainSteps: Int, evaluations: Int) {
        self.steps = steps
        self.trainSteps = trainSteps
        self.evaluations = evaluations
    }

    /// A scripted value for the current training step or evaluation (nil: none scripted).
    /// `count`: which one this is (from 1); the keys are the epoch or iteration just
    /// finished, from 1 (mmengine's counters have moved past it at validation, mmcv's not).
    private func scripted(_ name: String, path: String, count: Int, _ runner: Runner, unit: String) throws(HooktraceError) -> Double? {
        guard let script = model.scripts[name] else { return nil }
        let passed = runner.dialect.framework == .mmengine && unit == "evaluation" ? 0 : 1
        switch script {
        case .list(let values):
            guard count <= values.count else {
                throw HooktraceError(.invalidInput, "\(path): \(unit) \(count) needs a value, and the list gives \(values.count); give one value per \(unit) (see docs/CONFIG.md, simulation)")
            }
            return values[count - 1]
        case .byEpoch(let table), .byIter(let table):
            let byEpoch: Bool
            if case .byEpoch = script { byEpoch = true } else { byEpoch = false }
            let key = (byEpoch ? runner.epoch : runner.iter) + passed
            guard let v = table[key] else {
                let given = table.keys.sorted().prefix(8).map(String.init).joined(separator: ", ")
                throw HooktraceError(.invalidInput, "\(path): no value for \(byEpoch ? "epoch" : "iteration") \(key), where the run needs one (\(unit) \(count)); it gives \(byEpoch ? "epochs" : "iterations") \(given)\(table.count > 8 ? ", …" : "")")
            }
            return v
        }
    }

    package func step(train: Bool, _ runner: Runner, into observations: inout [StepObservation]) throws(HooktraceError) {
        steps += 1
        if train { trainSteps += 1 }
        var g = rng(.loss, steps)
        var total = Self.sample(model.loss, &g, progress: progress(runner))
        if train, let v = try scripted("simulation.loss", path: "simulation.loss", count: trainSteps, runner, unit: "training step") {
            total = Double(Float(v))  // a float32 tensor's .item(), as a drawn value is
        }
        var norm: Double?
        if train && runner.observesGradNorm && runner.stepUpdates {
            var n = rng(.gradNorm, steps)
            norm = max(0, Self.sample(model.gradNorm, &n, progress: progress(runner), decay: 3))
            if let v = try scripted("simulation.grad_norm", path: "simulation.grad_norm", count: trainSteps, runner, unit: "training step") {
                norm = Double(Float(v))
            }
        }
        // The same observations every step: written over last step's in place, through
        // one buffer (an array assignment per value checked the array's uniqueness each).
        let count = (logVarSymbols.isEmpty ? 1 : logVarSymbols.count + 1) + 1 + (norm == nil ? 0 : 1)
        if observations.count != count {
            observations = Array(repeating: StepObservation(kind: .other, name: 0, int: 0), count: count)
        }
        observations.withUnsafeMutableBufferPointer { out in
            var i = 0
            if logVarSymbols.isEmpty {
                out[i] = StepObservation(kind: .logVar, name: SymbolTable.loss, double: total)
                i += 1
            } else {
                // Components as float32 tensors, and their float32 sum as mmdetection's `_parse_losses`.
                var sum: Float = 0
                for k in logVarSymbols.indices {
                    let part = Float(total * logVarShares[k])
                    sum += part
                    out[i] = StepObservation(kind: .logVar, name: logVarSymbols[k], double: Double(part))
                    i += 1
                }
                out[i] = StepObservation(kind: .logVar, name: SymbolTable.loss, double: Double(sum))
                i += 1
            }
            out[i] = StepObservation(kind: .numSamples, name: SymbolTable.numSamples, int: Int64(model.batchSize))
            i += 1
            if let norm { out[i] = StepObservation(kind: .other, name: SymbolTable.gradNorm, double: norm) }
        }
        add(&now, train ? nanoseconds(model.iterTime, .iterTime, steps) : nanoseconds(model.valIterTime, .valIterTime, steps))
    }

    package func metrics(_ runner: Runner) throws(HooktraceError) -> [(String, Scalar)] {
        let p = progress(runner)
        evaluations += 1
        var raw: [(String, Double)] = []
        for (i, m) in model.metrics.enumerated() {
            if let v = try scripted(m.name, path: "simulation.metrics.\(m.name)", count: evaluations, runner, unit: "evaluation") {
                raw.append((m.name, v))
                continue
            }
            var g = rng(.metric, i, runner.iter &* 1_000_003 &+ runner.epoch)
            let mean = m.curve.start + (m.curve.end - m.curve.start) * (1 - expApprox(-4 * min(max(p, 0), 1)))
            raw.append((m.name, mean + g.normal() * m.curve.noise))
        }
        return MMDetMetrics.results(model.report, raw: raw)
    }

    package func hookWork(_ work: HookWork, _ runner: Runner) {
        works += 1
        switch work {
        case .checkpoint:
            add(&pending, nanoseconds(model.checkpointTime, .checkpoint, works))
        case .evaluation(let batches):
            let (total, overflow) = Int64(batches).multipliedReportingOverflow(by: nanoseconds(model.evalIterTime, .evaluation, works))
            if overflow { overflowed = true } else { add(&pending, total) }
        }
    }
}
