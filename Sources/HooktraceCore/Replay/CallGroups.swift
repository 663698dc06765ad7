/// A call and everything recorded until the next call.
public struct CallGroup {
    public init(call: Call? = nil, sequence: UInt64 = 0) {
        self.call = call
        self.sequence = sequence
    }

    /// Nil for the prelude (events before the first call: run_start, notes).
    public var call: Call?
    public var effects: [Effect] = []
    public var observations: [Observation] = []
    public var spans: [HookSpan] = []
    /// Sequence number of the call event (or of the first event of the prelude).
    public var sequence: UInt64 = 0
    /// Whether the group was cut short by damage (its events after the damage are lost).
    public var cutShort = false
    /// The run_start of the prelude. Kept out of line (an array of at most one): a group is
    /// moved a few times per call, and an inline RunStart would make every move a large copy.
    public var runStart: RunStart? {
        get { runStartStorage.first }
        set { runStartStorage = newValue.map { [$0] } ?? [] }
    }
    private var runStartStorage: [RunStart] = []
    public var runEnd: RunEnd? {
        get { runEndStorage.first }
        set { runEndStorage = newValue.map { [$0] } ?? [] }
    }
    private var runEndStorage: [RunEnd] = []

    /// Whether both groups are the same call: (stage, epoch, iter, inner_iter, mode), or both preludes.
    public func sameCall(as other: CallGroup) -> Bool {
        switch (call, other.call) {
        case (nil, nil): true
        case (let x?, let y?): x.iter == y.iter && x.epoch == y.epoch && x.innerIter == y.innerIter && x.mode == y.mode && x.stage == y.stage
        default: false
        }
    }

    /// (stage, epoch, iter, inner_iter, mode): what identifies a call within a run.
    public var key: String {
        guard let c = call else { return "prelude" }
        return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)"
    }
}

/// Reads a trace as call groups, streaming.
///
/// Groups are built a block at a time straight from the reader's decoding loop (each
/// event moved into its group, no intermediate entries); memory holds one block's groups.
public final class CallGroupReader {
    public let reader: TraceReader
    /// Groups completed in the current block, in reverse order (the next one last).
    @exclusivity(unchecked) private var ready: [CallGroup] = []
    /// The group being filled; it completes at the next call or at the end.
    @exclusivity(unchecked) private var current: CallGroup?
    @exclusivity(unchecked) private var finished = false
    /// Damage met while reading, if any (the groups before it were returned).
    public private(set) var damage: HooktraceError?

    public init(path: String) throws(HooktraceError) {
        reader = try TraceReader(path: path)
    }

    /// Groups from the reader's current position (events already returned by its
    /// ``TraceReader/next()`` are not seen again).
    public init(reader: TraceReader) {
        self.reader = reader
    }

    /// The next group, or nil at the end.
    public func next() -> CallGroup? {
        while ready.isEmpty {
            if finished {
                defer { current = nil }
                if damage != nil { current?.cutShort = true }
                return current
            }
            fill()
            // Handed out from the end, so that each group is moved out, not copied.
            ready.reverse()
        }
        return ready.popLast()
    }

    private func fill() {
        do {
            let more = try reader.drainNextBlock { entry in self.absorb(&entry) }
            if !more { finished = true }
        } catch let error as HooktraceError {
            damage = error
            finished = true
        } catch {
            damage = HooktraceError(.io, "\(error)", file: reader.path)
            finished = true
        }
    }

    @inline(__always)
    private func absorb(_ entry: inout TraceEntry) {
        // Take the event (not the entry: its call context is not needed here).
        let event = entry.takeEvent()
        if case .call(let c) = event {
            if let finished = current.take() { ready.append(finished) }
            current = CallGroup(call: c, sequence: entry.sequence)
            return
        }
        if current == nil { current = CallGroup(sequence: entry.sequence) }
        switch event {
        case .effect(let x):
            if current!.effects.isEmpty { current!.effects.reserveCapacity(2) }
            current!.effects.append(x)
        case .observe(let o):
            // A training step records a few observations: one allocation instead of regrowing.
            if current!.observations.isEmpty { current!.observations.reserveCapacity(4) }
            current!.observations.append(o)
        case .hookSpan(let h): current!.spans.append(h)
        case .runStart(let r): current!.runStart = r
        case .runEnd(let r): current!.runEnd = r
        case .call: break
        }
    }
}
