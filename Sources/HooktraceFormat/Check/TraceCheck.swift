#if canImport(Glibc)
import Glibc
#endif

/// The integrity report of `hooktrace check`, and the basis of `hooktrace repair`.
package struct IntegrityReport: Sendable {
    /// The overall verdict.
    package enum Verdict: Sendable, Equatable {
        /// Every block is intact and the writer closed the trace.
        case intact
        /// Every block is intact but the writer never closed the trace (crash, kill, or
        /// still recording); no data written was lost.
        case endedEarly
        /// A block is torn or damaged.
        case damaged
    }

    package var path: String
    package var fileSize: UInt64
    package var verdict: Verdict
    /// Blocks that read back completely, from the start.
    package var goodBlocks = 0
    /// Events in those blocks.
    package var goodEvents: UInt64 = 0
    /// Bytes of the file up to the end of the last good block (the header included).
    package var goodBytes: UInt64 = 0
    /// Whether an end block closes the good part.
    package var closed = false
    /// Whether the events include a `run_end`.
    package var runEnded = false
    /// The first problem, with its offset and block.
    package var problem: HooktraceError?
    /// Blocks found intact after the damage by scanning for frame headers. Repair cannot
    /// keep them: they may use names the damaged block defined.
    package var laterBlocks: [(offset: UInt64, firstSequence: UInt64, events: UInt32)] = []
    /// Sequence numbers from the first lost event to the last one known to exist.
    package var lostSequences: ClosedRange<UInt64>?
    /// The damage is a torn end block after intact event blocks: no event was lost.
    package var tornEndBlock = false
    /// The file header's damage, when the blocks were found after a damaged header.
    package var headerDamage: HooktraceError?
    /// Where the first block starts, and where the last good event block ends.
    var blocksStart: UInt64 = 0
    var eventsEnd: UInt64 = 0
    var codec: Codec = .zstd
    /// For repair: offset and event count of every good event block, and the number of names.
    var index: [(offset: UInt64, events: UInt32)] = []
    var nameCount = 0

    /// Reads every block of `path`, checksums and decodes it, and reports.
    ///
    /// - Throws: only when the file cannot be read as a trace at all (missing, not a
    ///   trace, damaged header, newer version).
    package static func check(path: String) throws(HooktraceError) -> IntegrityReport {
        let reader = try TraceReader(path: path, recoverHeader: true)
        var report = IntegrityReport(path: path, fileSize: reader.fileSize, verdict: .intact)
        report.goodBytes = UInt64(reader.header.size)
        report.blocksStart = UInt64(reader.header.size)
        report.headerDamage = reader.headerDamage
        report.codec = reader.header.codec
        while true {
            let block: TraceBlock?
            do {
                block = try reader.readNextBlock()
            } catch {
                break
            }
            guard let block else { break }
            if block.header.kind == .end {
                report.closed = true
                report.goodBytes = reader.offset
                break
            }
            if let wrong = rangeProblem(block) {
                // Filters trust a frame's ranges to skip blocks: a wrong range hides events.
                report.verdict = .damaged
                report.problem = HooktraceError(.damaged, "block \(block.index) at byte \(block.offset): \(wrong); filters would skip its events. Run `hooktrace repair \(path)` to keep the blocks before it", file: path, offset: block.offset, block: block.index)
                report.index.removeAll { $0.offset >= block.offset }
                report.scanForLaterBlocks(after: block.offset)
                return report
            }
            report.goodBlocks += 1
            // Names of good blocks only: a damaged block's names section is read before its
            // payload fails, and a repaired trace must not count them.
            report.nameCount = reader.nameTable.count
            report.goodEvents += UInt64(block.header.eventCount)
            report.goodBytes = reader.offset
            report.eventsEnd = reader.offset
            report.index.append((block.offset, block.header.eventCount))
            if block.entries.contains(where: { if case .runEnd = $0.event { true } else { false } }) {
                report.runEnded = true
            }
        }
        if report.eventsEnd == 0 { report.eventsEnd = report.blocksStart }
        switch reader.state {
        case .closed:
            report.verdict = .intact
        case .endedEarly, .reading:
            report.verdict = .endedEarly
        case .damaged(let error):
            report.verdict = .damaged
            report.problem = error
            if !report.closed {
                report.tornEndBlock = error.code == .truncated && report.endBlockStarts(at: report.goodBytes)
                if !report.tornEndBlock { report.scanForLaterBlocks(after: error.offset ?? report.goodBytes) }
            }
        }
        // A damaged header is damage even when every block after it reads back.
        if let damage = report.headerDamage, report.verdict != .damaged {
            report.verdict = .damaged
            report.problem = damage
        }
        return report
    }

    /// What is wrong with `block`'s epoch and iteration ranges, which must be exactly those of
    /// the calls its events belong to (min > max when none does), or nil.
    private static func rangeProblem(_ block: TraceBlock) -> String? {
        var epochMin = UInt32.max, epochMax: UInt32 = 0, iterMin = UInt64.max, iterMax: UInt64 = 0
        for entry in block.entries {
            var call = entry.context
            if call == nil, case .call(let c) = entry.event { call = c }
            guard let c = call else { continue }
            let e = UInt32(clamping: c.epoch), i = UInt64(clamping: c.iter)
            epochMin = min(epochMin, e)
            epochMax = max(epochMax, e)
            iterMin = min(iterMin, i)
            iterMax = max(iterMax, i)
        }
        let h = block.header
        guard h.epochMin == epochMin, h.epochMax == epochMax, h.iterMin == iterMin, h.iterMax == iterMax else {
            return "its frame says epochs \(h.epochMin)…\(h.epochMax), iterations \(h.iterMin)…\(h.iterMax), but its events belong to epochs \(epochMin)…\(epochMax), iterations \(iterMin)…\(iterMax)"
        }
        return nil
    }

    /// Whether the bytes at `offset` start an end block (its magic and kind byte): a writer
    /// killed while closing the trace tore its end marker, and no event was lost.
    private func endBlockStarts(at offset: UInt64) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { _ = close(fd) }
        var head = [UInt8](repeating: 0, count: 5)
        guard preadFully(fd, &head, offset) == 5 else { return false }
        return head == [0x48, 0x54, 0x42, 0x4B, BlockKind.end.rawValue]
    }

    /// Looks for intact block headers after the damage, to say what was lost.
    private mutating func scanForLaterBlocks(after damage: UInt64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { _ = close(fd) }
        var position = damage + 1
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize + TraceFormat.blockHeaderSize)
        var lastKnown: UInt64?
        while position + UInt64(TraceFormat.blockHeaderSize) <= fileSize {
            let n = preadFully(fd, &chunk, position)
            if n < TraceFormat.blockHeaderSize { break }
            var advanced = false
            chunk.withUnsafeBytes { buf in
                var i = 0
                while i + TraceFormat.blockHeaderSize <= n {
                    if buf[i] == 0x48, buf[i + 1] == 0x54, buf[i + 2] == 0x42, buf[i + 3] == 0x4B,
                       let header = try? BlockHeader.parse(UnsafeRawBufferPointer(rebasing: buf[i..<(i + TraceFormat.blockHeaderSize)])),
                       position + UInt64(i) + UInt64(header.frameSize) <= fileSize {
                        // Only a header whose sequence numbers could follow the good part says
                        // what was lost (a forged one may claim anything, up to 2^64 − 1).
                        let (end, overflow) = header.firstSequence.addingReportingOverflow(UInt64(header.eventCount))
                        if header.kind == .events, header.eventCount > 0, !overflow, header.firstSequence >= goodEvents,
                           end <= UInt64(Int64.max) {
                            laterBlocks.append((position + UInt64(i), header.firstSequence, header.eventCount))
                            lastKnown = end - 1
                        }
                        position += UInt64(i) + UInt64(header.frameSize)
                        advanced = true
                        return
                    }
                    i += 1
                }
                position += UInt64(max(1, n - TraceFormat.blockHeaderSize + 1))
            }
            _ = advanced
        }
        if let lastKnown, lastKnown >= goodEvents {
            lostSequences = goodEvents...lastKnown
        }
    }

    /// The events that cannot be read back: everything from ``goodEvents`` on.
    package var lostEventsDescription: String {
        if headerDamage != nil && problem == headerDamage {
            return "nothing (only the file header is damaged; every block after it is intact and `hooktrace repair` rebuilds the header)"
        }
        if tornEndBlock {
            return "nothing (the end marker is torn: the writer was stopped while closing the trace; every event is intact)"
        }
        if let lostSequences {
            return "events \(lostSequences.lowerBound)…\(lostSequences.upperBound) (\(lostSequences.upperBound - lostSequences.lowerBound + 1) known) and any after them"
        }
        return "events from \(goodEvents) on (how many is unknown: no intact block follows)"
    }
}

/// What `hooktrace repair` did.
package struct RepairResult: Sendable {
    package var output: String
    package var backup: String?
    package var keptBlocks: Int
    package var keptEvents: UInt64
    package var droppedBytes: UInt64
}

package enum TraceRepair {
    /// Writes the intact prefix of `path` plus an end block to `output` (or, when nil,
    /// replaces `path` after moving the original to `path + ".bak"`).
    ///
    /// Never destroys the only copy: the new file is written to a temporary name first
    /// and renamed into place; in-place repair keeps the original as a backup.
    /// - Returns: nil when the trace needs no repair.
    package static func repair(path: String, output: String?, report given: IntegrityReport? = nil) throws(HooktraceError) -> RepairResult? {
        let report: IntegrityReport
        if let given { report = given } else { report = try IntegrityReport.check(path: path) }
        if report.verdict == .intact { return nil }
        // In place: the repaired copy is renamed over the trace once the original is linked
        // to a backup name that was free (an older backup is never overwritten).
        let out = output == nil ? try OutputPath(path) : try OutputPath(output!, inputs: [path])
        let temporary = out.writePath
        let src = open(path, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else {
            out.discard()
            throw HooktraceError(.io, "cannot open the trace: \(systemError())", file: path)
        }
        defer { _ = close(src) }
        let dst = open(temporary, O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard dst >= 0 else {
            out.discard()
            throw HooktraceError(.io, "cannot create \(temporary): \(systemError()); choose another output with -o", file: path)
        }
        var ok = false
        defer {
            _ = close(dst)
            if !ok { out.discard() }
        }
        // The good part is copied as it is, unless the header must be rebuilt: then a new
        // header, the event blocks, and an end block whose index follows the blocks' new offsets.
        let rebuild = report.headerDamage != nil
        var shift: Int64 = 0
        var copyFrom: UInt64 = 0
        var copyTo = report.goodBytes
        if rebuild {
            let header = TraceHeader.encode(codec: report.codec, metadata: [("writer", "hooktrace \(hooktraceVersion) (header rebuilt by repair)")])
            try writeAll(dst, header, path: temporary)
            shift = Int64(header.count) - Int64(report.blocksStart)
            copyFrom = report.blocksStart
            copyTo = report.eventsEnd
        }
        var copied = copyFrom
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while copied < copyTo {
            let want = Int(min(UInt64(buffer.count), copyTo - copied))
            let n = buffer.withUnsafeMutableBytes { preadFully(src, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), copied) }
            guard n == want else { throw HooktraceError(.io, "cannot read the trace at byte \(copied)", file: path, offset: copied) }
            try writeAll(dst, Array(buffer[0..<n]), path: temporary)
            copied += UInt64(n)
        }
        if !report.closed || rebuild {
            var index: [(offset: UInt64, header: BlockHeader)] = []
            for entry in report.index {
                index.append((UInt64(Int64(entry.offset) + shift), BlockHeader(kind: .events, codec: .none, firstSequence: 0, eventCount: entry.events, firstNameID: 0, namesLength: 0, storedLength: 0, rawLength: 0, bodyCRC: 0, epochMin: 0, epochMax: 0, iterMin: 0, iterMax: 0)))
            }
            try writeAll(dst, endBlock(events: report.goodEvents, names: UInt32(report.nameCount), index: index), path: temporary)
        }
        guard fsync(dst) == 0 || out.isDirect else { throw HooktraceError(.io, "cannot sync \(temporary): \(systemError())", file: path) }
        var backup: String?
        if output == nil {
            backup = try keepBackup(of: path)
        }
        do {
            try out.commit()
        } catch {
            throw HooktraceError(error.code, error.message + (backup.map { "; the original is at \($0)" } ?? ""), file: path)
        }
        ok = true
        let target = output ?? path
        return RepairResult(output: target, backup: backup, keptBlocks: report.goodBlocks, keptEvents: report.goodEvents,
                            droppedBytes: report.fileSize - report.goodBytes)
    }

    /// Links `path` to the first free name of `path.bak`, `path.bak.1`, `path.bak.2`, …
    /// (`link` fails rather than replace an existing file).
    private static func keepBackup(of path: String) throws(HooktraceError) -> String {
        for n in 0..<1000 {
            let name = n == 0 ? path + ".bak" : path + ".bak.\(n)"
            if link(path, name) == 0 { return name }
            guard errno == EEXIST else {
                throw HooktraceError(.io, "cannot keep a backup at \(name): \(systemError()); nothing was changed (repair with -o NEW instead)", file: path)
            }
        }
        throw HooktraceError(.io, "\(path).bak … .bak.999 all exist; remove old backups or repair with -o NEW; nothing was changed", file: path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(HooktraceError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HooktraceError(.io, "cannot write: \(systemError())", file: path)
            }
            done += n
        }
    }
}
