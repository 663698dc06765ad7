#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One event read from a trace, with its sequence number and the call it belongs to.
public struct TraceEntry: Equatable, Sendable {
    /// Position of the event in the trace, from 0.
    public var sequence: UInt64
    /// The event.
    public var event: Event
    /// The most recent call at or before this event; nil before the first call.
    public var context: Call?

    /// An entry: the event numbered `sequence`, within the call `context`.
    public init(sequence: UInt64, event: Event, context: Call?) {
        self.sequence = sequence
        self.event = event
        self.context = context
    }

    /// Takes the event out, leaving a placeholder behind: moving the event saves a retain
    /// and a release per string it holds.
    @inline(__always)
    public mutating func takeEvent() -> Event {
        var moved = Event.runEnd(RunEnd(status: .completed))
        swap(&moved, &event)
        return moved
    }

    /// A copy of the entry that takes its event (``takeEvent()``): the readers' batches.
    @inline(__always)
    public mutating func takingEvent() -> TraceEntry {
        TraceEntry(sequence: sequence, event: takeEvent(), context: context)
    }
}

/// One decoded block.
package struct TraceBlock: Sendable {
    /// Index of the block in the file, from 0.
    package var index: Int
    /// Byte offset of the block's frame.
    package var offset: UInt64
    package var header: BlockHeader
    /// The block's events; empty when the block was skipped by a filter or is the end block.
    package var entries: [TraceEntry]
    /// Whether the block's payload was decoded.
    package var decoded: Bool
}

/// How far a reader got.
public enum ReadState: Equatable, Sendable {
    /// More blocks may follow.
    case reading
    /// The end block was read: the writer closed the trace.
    case closed
    /// The file ended at a block boundary without an end block: the writer stopped early
    /// (crash, kill) but nothing written was lost.
    case endedEarly
    /// A block is torn or damaged; `error` says where. Everything before it was read.
    case damaged(HooktraceError)
}

/// Reads a trace block by block with bounded memory.
///
/// Memory stays at one block (at most 64 MiB stored plus 64 MiB raw, in practice a few
/// hundred KiB) plus the trace's name table, whatever the file's size. Every length from the
/// file is checked before it is used; damage is reported as a ``HooktraceError``, never a trap.
///
/// ```swift
/// let reader = try TraceReader(path: "run.htrace")
/// while let entry = try reader.next() { print(entry.sequence, entry.event) }
/// ```
public final class TraceReader {
    /// The trace's path.
    public let path: String
    /// The file header: format version, default codec, writer metadata.
    public let header: TraceHeader
    /// Size of the file when it was opened.
    public let fileSize: UInt64
    /// Blocks that cannot hold a matching event are skipped without being decompressed.
    public var filter: TraceFilter

    /// Reading, ended, or stopped by damage (with the error); check it after the last event.
    public private(set) var state: ReadState = .reading
    /// Offset of the next frame to read.
    public private(set) var offset: UInt64
    /// Number of blocks read so far (including skipped ones).
    public private(set) var blockCount = 0
    /// Sequence number the next block must start with.
    public private(set) var nextSequence: UInt64 = 0
    /// The end block's event total when the trace was closed.
    public private(set) var closedEventCount: UInt64?
    /// Blocks read whose payload was decompressed.
    public private(set) var decodedBlocks = 0
    /// Sum of stored payload bytes and raw payload bytes over the event blocks read.
    public private(set) var storedBytes: UInt64 = 0
    /// Bytes of event data decoded so far (after decompression).
    public private(set) var rawBytes: UInt64 = 0

    private var fd: Int32
    private var names: [String] = []
    private var namesBytes = 0
    /// Offset and event count of every event block read, checked against the end block's index.
    private var blockIndex: [(UInt64, UInt32)] = []
    private var decoder = EventDecoder()
    private let decompressor = Decompressor()
    private var body: [UInt8] = []
    private var rawBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var rawPosition = 0
    /// Where the current block's records end (its value section, if any, follows).
    private var recordsEnd = 0
    @exclusivity(unchecked) private var blockRemaining = 0
    private var sequence: UInt64 = 0
    private var currentOffset: UInt64 = 0
    private var currentHeader = BlockHeader(kind: .events, codec: .none, firstSequence: 0, eventCount: 0, firstNameID: 0, namesLength: 0, storedLength: 0, rawLength: 0, bodyCRC: 0, epochMin: 0, epochMax: 0, iterMin: 0, iterMax: 0)
    private var lastContextSerial = -1
    private var lastContext: Call?
    // The per-event state of next(): dynamic exclusivity checks on it cost more than the
    // rest of next() (the reader is used from one thread; accesses never overlap).
    @exclusivity(unchecked) private var batch: [TraceEntry] = []
    @exclusivity(unchecked) private var batchIndex = 0
    @exclusivity(unchecked) private var pendingError: HooktraceError?

    /// Opens `path` and reads its header.
    ///
    /// - Throws: ``HooktraceError`` `.io` (missing or unreadable), `.notATrace`,
    ///   `.unsupportedVersion` or `.damaged` (header checksum).
    public convenience init(path: String, filter: TraceFilter = TraceFilter()) throws(HooktraceError) {
        try self.init(path: path, filter: filter, recoverHeader: true)
        reportsHeaderDamage = true
    }

    /// Whether a recovered header's damage becomes the reader's final state (for commands
    /// that read events: they print what the blocks hold, then report the damage).
    private var reportsHeaderDamage = false

    /// At the end of the blocks: a recovered header is damage the reader reports last.
    private func endState(_ state: ReadState) -> ReadState {
        guard reportsHeaderDamage, let damage = headerDamage else { return state }
        return .damaged(HooktraceError(.damaged, damage.message + "; every block after it was read", file: path, offset: 0, block: blockCount))
    }

    /// The damage found in the file header when the reader was opened with
    /// `recoverHeader`; the blocks are then read from the first block found after it.
    public private(set) var headerDamage: HooktraceError?

    /// Opens a trace; with `recoverHeader`, a damaged file header (a checksum failure, or a
    /// corrupted magic, version or codec) does not stop the reader: it looks for the first
    /// block (sequence 0, name id 0, valid frame checksum) and reads the blocks from there,
    /// keeping the header's error in ``headerDamage`` (for `check` and `repair`).
    public init(path: String, filter: TraceFilter = TraceFilter(), recoverHeader: Bool) throws(HooktraceError) {
        self.path = path
        self.filter = filter
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            var reason = errno == ENOENT ? "no such file; check the path" : systemError()
            let partial = path + OutputPath.partialSuffix
            if errno == ENOENT, access(partial, F_OK) == 0 {
                reason = "no such file, but \(partial) holds an unfinished recording of it (its writer was stopped). `hooktrace check \(partial)` shows what it holds; `hooktrace repair \(partial) -o \(path)` closes it under this name"
            }
            throw HooktraceError(.io, "cannot open the trace: \(reason)", file: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = systemError()
            _ = Glibc.close(fd)
            throw HooktraceError(.io, "cannot stat the trace: \(message)", file: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            _ = Glibc.close(fd)
            throw HooktraceError(.io, "is a directory, not a trace file", file: path)
        }
        fileSize = UInt64(st.st_size)
        do {
            (header, offset) = try Self.readHeader(fd: fd, path: path, fileSize: fileSize)
        } catch {
            // A newer version or codec behind a valid checksum is real, not damage: refused.
            let recoverable = error.code == .damaged || error.code == .notATrace || error.code == .truncated
            guard recoverHeader, recoverable, let (start, codec) = Self.firstBlock(fd: fd, fileSize: fileSize) else {
                _ = Glibc.close(fd)
                throw error
            }
            headerDamage = error
            header = TraceHeader(majorVersion: TraceFormat.majorVersion, minorVersion: TraceFormat.minorVersion,
                                 codec: codec, metadata: [], size: Int(start))
            offset = start
        }
    }

    /// The offset and codec of the trace's first block, found by scanning the bytes where
    /// the file header and its metadata (at most 1 MiB) can end.
    private static func firstBlock(fd: Int32, fileSize: UInt64) -> (UInt64, Codec)? {
        let minimum = TraceFormat.fileHeaderFixedSize + 1 + 4
        let span = min(Int(clamping: fileSize), TraceFormat.fileHeaderFixedSize + TraceFormat.maxMetadataBytes + 4 + TraceFormat.blockHeaderSize)
        guard span >= minimum + TraceFormat.blockHeaderSize else { return nil }
        var bytes = [UInt8](repeating: 0, count: span)
        guard preadFully(fd, &bytes, 0) == span else { return nil }
        return bytes.withUnsafeBytes { buf -> (UInt64, Codec)? in
            var i = minimum
            while i + TraceFormat.blockHeaderSize <= span {
                if buf[i] == 0x48, buf[i + 1] == 0x54, buf[i + 2] == 0x42, buf[i + 3] == 0x4B,
                   let h = try? BlockHeader.parse(UnsafeRawBufferPointer(rebasing: buf[i..<(i + TraceFormat.blockHeaderSize)])),
                   h.firstSequence == 0, h.firstNameID == 0, UInt64(i) + UInt64(h.frameSize) <= fileSize {
                    return (UInt64(i), h.codec)
                }
                i += 1
            }
            return nil
        }
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
        rawBuffer.deallocate()
    }

    /// Common names as string literals: a literal's storage is immortal, so the many copies
    /// of a stage name in decoded events cost no reference counting.
    private static let immortal: [String: String] = Dictionary(uniqueKeysWithValues: Stage.allCases.map { ($0.rawValue, $0.rawValue) })

    /// Names defined so far (the trace's interned strings, in id order).
    public var nameTable: [String] { names }

    private static func readHeader(fd: Int32, path: String, fileSize: UInt64) throws(HooktraceError) -> (TraceHeader, UInt64) {
        var fixed = [UInt8](repeating: 0, count: TraceFormat.fileHeaderFixedSize)
        let n = preadFully(fd, &fixed, 0)
        if n == 0 {
            throw HooktraceError(.notATrace, "the file is empty: nothing was written to it (a recording stopped before its run started?)", file: path, offset: 0)
        }
        if n < 8 || Array(fixed[0..<8]) != TraceFormat.magic {
            if n >= 1 && n < 8 && Array(fixed[0..<n]) == Array(TraceFormat.magic[0..<n]) {
                throw HooktraceError(.truncated, "the file ends inside the trace header (\(n) bytes); nothing was recorded", file: path, offset: UInt64(n))
            }
            throw HooktraceError(.notATrace, "not a hooktrace trace (no trace header); hooktrace reads the .htrace files it writes", file: path, offset: 0)
        }
        guard n == fixed.count else {
            throw HooktraceError(.truncated, "the file ends inside the trace header; nothing was recorded", file: path, offset: UInt64(n))
        }
        let header: TraceHeader
        let size: Int
        do {
            let major = UInt16(fixed[8]) | UInt16(fixed[9]) << 8
            let minor = UInt16(fixed[10]) | UInt16(fixed[11]) << 8
            let codecByte = fixed[12]
            let metaLength = fixed[16..<20].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            // The checksum first, when the length allows it: a damaged version or codec byte is
            // damage, not a newer file.
            size = TraceFormat.fileHeaderFixedSize + Int(metaLength) + 4
            var whole: [UInt8] = []
            if metaLength <= TraceFormat.maxMetadataBytes, UInt64(size) <= fileSize {
                whole = [UInt8](repeating: 0, count: size)
                guard preadFully(fd, &whole, 0) == size else {
                    throw HooktraceError(.io, "cannot read the trace header", file: path)
                }
                let stored = whole.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: size - 4, as: UInt32.self).littleEndian }
                guard crc32(Array(whole[0..<(size - 4)])) == stored else {
                    throw HooktraceError(.damaged, "the trace header fails its checksum; `hooktrace repair` rebuilds it when the blocks after it are intact", file: path, offset: 0)
                }
            }
            guard fixed[13] == 0, fixed[14] == 0, fixed[15] == 0 else {
                throw HooktraceError(.damaged, "the trace header's reserved bytes are not zero (a newer or foreign writer, or damage)", file: path, offset: 13)
            }
            guard major <= TraceFormat.majorVersion else {
                throw HooktraceError(.unsupportedVersion, "trace format \(major).\(minor) is newer than this hooktrace reads (\(TraceFormat.majorVersion).\(TraceFormat.minorVersion)); upgrade hooktrace", file: path, offset: 8)
            }
            guard major >= 1 else {
                throw HooktraceError(.unsupportedVersion, "trace format \(major).\(minor) is not a released format", file: path, offset: 8)
            }
            guard let codec = Codec(rawValue: codecByte) else {
                throw HooktraceError(.unsupportedVersion, "unknown codec \(codecByte) in the header; upgrade hooktrace", file: path, offset: 12)
            }
            guard metaLength <= TraceFormat.maxMetadataBytes else {
                throw HooktraceError(.damaged, "header metadata of \(metaLength) bytes exceeds the 1 MiB limit; the header is damaged (`hooktrace repair` rebuilds it when the blocks after it are intact)", file: path, offset: 16)
            }
            guard UInt64(size) <= fileSize else {
                throw HooktraceError(.truncated, "the file ends inside the trace header; nothing was recorded", file: path, offset: fileSize)
            }
            let parsed = whole.withUnsafeBytes { buf -> [(key: String, value: String)]? in
                var c = ByteCursor(UnsafeRawBufferPointer(rebasing: buf[TraceFormat.fileHeaderFixedSize..<(size - 4)]))
                guard let count = try? c.count(limit: c.remaining) else { return nil }
                var result: [(key: String, value: String)] = []
                for _ in 0..<count {
                    guard let kl = try? c.count(limit: c.remaining), let k = try? c.bytes(kl),
                          let vl = try? c.count(limit: c.remaining), let v = try? c.bytes(vl) else { return nil }
                    result.append((String(decoding: k, as: UTF8.self), String(decoding: v, as: UTF8.self)))
                }
                return result
            }
            guard let metadata = parsed else {
                throw HooktraceError(.damaged, "the trace header's metadata is malformed", file: path, offset: 20)
            }
            header = TraceHeader(majorVersion: major, minorVersion: minor, codec: codec, metadata: metadata, size: size)
        }
        return (header, UInt64(size))
    }

    /// Returns the next event that matches ``filter``, or nil at the end of the trace.
    ///
    /// At a damaged or torn block it throws, after every event before the damage has been
    /// returned; ``state`` then holds the same error. A block is checked (checksum,
    /// decompression) before any of its events is returned; only a block whose checksum
    /// passes but whose payload is malformed (a writer bug or a crafted file) can return
    /// some of its events before the error.
    /// - Complexity: amortised O(1) per event read.
    public func next() throws(HooktraceError) -> TraceEntry? {
        while true {
            if batchIndex < batch.count {
                // Move the entry out rather than copy it (saves a retain/release per string).
                var entry = TraceEntry(sequence: 0, event: .runEnd(RunEnd(status: .completed)), context: nil)
                swap(&entry, &batch[batchIndex])
                batchIndex += 1
                return entry
            }
            batch.removeAll(keepingCapacity: true)
            batchIndex = 0
            if let error = pendingError {
                pendingError = nil
                throw error
            }
            if blockRemaining > 0 {
                do {
                    try drainBlock { batch.append($0.takingEvent()) }
                } catch let error as HooktraceError {
                    if batch.isEmpty { throw error }
                    pendingError = error
                } catch {
                    throw HooktraceError(.io, "\(error)", file: path)
                }
                continue
            }
            guard try nextBlock() != nil else { return nil }
        }
    }

    /// Decodes the next block that has events, calling `body` with each matching event in
    /// place (it may take the event out with ``TraceEntry/takeEvent()``); returns false at
    /// the end of the trace. At damage it throws, after `body` has seen every event before
    /// it. Events that ``next()`` has decoded but not returned come first.
    public func drainNextBlock(_ body: (inout TraceEntry) throws -> Void) throws -> Bool {
        try drainStep(body) { try drainBlock(body) }
    }

    /// One step of the drain loops: the events ``next()`` decoded but did not return, or
    /// the error it met, or else `drain` on the next block that has events.
    private func drainStep(_ leftover: (inout TraceEntry) throws -> Void, _ drain: () throws -> Void) throws -> Bool {
        if batchIndex < batch.count {
            while batchIndex < batch.count {
                batchIndex += 1
                try leftover(&batch[batchIndex - 1])
            }
            return true
        }
        if let error = pendingError {
            pendingError = nil
            throw error
        }
        while true {
            if blockRemaining > 0 {
                try drain()
                return true
            }
            guard try nextBlock() != nil else { return false }
        }
    }

    /// Calls `body` with every matching event, in order.
    ///
    /// Faster than a loop over ``next()``: events are decoded straight into `body`.
    /// Throws what `body` throws, or a ``HooktraceError`` at damage (after every event
    /// before it).
    public func forEach(_ body: (TraceEntry) throws -> Void) throws {
        while try drainNextBlock({ try body($0) }) {}
    }

    /// Like ``forEach(_:)``, but damage ends the loop instead of throwing: every event of
    /// the intact blocks has been seen, and ``state`` holds the damage for the caller to
    /// report after its output (errors thrown by `body` still propagate).
    public func forEachIntact(_ body: (TraceEntry) throws -> Void) throws {
        do {
            try forEach(body)
        } catch let error as HooktraceError {
            if case .damaged(let damage) = state, damage == error { return }
            throw error
        }
    }

    /// Decodes the rest of the current block, calling `body` with each matching event.
    ///
    /// The hot loop works on local copies of the decoding state and writes them back at
    /// the end, also when `body` throws.
    ///
    /// `body` may take the event out of the entry (``TraceEntry/takingEvent()``): the entry
    /// is handed over once and its event replaced before the next call.
    private func drainBlock(_ body: (inout TraceEntry) throws -> Void) throws {
        guard blockRemaining > 0 else { return }
        let raw = UnsafeRawBufferPointer(rebasing: rawBuffer[0..<recordsEnd])
        var c = ByteCursor(raw, position: rawPosition)
        // The decoder is not copyable: taken out for the loop, put back at the end.
        var dec = EventDecoder()
        swap(&dec, &decoder)
        let names = self.names
        let filter = self.filter
        let filtering = !filter.isEmpty
        var seq = sequence
        var remaining = blockRemaining
        var serial = lastContextSerial
        var failure: DecodeFailure?
        // One entry updated in place: assigning moves the new values in, where building a
        // fresh entry per event costs a copy and a destroy of the whole entry. Its context
        // changes only when the decoder meets a call or context record.
        var entry = TraceEntry(sequence: seq, event: .runEnd(RunEnd(status: .completed)), context: lastContext)
        defer {
            swap(&dec, &decoder)
            rawPosition = c.position
            sequence = seq
            blockRemaining = remaining
            lastContext = entry.context
            lastContextSerial = serial
        }
        do {
            while remaining > 0 {
                entry.event = try dec.nextEvent(&c, names)
                if dec.contextSerial != serial {
                    serial = dec.contextSerial
                    entry.context = dec.context.map { $0.call(names) }
                }
                entry.sequence = seq
                remaining -= 1
                seq += 1
                if !filtering {
                    try body(&entry)
                } else if filter.matches(entry) {
                    try body(&entry)
                }
            }
        } catch let error as DecodeFailure {
            failure = error
        }
        try checkBlockEnd(failure, &dec, &c, &remaining)
    }

    /// After a block's events (or the decoding failure that stopped them): what is left
    /// must be extension records only.
    private func checkBlockEnd(_ decoding: DecodeFailure?, _ dec: inout EventDecoder, _ c: inout ByteCursor, _ remaining: inout Int) throws(HooktraceError) {
        var failure = decoding.map(describe)
        if case .shortInput? = decoding, c.isAtEnd {
            failure = "\(remaining) of the header's \(currentHeader.eventCount) events are missing"
        }
        if failure == nil && remaining == 0 {
            do { try dec.skipTrailingExtensions(&c) } catch { failure = describe(error) }
        }
        if failure == nil && !c.isAtEnd {
            failure = "bytes remain after the header's \(currentHeader.eventCount) events"
        }
        if failure == nil && dec.valuesRemaining > 0 {
            failure = "\(dec.valuesRemaining) bytes of the value section are not used by the block's events"
        }
        if let failure {
            remaining = 0
            throw blockFailed(failure)
        }
    }

    /// Like ``drainNextBlock(_:)``, but calls and observations come as compact records
    /// (name ids, no strings) and no entry or filter is involved: the call-group reader's
    /// loop. Events ``next()`` had already decoded come as `.event`.
    func drainNextRecords<S: RecordSink>(into sink: inout S) throws -> Bool {
        try drainStep({ sink.event($0.event, $0.sequence) }) { try drainRecords(into: &sink) }
    }

    private func drainRecords<S: RecordSink>(into sink: inout S) throws(HooktraceError) {
        let raw = UnsafeRawBufferPointer(rebasing: rawBuffer[0..<recordsEnd])
        var c = ByteCursor(raw, position: rawPosition)
        var dec = EventDecoder()
        swap(&dec, &decoder)
        let names = self.names
        var seq = sequence
        var remaining = blockRemaining
        var failure: DecodeFailure?
        defer {
            swap(&dec, &decoder)
            rawPosition = c.position
            sequence = seq
            blockRemaining = remaining
            if let ctx = dec.context {
                lastContext = ctx.call(names)
                lastContextSerial = dec.contextSerial
            }
        }
        do throws(DecodeFailure) {
            while remaining > 0 {
                try dec.nextRecord(&c, names, into: &sink, sequence: seq)
                remaining -= 1
                seq += 1
            }
        } catch {
            failure = error
        }
        try checkBlockEnd(failure, &dec, &c, &remaining)
    }

    /// Marks the current block as damaged; the reader stays positioned at its start.
    private func blockFailed(_ why: String) -> HooktraceError {
        blockRemaining = 0
        blockCount -= 1
        let error = HooktraceError(
            .damaged,
            "block \(blockCount) at byte \(currentOffset): the payload is malformed (\(why)); run `hooktrace check \(path)` for a report and `hooktrace repair \(path)` to keep the \(blockCount) intact block(s) before it",
            file: path, offset: currentOffset, block: blockCount)
        nextSequence = currentHeader.firstSequence
        offset = currentOffset
        decodedBlocks -= 1
        state = .damaged(error)
        return error
    }

    /// Reads the next block and decodes all its events; returns nil at the end of the trace.
    ///
    /// A block that ``filter`` rules out is verified (checksum) but not decompressed, and
    /// is returned with no entries. Do not mix with ``next()`` within one block.
    package func readNextBlock() throws(HooktraceError) -> TraceBlock? {
        guard var block = try nextBlock() else { return nil }
        if block.decoded {
            var entries: [TraceEntry] = []
            entries.reserveCapacity(Int(block.header.eventCount))
            do {
                try drainBlock { entries.append($0.takingEvent()) }
            } catch let error as HooktraceError {
                throw error
            } catch {
                throw HooktraceError(.io, "\(error)", file: path)
            }
            block.entries = entries
        }
        return block
    }

    /// Reads the next block and prepares its events for ``next()``.
    private func nextBlock() throws(HooktraceError) -> TraceBlock? {
        blockRemaining = 0
        switch state {
        case .reading: break
        case .closed, .endedEarly: return nil
        case .damaged(let error): throw error
        }
        do {
            return try readBlock()
        } catch {
            state = .damaged(error)
            throw error
        }
    }

    private func fail(_ code: HooktraceError.Code, _ what: String, at where_: UInt64? = nil) -> HooktraceError {
        let advice = code == .truncated
            ? "the recorder stopped mid-write; run `hooktrace repair \(path)` to keep the \(blockCount) complete block(s)"
            : "run `hooktrace check \(path)` for a report and `hooktrace repair \(path)` to keep the \(blockCount) intact block(s) before it"
        return HooktraceError(code, "block \(blockCount) at byte \(where_ ?? offset): \(what); \(advice)",
                              file: path, offset: where_ ?? offset, block: blockCount)
    }

    private func readBlock() throws(HooktraceError) -> TraceBlock? {
        let remaining = fileSize - offset
        if remaining == 0 {
            state = endState(.endedEarly)
            return nil
        }
        if remaining < UInt64(TraceFormat.blockHeaderSize) {
            throw fail(.truncated, "the file ends \(remaining) bytes into a block header")
        }
        var headerBytes = [UInt8](repeating: 0, count: TraceFormat.blockHeaderSize)
        guard preadFully(fd, &headerBytes, offset) == TraceFormat.blockHeaderSize else {
            throw HooktraceError(.io, "cannot read block \(blockCount) at byte \(offset): \(systemError())", file: path, offset: offset)
        }
        let parsed: Result<BlockHeader, BlockHeader.ParseError> = headerBytes.withUnsafeBytes { buf in
            do throws(BlockHeader.ParseError) { return .success(try BlockHeader.parse(buf)) } catch { return .failure(error) }
        }
        let header: BlockHeader
        switch parsed {
        case .success(let h): header = h
        case .failure(let error):
            switch error {
            case .badMagic: throw fail(.damaged, "no block frame starts here (bad magic)")
            case .badChecksum: throw fail(.damaged, "the block header fails its checksum")
            case .unknownKind(let k): throw fail(.unsupportedVersion, "unknown block kind \(k); the trace may come from a newer hooktrace")
            case .unknownCodec(let c): throw fail(.unsupportedVersion, "unknown codec \(c); the trace may come from a newer hooktrace")
            case .outOfBounds(let why): throw fail(.damaged, why)
            }
        }
        let bodyLength = Int(header.namesLength) + Int(header.storedLength)
        if UInt64(bodyLength) > remaining - UInt64(TraceFormat.blockHeaderSize) {
            throw fail(.truncated, "the file ends inside the block (\(remaining) of \(header.frameSize) bytes present)")
        }
        if header.firstSequence != nextSequence {
            throw fail(.damaged, "the block starts at event \(header.firstSequence), expected \(nextSequence)")
        }
        if body.count < bodyLength { body = [UInt8](repeating: 0, count: bodyLength) }
        let got = body.withUnsafeMutableBytes { buf in
            preadFully(fd, UnsafeMutableRawBufferPointer(rebasing: buf[0..<bodyLength]), offset + UInt64(TraceFormat.blockHeaderSize))
        }
        guard got == bodyLength else {
            throw HooktraceError(.io, "cannot read block \(blockCount) at byte \(offset)", file: path, offset: offset)
        }
        let crc = body.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[0..<bodyLength])) }
        if crc != header.bodyCRC {
            throw fail(.damaged, "the block's contents fail their checksum")
        }
        let blockOffset = offset

        if header.kind == .end {
            if header.firstNameID != UInt32(names.count) {
                throw fail(.damaged, "the end block does not match the names read")
            }
            guard header.codec == .none, header.eventCount == 0, header.namesLength == 0, header.firstSequence == nextSequence,
                  header.epochMin == .max, header.epochMax == 0, header.iterMin == .max, header.iterMax == 0 else {
                throw fail(.damaged, "the end block's frame does not describe an end block (codec, counts, sequence or ranges)")
            }
            // The index must list exactly the blocks read: their offsets and event counts.
            let parsed = body.withUnsafeBytes { buf -> (UInt64, [(UInt64, UInt32)])? in
                var c = ByteCursor(UnsafeRawBufferPointer(rebasing: buf[0..<bodyLength]))
                guard let total = try? c.uvarint(), let n = try? c.count(limit: c.remaining) else { return nil }
                var entries: [(UInt64, UInt32)] = []
                entries.reserveCapacity(n)
                var at: UInt64 = 0
                for _ in 0..<n {
                    guard let delta = try? c.uvarint(), let count = try? c.uvarint(), count <= UInt64(UInt32.max) else { return nil }
                    let (next, overflow) = at.addingReportingOverflow(delta)
                    guard !overflow else { return nil }
                    at = next
                    entries.append((at, UInt32(count)))
                }
                return c.isAtEnd ? (total, entries) : nil
            }
            guard let (total, entries) = parsed else { throw fail(.damaged, "the end block's index is malformed") }
            guard total == nextSequence else {
                throw fail(.damaged, "the end block counts \(total) events, the blocks hold \(nextSequence)")
            }
            guard entries.count == blockIndex.count, zip(entries, blockIndex).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 }) else {
                throw fail(.damaged, "the end block's index does not list the blocks read (\(entries.count) entries, \(blockIndex.count) blocks)")
            }
            offset += UInt64(header.frameSize)
            blockCount += 1
            closedEventCount = total
            state = endState(.closed)
            if offset < fileSize {
                // Bytes after the end marker: report them, but everything before was read.
                let extra = fileSize - offset
                state = .damaged(HooktraceError(.damaged, "\(extra) unexpected byte(s) after the end block at byte \(offset); run `hooktrace repair \(path)` to drop them", file: path, offset: offset, block: blockCount))
            }
            return TraceBlock(index: blockCount - 1, offset: blockOffset, header: header, entries: [], decoded: false)
        }

        blockIndex.append((blockOffset, header.eventCount))
        // Names section: always applied, so later blocks can be decoded after a skip.
        if header.firstNameID != UInt32(names.count) {
            throw fail(.damaged, "the block's names start at id \(header.firstNameID), expected \(names.count)")
        }
        if header.namesLength > 0 {
            let added = body.withUnsafeBytes { buf -> [String]? in
                var c = ByteCursor(UnsafeRawBufferPointer(rebasing: buf[0..<Int(header.namesLength)]))
                do {
                    let count = try c.count(limit: min(c.remaining, TraceFormat.maxTotalNames))
                    var result: [String] = []
                    result.reserveCapacity(count)
                    for _ in 0..<count {
                        let length = try c.count(limit: min(c.remaining, TraceFormat.maxNameLength))
                        result.append(String(decoding: try c.bytes(length), as: UTF8.self))
                    }
                    return c.isAtEnd ? result : nil
                } catch {
                    return nil
                }
            }
            guard let added else { throw fail(.damaged, "the block's names section is malformed") }
            guard names.count + added.count <= TraceFormat.maxTotalNames else {
                throw fail(.limit, "the trace defines more than \(TraceFormat.maxTotalNames) names (the limit of the format); the file is damaged or hostile")
            }
            namesBytes += added.reduce(0) { $0 + $1.utf8.count }
            guard namesBytes <= TraceFormat.maxTotalNameBytes else {
                throw fail(.limit, "the trace's names take more than \(TraceFormat.maxTotalNameBytes >> 20) MiB (the limit of the format); the file is damaged or hostile")
            }
            names.append(contentsOf: added.map { Self.immortal[$0] ?? $0 })
        }
        offset += UInt64(header.frameSize)
        blockCount += 1
        nextSequence = header.firstSequence + UInt64(header.eventCount)
        storedBytes += UInt64(header.storedLength)
        rawBytes += UInt64(header.rawLength)

        guard filter.mayMatch(header) else {
            // Skipped: the context of the next block is restated inside it.
            decoder.context = nil
            return TraceBlock(index: blockCount - 1, offset: blockOffset, header: header, entries: [], decoded: false)
        }

        let rawLength = Int(header.rawLength)
        if rawBuffer.count < rawLength {
            rawBuffer.deallocate()
            rawBuffer = .allocate(byteCount: max(rawLength, 1 << 16), alignment: 8)
        }
        let namesLength = Int(header.namesLength)
        let target = UnsafeMutableRawBufferPointer(rebasing: rawBuffer[0..<rawLength])
        let failure: DecodeFailure? = body.withUnsafeBytes { b -> DecodeFailure? in
            do {
                try decompressor.decompress(codec: header.codec, UnsafeRawBufferPointer(rebasing: b[namesLength..<bodyLength]), into: target)
                return nil
            } catch let error as DecodeFailure {
                return error
            } catch {
                return .invalid("\(error)")
            }
        }
        if let failure {
            offset = blockOffset
            blockCount -= 1
            nextSequence = header.firstSequence
            throw fail(.damaged, "the payload does not decompress (\(describe(failure)))", at: blockOffset)
        }
        decoder.beginBlock(values: nil)
        rawPosition = 0
        recordsEnd = 0
        blockRemaining = Int(header.eventCount)
        sequence = header.firstSequence
        currentHeader = header
        currentOffset = blockOffset
        decodedBlocks += 1
        if blockRemaining == 0 && rawLength > 0 {
            throw blockFailed("a block without events has a payload")
        }
        let payload = UnsafeRawBufferPointer(rebasing: rawBuffer[0..<rawLength])
        switch header.layout {
        case .records:
            recordsEnd = rawLength
        case .split:
            // The records' length, the records, then the value section.
            var c = ByteCursor(payload)
            guard let length = try? c.uvarint(), length <= UInt64(c.remaining) else {
                throw blockFailed("the payload's records length runs past its end")
            }
            rawPosition = c.position
            recordsEnd = c.position + Int(length)
            decoder.beginBlock(values: UnsafeRawBufferPointer(rebasing: payload[recordsEnd...]))
        }
        return TraceBlock(index: blockCount - 1, offset: blockOffset, header: header, entries: [], decoded: true)
    }
}

func describe(_ f: DecodeFailure) -> String {
    switch f {
    case .shortInput: "it ends early"
    case .overlongVarint: "a number is too long"
    case .invalid(let why): why
    }
}

/// Reads up to `buffer.count` bytes at `offset`, retrying short reads; returns bytes read.
func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ offset: UInt64) -> Int {
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
        if n < 0 {
            if errno == EINTR { continue }
            return done
        }
        if n == 0 { break }
        done += n
    }
    return done
}

func preadFully(_ fd: Int32, _ buffer: inout [UInt8], _ offset: UInt64) -> Int {
    buffer.withUnsafeMutableBytes { preadFully(fd, $0, offset) }
}
