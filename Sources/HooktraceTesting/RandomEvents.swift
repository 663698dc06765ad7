import HooktraceAnalysis
import HooktraceFormat
import HooktraceRender
import HooktraceSim

/// Seeded generators of arbitrary events, for property tests of anything that reads or
/// writes traces.
///
/// ```swift
/// var g = RandomEvents(seed: 7)
/// let events = g.stream(count: 1_000)   // starts with run_start, calls in order
/// ```
public struct RandomEvents {
    /// The generator every draw comes from.
    public var rng: SplitMix64
    private var time: Int64 = 0
    private var epoch = 0
    private var iter = 0
    private var inner = 0

    /// A generator whose events are fixed by `seed`.
    public init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }

    private mutating func chance(_ p: Double) -> Bool { rng.unit() < p }

    /// A string from a pool of awkward ones (empty, non-ASCII, quotes, NUL, 280 bytes) or a random short one.
    public mutating func string() -> String {
        let pool = ["loss", "loss_cls", "acc", "bbox_mAP", "epoch_1.pth", "", "ünïcødé ✓", "a,b\"c\nd",
                    "StepLrUpdaterHook", "MyHook", "x\u{0}y", String(repeating: "long", count: 70)]
        if chance(0.2) { return "s\(rng.next() % 1000)" }
        return pool[int(0...(pool.count - 1))]
    }

    /// A double, edge values included (±0, ∞, tiny, huge, float32-rounded).
    public mutating func double() -> Double {
        switch int(0...9) {
        case 0: return 0
        case 1: return -0.0
        case 2: return .infinity
        case 3: return Double(Float(rng.normal()))
        case 4: return rng.unit() * 1e-8
        case 5: return -rng.unit() * 1e12
        case 6: return .greatestFiniteMagnitude
        case 7: return .leastNonzeroMagnitude
        default: return rng.normal()
        }
    }

    /// A scalar of any type.
    public mutating func scalar() -> Scalar {
        switch int(0...5) {
        case 0: return .null
        case 1: return .bool(chance(0.5))
        case 2: return .int(Int64(bitPattern: rng.next()) >> int(0...63))
        case 3, 4: return .double(double())
        default: return .string(string())
        }
    }

    /// Up to a few fields with random keys and values.
    public mutating func fields() -> [Field] {
        (0..<int(0...6)).map { _ in Field(string(), scalar()) }
    }

    /// The next call: counters never go backwards, time moves on.
    public mutating func call() -> Call {
        time += Int64(int(0...400_000_000))
        if chance(0.01) { time -= 5 }  // clocks can step back; deltas must be signed
        if chance(0.05) { epoch += 1; inner = 0 } else if chance(0.8) { iter += 1; inner += 1 }
        let stages = ["before_run", "before_train_epoch", "before_train_iter", "after_train_iter",
                      "after_train_epoch", "before_val_iter", "after_run", "before_epoch", "custom_stage"]
        return Call(stage: stages[int(0...(stages.count - 1))], epoch: epoch, iter: iter, innerIter: inner,
                    mode: Mode(rawValue: UInt8(int(0...3))) ?? .train, time: time)
    }

    /// An effect action of any kind.
    public mutating func action() -> EffectAction {
        switch int(0...12) {
        case 0: return .setLR(optimizer: chance(0.7) ? "" : string(), group: int(0...3), value: double())
        case 1: return .setMomentum(optimizer: chance(0.7) ? "" : string(), group: int(0...3), value: double())
        case 2: return .optimizerStep(optimizer: "", stepped: chance(0.5), gradNorm: chance(0.5) ? double() : nil)
        case 3: return .checkpointSave(path: string())
        case 4: return .checkpointRemove(path: string())
        case 5: return .checkpointLink(link: "latest.pth", target: string())
        case 6: return .log(fields())
        case 7: return .evaluate(fields())
        case 8: return .bestUpdate(key: string(), value: double(), checkpoint: string())
        case 9: return .emaUpdate(momentum: double())
        case 10: return .stop(reason: string())
        case 11: return .note(string())
        default: return .custom(kind: string(), fields: fields())
        }
    }

    /// A run_start with random hooks, groups and metadata.
    public mutating func runStart() -> RunStart {
        RunStart(
            source: string(), runner: chance(0.5) ? "EpochBasedRunner" : "IterBasedRunner",
            maxEpochs: chance(0.5) ? int(0...100) : nil, maxIters: chance(0.5) ? int(0...1_000_000) : nil,
            workflow: (0..<int(0...3)).map { _ in WorkflowPhase(string(), int(0...5)) },
            loaders: (0..<int(0...2)).map { _ in LoaderLength(string(), int(0...100_000)) },
            paramGroups: (0..<int(0...3)).map { g in ParamGroup(optimizer: string(), group: g, lr: double(), momentum: chance(0.5) ? double() : nil) },
            hooks: (0..<int(0...6)).map { _ in HookInfo(name: string(), type: string(), priority: int(-5...105), config: string(), stages: chance(0.3) ? nil : (0..<int(0...4)).map { _ in string() }) },
            seed: rng.next(), config: string(), meta: fields())
    }

    /// One event of any kind (calls advance the counters).
    public mutating func event() -> Event {
        switch int(0...9) {
        case 0, 1, 2: return .call(call())
        case 3, 4: return .observe(Observation(kind: ObservationKind(rawValue: UInt8(int(0...4))) ?? .other, name: string(), value: scalar()))
        case 5: return .hookSpan(HookSpan(hook: string(), start: time + Int64(int(-10...1_000)), duration: Int64(int(0...1_000_000))))
        case 6: return chance(0.05) ? .runStart(runStart()) : .effect(Effect(hook: string(), action()))
        case 7: return chance(0.02) ? .runEnd(RunEnd(status: RunStatus(rawValue: UInt8(int(0...2))) ?? .failed, exitCode: int(-9...255), message: string())) : .effect(Effect(hook: string(), action()))
        default: return .effect(Effect(hook: string(), action()))
        }
    }

    /// A stream that starts like a real trace (run_start, then a call) followed by random events.
    public mutating func stream(count: Int) -> [Event] {
        var events: [Event] = [.runStart(runStart())]
        if count > 1 { events.append(.call(call())) }
        while events.count < count { events.append(event()) }
        return Array(events.prefix(count))
    }
}

/// Compares events bit for bit (NaN equals NaN with the same payload; 0.0 differs from -0.0).
public func identical(_ a: [Event], _ b: [Event]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.bitwiseDoubles == y.bitwiseDoubles && (x == y || String(reflecting: x) == String(reflecting: y))
    }
}

extension Event {
    /// The bit patterns of every double in the event, in order.
    var bitwiseDoubles: [UInt64] {
        var out: [UInt64] = []
        func s(_ v: Scalar) { if case .double(let d) = v { out.append(d.bitPattern) } }
        switch self {
        case .runStart(let r):
            for g in r.paramGroups { out.append(g.lr.bitPattern); if let m = g.momentum { out.append(m.bitPattern) } }
            r.meta.forEach { s($0.value) }
        case .observe(let o): s(o.value)
        case .effect(let e):
            switch e.action {
            case .setLR(_, _, let v), .setMomentum(_, _, let v), .bestUpdate(_, let v, _), .emaUpdate(let v): out.append(v.bitPattern)
            case .optimizerStep(_, _, let n): if let n { out.append(n.bitPattern) }
            case .log(let f), .evaluate(let f), .custom(_, let f): f.forEach { s($0.value) }
            default: break
            }
        default: break
        }
        return out
    }
}
