#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Appends events to a trace file.
///
/// Events are encoded into a block buffer; a block is compressed, framed with its
/// lengths and checksums, and written with one `write` when it holds
/// ``Options/blockEvents`` events, when ``Options/flushInterval`` has passed, on
/// ``flush()`` and on ``close()``. Bytes once written are never rewritten, so after a
/// crash every completed block reads back. ``close()`` appends an end block with an
/// index; readers never require it.
///
/// ```swift
/// let writer = try TraceWriter(path: "run.htrace")
/// try writer.append(.call(Call(stage: "before_run", epoch: 0, iter: 0, innerIter: 0, mode: .none, time: 0)))
/// try writer.close()
/// ```
///
/// Writing the same events with the same options gives byte-identical files (with the
/// same codec library version) unless a time-based flush is enabled.
public final class TraceWriter {
    /// How a trace is written: codec, block size, flushing, metadata.
    public struct Options: Sendable {
        /// The block codec.
        public var codec: Codec = .zstd
        /// Compression level; nil for the codec's default.
        public var level: Int32? = nil
        /// A block is written once it holds this many events.
        public var blockEvents: Int = 8192
        /// A block is also written once its first event is this old (for live recording).
        /// Nil by default: block boundaries then depend on the events alone.
        public var flushInterval: Duration? = nil
        /// Writer metadata for the header (not covered by the determinism guarantee).
        public var metadata: [(key: String, value: String)] = [("writer", "hooktrace \(hooktraceVersion)")]
        /// Call `fsync` after every block.
        public var syncEachBlock: Bool = false
        /// Compress and write blocks on a background thread, overlapping with the encoding
        /// of the next block. The file is the same byte for byte; what changes is when a
        /// block reaches the disk (by the next `flush()` or `close()` at the latest), so it
        /// is off for timed flushes and `syncEachBlock`, which promise a block on disk soon.
        public var pipelined: Bool = true

        /// The defaults: zstd, 8192 events per block, no time-based flush.
        public init() {}
    }

    /// Where the trace is written.
    public let path: String
    /// The options it was opened with.
    public let options: Options
    /// All state `append` touches, in one non-copyable value: private and touched by one
    /// thread, so without the dynamic exclusivity check per event that a class's `var`s
    /// would cost several times over.
    @exclusivity(unchecked) private var block = BlockBuilder()
    private let blockEvents: UInt32
    private let timed: Bool
    /// `options.flushInterval` in nanoseconds of the monotonic clock.
    private let flushIntervalNanos: UInt64?
    private var flushedEvents: UInt64 = 0
    /// Bytes of the names written so far (bounded like the reader bounds them).
    private var nameBytes = 0
    /// Compresses, frames and writes blocks: on its own thread when pipelined.
    private let output: BlockOutput
    private let worker: BackgroundWorker?

    /// Creates (or truncates) the file at `path` and writes the header.
    ///
    /// - Throws: ``HooktraceError`` with code `.io` when the file cannot be created.
    public init(path: String, options: Options = Options()) throws(HooktraceError) {
        let level = options.level ?? options.codec.defaultLevel
        guard options.codec.levels.contains(level) else {
            throw HooktraceError(.invalidInput, "\(options.codec) level \(level) is out of range \(options.codec.levels.lowerBound)…\(options.codec.levels.upperBound)")
        }
        guard options.blockEvents >= 1 && options.blockEvents <= 1 << 20 else {
            throw HooktraceError(.invalidInput, "block size \(options.blockEvents) events is out of range 1…\(1 << 20)")
        }
        self.path = path
        self.options = options
        self.blockEvents = UInt32(options.blockEvents)
        self.timed = options.flushInterval != nil
        flushIntervalNanos = options.flushInterval.map { d in
            let (seconds, attoseconds) = d.components
            return seconds < 0 ? 0 : UInt64(clamping: seconds) &* 1_000_000_000 &+ UInt64(clamping: attoseconds / 1_000_000_000)
        }
        let compressor = try Compressor(codec: options.codec, level: level)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HooktraceError(.io, "cannot create the trace: \(systemError()); check the directory exists and is writable", file: path)
        }
        output = BlockOutput(path: path, fd: fd, codec: options.codec, compressor: compressor, syncEachBlock: options.syncEachBlock)
        worker = options.pipelined && !timed && !options.syncEachBlock ? BackgroundWorker(depth: 4) : nil
        let header = TraceHeader.encode(codec: options.codec, metadata: options.metadata)
        try output.writeAll(header)
        block.encoder.beginBlock()
    }

    deinit {
        worker?.stop()
        output.closeFile()
    }

    /// Number of events appended so far.
    public var eventCount: UInt64 { flushedEvents + UInt64(block.pendingEvents) }
    /// Bytes written to the file so far (blocks still being compressed are waited for).
    public var bytesWritten: UInt64 {
        worker?.drain()
        return output.offset
    }

    /// Appends one event; may write a block.
    ///
    /// - Complexity: amortised O(size of the event).
    public func append(_ event: Event) throws(HooktraceError) {
        try handle(block.add(event, blockEvents: blockEvents, timed: timed))
    }

    /// What to do after a record was added to the block.
    @inline(__always)
    private func handle(_ outcome: BlockBuilder.Outcome) throws(HooktraceError) {
        switch outcome {
        case .more:
            return
        case .full:
            try flush(soon: false)
        case .closed:
            throw HooktraceError(.usage, "append after close", file: path)
        case .checkTime:
            if let interval = flushIntervalNanos, monotonicNanos() &- block.started >= interval { try flush() }
        }
    }

    /// Writes the pending block if its first event is older than ``Options/flushInterval``;
    /// for a live recorder to call when no event has come for a while. Does nothing
    /// without a flush interval.
    public func flushIfDue() throws(HooktraceError) {
        guard let interval = flushIntervalNanos, block.pendingEvents > 0,
              monotonicNanos() &- block.started >= interval else { return }
        try flush()
    }

    /// Appends events in order.
    public func append(contentsOf events: some Sequence<Event>) throws(HooktraceError) {
        for e in events { try append(e) }
    }

    /// Writes the pending events as a block, if there are any (when pipelined: hands the
    /// block to the background thread; an error there is thrown by the next `flush` or
    /// `close`).
    public func flush() throws(HooktraceError) {
        try flush(soon: true)
    }

    /// ``flush()``; with `soon` false (a block that filled up while more are coming) the
    /// background thread may wait for the next block before it starts.
    private func flush(soon: Bool) throws(HooktraceError) {
        if let error = output.failure() { throw error }
        guard block.pendingEvents > 0 else { return }
        let pendingEvents = block.pendingEvents
        var names = ByteSink()
        let newNames = block.newNames
        if !newNames.isEmpty {
            names.uvarint(UInt64(newNames.count))
            for n in newNames {
                guard n.utf8.count <= TraceFormat.maxNameLength else {
                    throw HooktraceError(.limit, "a name of \(n.utf8.count) bytes is longer than a trace may hold (\(TraceFormat.maxNameLength >> 20) MiB)", file: path)
                }
                nameBytes += n.utf8.count
                names.uvarint(UInt64(n.utf8.count))
                names.append(utf8: n)
            }
        }
        guard Int(block.newNamesStart) + newNames.count <= TraceFormat.maxTotalNames, nameBytes <= TraceFormat.maxTotalNameBytes else {
            throw HooktraceError(.limit, "the run uses more distinct names (paths, keys, messages) than a trace may hold (\(TraceFormat.maxTotalNames) names, \(TraceFormat.maxTotalNameBytes >> 20) MiB); the events so far are kept", file: path)
        }
        // Everything but the stored form, its length and its checksum.
        let header = BlockHeader(
            kind: .events, codec: options.codec, firstSequence: flushedEvents,
            eventCount: pendingEvents, firstNameID: block.newNamesStart,
            namesLength: UInt32(names.count), storedLength: 0,
            rawLength: UInt32(block.rawLength), bodyCRC: 0,
            epochMin: block.epochMin, epochMax: block.epochMax, iterMin: block.iterMin, iterMax: block.iterMax,
            layout: .split)
        let raw = block.payloadBytes(), nameBytes = names.bytes
        flushedEvents += UInt64(pendingEvents)
        block.reset()
        if let worker {
            let output = output
            worker.submit(soon: soon) { output.writeBlock(header, nameBytes, raw) }
        } else {
            output.writeBlock(header, nameBytes, raw)
            if let error = output.failure() { throw error }
        }
    }

    /// Writes the pending block and the end block, then closes the file.
    public func close() throws(HooktraceError) {
        guard !block.isClosed else { return }
        try flush()
        worker?.stop()
        if let error = output.failure() { throw error }
        try output.writeAll(endBlock(events: flushedEvents, names: block.nameCount, index: output.index))
        if fsync(output.fd) != 0 && errno != EINVAL {
            throw HooktraceError(.io, "cannot sync the trace to disk: \(systemError())", file: path)
        }
        block.isClosed = true
        output.closeFile()
    }
}

/// The writing end of a trace writer: compresses a block, frames it and writes it.
///
/// Used by one thread at a time: the writer's background worker while blocks are being
/// written, the writer itself before the first block and after the worker has stopped.
private final class BlockOutput: @unchecked Sendable {
    let path: String
    private(set) var fd: Int32
    let codec: Codec
    let compressor: Compressor
    let syncEachBlock: Bool
    private(set) var offset: UInt64 = 0
    private(set) var index: [(offset: UInt64, header: BlockHeader)] = []
    private var frame = ByteSink(capacity: 1 << 16)
    /// The first error; once set, no further block is written (a gap would misplace the rest).
    private let error = Mutex<HooktraceError?>(nil)

    init(path: String, fd: Int32, codec: Codec, compressor: Compressor, syncEachBlock: Bool) {
        self.path = path
        self.fd = fd
        self.codec = codec
        self.compressor = compressor
        self.syncEachBlock = syncEachBlock
    }

    deinit {
        closeFile()
    }

    func failure() -> HooktraceError? {
        error.withLock { $0 }
    }

    private func fail(_ e: HooktraceError) {
        error.withLock { if $0 == nil { $0 = e } }
    }

    func closeFile() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Compresses `raw` (stored as is when that is not smaller), then writes the frame.
    func writeBlock(_ partial: BlockHeader, _ names: [UInt8], _ raw: [UInt8]) {
        if failure() != nil { return }
        let done = raw.withUnsafeBytes { rawBytes in
            Result { () throws(HooktraceError) in
                // Compressed in the compressor's memory, framed in the frame's, written from there.
                var stored = try compressor.compressed(rawBytes)
                var header = partial
                if codec != .none && stored.count >= rawBytes.count {
                    stored = rawBytes
                    header.codec = .none
                }
                header.storedLength = UInt32(stored.count)
                header.bodyCRC = crc32(stored, continuing: crc32(names))
                frame.reset()
                header.encode(into: &frame)
                frame.append(names)
                frame.append(stored)
                index.append((offset, header))
                try frame.withUnsafeBytes { bytes throws(HooktraceError) in try writeAll(bytes) }
                if syncEachBlock { _ = fsync(fd) }
            }
        }
        if case .failure(let error) = done { fail(error) }
    }

    func writeAll(_ bytes: [UInt8]) throws(HooktraceError) {
        let result = bytes.withUnsafeBytes { buf in Result { () throws(HooktraceError) in try writeAll(buf) } }
        try result.get()
    }

    func writeAll(_ buf: UnsafeRawBufferPointer) throws(HooktraceError) {
        var done = 0
        let failure: String? = {
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return systemError()
                }
                done += n
            }
            return nil
        }()
        if let failure {
            throw HooktraceError(.io, "cannot write the trace: \(failure)", file: path, offset: offset + UInt64(done))
        }
        offset += UInt64(buf.count)
    }
}

/// The version of this build of hooktrace.
package let hooktraceVersion = "0.1.0"

/// The monotonic clock in nanoseconds.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

package func systemError() -> String {
    String(cString: strerror(errno))
}

/// The block being built: encoder, payload and the block's counters and ranges.
struct BlockBuilder: ~Copyable {
    enum Outcome {
        case more
        case full
        case closed
        /// A timed writer should compare the clock with the block's start.
        case checkTime
    }

    var encoder = EventEncoder()
    var payload = ByteSink(capacity: 1 << 16)
    var pendingEvents: UInt32 = 0
    var epochMin = UInt32.max, epochMax: UInt32 = 0
    var iterMin = UInt64.max, iterMax: UInt64 = 0
    /// When the block's first event came (monotonic nanoseconds), for timed flushes. Plain
    /// integers: a `ContinuousClock.Instant` here made the builder a type of runtime-known
    /// size, handled through its metadata at every event.
    var started: UInt64 = 0
    var isClosed = false

    @inline(__always)
    mutating func add(_ event: Event, blockEvents: UInt32, timed: Bool) -> Outcome {
        if isClosed { return .closed }
        if timed && pendingEvents == 0 { started = monotonicNanos() }
        encoder.encode(event, into: &payload)
        var isCall = false
        if case .call = event { isCall = true }
        return added(isCall: isCall, blockEvents: blockEvents, timed: timed)
    }

    /// Adds a call record of a run's symbols.
    @inline(__always)
    mutating func addCall(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64,
                          _ symbols: SymbolTable, blockEvents: UInt32, timed: Bool) -> Outcome {
        if isClosed { return .closed }
        if timed && pendingEvents == 0 { started = monotonicNanos() }
        encoder.encodeCall(stage: stage, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time, symbols, into: &payload)
        return added(isCall: true, blockEvents: blockEvents, timed: timed)
    }

    /// Adds an observation record of a run's symbols.
    @inline(__always)
    mutating func addObservation(kind: ObservationKind, name: UInt32, value: ScalarBits, _ symbols: SymbolTable,
                                 blockEvents: UInt32, timed: Bool) -> Outcome {
        if isClosed { return .closed }
        if timed && pendingEvents == 0 { started = monotonicNanos() }
        encoder.encodeObservation(kind: kind, name: name, value: value, symbols, into: &payload)
        return added(isCall: false, blockEvents: blockEvents, timed: timed)
    }

    /// Adds an effect record of a run's symbols.
    @inline(__always)
    mutating func addEffect(hook: UInt32, action: EffectAction, _ symbols: SymbolTable, blockEvents: UInt32, timed: Bool) -> Outcome {
        if isClosed { return .closed }
        if timed && pendingEvents == 0 { started = monotonicNanos() }
        encoder.encodeEffect(hook: hook, action: action, symbols, into: &payload)
        return added(isCall: false, blockEvents: blockEvents, timed: timed)
    }

    /// Counts the record just encoded and says whether the block is full.
    @inline(__always)
    private mutating func added(isCall: Bool, blockEvents: UInt32, timed: Bool) -> Outcome {
        pendingEvents += 1
        // The counters change only at calls (and a block starts with the current ones).
        if isCall || pendingEvents == 1, let ctx = encoder.context {
            let e = UInt32(truncatingIfNeeded: ctx.epoch)
            let i = UInt64(ctx.iter)
            if e < epochMin { epochMin = e }
            if e > epochMax { epochMax = e }
            if i < iterMin { iterMin = i }
            if i > iterMax { iterMax = i }
        }
        if pendingEvents >= blockEvents || payload.count + encoder.valuesCount >= TraceFormat.maxPayloadBytes / 2 { return .full }
        if timed, pendingEvents & 63 == 0 { return .checkTime }
        return .more
    }

    // What the writer reads of the encoder, read here: projecting `encoder` out of the
    // borrowed builder copied the whole encoder, and a debug build over-released that copy.
    var newNames: [String] { encoder.newNames }
    var newNamesStart: UInt32 { encoder.newNamesStart }
    var nameCount: UInt32 { encoder.nameCount }

    /// Bytes of the stored-form payload (``PayloadLayout/split``).
    var rawLength: Int { varintLength(UInt64(payload.count)) + payload.count + encoder.valuesCount }

    /// The payload as a block stores it (``PayloadLayout/split``): the records' length, the
    /// records, the value section.
    func payloadBytes() -> [UInt8] {
        let records = payload.count
        return [UInt8](unsafeUninitializedCapacity: rawLength) { buffer, initialized in
            var n = 0
            var length = UInt64(records)
            while length >= 0x80 {
                buffer[n] = UInt8(truncatingIfNeeded: length) | 0x80
                length >>= 7
                n += 1
            }
            buffer[n] = UInt8(truncatingIfNeeded: length)
            n += 1
            let out = UnsafeMutableRawBufferPointer(buffer)
            payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[n...]).copyMemory(from: $0) }
            n += records
            encoder.withValueBytes { UnsafeMutableRawBufferPointer(rebasing: out[n...]).copyMemory(from: $0) }
            initialized = n + encoder.valuesCount
        }
    }

    mutating func reset() {
        payload.reset()
        pendingEvents = 0
        epochMin = .max
        epochMax = 0
        iterMin = .max
        iterMax = 0
        started = 0
        encoder.beginBlock()
    }
}

/// A writer takes a run's records as they come, names as symbols: the same bytes as
/// appending the same events with strings, without building them.
extension TraceWriter: RunSink {
    package func call(stage: UInt32, epoch: Int, iter: Int, innerIter: Int, mode: Mode, time: Int64, symbols: SymbolTable) throws(HooktraceError) {
        try handle(block.addCall(stage: stage, epoch: epoch, iter: iter, innerIter: innerIter, mode: mode, time: time, symbols,
                                 blockEvents: blockEvents, timed: timed))
    }

    package func observe(kind: ObservationKind, name: UInt32, value: ScalarBits, symbols: SymbolTable) throws(HooktraceError) {
        try handle(block.addObservation(kind: kind, name: name, value: value, symbols, blockEvents: blockEvents, timed: timed))
    }

    package func observe(_ observations: UnsafeBufferPointer<StepObservation>, symbols: SymbolTable) throws(HooktraceError) {
        for o in observations {
            try handle(block.addObservation(kind: o.kind, name: o.name, value: o.value, symbols, blockEvents: blockEvents, timed: timed))
        }
    }

    package func effect(hook: UInt32, action: EffectAction, symbols: SymbolTable) throws(HooktraceError) {
        try handle(block.addEffect(hook: hook, action: action, symbols, blockEvents: blockEvents, timed: timed))
    }

    package func event(_ event: Event) throws(HooktraceError) {
        try append(event)
    }
}
