/// The names of one run, each interned once: what the hot path from `call_hook` to the
/// block buffer carries instead of strings.
///
/// Stages have fixed symbols (their ``Stage/index``), hooks get theirs when they are
/// registered, observation keys when first produced. A trace writer maps symbols to the
/// trace's own name ids (assigned in first-use order, so the bytes are what writing the
/// same events as strings gives) with one array lookup per name.
package final class SymbolTable {
    /// Every name, by symbol.
    package private(set) var names: [String]
    private var index: [String: UInt32]

    package init() {
        names = Stage.allCases.map(\.rawValue) + Self.wellKnown
        index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, UInt32($0)) })
    }

    /// Names the runner and mmcv's hooks use on every step, with fixed symbols after the
    /// stages' (so hooks need no lookup): the log keys of IterTimerHook and OptimizerHook,
    /// and the step's `loss` and `num_samples`.
    private static let wellKnown = ["time", "data_time", "grad_norm", "loss", "num_samples"]
    package static let time = UInt32(Stage.allCases.count)
    package static let dataTime = time + 1
    package static let gradNorm = time + 2
    package static let loss = time + 3
    package static let numSamples = time + 4

    /// The symbol of `name`, interning it on first use.
    package func intern(_ name: String) -> UInt32 {
        if let s = index[name] { return s }
        let s = UInt32(names.count)
        names.append(name)
        index[name] = s
        return s
    }

    /// The name of `symbol`.
    @inline(__always)
    package func name(_ symbol: UInt32) -> String { names[Int(symbol)] }

    /// Whether `symbol` is `name` (compared in place, no copy of the name).
    @inline(__always)
    package func name(_ symbol: UInt32, is name: String) -> Bool { names[Int(symbol)] == name }

    /// A stage's fixed symbol.
    @inline(__always)
    package static func stage(_ stage: Stage) -> UInt32 { UInt32(stage.index) }
}

/// A ``Scalar`` as plain bits, a string as a symbol of a run's ``SymbolTable``: what an
/// observation's value is on the hot path (copied without reference counting, compared
/// and encoded without building a `Scalar`).
package struct ScalarBits: BitwiseCopyable, Equatable {
    /// The kind of value, as the trace codes it (null, false, true, int, double, string).
    package let tag: UInt8
    /// A double's or an int's bits, a string's symbol; 0 otherwise.
    package let bits: UInt64

    @inline(__always)
    package init(tag: UInt8, bits: UInt64) {
        self.tag = tag
        self.bits = bits
    }

    @inline(__always)
    package init(double: Double) { self.init(tag: ScalarTag.double, bits: double.bitPattern) }

    @inline(__always)
    package init(int: Int64) { self.init(tag: ScalarTag.int, bits: UInt64(bitPattern: int)) }

    /// A string value, given as its symbol.
    @inline(__always)
    package init(stringSymbol: UInt32) { self.init(tag: ScalarTag.string, bits: UInt64(stringSymbol)) }

    /// Any value; a string is interned in `symbols`.
    package init(_ value: Scalar, symbols: SymbolTable) {
        switch value {
        case .null: self.init(tag: ScalarTag.null, bits: 0)
        case .bool(let b): self.init(tag: b ? ScalarTag.trueValue : ScalarTag.falseValue, bits: 0)
        case .int(let i): self.init(int: i)
        case .double(let d): self.init(double: d)
        case .string(let s): self.init(stringSymbol: symbols.intern(s))
        }
    }

    /// Whether the value is a string (its bits are then a symbol).
    @inline(__always)
    package var isString: Bool { tag == ScalarTag.string }

    /// The value (a string's looked up in `symbols`).
    package func scalar(_ symbols: SymbolTable) -> Scalar {
        switch tag {
        case ScalarTag.double: .double(Double(bitPattern: bits))
        case ScalarTag.int: .int(Int64(bitPattern: bits))
        case ScalarTag.trueValue: .bool(true)
        case ScalarTag.falseValue: .bool(false)
        case ScalarTag.string: .string(symbols.name(UInt32(truncatingIfNeeded: bits)))
        default: .null
        }
    }

    /// The value as a number (`Scalar.number`): doubles and ints.
    @inline(__always)
    package var number: Double? {
        switch tag {
        case ScalarTag.double: Double(bitPattern: bits)
        case ScalarTag.int: Double(Int64(bitPattern: bits))
        default: nil
        }
    }

    /// The int value, if it is one.
    @inline(__always)
    package var int: Int64? { tag == ScalarTag.int ? Int64(bitPattern: bits) : nil }
}

/// One value a step observes: its name a symbol of the run's ``SymbolTable`` and its value
/// as bits (a string's as a symbol too). What the runner hands its sink and log buffer on
/// every step: plain memory, nothing to compare, copy or count.
package struct StepObservation: BitwiseCopyable {
    package var kind: ObservationKind
    package var name: UInt32
    /// The value as bits, a string as a symbol.
    package var value: ScalarBits

    @inline(__always)
    package init(kind: ObservationKind, name: UInt32, value: ScalarBits) {
        self.kind = kind
        self.name = name
        self.value = value
    }

    package init(kind: ObservationKind, name: UInt32, double: Double) {
        self.init(kind: kind, name: name, value: ScalarBits(double: double))
    }

    package init(kind: ObservationKind, name: UInt32, int: Int64) {
        self.init(kind: kind, name: name, value: ScalarBits(int: int))
    }

    /// Any value; a string is interned in `symbols`.
    package init(kind: ObservationKind, name: UInt32, value: Scalar, symbols: SymbolTable) {
        self.init(kind: kind, name: name, value: ScalarBits(value, symbols: symbols))
    }

    /// The value (a string's looked up in `symbols`).
    package func value(_ symbols: SymbolTable) -> Scalar { value.scalar(symbols) }

    /// The value as a number (`Scalar.number`): doubles and ints.
    @inline(__always)
    package var number: Double? { value.number }

    /// The int value, if it is one.
    @inline(__always)
    package var int: Int64? { value.int }
}

/// Where a run's events go, as the runner produces them: calls, observations and effects
/// with their names as symbols of the run's ``SymbolTable`` (no strings built per event),
/// and the rare events (run_start, notes at the start, run_end) as ``Event`` values.
///
/// A ``TraceWriter`` encodes the records directly; ``EventSink`` turns them back into
/// ``Event`` values for code that wants them.
package protocol RunSink: AnyObject {
    /// `runner.call_hook(stage)` with the counters the hooks see.
    func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError)
    /// An observation of the current call.
    func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError)
    /// A step's observations of the current call, in order: the same as `observe` for
    /// each (one call per step instead of one per observation).
    func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError)
    /// An effect of the hook registered as `hook`.
    func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError)
    /// Any other event.
    func event(_ event: Event) throws(HooktraceError)
}

extension RunSink {
    package func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError) {
        for o in observations { try observe(kind: o.kind, name: o.name, value: o.value, symbols: symbols) }
    }
}

/// A ``RunSink`` that hands every record on as an ``Event`` (names as strings).
package final class EventSink: RunSink {
    private let body: (Event) throws(HooktraceError) -> Void

    package init(_ body: @escaping (Event) throws(HooktraceError) -> Void) {
        self.body = body
    }

    package func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        try body(.call(Call(stage: symbols.name(stage), epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time)))
    }

    package func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) {
        try body(.observe(Observation(kind: kind, name: symbols.name(name), value: value.scalar(symbols))))
    }

    package func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) {
        try body(.effect(Effect(hook: symbols.name(hook), action)))
    }

    package func event(_ event: Event) throws(HooktraceError) {
        try body(event)
    }
}

/// A ``RunSink`` that sends every record to each of its sinks, in order.
package final class TeeSink: RunSink {
    private let sinks: [any RunSink]

    package init(_ sinks: [any RunSink]) {
        self.sinks = sinks
    }

    package func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        for s in sinks { try s.call(stage: stage, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time, symbols: symbols) }
    }

    package func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) {
        for s in sinks { try s.observe(kind: kind, name: name, value: value, symbols: symbols) }
    }

    package func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError) {
        for s in sinks { try s.observe(observations, symbols: symbols) }
    }

    package func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) {
        for s in sinks { try s.effect(hook: hook, action: action, symbols: symbols) }
    }

    package func event(_ event: Event) throws(HooktraceError) {
        for s in sinks { try s.event(event) }
    }
}
