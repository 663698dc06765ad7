/// Event tags of format version 1. Tags 0x80–0xFF are length-prefixed extensions that a
/// reader skips when it does not know them; unknown tags below 0x80 are an error.
enum Tag {
    static let runStart: UInt8 = 0x01
    static let call: UInt8 = 0x02
    static let context: UInt8 = 0x03
    static let observe: UInt8 = 0x04
    static let setLR: UInt8 = 0x05
    static let setMomentum: UInt8 = 0x06
    static let optimizerStep: UInt8 = 0x07
    static let checkpointSave: UInt8 = 0x08
    static let checkpointRemove: UInt8 = 0x09
    static let checkpointLink: UInt8 = 0x0A
    static let log: UInt8 = 0x0B
    static let evaluate: UInt8 = 0x0C
    static let bestUpdate: UInt8 = 0x0D
    static let emaUpdate: UInt8 = 0x0E
    static let stop: UInt8 = 0x0F
    static let note: UInt8 = 0x10
    static let custom: UInt8 = 0x11
    static let hookSpan: UInt8 = 0x12
    static let runEnd: UInt8 = 0x13
    static let firstExtension: UInt8 = 0x80
    /// Extension 0x80 (format 1.1), right after a run_start: each hook's triggered stages.
    static let hookStages: UInt8 = 0x80
}

/// Predictor channels for XOR-encoded doubles (see FORMAT.md, "Doubles").
enum Channel {
    static let observe: UInt64 = 0
    static let lr: UInt64 = 1
    static let momentum: UInt64 = 2
    static let gradNorm: UInt64 = 3
    static let field: UInt64 = 4
    static let best: UInt64 = 5
    static let ema: UInt64 = 6
}

/// Scalar type bytes.
enum ScalarTag {
    static let null: UInt8 = 0
    static let falseValue: UInt8 = 1
    static let trueValue: UInt8 = 2
    static let int: UInt8 = 3
    static let double: UInt8 = 4
    static let string: UInt8 = 5
}

let predictorSlots = 1024

/// The last value per predictor slot (XOR coding of doubles), in memory of its own: a
/// write is a store, where an array checked its uniqueness first (a runtime call per
/// double). Shared, not copied, when its coder is copied; coders are moved, never forked.
final class PredictorTable: @unchecked Sendable {
    let slots: UnsafeMutablePointer<UInt64>

    init() {
        slots = .allocate(capacity: predictorSlots)
        slots.initialize(repeating: 0, count: predictorSlots)
    }

    deinit { slots.deallocate() }

    func reset() { slots.update(repeating: 0, count: predictorSlots) }

    /// Records `bits` in `slot`, returning the slot's previous value.
    @inline(__always)
    func exchange(_ slot: Int, _ bits: UInt64) -> UInt64 {
        let old = slots[slot]
        slots[slot] = bits
        return old
    }

    /// Replaces the slot's value by itself XOR `x`, returning the new value.
    @inline(__always)
    func unxor(_ slot: Int, _ x: UInt64) -> UInt64 {
        let bits = x ^ slots[slot]
        slots[slot] = bits
        return bits
    }
}

@inline(__always)
func predictorSlot(_ nameID: UInt32, _ channel: UInt64, _ group: Int) -> Int {
    let key = UInt64(nameID) &* 8 &+ channel &+ UInt64(truncatingIfNeeded: group) &* 7919
    return Int(key & UInt64(predictorSlots - 1))
}

/// The counters that events after a call belong to.
struct CallContext: Equatable, BitwiseCopyable {
    var stageID: UInt32
    var time: Int64
    var epoch: Int64
    var iter: Int64
    var innerIter: Int64
    var mode: UInt8

    /// The call, its stage named from `names` (the trace's name table, or a batch's copy).
    @inline(__always)
    func call<Names: RandomAccessCollection<String>>(_ names: Names) -> Call where Names.Index == Int {
        Call(stage: names[Int(stageID)], epoch: Int(epoch), iter: Int(iter),
             innerIter: Int(innerIter), mode: Mode(rawValue: mode) ?? .none, time: time)
    }
}

/// Encodes events into a block payload; keeps the trace's name table.
///
/// Delta and predictor state reset at every block so each block decodes on its own.
struct EventEncoder: ~Copyable {
    private var table = NameTable()
    var nameCount: UInt32 { UInt32(table.count) }
    /// Names first used in the current block, in id order.
    private(set) var newNames: [String] = []
    private(set) var newNamesStart: UInt32 = 0

    private var prevTime: Int64 = 0
    private var prevEpoch: Int64 = 0
    private var prevIter: Int64 = 0
    private var prevInner: Int64 = 0
    private let predictor = PredictorTable()
    private var blockHasContext = false
    /// The block's value section (format 2): the middle bytes of every double and the
    /// calls' Δtime, kept apart from the records because they are close to random. Mixed
    /// into the records, they made zstd look for matches in them at every record; apart,
    /// the records compress better and the values cost it almost nothing.
    private var values = ByteSink(capacity: 1 << 16)
    var valuesCount: Int { values.count }
    func withValueBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { values.withUnsafeBytes(body) }

    /// The call that events belong to, across blocks.
    private(set) var context: CallContext?

    mutating func beginBlock() {
        prevTime = 0
        prevEpoch = 0
        prevIter = 0
        prevInner = 0
        predictor.reset()
        blockHasContext = false
        values.reset()
        newNames.removeAll(keepingCapacity: true)
        newNamesStart = nameCount
    }

    /// Ids of names met before, found without hashing their bytes: a small direct-mapped
    /// cache keyed by the string's two words. The runner passes the same string values
    /// again and again (literals, small strings held inline), so the words repeat. A hit
    /// compares words only: the cache holds each string it saw (`cacheNames`), so a heap
    /// string's storage stays alive and its address cannot come back with other text.
    /// A miss (equal text in other storage, or a collision) falls back to the table.
    /// Two ways per set, the most recent first: names that alternate (before_train_iter,
    /// after_train_iter) and share a set would otherwise evict each other at every call.
    private var cacheNames = [String](repeating: "", count: 128)
    private var cacheWords = [(UInt64, UInt64)](repeating: (0, 0), count: 128)
    private var cacheIDs = [UInt32](repeating: UInt32.max, count: 128)

    @inline(__always)
    mutating func id(_ name: String) -> UInt32 {
        let words = unsafeBitCast(name, to: (UInt64, UInt64).self)
        let set = Int(truncatingIfNeeded: ((words.0 &* 0x9E37_79B9_7F4A_7C15) ^ (words.1 &* 0xFF51_AFD7_ED55_8CCD)) >> 58) << 1
        var cached = cacheWords[set]
        if cached.0 == words.0 && cached.1 == words.1 && cacheIDs[set] != UInt32.max { return cacheIDs[set] }
        cached = cacheWords[set + 1]
        if cached.0 == words.0 && cached.1 == words.1 && cacheIDs[set + 1] != UInt32.max { return cacheIDs[set + 1] }
        return idMiss(name, words, set)
    }

    private mutating func idMiss(_ name: String, _ words: (UInt64, UInt64), _ set: Int) -> UInt32 {
        let (id, isNew) = table.intern(name)
        if isNew { newNames.append(name) }
        // The newcomer takes the first way; what was there moves to the second.
        cacheNames[set + 1] = cacheNames[set]
        cacheWords[set + 1] = cacheWords[set]
        cacheIDs[set + 1] = cacheIDs[set]
        cacheNames[set] = name
        cacheWords[set] = words
        cacheIDs[set] = id
        return id
    }

    @inline(__always)
    private mutating func name(_ s: String, _ out: inout ByteSink) {
        out.uvarint(UInt64(id(s)))
    }

    @inline(__always)
    private mutating func real(_ value: Double, slot: Int, _ out: inout ByteSink) {
        let bits = value.bitPattern
        out.reserve(1)
        writeXORUnchecked(bits ^ predictor.exchange(slot, bits), &out, &values)
    }

    private mutating func scalar(_ value: Scalar, keyID: UInt32, _ out: inout ByteSink) {
        switch value {
        case .null: out.u8(ScalarTag.null)
        case .bool(let b): out.u8(b ? ScalarTag.trueValue : ScalarTag.falseValue)
        case .int(let i):
            out.u8(ScalarTag.int)
            out.svarint(i)
        case .double(let d):
            out.u8(ScalarTag.double)
            real(d, slot: predictorSlot(keyID, Channel.field, 0), &out)
        case .string(let s):
            out.u8(ScalarTag.string)
            name(s, &out)
        }
    }

    private mutating func fields(_ fields: [Field], _ out: inout ByteSink) {
        out.uvarint(UInt64(fields.count))
        for f in fields {
            let key = id(f.key)
            out.uvarint(UInt64(key))
            scalar(f.value, keyID: key, &out)
        }
    }

    private mutating func counters(_ ctx: CallContext, tag: UInt8, _ out: inout ByteSink) {
        out.reserve(1 + 5 * 10 + 1)
        out.u8Unchecked(tag)
        out.uvarintUnchecked(UInt64(ctx.stageID))
        values.uvarint(zigzag(ctx.time &- prevTime))
        out.uvarintUnchecked(zigzag(ctx.epoch &- prevEpoch))
        out.uvarintUnchecked(zigzag(ctx.iter &- prevIter))
        out.uvarintUnchecked(zigzag(ctx.innerIter &- prevInner))
        out.u8Unchecked(ctx.mode)
        prevTime = ctx.time
        prevEpoch = ctx.epoch
        prevIter = ctx.iter
        prevInner = ctx.innerIter
        blockHasContext = true
    }

    /// The trace's name id of each run symbol met so far (UInt32.max: not yet): a run's
    /// records find their names with one array lookup. Ids are still given in first-use
    /// order, so the bytes are the same as for the same events written with strings.
    private var symbolIDs: [UInt32] = []

    @inline(__always)
    mutating func id(symbol: UInt32, _ symbols: SymbolTable) -> UInt32 {
        let i = Int(symbol)
        if i < symbolIDs.count {
            let known = symbolIDs[i]
            if known != UInt32.max { return known }
        }
        return symbolMiss(i, symbols)
    }

    private mutating func symbolMiss(_ i: Int, _ symbols: SymbolTable) -> UInt32 {
        if i >= symbolIDs.count { symbolIDs.append(contentsOf: repeatElement(UInt32.max, count: i + 1 - symbolIDs.count)) }
        let id = id(symbols.name(UInt32(i)))
        symbolIDs[i] = id
        return id
    }

    /// Appends a call record (``RunSink/call(stage:epoch:iter:innerIter:mode:time:symbols:)``).
    mutating func encodeCall(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64,
                             _ symbols: SymbolTable, into out: inout ByteSink) {
        let ctx = CallContext(stageID: id(symbol: stage, symbols), time: time, epoch: Int64(epoch), iter: Int64(iter),
                              innerIter: Int64(innerIter), mode: mode.rawValue)
        counters(ctx, tag: Tag.call, &out)
        context = ctx
    }

    /// Appends an observation record, its key given as a symbol.
    /// The same bytes as ``encode(_:into:)`` of the observation with its value as a `Scalar`.
    mutating func encodeObservation(kind: ObservationKind, name: UInt32, value: ScalarBits, _ symbols: SymbolTable, into out: inout ByteSink) {
        if !blockHasContext, let ctx = context { counters(ctx, tag: Tag.context, &out) }
        let key = id(symbol: name, symbols)
        // tag, kind, key (≤ 5 bytes), value tag, and a double's ≤ 9 bytes or a varint's ≤ 10.
        out.reserve(1 + 1 + 5 + 1 + 10)
        out.u8Unchecked(Tag.observe)
        out.u8Unchecked(kind.rawValue)
        out.uvarintUnchecked(UInt64(key))
        out.u8Unchecked(value.tag)
        switch value.tag {
        case ScalarTag.double:
            writeXORUnchecked(value.bits ^ predictor.exchange(predictorSlot(key, Channel.observe, 0), value.bits), &out, &values)
        case ScalarTag.int:
            out.uvarintUnchecked(zigzag(Int64(bitPattern: value.bits)))
        case ScalarTag.string:
            let string = id(symbol: UInt32(truncatingIfNeeded: value.bits), symbols)
            out.uvarint(UInt64(string))
        default:
            break
        }
    }

    /// Appends an effect record, its hook given as a symbol.
    mutating func encodeEffect(hook: UInt32, action: EffectAction, _ symbols: SymbolTable, into out: inout ByteSink) {
        if !blockHasContext, let ctx = context { counters(ctx, tag: Tag.context, &out) }
        encodeEffect(hookID: id(symbol: hook, symbols), action, &out)
    }

    @inline(__always)
    private mutating func observation(kind: ObservationKind, key: UInt32, value: Scalar, _ out: inout ByteSink) {
        // tag, kind, key (≤ 5 bytes), value tag, and a double's ≤ 9 bytes.
        out.reserve(1 + 1 + 5 + 1 + 9)
        out.u8Unchecked(Tag.observe)
        out.u8Unchecked(kind.rawValue)
        out.uvarintUnchecked(UInt64(key))
        if case .double(let d) = value {
            out.u8Unchecked(ScalarTag.double)
            let bits = d.bitPattern
            writeXORUnchecked(bits ^ predictor.exchange(predictorSlot(key, Channel.observe, 0), bits), &out, &values)
        } else {
            scalar(value, keyID: key, &out)
        }
    }

    /// Appends one event's encoding to `out`.
    mutating func encode(_ event: Event, into out: inout ByteSink) {
        if case .call(let c) = event {
            let ctx = CallContext(
                stageID: id(c.stage), time: c.time, epoch: Int64(c.epoch), iter: Int64(c.iter),
                innerIter: Int64(c.innerIter), mode: c.mode.rawValue)
            counters(ctx, tag: Tag.call, &out)
            context = ctx
            return
        }
        // A block that starts after a call restates that call so it decodes on its own.
        if !blockHasContext, let ctx = context {
            counters(ctx, tag: Tag.context, &out)
        }
        switch event {
        case .call:
            break
        case .runStart(let r):
            encodeRunStart(r, &out)
        case .observe(let o):
            observation(kind: o.kind, key: id(o.name), value: o.value, &out)
        case .effect(let e):
            encodeEffect(hookID: id(e.hook), e.action, &out)
        case .hookSpan(let s):
            out.u8(Tag.hookSpan)
            name(s.hook, &out)
            out.svarint(s.start &- (context?.time ?? 0))
            out.svarint(s.duration)
        case .runEnd(let r):
            out.u8(Tag.runEnd)
            out.u8(r.status.rawValue)
            out.svarint(Int64(r.exitCode))
            name(r.message, &out)
        }
    }

    private mutating func encodeEffect(hookID hook: UInt32, _ action: EffectAction, _ out: inout ByteSink) {
        func head(_ tag: UInt8, _ out: inout ByteSink) {
            out.u8(tag)
            out.uvarint(UInt64(hook))
        }
        switch action {
        case .setLR(let opt, let group, let value), .setMomentum(let opt, let group, let value):
            let isLR: Bool
            if case .setLR = action { isLR = true } else { isLR = false }
            head(isLR ? Tag.setLR : Tag.setMomentum, &out)
            let optID = id(opt)
            out.uvarint(UInt64(optID))
            out.uvarint(UInt64(group))
            real(value, slot: predictorSlot(optID, isLR ? Channel.lr : Channel.momentum, group), &out)
        case .optimizerStep(let opt, let stepped, let norm):
            head(Tag.optimizerStep, &out)
            let optID = id(opt)
            out.uvarint(UInt64(optID))
            out.u8((stepped ? 1 : 0) | (norm != nil ? 2 : 0))
            if let norm { real(norm, slot: predictorSlot(optID, Channel.gradNorm, 0), &out) }
        case .checkpointSave(let path):
            head(Tag.checkpointSave, &out)
            name(path, &out)
        case .checkpointRemove(let path):
            head(Tag.checkpointRemove, &out)
            name(path, &out)
        case .checkpointLink(let link, let target):
            head(Tag.checkpointLink, &out)
            name(link, &out)
            name(target, &out)
        case .log(let f):
            head(Tag.log, &out)
            fields(f, &out)
        case .evaluate(let f):
            head(Tag.evaluate, &out)
            fields(f, &out)
        case .bestUpdate(let key, let value, let ckpt):
            head(Tag.bestUpdate, &out)
            let keyID = id(key)
            out.uvarint(UInt64(keyID))
            real(value, slot: predictorSlot(keyID, Channel.best, 0), &out)
            name(ckpt, &out)
        case .emaUpdate(let m):
            head(Tag.emaUpdate, &out)
            real(m, slot: predictorSlot(hook, Channel.ema, 0), &out)
        case .stop(let reason):
            head(Tag.stop, &out)
            name(reason, &out)
        case .note(let text):
            head(Tag.note, &out)
            name(text, &out)
        case .custom(let kind, let f):
            head(Tag.custom, &out)
            name(kind, &out)
            fields(f, &out)
        }
    }

    private mutating func encodeRunStart(_ r: RunStart, _ out: inout ByteSink) {
        out.u8(Tag.runStart)
        name(r.source, &out)
        name(r.runner, &out)
        out.uvarint(r.maxEpochs.map { UInt64($0) + 1 } ?? 0)
        out.uvarint(r.maxIters.map { UInt64($0) + 1 } ?? 0)
        out.uvarint(UInt64(r.workflow.count))
        for w in r.workflow {
            name(w.mode, &out)
            out.uvarint(UInt64(w.count))
        }
        out.uvarint(UInt64(r.loaders.count))
        for l in r.loaders {
            name(l.mode, &out)
            out.uvarint(UInt64(l.length))
        }
        out.uvarint(UInt64(r.paramGroups.count))
        for g in r.paramGroups {
            name(g.optimizer, &out)
            out.uvarint(UInt64(g.group))
            out.u64(g.lr.bitPattern)
            if let m = g.momentum {
                out.u8(1)
                out.u64(m.bitPattern)
            } else {
                out.u8(0)
            }
        }
        out.uvarint(UInt64(r.hooks.count))
        for h in r.hooks {
            name(h.name, &out)
            name(h.type, &out)
            out.svarint(Int64(h.priority))
            name(h.config, &out)
        }
        out.u64(r.seed)
        name(r.config, &out)
        fields(r.meta, &out)
        // Format 1.1: the hooks' stages in an extension record that 1.0 readers skip.
        guard r.hooks.contains(where: { $0.stages != nil }) else { return }
        var payload = ByteSink()
        payload.uvarint(UInt64(r.hooks.count))
        for h in r.hooks {
            guard let stages = h.stages else {
                payload.uvarint(0)
                continue
            }
            payload.uvarint(UInt64(stages.count) + 1)
            for stage in stages { name(stage, &payload) }
        }
        out.u8(Tag.hookStages)
        out.uvarint(UInt64(payload.count))
        payload.withUnsafeBytes { bytes in
            for b in bytes { out.u8(b) }
        }
    }
}

/// A double's XOR code from its middle bytes: `n` of them, above `trail` zero bytes.
@inline(__always)
private func xorMiddleBytes(_ c: inout ByteCursor, count n: Int, trail: Int) throws(DecodeFailure) -> UInt64 {
    guard c.remaining >= n else { throw .shortInput }
    var x: UInt64 = 0
    if n > 0 && c.remaining >= 8 {
        // One load, the bytes past the n wanted masked off.
        let word = UInt64(littleEndian: c.base.loadUnaligned(fromByteOffset: c.position, as: UInt64.self))
        x = (n == 8 ? word : word & ((1 << UInt64(8 * n)) - 1)) << UInt64(8 * trail)
    } else {
        for i in 0..<n {
            x |= UInt64(c.base[c.position + i]) << UInt64(8 * (trail + i))
        }
    }
    c.position += n
    return x
}

/// A double's XOR code: the control byte into room already reserved in `out` (the
/// records), the middle bytes into `values` (the value section).
@inline(__always)
func writeXORUnchecked(_ x: UInt64, _ out: inout ByteSink, _ values: inout ByteSink) {
    if x == 0 {
        out.u8Unchecked(0x80)
        return
    }
    let lead = x.leadingZeroBitCount >> 3
    let trail = x.trailingZeroBitCount >> 3
    out.u8Unchecked(UInt8(lead << 4 | trail))
    values.reserve(8)
    values.littleEndianUnchecked(x >> UInt64(trail * 8), 8 - lead - trail)
}

/// Decodes one block payload into events, using the trace's name table.
/// An observation with its name (and a string value) as ids into the trace's name table:
/// plain bits, copied without reference counting.
struct CompactObservation: BitwiseCopyable {
    var kind: ObservationKind
    var key: UInt32
    /// A ``ScalarTag``.
    var tag: UInt8
    /// The value: a double's or an int's bits, a string's name id; 0 for null and bools.
    var bits: UInt64

    init(kind: ObservationKind, key: UInt32, tag: UInt8, bits: UInt64) {
        self.kind = kind
        self.key = key
        self.tag = tag
        self.bits = bits
    }

    /// From a decoded observation value; `id` finds a string's name id.
    init(kind: ObservationKind, key: UInt32, value: Scalar, id: (String) -> UInt32) {
        self.kind = kind
        self.key = key
        switch value {
        case .null: (tag, bits) = (ScalarTag.null, 0)
        case .bool(let b): (tag, bits) = (b ? ScalarTag.trueValue : ScalarTag.falseValue, 0)
        case .int(let i): (tag, bits) = (ScalarTag.int, UInt64(bitPattern: i))
        case .double(let d): (tag, bits) = (ScalarTag.double, d.bitPattern)
        case .string(let s): (tag, bits) = (ScalarTag.string, UInt64(id(s)))
        }
    }


    /// The value, a string's looked up in `names` (the trace's name table, or a batch's copy).
    @inline(__always)
    func value<Names: RandomAccessCollection<String>>(_ names: Names) -> Scalar where Names.Index == Int {
        switch tag {
        case ScalarTag.falseValue: .bool(false)
        case ScalarTag.trueValue: .bool(true)
        case ScalarTag.int: .int(Int64(bitPattern: bits))
        case ScalarTag.double: .double(Double(bitPattern: bits))
        case ScalarTag.string: .string(names[Int(bits)])
        default: .null
        }
    }
}

/// Where ``EventDecoder/nextRecord(_:_:into:sequence:)`` puts what it decodes: calls and
/// observations compact, anything else as an event.
protocol RecordSink {
    mutating func call(_ context: CallContext, _ sequence: UInt64)
    mutating func observe(_ observation: CompactObservation, _ sequence: UInt64)
    mutating func effect(_ effect: consuming Effect, _ sequence: UInt64)
    /// Any other event (or, from a reader's already decoded events, a call or observation).
    mutating func event(_ event: consuming Event, _ sequence: UInt64)
}

struct EventDecoder: ~Copyable {
    private var prevTime: Int64 = 0
    private var prevEpoch: Int64 = 0
    private var prevIter: Int64 = 0
    private var prevInner: Int64 = 0
    private let predictor = PredictorTable()
    /// The call the most recent event belongs to; survives across blocks.
    var context: CallContext? {
        didSet { contextSerial &+= 1 }
    }
    /// Changes whenever `context` is set, so readers rebuild their `Call` only then.
    private(set) var contextSerial = 0
    /// The block's value section (``PayloadLayout/split``); unused for `.records`.
    private var values = ByteCursor(UnsafeRawBufferPointer(start: nil, count: 0))
    private var split = false

    /// Starts a block; `values` is its value section when the layout is split, nil when
    /// every field is in its record.
    mutating func beginBlock(values: UnsafeRawBufferPointer?) {
        prevTime = 0
        prevEpoch = 0
        prevIter = 0
        prevInner = 0
        predictor.reset()
        split = values != nil
        self.values = ByteCursor(values ?? UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Bytes of the value section not read (0 when the block has none).
    var valuesRemaining: Int { values.remaining }

    private static let valuesEndEarly = "the value section ends early"

    /// An svarint of the value section.
    private mutating func valueSvarint() throws(DecodeFailure) -> Int64 {
        do {
            return try values.svarint()
        } catch .shortInput {
            throw .invalid(Self.valuesEndEarly)
        }
    }

    @inline(__always)
    private func name(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> String {
        let id = try c.uvarint()
        guard id < UInt64(names.count) else { throw .invalid("name id \(id) is not defined (\(names.count) names known)") }
        return names[Int(id)]
    }

    @inline(__always)
    private func nameID(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> UInt32 {
        let id = try c.uvarint()
        guard id < UInt64(names.count) else { throw .invalid("name id \(id) is not defined (\(names.count) names known)") }
        return UInt32(id)
    }

    @inline(__always)
    private mutating func real(_ c: inout ByteCursor, slot: Int) throws(DecodeFailure) -> Double {
        let control = try c.u8()
        let lead = Int(control >> 4)
        let trail = Int(control & 0x0F)
        guard lead + trail <= 8 else { throw .invalid("bad double control byte 0x\(String(control, radix: 16))") }
        let n = 8 - lead - trail
        if split && values.remaining < n { throw .invalid(Self.valuesEndEarly) }
        let x = split ? try xorMiddleBytes(&values, count: n, trail: trail) : try xorMiddleBytes(&c, count: n, trail: trail)
        return Double(bitPattern: predictor.unxor(slot, x))
    }


    private mutating func scalar(_ c: inout ByteCursor, keyID: UInt32, _ names: [String]) throws(DecodeFailure) -> Scalar {
        let tag = try c.u8()
        switch tag {
        case ScalarTag.null: return .null
        case ScalarTag.falseValue: return .bool(false)
        case ScalarTag.trueValue: return .bool(true)
        case ScalarTag.int: return .int(try c.svarint())
        case ScalarTag.double: return .double(try real(&c, slot: predictorSlot(keyID, Channel.field, 0)))
        case ScalarTag.string: return .string(try name(&c, names))
        default: throw .invalid("unknown scalar type \(tag)")
        }
    }

    private mutating func fields(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> [Field] {
        let n = try c.count(limit: min(TraceFormat.maxFieldsPerRecord, c.remaining))
        var result: [Field] = []
        result.reserveCapacity(n)
        for _ in 0..<n {
            let key = try nameID(&c, names)
            result.append(Field(names[Int(key)], try scalar(&c, keyID: key, names)))
        }
        return result
    }

    private mutating func counters(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> CallContext {
        let stage = try nameID(&c, names)
        let time = prevTime &+ (try split ? valueSvarint() : c.svarint())
        let epoch = prevEpoch &+ (try c.svarint())
        let iter = prevIter &+ (try c.svarint())
        let inner = prevInner &+ (try c.svarint())
        let mode = try c.u8()
        guard Mode(rawValue: mode) != nil else { throw .invalid("unknown mode \(mode)") }
        guard epoch >= 0, iter >= 0, inner >= 0, epoch <= Int64(UInt32.max),
              iter <= TraceFormat.maxCounter, inner <= TraceFormat.maxCounter else {
            throw .invalid("counters out of range (epoch \(epoch), iter \(iter), inner_iter \(inner))")
        }
        guard time.magnitude <= TraceFormat.maxTime else {
            throw .invalid("call time \(time) ns is out of range (at most ±2^61 ns)")
        }
        prevTime = time
        prevEpoch = epoch
        prevIter = iter
        prevInner = inner
        return CallContext(stageID: stage, time: time, epoch: epoch, iter: iter, innerIter: inner, mode: mode)
    }

    /// Decodes the next event; throws `.shortInput` when the payload ends first.
    ///
    /// Context records are consumed silently. Unknown extension records are skipped.
    mutating func nextEvent(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> Event {
        while true {
            let tag = try c.u8()
            switch tag {
            case Tag.call:
                let ctx = try counters(&c, names)
                context = ctx
                return .call(ctx.call(names))
            case Tag.context:
                context = try counters(&c, names)
            case Tag.runStart:
                return .runStart(try runStart(&c, names))
            case Tag.observe:
                let o = try observation(&c, names)
                return .observe(Observation(kind: o.kind, name: names[Int(o.key)], value: o.value(names)))
            case Tag.hookSpan:
                let hook = try name(&c, names)
                let start = (context?.time ?? 0) &+ (try c.svarint())
                let duration = try c.svarint()
                guard start.magnitude <= TraceFormat.maxTime, duration.magnitude <= TraceFormat.maxTime else {
                    throw .invalid("hook span out of range (start \(start) ns, duration \(duration) ns; at most ±2^61 ns)")
                }
                return .hookSpan(HookSpan(hook: hook, start: start, duration: duration))
            case Tag.runEnd:
                let statusByte = try c.u8()
                guard let status = RunStatus(rawValue: statusByte) else { throw .invalid("unknown run status \(statusByte)") }
                let code = try c.svarint()
                guard let exitCode = Int(exactly: code) else { throw .invalid("exit code out of range") }
                return .runEnd(RunEnd(status: status, exitCode: exitCode, message: try name(&c, names)))
            case Tag.setLR...Tag.custom:
                return .effect(try effect(tag, &c, names))
            case Tag.firstExtension...0xFF:
                let length = try c.count(limit: c.remaining)
                _ = try c.bytes(length)
            default:
                throw .invalid("unknown event tag 0x\(String(tag, radix: 16)); the trace may come from a newer hooktrace")
            }
        }
    }

    /// An observation record after its tag.
    @inline(__always)
    private mutating func observation(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> CompactObservation {
        let kindByte = try c.u8()
        guard let kind = ObservationKind(rawValue: kindByte) else { throw .invalid("unknown observation kind \(kindByte)") }
        let key = try nameID(&c, names)
        let tag = try c.u8()
        let bits: UInt64
        switch tag {
        case ScalarTag.double: bits = try real(&c, slot: predictorSlot(key, Channel.observe, 0)).bitPattern
        case ScalarTag.null, ScalarTag.falseValue, ScalarTag.trueValue: bits = 0
        case ScalarTag.int: bits = UInt64(bitPattern: try c.svarint())
        case ScalarTag.string: bits = UInt64(try nameID(&c, names))
        default: throw .invalid("unknown scalar type \(tag)")
        }
        return CompactObservation(kind: kind, key: key, tag: tag, bits: bits)
    }

    /// Decodes the next event like ``nextEvent(_:_:)`` into `sink`, but leaves the two most
    /// frequent kinds, calls and observations, with name ids instead of names (no string
    /// copies, no enum to build and destroy).
    @inline(__always)
    mutating func nextRecord<S: RecordSink>(_ c: inout ByteCursor, _ names: [String], into sink: inout S, sequence: UInt64) throws(DecodeFailure) {
        while true {
            guard !c.isAtEnd else { throw .shortInput }
            switch c.base[c.position] {
            case Tag.call:
                c.position += 1
                let ctx = try counters(&c, names)
                context = ctx
                return sink.call(ctx, sequence)
            case Tag.observe:
                c.position += 1
                return sink.observe(try observation(&c, names), sequence)
            case let tag where tag >= Tag.setLR && tag <= Tag.custom:
                c.position += 1
                return sink.effect(try effect(tag, &c, names), sequence)
            case Tag.context:
                c.position += 1
                context = try counters(&c, names)
            case Tag.firstExtension...0xFF:
                c.position += 1
                let length = try c.count(limit: c.remaining)
                _ = try c.bytes(length)
            default:
                return sink.event(try nextEvent(&c, names), sequence)
            }
        }
    }

    /// Skips extension records that follow the last event of a block.
    func skipTrailingExtensions(_ c: inout ByteCursor) throws(DecodeFailure) {
        while !c.isAtEnd, c.base[c.position] >= Tag.firstExtension {
            c.position += 1
            let length = try c.count(limit: c.remaining)
            _ = try c.bytes(length)
        }
    }

    private mutating func effect(_ tag: UInt8, _ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> Effect {
        let hookID = try nameID(&c, names)
        let hook = names[Int(hookID)]
        switch tag {
        case Tag.setLR, Tag.setMomentum:
            let opt = try nameID(&c, names)
            let group = try c.count(limit: Int(Int32.max))
            let isLR = tag == Tag.setLR
            let value = try real(&c, slot: predictorSlot(opt, isLR ? Channel.lr : Channel.momentum, group))
            let name = names[Int(opt)]
            return Effect(hook: hook, isLR ? .setLR(optimizer: name, group: group, value: value)
                : .setMomentum(optimizer: name, group: group, value: value))
        case Tag.optimizerStep:
            let opt = try nameID(&c, names)
            let flags = try c.u8()
            guard flags & ~3 == 0 else { throw .invalid("unknown optimizer step flags \(flags)") }
            let norm: Double? = flags & 2 != 0 ? try real(&c, slot: predictorSlot(opt, Channel.gradNorm, 0)) : nil
            return Effect(hook: hook, .optimizerStep(optimizer: names[Int(opt)], stepped: flags & 1 != 0, gradNorm: norm))
        case Tag.checkpointSave:
            return Effect(hook: hook, .checkpointSave(path: try name(&c, names)))
        case Tag.checkpointRemove:
            return Effect(hook: hook, .checkpointRemove(path: try name(&c, names)))
        case Tag.checkpointLink:
            let link = try name(&c, names)
            return Effect(hook: hook, .checkpointLink(link: link, target: try name(&c, names)))
        case Tag.log:
            return Effect(hook: hook, .log(try fields(&c, names)))
        case Tag.evaluate:
            return Effect(hook: hook, .evaluate(try fields(&c, names)))
        case Tag.bestUpdate:
            let key = try nameID(&c, names)
            let value = try real(&c, slot: predictorSlot(key, Channel.best, 0))
            return Effect(hook: hook, .bestUpdate(key: names[Int(key)], value: value, checkpoint: try name(&c, names)))
        case Tag.emaUpdate:
            return Effect(hook: hook, .emaUpdate(momentum: try real(&c, slot: predictorSlot(hookID, Channel.ema, 0))))
        case Tag.stop:
            return Effect(hook: hook, .stop(reason: try name(&c, names)))
        case Tag.note:
            return Effect(hook: hook, .note(try name(&c, names)))
        default:  // Tag.custom
            let kind = try name(&c, names)
            return Effect(hook: hook, .custom(kind: kind, fields: try fields(&c, names)))
        }
    }

    private func optionalCount(_ c: inout ByteCursor) throws(DecodeFailure) -> Int? {
        let v = try c.uvarint()
        if v == 0 { return nil }
        guard v - 1 <= UInt64(Int.max) else { throw .invalid("count out of range") }
        return Int(v - 1)
    }

    private mutating func runStart(_ c: inout ByteCursor, _ names: [String]) throws(DecodeFailure) -> RunStart {
        let source = try name(&c, names)
        let runner = try name(&c, names)
        let maxEpochs = try optionalCount(&c)
        let maxIters = try optionalCount(&c)
        var workflow: [WorkflowPhase] = []
        for _ in 0..<(try c.count(limit: min(TraceFormat.maxListLength, c.remaining))) {
            let mode = try name(&c, names)
            workflow.append(WorkflowPhase(mode, try c.count(limit: Int.max)))
        }
        var loaders: [LoaderLength] = []
        for _ in 0..<(try c.count(limit: min(TraceFormat.maxListLength, c.remaining))) {
            let mode = try name(&c, names)
            loaders.append(LoaderLength(mode, try c.count(limit: Int.max)))
        }
        var groups: [ParamGroup] = []
        for _ in 0..<(try c.count(limit: min(TraceFormat.maxListLength, c.remaining))) {
            let opt = try name(&c, names)
            let group = try c.count(limit: Int(Int32.max))
            let lr = Double(bitPattern: try c.u64())
            let hasMomentum = try c.u8()
            guard hasMomentum <= 1 else { throw .invalid("bad momentum flag") }
            let momentum = hasMomentum == 1 ? Double(bitPattern: try c.u64()) : nil
            groups.append(ParamGroup(optimizer: opt, group: group, lr: lr, momentum: momentum))
        }
        var hooks: [HookInfo] = []
        for _ in 0..<(try c.count(limit: min(TraceFormat.maxListLength, c.remaining))) {
            let n = try name(&c, names)
            let type = try name(&c, names)
            let p = try c.svarint()
            guard let priority = Int(exactly: p) else { throw .invalid("priority out of range") }
            hooks.append(HookInfo(name: n, type: type, priority: priority, config: try name(&c, names)))
        }
        let seed = try c.u64()
        let config = try name(&c, names)
        let meta = try fields(&c, names)
        if !c.isAtEnd && c.base[c.position] == Tag.hookStages {
            c.position += 1
            let length = try c.count(limit: c.remaining)
            let end = c.position + length
            let count = try c.count(limit: length)
            guard count == hooks.count else { throw .invalid("hook stages for \(count) hooks, run_start has \(hooks.count)") }
            for i in hooks.indices {
                let n = try c.count(limit: end - c.position)
                guard n > 0 else { continue }
                var stages: [String] = []
                for _ in 0..<(n - 1) { stages.append(try name(&c, names)) }
                hooks[i].stages = stages
            }
            guard c.position == end else { throw .invalid("the hook stages record's length (\(length) bytes) does not match its contents") }
        }
        return RunStart(
            source: source, runner: runner, maxEpochs: maxEpochs, maxIters: maxIters, workflow: workflow,
            loaders: loaders, paramGroups: groups, hooks: hooks, seed: seed, config: config, meta: meta)
    }
}
