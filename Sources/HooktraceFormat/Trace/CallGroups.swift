/// A call and everything recorded until the next call.
///
/// A view into the flat storage of one block's groups (``GroupBatch``): copying a group
/// costs one reference count, and its calls and observations stay compact (name ids)
/// until asked for.
package struct CallGroup {
    let batch: GroupBatch
    /// The group as a handle without reference counting, for the replay's per-call path:
    /// valid only while this group (or a copy of it) is held. (Stored: a getter across
    /// modules is a call that retains and releases the block.)
    package let unretained: GroupRef
    var index: Int { unretained.index }

    init(batch: GroupBatch, index: Int) {
        self.batch = batch
        unretained = GroupRef(batch: batch, index: index)
    }

    @inline(__always) var head: GroupHead { batch.heads[index] }

    /// Nil for the prelude (events before the first call: run_start, notes).
    package var call: Call? { unretained.call }
    package var isPrelude: Bool { unretained.isPrelude }
    /// Whether the call is after_train_iter (where the values in force are compared).
    package var isAfterTrainIter: Bool { unretained.isAfterTrainIter }

    /// The recorded time of the call (0 for the prelude).
    package var time: Int64 { unretained.time }
    /// runner.iter at the call (0 for the prelude).
    package var iter: Int { unretained.iter }
    /// Sequence number of the call event (or of the first event of the prelude).
    package var sequence: UInt64 { unretained.sequence }
    /// Whether the group was cut short by damage (its events after the damage are lost).
    package var cutShort: Bool { unretained.cutShort }
    /// Calls `body` with the group's effects, read in place (the group keeps its block
    /// alive for the call).
    package func withEffects<R>(_ body: (UnsafeBufferPointer<Effect>) throws -> R) rethrows -> R {
        try withExtendedLifetime(batch) { try body(unretained.effects) }
    }
    /// A copy of the group's effects.
    package var effects: [Effect] { withEffects { Array($0) } }

    var compactObservations: UnsafeMutableBufferPointer<CompactObservation> {
        let h = head
        return UnsafeMutableBufferPointer(rebasing: batch.observations[Int(h.observations.lowerBound)..<Int(h.observations.upperBound)])
    }
    package var observations: [Observation] {
        let compact = compactObservations
        guard !compact.isEmpty else { return [] }
        let names = batch.names
        return compact.map { Observation(kind: $0.kind, name: names[Int($0.key)], value: $0.value(names)) }
    }

    private var others: ArraySlice<Event> {
        let h = head
        return batch.others[Int(h.others.lowerBound)..<Int(h.others.upperBound)]
    }
    package var spans: [HookSpan] {
        others.compactMap { if case .hookSpan(let s) = $0 { s } else { nil } }
    }
    package var runStart: RunStart? {
        for e in others { if case .runStart(let r) = e { return r } }
        return nil
    }
    package var runEnd: RunEnd? {
        for e in others { if case .runEnd(let r) = e { return r } }
        return nil
    }

    /// Whether both groups are the same call: (stage, epoch, iter, inner_iter, mode), or both preludes.
    package func sameCall(as other: CallGroup) -> Bool {
        var names = NameMatcher()
        return sameCall(as: other, &names)
    }

    /// ``sameCall(as:)`` for groups of two traces, their names matched through `names`.
    package func sameCall(as other: CallGroup, _ names: inout NameMatcher) -> Bool {
        switch (head.call, other.head.call) {
        case (nil, nil): true
        case (let x?, let y?):
            x.iter == y.iter && x.epoch == y.epoch && x.innerIter == y.innerIter && x.mode == y.mode
                && names.same(x.stageID, batch.names, y.stageID, other.batch.names)
        default: false
        }
    }

    /// Whether both groups hold the same observations (bit for bit), in the same order,
    /// their names matched through `names`.
    package func sameObservations(as other: CallGroup, _ names: inout NameMatcher) -> Bool {
        let x = compactObservations, y = other.compactObservations
        guard x.count == y.count else { return false }
        let tableA = batch.names, tableB = other.batch.names
        // `batch` and `other.batch` keep the buffers alive (both are borrowed for the call).
        for i in 0..<x.count {
            let a = x[i], b = y[i]
            guard a.kind == b.kind, a.tag == b.tag, names.same(a.key, tableA, b.key, tableB) else { return false }
            if a.tag == ScalarTag.string {
                guard names.same(UInt32(a.bits), tableA, UInt32(b.bits), tableB) else { return false }
            } else if a.bits != b.bits {
                return false
            }
        }
        return true
    }

    /// The group's observations as plain memory, for checking many one by one: valid while
    /// the group (which keeps its batch alive) is.
    package var observationView: ObservationView { unretained.observationView }

    /// The name of id `id` in the trace's name table.
    package func name(_ id: UInt32) -> String {
        batch.names[Int(id)]
    }

    /// How many observations the group holds.
    package var observationCount: Int { unretained.observationCount }

    /// (stage, epoch, iter, inner_iter, mode): what identifies a call within a run.
    package var key: String {
        guard let c = call else { return "prelude" }
        return "\(c.stage) \(c.epoch) \(c.iter) \(c.innerIter) \(c.mode)"
    }
}

/// A call group's observations, read without reference counting (see
/// ``CallGroup/observationView``).
package struct ObservationView {
    fileprivate let observations: UnsafeMutableBufferPointer<CompactObservation>
    fileprivate let names: UnsafeMutableBufferPointer<String>

    /// An empty view (no observations).
    package init() {
        observations = .init(start: nil, count: 0)
        names = .init(start: nil, count: 0)
    }

    fileprivate init(observations: UnsafeMutableBufferPointer<CompactObservation>, names: UnsafeMutableBufferPointer<String>) {
        self.observations = observations
        self.names = names
    }

    /// How many observations there are.
    package var count: Int { observations.count }

    /// The name of id `id` in the trace's name table.
    package func name(_ id: UInt32) -> String { names[Int(id)] }

    /// Observation `index`'s kind.
    package func kind(_ index: Int) -> ObservationKind { observations[index].kind }
    /// Observation `index`'s key, as a name id of the trace.
    package func key(_ index: Int) -> UInt32 { observations[index].key }
    /// Observation `index`'s value.
    package func value(_ index: Int) -> Scalar { observations[index].value(names) }

    /// Observation `index`'s value as bits, a string's bits being its name id in the trace
    /// (not a symbol: map it as a key is mapped).
    package func valueBits(_ index: Int) -> ScalarBits {
        ScalarBits(tag: observations[index].tag, bits: observations[index].bits)
    }
}

extension ObservationView {
    /// What a replayed step observes: these observations but metrics (an evaluation's),
    /// written over `out` (reused from step to step), names and string values as symbols
    /// of `symbols` (found through `names`, interned on first sight). Here, not in the
    /// simulator's module: the per-observation accessors inline only within a module.
    package func stepObservations(into out: inout [StepObservation], names: inout RecordedNameSymbols, symbols: SymbolTable) {
        func symbol(_ id: UInt32, _ names: inout RecordedNameSymbols) -> UInt32 {
            if let known = names.symbol(id) { return known }
            return names.remember(id, symbols.intern(self.names[Int(id)]))
        }
        var count = 0
        for o in observations where o.kind != .metric {
            let name = symbol(o.key, &names)
            let value = o.tag == ScalarTag.string ? ScalarBits(stringSymbol: symbol(UInt32(truncatingIfNeeded: o.bits), &names))
                                                  : ScalarBits(tag: o.tag, bits: o.bits)
            let step = StepObservation(kind: o.kind, name: name, value: value)
            if count < out.count { out[count] = step } else { out.append(step) }
            count += 1
        }
        if count < out.count { out.removeLast(out.count - count) }
    }
}

/// The symbols, in a run's ``SymbolTable``, of one recording's name ids: each id looked up
/// by name once (`symbol(_:) ?? remember(_:_:)`), then compared as an integer. Replay's
/// inputs and its inline comparison each keep one.
package struct RecordedNameSymbols: ~Copyable {
    /// By name id: the symbol, or UInt32.max while not yet known. Memory of its own (not
    /// an array: an array read through the object holding this value was retained and
    /// released for every observation).
    private var symbols: UnsafeMutablePointer<UInt32>
    private var count = 0

    package init() {
        symbols = .allocate(capacity: 0)
    }

    deinit { symbols.deallocate() }

    /// The symbol of name id `id`, if known. (Inlined within this module only: `@inlinable`
    /// on a `package` declaration does not reach other modules with this compiler.)
    @inline(__always)
    package func symbol(_ id: UInt32) -> UInt32? {
        let i = Int(id)
        return i < count && symbols[i] != UInt32.max ? symbols[i] : nil
    }

    /// Records that name id `id` is `symbol`, and returns it.
    package mutating func remember(_ id: UInt32, _ symbol: UInt32) -> UInt32 {
        let i = Int(id)
        if i >= count {
            let newCount = max(i + 1, 2 * count)
            let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: newCount)
            bigger.moveInitialize(from: symbols, count: count)
            (bigger + count).initialize(repeating: UInt32.max, count: newCount - count)
            symbols.deallocate()
            symbols = bigger
            count = newCount
        }
        symbols[i] = symbol
        return symbol
    }

    /// Forgets every id (a new run, a new table).
    package mutating func removeAll() { symbols.update(repeating: UInt32.max, count: count) }
}

/// A call group without reference counting: what a replay's inputs and its inline
/// comparison pass around at every call (each copy of a ``CallGroup`` is an atomic
/// reference count on its block, and those were a quarter of a replay's time).
///
/// Valid only while the ``CallGroup`` it came from (``CallGroup/unretained``), or a copy
/// of it, is held: the holder keeps the block's memory alive.
package struct GroupRef {
    private unowned(unsafe) let batch: GroupBatch
    fileprivate let index: Int

    fileprivate init(batch: GroupBatch, index: Int) {
        self.batch = batch
        self.index = index
    }

    @inline(__always) private var head: GroupHead { batch.heads[index] }

    /// The group as a `CallGroup`, which keeps its block alive (for the rare group kept
    /// beyond a handle's life: an unmatched call, the prelude, an evaluation's metrics).
    package var retained: CallGroup { CallGroup(batch: batch, index: index) }

    package var call: Call? { head.call.map { $0.call(batch.names) } }
    package var isPrelude: Bool { head.call == nil }
    /// The recorded time of the call (0 for the prelude).
    package var time: Int64 { head.call?.time ?? 0 }

    /// Whether the group is the call `runner.call_hook(stage)` with these counters.
    @inline(__always)
    package func isCall(_ stage: Stage, epoch: Int, iter: Int, innerIter: Int, mode: Mode) -> Bool {
        guard let c = head.call else { return false }
        return c.stageID == batch.stageIDs[stage.index] && c.iter == Int64(iter) && c.epoch == Int64(epoch)
            && c.innerIter == Int64(innerIter) && c.mode == mode.rawValue
    }
    package var isAfterTrainIter: Bool {
        head.call.map { $0.stageID == batch.stageIDs[Stage.afterTrainIter.index] } ?? false
    }
    package var iter: Int { Int(head.call?.iter ?? 0) }
    package var sequence: UInt64 { head.sequence }
    package var cutShort: Bool { head.cutShort }
    package var observationCount: Int { head.observations.count }
    /// The group's effects, read in place.
    package var effects: UnsafeBufferPointer<Effect> {
        let h = head
        return UnsafeBufferPointer(rebasing: batch.effects[Int(h.effects.lowerBound)..<Int(h.effects.upperBound)])
    }
    /// The group's observations as plain memory.
    package var observationView: ObservationView {
        let h = head
        return ObservationView(observations: UnsafeMutableBufferPointer(rebasing: batch.observations[Int(h.observations.lowerBound)..<Int(h.observations.upperBound)]),
                               names: batch.names)
    }
}

/// Whether a name id of one trace and a name id of another are the same name, remembering
/// the pairs found equal (the same few names recur in every group): comparing the strings
/// each time was most of the cost of comparing two groups.
package struct NameMatcher {
    /// For each id of the first trace, the id of the second found equal to it (or -1).
    private var match: [Int32] = []

    package init() {}

    @inline(__always)
    mutating func same(_ a: UInt32, _ namesA: UnsafeMutableBufferPointer<String>, _ b: UInt32, _ namesB: UnsafeMutableBufferPointer<String>) -> Bool {
        let i = Int(a)
        if i < match.count && match[i] == Int32(b) { return true }
        guard namesA[i] == namesB[Int(b)] else { return false }
        if i >= match.count { match.append(contentsOf: repeatElement(-1, count: i + 1 - match.count)) }
        match[i] = Int32(b)
        return true
    }
}

/// Where a group's records are in its batch.
struct GroupHead: BitwiseCopyable {
    /// Nil for the prelude.
    var call: CallContext?
    var sequence: UInt64
    var cutShort = false
    var observations: IndexSpan
    var effects: IndexSpan
    var others: IndexSpan
}

/// The call groups completed in one block, stored flat: one buffer per kind of record.
///
/// Immutable once built. Built on the decoding thread and read on another, so the records
/// read per group (heads, observations, names) live in buffers of the batch's own:
/// reading them touches no shared reference count (an array's count, retained and
/// released from two threads, bounced between the cores' caches at every group).
final class GroupBatch: @unchecked Sendable {
    /// The trace's name table as of this block: the ids in the records index it.
    let names: UnsafeMutableBufferPointer<String>
    let heads: UnsafeMutableBufferPointer<GroupHead>
    let observations: UnsafeMutableBufferPointer<CompactObservation>
    /// The effects, in memory of the batch's own (read in place, without reference counts).
    let effects: UnsafeMutableBufferPointer<Effect>
    /// Rare events: hook spans, run_start, run_end.
    let others: [Event]
    /// The name id of each stage, by ``Stage/index`` (UInt32.max for a stage not named yet).
    let stageIDs: UnsafeMutableBufferPointer<UInt32>

    /// A batch owning `heads`, `observations` and `effects` (it deinitializes and frees them).
    init(names: [String] = [], heads: UnsafeMutableBufferPointer<GroupHead> = .init(start: nil, count: 0),
         observations: UnsafeMutableBufferPointer<CompactObservation> = .init(start: nil, count: 0),
         effects: UnsafeMutableBufferPointer<Effect> = .init(start: nil, count: 0), others: [Event] = []) {
        self.names = .allocate(capacity: names.count)
        _ = self.names.initialize(from: names)
        self.heads = heads
        self.observations = observations
        self.effects = effects
        self.others = others
        stageIDs = .allocate(capacity: Stage.allCases.count)
        _ = stageIDs.initialize(from: Stage.allCases.map { stage in names.firstIndex(of: stage.rawValue).map { UInt32($0) } ?? .max })
    }

    deinit {
        names.deinitialize().deallocate()
        effects.deinitialize().deallocate()
        stageIDs.deallocate()
        heads.deinitialize().deallocate()
        observations.deinitialize().deallocate()
    }
}

/// Indices `lowerBound..<upperBound` into a batch's records, as plain bits (`Range` is not
/// `BitwiseCopyable`, and ``FlatBuffer`` holds only types that are).
struct IndexSpan: BitwiseCopyable {
    var lowerBound: Int32
    var upperBound: Int32

    /// An empty span starting at `index`.
    init(at index: Int32) {
        lowerBound = index
        upperBound = index
    }

    var isEmpty: Bool { lowerBound == upperBound }
    var count: Int { Int(upperBound - lowerBound) }
}

/// A growable buffer whose memory is handed over whole (``take(keeping:)``), where an
/// array would be copied into the batch that keeps it: elements are moved, never copied.
/// Whoever takes memory deinitializes its elements before freeing it (a no-op for the
/// plain records; the effects hold strings).
struct FlatBuffer<Element> {
    private var base: UnsafeMutablePointer<Element>?
    private(set) var count = 0
    private var capacity = 0
    /// The most a taken buffer held: the next one starts that big (blocks are alike), not
    /// small and doubled a few times per block.
    private var sizeHint = 1024

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base! + count).initialize(to: element)
        count += 1
    }

    private mutating func grow() {
        let newCapacity = max(sizeHint, capacity * 2)
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        if let base {
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        base = bigger
        capacity = newCapacity
    }

    var last: Element? { count > 0 ? base![count - 1] : nil }

    @inline(__always)
    mutating func updateLast(_ body: (inout Element) -> Void) {
        body(&base![count - 1])
    }

    /// Hands over the memory holding all but the last `keep` elements (the caller
    /// deallocates it); those last elements start a fresh buffer.
    mutating func take(keeping keep: Int) -> UnsafeMutableBufferPointer<Element> {
        let taken = UnsafeMutableBufferPointer(start: base, count: count - keep)
        sizeHint = max(sizeHint, count)
        let old = base
        let oldCapacity = capacity
        base = nil
        count = 0
        capacity = 0
        if keep > 0, let old {
            capacity = max(sizeHint, oldCapacity)
            base = .allocate(capacity: capacity)
            base!.moveInitialize(from: old + taken.count, count: keep)
            count = keep
        }
        return taken
    }
}

/// Reads a trace as call groups, streaming.
///
/// Groups are built a block at a time straight from the reader's decoding loop (each
/// event moved into its group, no intermediate entries); memory holds a few blocks' groups.
/// By default the blocks are decoded on a background thread a few blocks ahead (see
/// ``Prefetcher``), so reading overlaps with whatever the caller does with the groups.
package final class CallGroupReader {
    /// The trace being read. While groups are still coming it belongs to the decoding
    /// thread: look at it (e.g. its ``TraceReader/nextSequence``) once ``next()`` returned nil.
    package let reader: TraceReader
    private let builder: GroupBuilder
    private let prefetcher: Prefetcher<GroupBatch>?
    /// The current block's groups, and the next one's index.
    @exclusivity(unchecked) private var batch = GroupBatch()
    /// The batch before `batch`: kept, so that the last two groups ``nextRef()`` gave are
    /// valid even when a batch boundary lies between them.
    @exclusivity(unchecked) private var previousBatch = GroupBatch()
    @exclusivity(unchecked) private var nextIndex = 0
    /// Damage met while reading, if any (the groups before it were returned). Known once
    /// ``next()`` has returned nil.
    package var damage: HooktraceError? { builder.damage }

    package convenience init(path: String, prefetch: Bool = true) throws(HooktraceError) {
        self.init(reader: try TraceReader(path: path), prefetch: prefetch)
    }

    /// Groups from the reader's current position (events already returned by its
    /// ``TraceReader/next()`` are not seen again). The reader is this object's from now on.
    package init(reader: TraceReader, prefetch: Bool = true) {
        self.reader = reader
        let builder = GroupBuilder(reader: reader)
        self.builder = builder
        prefetcher = prefetch ? Prefetcher(depth: 8) { builder.nextBatch() } : nil
    }

    deinit {
        prefetcher?.cancel()
    }

    /// The next group, or nil at the end.
    package func next() -> CallGroup? {
        guard advance() else { return nil }
        return CallGroup(batch: batch, index: nextIndex - 1)
    }

    /// The next group as a handle without reference counting, or nil at the end: for a
    /// reader that walks the groups once, in order (replay's inputs). It is valid until
    /// two more groups have been read: the reader keeps the batches of the last two groups
    /// it gave. (A `CallGroup` per call cost an atomic retain here and a release where the
    /// replay dropped it, several per call once moved from slot to slot.)
    package func nextRef() -> GroupRef? {
        guard advance() else { return nil }
        return GroupRef(batch: batch, index: nextIndex - 1)
    }

    /// Moves to the next group, taking the next batch when this one is used up.
    @inline(__always)
    private func advance() -> Bool {
        while nextIndex == batch.heads.count {
            guard let next = prefetcher != nil ? prefetcher!.next() : builder.nextBatch() else {
                prefetcher?.join()
                return false
            }
            // A batch may hold no group at all (a block inside one call's records): the
            // batch kept is the last one a group came from.
            if batch.heads.count > 0 { previousBatch = batch }
            batch = next
            nextIndex = 0
        }
        nextIndex += 1
        return true
    }
}

/// Turns a reader's events into call groups, a block at a time.
///
/// Records go into flat arrays (a value the decoding loop mutates in place: no reference
/// counting per record); at the end of a block the completed groups become a
/// ``GroupBatch``, and the group still open carries its records into the next block.
private final class GroupBuilder: @unchecked Sendable {
    let reader: TraceReader
    private var parts = Parts()
    private var finished = false
    private(set) var damage: HooktraceError?

    /// The arrays of a ``GroupBatch`` being filled, and the group still open.
    struct Parts: RecordSink {
        /// The reader's name table before the block (for events decoded before the groups began).
        var names: [String] = []
        var heads = FlatBuffer<GroupHead>()
        var observations = FlatBuffer<CompactObservation>()
        var effects = FlatBuffer<Effect>()
        var others: [Event] = []
        /// Whether the last head is the group being filled (it completes at the next call
        /// or at the end). Its head is written once, when it opens; closing it only sets
        /// where its records end.
        var isOpen = false

        /// Ends the open group: its records are the arrays' tails.
        @inline(__always)
        mutating func close() {
            guard isOpen else { return }
            isOpen = false
            let o = Int32(observations.count), e = Int32(effects.count), x = Int32(others.count)
            heads.updateLast { h in
                h.observations.upperBound = o
                h.effects.upperBound = e
                h.others.upperBound = x
            }
        }

        @inline(__always)
        mutating func open(_ call: CallContext?, _ sequence: UInt64) {
            close()
            let o = Int32(observations.count), e = Int32(effects.count), x = Int32(others.count)
            heads.append(GroupHead(call: call, sequence: sequence, observations: IndexSpan(at: o), effects: IndexSpan(at: e), others: IndexSpan(at: x)))
            isOpen = true
        }

        mutating func call(_ context: CallContext, _ sequence: UInt64) {
            open(context, sequence)
        }

        mutating func observe(_ observation: CompactObservation, _ sequence: UInt64) {
            if !isOpen { open(nil, sequence) }
            observations.append(observation)
        }

        mutating func effect(_ effect: consuming Effect, _ sequence: UInt64) {
            if !isOpen { open(nil, sequence) }
            effects.append(effect)
        }

        mutating func event(_ event: consuming Event, _ sequence: UInt64) {
            if case .call(let c) = event {
                // Only from events the reader had decoded before the groups began.
                let stage = UInt32(names.firstIndex(of: c.stage) ?? 0)
                open(CallContext(stageID: stage, time: c.time, epoch: Int64(c.epoch), iter: Int64(c.iter),
                                 innerIter: Int64(c.innerIter), mode: c.mode.rawValue), sequence)
                return
            }
            if !isOpen { open(nil, sequence) }
            switch consume event {
            case .effect(let x): effects.append(x)
            case .observe(let o):
                let names = self.names
                let id = { (s: String) in UInt32(names.firstIndex(of: s) ?? 0) }
                observations.append(CompactObservation(kind: o.kind, key: id(o.name), value: o.value, id: id))
            case .hookSpan(let x): others.append(.hookSpan(x))
            case .runStart(let x): others.append(.runStart(x))
            case .runEnd(let x): others.append(.runEnd(x))
            case .call: break
            }
        }

        /// Moves the completed groups out; the open group's records move to the front.
        mutating func takeBatch(names: [String]) -> GroupBatch {
            // The batch takes the buffers' memory as it is (no copy); only the open group's
            // records, if any, are copied to the front of fresh ones.
            guard isOpen, let open = heads.last else {
                let batch = GroupBatch(names: names, heads: heads.take(keeping: 0), observations: observations.take(keeping: 0),
                                       effects: effects.take(keeping: 0), others: others)
                others = []
                return batch
            }
            let batch = GroupBatch(
                names: names, heads: heads.take(keeping: 1),
                observations: observations.take(keeping: observations.count - Int(open.observations.lowerBound)),
                effects: effects.take(keeping: effects.count - Int(open.effects.lowerBound)),
                others: Array(others[..<Int(open.others.lowerBound)]))
            others.removeSubrange(..<Int(open.others.lowerBound))
            // The open group's records now start the arrays.
            heads.updateLast { h in
                h.observations = IndexSpan(at: 0)
                h.effects = IndexSpan(at: 0)
                h.others = IndexSpan(at: 0)
            }
            return batch
        }

        /// Frees what was not handed over (a builder dropped mid-trace).
        mutating func release() {
            heads.take(keeping: 0).deallocate()
            observations.take(keeping: 0).deallocate()
            effects.take(keeping: 0).deinitialize().deallocate()
        }
    }

    init(reader: TraceReader) {
        self.reader = reader
    }

    deinit {
        parts.release()
    }

    /// The groups completed by the next block; nil after the last.
    func nextBatch() -> GroupBatch? {
        if finished { return nil }
        var p = Parts()
        swap(&p, &parts)
        p.names = reader.nameTable
        do {
            let more = try reader.drainNextRecords(into: &p)
            if !more {
                finished = true
                // Damage the reader reports at the end (bytes after the end block, a
                // header rebuilt from the blocks): the groups are complete, the trace is not.
                if case .damaged(let error) = reader.state { damage = error }
            }
        } catch let error as HooktraceError {
            damage = error
            finished = true
        } catch {
            damage = HooktraceError(.io, "\(error)", file: reader.path)
            finished = true
        }
        if finished {
            if damage != nil && p.isOpen { p.heads.updateLast { $0.cutShort = true } }
            p.close()
        }
        let batch = p.takeBatch(names: reader.nameTable)
        swap(&p, &parts)
        return batch
    }
}
