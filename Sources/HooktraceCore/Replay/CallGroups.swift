/// A call and everything recorded until the next call.
public struct CallGroup {
    /// Nil for the prelude (events before the first call: run_start, notes).
    public var call: Call?
    public var effects: [Effect] = []
    public var observations: [Observation] = []
    public var spans: [HookSpan] = []
    /// Sequence number of the call event (or of the first event of the prelude).
    public var sequence: UInt64 = 0
    public var runStart: RunStart?
    public var runEnd: RunEnd?

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
public final class CallGroupReader {
    public let reader: TraceReader
    @exclusivity(unchecked) private var lookahead: TraceEntry?
    @exclusivity(unchecked) private var started = false
    @exclusivity(unchecked) private var done = false
    /// Damage met while reading, if any (the groups before it were returned).
    public private(set) var damage: HooktraceError?

    public init(path: String) throws(HooktraceError) {
        reader = try TraceReader(path: path)
    }

    private func read() -> TraceEntry? {
        guard !done else { return nil }
        do {
            if let e = try reader.next() { return e }
        } catch {
            damage = error
        }
        done = true
        return nil
    }

    /// The next group, or nil at the end.
    public func next() -> CallGroup? {
        var group = CallGroup()
        if let la = lookahead {
            lookahead = nil
            guard case .call(let c) = la.event else { return nil }
            group.call = c
            group.sequence = la.sequence
        } else if started {
            return nil
        } else {
            started = true
        }
        var any = group.call != nil
        while let e = read() {
            if case .call = e.event {
                if !any && group.call == nil {
                    // An empty prelude: start with this call.
                    guard case .call(let c) = e.event else { break }
                    group.call = c
                    group.sequence = e.sequence
                    any = true
                    continue
                }
                lookahead = e
                break
            }
            if !any { group.sequence = e.sequence }
            any = true
            switch e.event {
            case .effect(let x): group.effects.append(x)
            case .observe(let o): group.observations.append(o)
            case .hookSpan(let s): group.spans.append(s)
            case .runStart(let r): group.runStart = r
            case .runEnd(let r): group.runEnd = r
            case .call: break
            }
        }
        return any ? group : nil
    }
}
