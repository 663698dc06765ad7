/// A call and everything recorded until the next call.
public struct CallGroup {
    public init(call: Call? = nil, sequence: UInt64 = 0) {
        self.call = call
        self.sequence = sequence
    }

    /// Nil for the prelude (events before the first call: run_start, notes).
    public var call: Call?
    /// Slices of storage shared by the groups of one block (one allocation per block, not
    /// two per group).
    public var effects: ArraySlice<Effect> = []
    public var observations: ArraySlice<Observation> = []
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
/// event moved into its group, no intermediate entries); memory holds a few blocks' groups.
/// By default the blocks are decoded on a background thread a few blocks ahead (see
/// ``Prefetcher``), so reading overlaps with whatever the caller does with the groups.
public final class CallGroupReader {
    /// The trace being read. While groups are still coming it belongs to the decoding
    /// thread: look at it (e.g. its ``TraceReader/nextSequence``) once ``next()`` returned nil.
    public let reader: TraceReader
    private let builder: GroupBuilder
    private let prefetcher: Prefetcher<[CallGroup]>?
    /// The current block's groups in reverse order (the next one last).
    @exclusivity(unchecked) private var ready: [CallGroup] = []
    /// Damage met while reading, if any (the groups before it were returned). Known once
    /// ``next()`` has returned nil.
    public var damage: HooktraceError? { builder.damage }

    public convenience init(path: String, prefetch: Bool = true) throws(HooktraceError) {
        self.init(reader: try TraceReader(path: path), prefetch: prefetch)
    }

    /// Groups from the reader's current position (events already returned by its
    /// ``TraceReader/next()`` are not seen again). The reader is this object's from now on.
    public init(reader: TraceReader, prefetch: Bool = true) {
        self.reader = reader
        let builder = GroupBuilder(reader: reader)
        self.builder = builder
        prefetcher = prefetch ? Prefetcher(depth: 3) { builder.nextBatch() } : nil
    }

    deinit {
        prefetcher?.cancel()
    }

    /// The next group, or nil at the end.
    public func next() -> CallGroup? {
        while ready.isEmpty {
            let batch = prefetcher != nil ? prefetcher!.next() : builder.nextBatch()
            guard let batch else {
                prefetcher?.join()
                return nil
            }
            ready = batch
        }
        return ready.popLast()
    }
}

/// Turns a reader's events into call groups, a block at a time.
///
/// A block's effects and observations go into two arrays; each group takes its slices of
/// them when the block ends. The group still open at the end of a block carries its part
/// into the next block's arrays.
private final class GroupBuilder: @unchecked Sendable {
    let reader: TraceReader
    /// The group being filled (its effects and observations are the arrays' tails from
    /// `effectStart` and `observationStart`); it completes at the next call or at the end.
    @exclusivity(unchecked) private var current: CallGroup?
    @exclusivity(unchecked) private var effectStart = 0
    @exclusivity(unchecked) private var observationStart = 0
    /// Groups completed in this block, with their ranges in the arrays below.
    @exclusivity(unchecked) private var completed: [(group: CallGroup, effects: Range<Int>, observations: Range<Int>)] = []
    @exclusivity(unchecked) private var effects: [Effect] = []
    @exclusivity(unchecked) private var observations: [Observation] = []
    private var finished = false
    private(set) var damage: HooktraceError?

    init(reader: TraceReader) {
        self.reader = reader
    }

    /// The groups completed by the next block, in reverse order; nil after the last.
    func nextBatch() -> [CallGroup]? {
        if finished { return nil }
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
        if finished, var last = current.take() {
            if damage != nil { last.cutShort = true }
            completed.append((last, effectStart..<effects.count, observationStart..<observations.count))
            effectStart = effects.count
            observationStart = observations.count
        }
        // The open group's events move to the next block's arrays.
        let carriedEffects = effects[effectStart...]
        let carriedObservations = observations[observationStart...]
        let allEffects = effects, allObservations = observations
        effects = Array(carriedEffects)
        observations = Array(carriedObservations)
        effectStart = 0
        observationStart = 0
        // Handed out from the end, so that each group is moved out, not copied.
        var batch: [CallGroup] = []
        batch.reserveCapacity(completed.count)
        while var entry = completed.popLast() {
            entry.group.effects = allEffects[entry.effects]
            entry.group.observations = allObservations[entry.observations]
            batch.append(entry.group)
        }
        return batch
    }

    @inline(__always)
    private func close() {
        if let finished = current.take() {
            completed.append((finished, effectStart..<effects.count, observationStart..<observations.count))
            effectStart = effects.count
            observationStart = observations.count
        }
    }

    @inline(__always)
    private func absorb(_ entry: inout TraceEntry) {
        // Take the event (not the entry: its call context is not needed here).
        let event = entry.takeEvent()
        if case .call(let c) = event {
            close()
            current = CallGroup(call: c, sequence: entry.sequence)
            return
        }
        if current == nil { current = CallGroup(sequence: entry.sequence) }
        switch event {
        case .effect(let x): effects.append(x)
        case .observe(let o): observations.append(o)
        case .hookSpan(let h): current!.spans.append(h)
        case .runStart(let r): current!.runStart = r
        case .runEnd(let r): current!.runEnd = r
        case .call: break
        }
    }
}
