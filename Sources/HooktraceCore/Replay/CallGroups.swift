/// A call and everything recorded until the next call.
///
/// A view into the flat storage of one block's groups (``GroupBatch``): copying a group
/// costs one reference count, and its calls and observations stay compact (name ids)
/// until asked for.
public struct CallGroup {
    let batch: GroupBatch
    let index: Int

    @inline(__always) var head: GroupHead { batch.heads[index] }

    /// Nil for the prelude (events before the first call: run_start, notes).
    public var call: Call? {
        head.call.map { ctx in
            Call(stage: batch.names[Int(ctx.stageID)], epoch: Int(ctx.epoch), iter: Int(ctx.iter),
                 innerIter: Int(ctx.innerIter), mode: Mode(rawValue: ctx.mode) ?? .none, time: ctx.time)
        }
    }
    public var isPrelude: Bool { head.call == nil }
    /// Sequence number of the call event (or of the first event of the prelude).
    public var sequence: UInt64 { head.sequence }
    /// Whether the group was cut short by damage (its events after the damage are lost).
    public var cutShort: Bool { head.cutShort }
    public var effects: ArraySlice<Effect> {
        let h = head
        return batch.effects[Int(h.effects.lowerBound)..<Int(h.effects.upperBound)]
    }
    var compactObservations: ArraySlice<CompactObservation> {
        let h = head
        return batch.observations[Int(h.observations.lowerBound)..<Int(h.observations.upperBound)]
    }
    public var observations: [Observation] {
        compactObservations.map { Observation(kind: $0.kind, name: batch.names[Int($0.key)], value: $0.value) }
    }
    private var others: ArraySlice<Event> {
        let h = head
        return batch.others[Int(h.others.lowerBound)..<Int(h.others.upperBound)]
    }
    public var spans: [HookSpan] {
        others.compactMap { if case .hookSpan(let s) = $0 { s } else { nil } }
    }
    public var runStart: RunStart? {
        for e in others { if case .runStart(let r) = e { return r } }
        return nil
    }
    public var runEnd: RunEnd? {
        for e in others { if case .runEnd(let r) = e { return r } }
        return nil
    }

    /// Whether both groups are the same call: (stage, epoch, iter, inner_iter, mode), or both preludes.
    public func sameCall(as other: CallGroup) -> Bool {
        switch (head.call, other.head.call) {
        case (nil, nil): true
        case (let x?, let y?):
            x.iter == y.iter && x.epoch == y.epoch && x.innerIter == y.innerIter && x.mode == y.mode
                && batch.names[Int(x.stageID)] == other.batch.names[Int(y.stageID)]
        default: false
        }
    }

    /// Whether both groups hold the same observations (bit for bit), in the same order.
    public func sameObservations(as other: CallGroup) -> Bool {
        let x = compactObservations, y = other.compactObservations
        guard x.count == y.count else { return false }
        let sameTable = batch === other.batch
        for (a, b) in zip(x, y) {
            guard a.kind == b.kind, a.value.isIdentical(to: b.value) else { return false }
            if sameTable ? a.key != b.key : batch.names[Int(a.key)] != other.batch.names[Int(b.key)] { return false }
        }
        return true
    }

    /// (stage, epoch, iter, inner_iter, mode): what identifies a call within a run.
    public var key: String {
        guard let c = call else { return "prelude" }
        return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)"
    }
}

/// Where a group's records are in its batch.
struct GroupHead {
    /// Nil for the prelude.
    var call: CallContext?
    var sequence: UInt64
    var cutShort = false
    var observations: Range<Int32>
    var effects: Range<Int32>
    var others: Range<Int32>
}

/// The call groups completed in one block, stored flat: one array per kind of record.
final class GroupBatch: @unchecked Sendable {
    // Filled by one thread, then read by one other: no dynamic exclusivity checks (they
    // cost a fifth of the grouping time).
    /// The trace's name table as of this block: the ids in the records index it.
    @exclusivity(unchecked) var names: [String] = []
    @exclusivity(unchecked) var heads: [GroupHead] = []
    @exclusivity(unchecked) var observations: [CompactObservation] = []
    @exclusivity(unchecked) var effects: [Effect] = []
    /// Rare events: hook spans, run_start, run_end.
    @exclusivity(unchecked) var others: [Event] = []
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
    private let prefetcher: Prefetcher<GroupBatch>?
    /// The current block's groups, and the next one's index.
    @exclusivity(unchecked) private var batch = GroupBatch()
    @exclusivity(unchecked) private var nextIndex = 0
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
        while nextIndex == batch.heads.count {
            guard let next = prefetcher != nil ? prefetcher!.next() : builder.nextBatch() else {
                prefetcher?.join()
                return nil
            }
            batch = next
            nextIndex = 0
        }
        nextIndex += 1
        return CallGroup(batch: batch, index: nextIndex - 1)
    }
}

/// Turns a reader's events into call groups, a block at a time.
///
/// Records go straight into the block's ``GroupBatch``; the group still open at the end of
/// a block carries its records into the next block's batch.
private final class GroupBuilder: @unchecked Sendable {
    let reader: TraceReader
    @exclusivity(unchecked) private var batch = GroupBatch()
    /// The group being filled; it completes at the next call or at the end.
    @exclusivity(unchecked) private var current: GroupHead?
    private var finished = false
    private(set) var damage: HooktraceError?

    init(reader: TraceReader) {
        self.reader = reader
    }

    /// The groups completed by the next block; nil after the last.
    func nextBatch() -> GroupBatch? {
        if finished { return nil }
        do {
            let more = try reader.drainNextRecords { record, sequence in self.absorb(record, sequence) }
            if !more { finished = true }
        } catch let error as HooktraceError {
            damage = error
            finished = true
        } catch {
            damage = HooktraceError(.io, "\(error)", file: reader.path)
            finished = true
        }
        let done = batch
        done.names = reader.nameTable
        batch = GroupBatch()
        if var open = current.take() {
            if finished {
                if damage != nil { open.cutShort = true }
                close(open, in: done)
            } else {
                current = carry(open, from: done)
            }
        }
        return done
    }

    /// Ends `head` in `batch`: its records are the arrays' tails.
    private func close(_ head: GroupHead, in batch: GroupBatch) {
        var h = head
        h.observations = h.observations.lowerBound..<Int32(batch.observations.count)
        h.effects = h.effects.lowerBound..<Int32(batch.effects.count)
        h.others = h.others.lowerBound..<Int32(batch.others.count)
        batch.heads.append(h)
    }

    /// Moves an open group's records from `old` into the new batch.
    private func carry(_ head: GroupHead, from old: GroupBatch) -> GroupHead {
        batch.observations.append(contentsOf: old.observations[Int(head.observations.lowerBound)...])
        batch.effects.append(contentsOf: old.effects[Int(head.effects.lowerBound)...])
        batch.others.append(contentsOf: old.others[Int(head.others.lowerBound)...])
        old.observations.removeSubrange(Int(head.observations.lowerBound)...)
        old.effects.removeSubrange(Int(head.effects.lowerBound)...)
        old.others.removeSubrange(Int(head.others.lowerBound)...)
        return GroupHead(call: head.call, sequence: head.sequence, observations: 0..<0, effects: 0..<0, others: 0..<0)
    }

    private func open(_ call: CallContext?, _ sequence: UInt64) {
        if let finished = current.take() { close(finished, in: batch) }
        let o = Int32(batch.observations.count), e = Int32(batch.effects.count), x = Int32(batch.others.count)
        current = GroupHead(call: call, sequence: sequence, observations: o..<o, effects: e..<e, others: x..<x)
    }

    @inline(__always)
    private func absorb(_ record: DecodedRecord, _ sequence: UInt64) {
        switch record {
        case .call(let ctx):
            open(ctx, sequence)
        case .observe(let o):
            if current == nil { open(nil, sequence) }
            batch.observations.append(o)
        case .event(let event):
            absorb(event, sequence)
        }
    }

    private func absorb(_ event: Event, _ sequence: UInt64) {
        switch event {
        case .call(let c):
            // Only from events the reader had decoded before the groups began.
            let names = reader.nameTable
            let stage = UInt32(names.firstIndex(of: c.stage) ?? 0)
            open(CallContext(stageID: stage, time: c.time, epoch: Int64(c.epoch), iter: Int64(c.iter),
                             innerIter: Int64(c.innerIter), mode: c.mode.rawValue), sequence)
            return
        default:
            break
        }
        if current == nil { open(nil, sequence) }
        switch event {
        case .effect(let x): batch.effects.append(x)
        case .observe(let o):
            let key = UInt32(reader.nameTable.firstIndex(of: o.name) ?? 0)
            batch.observations.append(CompactObservation(kind: o.kind, key: key, value: o.value))
        case .hookSpan, .runStart, .runEnd: batch.others.append(event)
        case .call: break
        }
    }
}
