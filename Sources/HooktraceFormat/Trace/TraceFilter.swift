/// Which events a reader returns; blocks that cannot match are skipped undecompressed.
///
/// Ranges are inclusive. Epoch and iteration refer to the call an event belongs to
/// (an effect in `after_train_iter` of iteration 7 has iter 7).
public struct TraceFilter: Sendable, Equatable {
    /// Only calls with `runner.epoch` in this range (and what belongs to them).
    public var epochs: ClosedRange<Int>?
    /// Only calls with `runner.iter` in this range.
    public var iters: ClosedRange<Int>?
    /// Keep only events that belong to calls of this stage.
    public var stage: String?
    /// Keep only effects and spans of this hook.
    public var hook: String?
    /// Keep only events with sequence numbers in this range.
    public var sequences: ClosedRange<UInt64>?

    /// A filter; every criterion left nil matches everything.
    public init(epochs: ClosedRange<Int>? = nil, iters: ClosedRange<Int>? = nil, stage: String? = nil,
                hook: String? = nil, sequences: ClosedRange<UInt64>? = nil) {
        self.epochs = epochs
        self.iters = iters
        self.stage = stage
        self.hook = hook
        self.sequences = sequences
    }

    /// Whether the filter keeps everything.
    public var isEmpty: Bool { epochs == nil && iters == nil && stage == nil && hook == nil && sequences == nil }

    /// Whether a block with this header can hold a matching event.
    package func mayMatch(_ header: BlockHeader) -> Bool {
        if let sequences {
            let first = header.firstSequence
            let last = first + UInt64(header.eventCount)
            if header.eventCount == 0 || last <= sequences.lowerBound || first > sequences.upperBound { return false }
        }
        if epochs != nil || iters != nil {
            // Events before the first call have no counters: only the block holding run_start.
            guard header.hasCounters else { return false }
            if let epochs, Int(header.epochMax) < epochs.lowerBound || Int(header.epochMin) > epochs.upperBound { return false }
            if let iters, header.iterMax < UInt64(max(0, iters.lowerBound)) || header.iterMin > UInt64(max(0, iters.upperBound)) { return false }
        }
        return true
    }

    /// Whether the filter keeps this event.
    public func matches(_ entry: TraceEntry) -> Bool {
        if let sequences, !sequences.contains(entry.sequence) { return false }
        if epochs != nil || iters != nil || stage != nil {
            guard let ctx = entry.context else { return false }
            if let epochs, !epochs.contains(ctx.epoch) { return false }
            if let iters, !iters.contains(ctx.iter) { return false }
            if let stage, ctx.stage != stage { return false }
        }
        if let hook {
            switch entry.event {
            case .effect(let e): return e.hook == hook
            case .hookSpan(let s): return s.hook == hook
            default: return false
            }
        }
        return true
    }
}
