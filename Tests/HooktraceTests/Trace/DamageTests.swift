import Glibc
@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

/// A small trace with many blocks, and the byte offsets where its blocks end.
private func multiBlockTrace(_ dir: TemporaryDirectory, codec: Codec = .zstd) throws -> (events: [Event], bytes: [UInt8], blockEnds: [Int]) {
    var g = RandomEvents(seed: 5)
    let events = g.stream(count: 400)
    var o = TraceWriter.Options()
    o.codec = codec
    o.blockEvents = 37
    let bytes = try writeTrace(events, to: dir.file("good"), options: o)
    let reader = try TraceReader(path: dir.file("good"))
    var ends: [Int] = []
    while let block = try reader.readNextBlock() {
        ends.append(Int(block.offset) + block.header.frameSize)
    }
    return (events, bytes, ends)
}

/// Reads what it can; returns the events read and the error that stopped it, if any.
private func readWhatYouCan(_ path: String) -> (events: [Event], error: HooktraceError?) {
    var events: [Event] = []
    do throws(HooktraceError) {
        let reader = try TraceReader(path: path)
        while let entry = try reader.next() { events.append(entry.event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

@Suite("Torn, damaged and hostile traces")
struct DamageTests {
    @Test("every truncation point reads back all complete blocks and reports the tail")
    func everyTruncation() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (events, bytes, ends) = try multiBlockTrace(dir)
        let headerSize = try TraceReader(path: dir.file("good")).header.size
        let eventBlockEnds = Array(ends.dropLast())  // the last frame is the end block
        var counts: [Int] = []
        let reader = try TraceReader(path: dir.file("good"))
        while let b = try reader.readNextBlock(), b.header.kind == .events { counts.append(Int(b.header.eventCount)) }
        let path = dir.file("cut")
        for cut in 0..<bytes.count {
            try writeBytes(Array(bytes[0..<cut]), to: path)
            let (got, error) = readWhatYouCan(path)
            if cut < headerSize {
                #expect(error != nil, "cut \(cut): a header-less file must be refused")
                #expect(got.isEmpty)
                continue
            }
            let complete = eventBlockEnds.filter { $0 <= cut }.count
            let expected = counts.prefix(complete).reduce(0, +)
            #expect(got.count == expected, "cut at \(cut)")
            #expect(identical(got, Array(events.prefix(expected))), "cut at \(cut)")
            let atBoundary = cut == headerSize || eventBlockEnds.contains(cut)
            if atBoundary {
                #expect(error == nil, "cut \(cut) at a block boundary is a clean early end")
            } else {
                #expect(error?.code == .truncated, "cut \(cut): \(String(describing: error))")
                #expect(error?.offset == UInt64(eventBlockEnds.last(where: { $0 <= cut }) ?? headerSize))
            }
        }
    }

    @Test("every single-bit flip is detected and never crashes", arguments: [Codec.zstd, .zlib, .none])
    func everyBitFlip(codec: Codec) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var g = RandomEvents(seed: 11)
        let events = g.stream(count: 60)
        var o = TraceWriter.Options()
        o.codec = codec
        o.blockEvents = 25
        let bytes = try writeTrace(events, to: dir.file("good"), options: o)
        let path = dir.file("flip")
        var rng = SplitMix64(seed: UInt64(codec.rawValue))
        // Every byte, one random bit each (all bits for the first 64 bytes: the header).
        for offset in 0..<bytes.count {
            let bits = offset < 64 ? Array(0..<8) : [Int(rng.next() % 8)]
            for bit in bits {
                var damaged = bytes
                damaged[offset] ^= UInt8(1 << bit)
                try writeBytes(damaged, to: path)
                let (got, error) = readWhatYouCan(path)
                let report = try? IntegrityReport.check(path: path)
                #expect(error != nil || report?.verdict == .damaged,
                        "flip of bit \(bit) at byte \(offset) went unnoticed")
                #expect(identical(got, Array(events.prefix(got.count))), "flip at \(offset) produced wrong events")
            }
        }
    }

    @Test("random multi-byte damage never crashes or returns wrong events")
    func randomGarbage() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (events, bytes, _) = try multiBlockTrace(dir)
        var rng = SplitMix64(seed: 2024)
        let path = dir.file("garbage")
        for _ in 0..<300 {
            var damaged = bytes
            let start = Int(rng.next() % UInt64(bytes.count))
            let length = 1 + Int(rng.next() % 64)
            for i in start..<min(bytes.count, start + length) { damaged[i] = UInt8(truncatingIfNeeded: rng.next()) }
            try writeBytes(damaged, to: path)
            let (got, _) = readWhatYouCan(path)
            #expect(identical(got, Array(events.prefix(got.count))))
            _ = try? IntegrityReport.check(path: path)
        }
    }

    @Test("files that are not traces are refused with a clear message")
    func notATrace() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeBytes(Array("{\"mode\": \"train\"}\n".utf8), to: dir.file("log.json"))
        #expect {
            try TraceReader(path: dir.file("log.json"))
        } throws: { error in
            let e = error as? HooktraceError
            return e?.code == .notATrace && e?.message.contains("not a hooktrace trace") == true
        }
        #expect {
            try TraceReader(path: dir.file("missing.htrace"))
        } throws: { error in
            (error as? HooktraceError)?.code == .io && "\(error)".contains("no such file")
        }
        #expect(throws: HooktraceError.self) { try TraceReader(path: dir.path) }
        try writeBytes([], to: dir.file("empty"))
        #expect(throws: HooktraceError.self) { try TraceReader(path: dir.file("empty")) }
    }

    @Test("a newer format version is refused, naming the versions")
    func newerVersion() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var bytes = try writeTrace(everyKind, to: dir.file("t"))
        bytes[8] = 3  // major version 3.0
        bytes[10] = 0
        let size = TraceHeader.encode(codec: .zstd, metadata: TraceWriter.Options().metadata).count
        let crc = crc32(Array(bytes[0..<(size - 4)]))
        for i in 0..<4 { bytes[size - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try writeBytes(bytes, to: dir.file("v3"))
        #expect {
            try TraceReader(path: dir.file("v3"))
        } throws: { error in
            let e = error as? HooktraceError
            return e?.code == .unsupportedVersion && e?.message.contains("3.0") == true && e?.message.contains("upgrade") == true
        }
    }

    /// Builds a trace whose one block has the given header fields and body, with valid checksums.
    private func craft(_ dir: TemporaryDirectory, names: [UInt8] = [], stored: [UInt8], raw: UInt32, codec: Codec,
                       events: UInt32, firstNameID: UInt32 = 0, layout: PayloadLayout = .records,
                       epochs: (UInt32, UInt32) = (.max, 0), iters: (UInt64, UInt64) = (.max, 0)) throws -> String {
        var file = TraceHeader.encode(codec: codec, metadata: [])
        let header = BlockHeader(
            kind: .events, codec: codec, firstSequence: 0, eventCount: events, firstNameID: firstNameID,
            namesLength: UInt32(names.count), storedLength: UInt32(stored.count), rawLength: raw,
            bodyCRC: crc32(stored, continuing: crc32(names)), epochMin: epochs.0, epochMax: epochs.1,
            iterMin: iters.0, iterMax: iters.1, layout: layout)
        var sink = ByteSink()
        header.encode(into: &sink)
        file += sink.bytes + names + stored
        let path = dir.file("crafted-\(file.count)-\(raw)")
        try writeBytes(file, to: path)
        return path
    }

    @Test("split payloads (format 2): the value section is read in record order; a records length past the end, value bytes missing or left over, and an unknown layout are damage")
    func splitLayout() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var names = ByteSink()
        names.uvarint(2)
        names.uvarint(10)
        names.append(utf8: "before_run")
        names.uvarint(4)
        names.append(utf8: "loss")
        // A call at time 5 (Δtime zigzag 10, in the values) and a loss of 0.5 with its eight
        // middle bytes in the values; control byte and everything else in the records.
        let records: [UInt8] = [Tag.call, 0, 0, 0, 0, 0, Tag.observe, 0, 1, ScalarTag.double, 0x00]
        let values: [UInt8] = [10] + withUnsafeBytes(of: (0.5).bitPattern.littleEndian) { Array($0) }
        func payload(_ records: [UInt8], _ values: [UInt8], length: Int? = nil) -> [UInt8] {
            var head = ByteSink()
            head.uvarint(UInt64(length ?? records.count))
            return head.bytes + records + values
        }
        func crafted(_ bytes: [UInt8], layout: PayloadLayout = .split) throws -> String {
            try craft(dir, names: names.bytes, stored: bytes, raw: UInt32(bytes.count), codec: .none, events: 2,
                      layout: layout, epochs: (0, 0), iters: (0, 0))
        }
        let good = try readTrace(try crafted(payload(records, values)))
        #expect(good.map(\.event) == [.call(Call(stage: "before_run", epoch: 0, iter: 0, innerIter: 0, mode: .none, time: 5)),
                                      .observe(Observation(kind: .logVar, name: "loss", value: .double(0.5)))])
        // The same records read as format 1 lack their values: damage, not other numbers.
        let (_, asRecords) = readWhatYouCan(try crafted(payload(records, values), layout: .records))
        #expect(asRecords?.code == .damaged)
        let cases: [(String, [UInt8], String)] = [
            ("length past the end", payload(records, values, length: records.count + values.count + 1), "runs past"),
            ("a value byte left over", payload(records, values + [0]), "not used"),
            ("a value byte missing", payload(records, Array(values.dropLast())), "value section ends early"),
            ("no value section", payload(records, []), "value section ends early"),
        ]
        for (what, bytes, message) in cases {
            // (A streaming reader has handed out what it decoded before the damage showed.)
            let (_, error) = readWhatYouCan(try crafted(bytes))
            #expect(error?.code == .damaged && error?.message.contains(message) == true, "\(what): \(String(describing: error))")
            let report = try IntegrityReport.check(path: try crafted(bytes))
            #expect(report.verdict == .damaged && report.goodEvents == 0, "\(what)")
        }
        // An unknown layout byte is refused as a newer or foreign writer's.
        var file = try readFileBytes(try crafted(payload(records, values)))
        let frame = TraceHeader.encode(codec: .none, metadata: []).count
        file[frame + 6] = 2
        let crc = crc32(Array(file[frame..<(frame + 68)]))
        for i in 0..<4 { file[frame + 68 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try writeBytes(file, to: dir.file("layout2"))
        let (_, unknown) = readWhatYouCan(dir.file("layout2"))
        #expect(unknown?.code == .damaged && unknown?.message.contains("unknown payload layout 2") == true, "\(String(describing: unknown))")
    }

    @Test("a written block is split: its frame says so, and its payload is the records' length, the records, the values")
    func writtenBlocksAreSplit() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var o = TraceWriter.Options()
        o.codec = .none
        let bytes = try writeTrace(everyKind, to: dir.file("t"), options: o)
        let start = TraceHeader.encode(codec: .none, metadata: TraceWriter.Options().metadata).count
        let header = try bytes.withUnsafeBytes { try BlockHeader.parse(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        #expect(header.layout == .split && bytes[start + 6] == 1 && bytes[start + 7] == 0)
        let payloadStart = start + TraceFormat.blockHeaderSize + Int(header.namesLength)
        let payload = Array(bytes[payloadStart..<(payloadStart + Int(header.rawLength))])
        let length = try payload.withUnsafeBytes { raw in
            var c = ByteCursor(raw)
            let n = try c.uvarint()
            return (c.position, Int(n))
        }
        let valueBytes = payload.count - length.0 - length.1
        // Doubles' middle bytes and the calls' Δtime: 0.5, 0.374 (twice, other keys), 0.02, 0.85, …
        #expect(valueBytes > 8 * 5 && length.1 > 0)
        #expect(try readTrace(dir.file("t")).map(\.event) == everyKind)
    }

    @Test("hostile lengths are rejected before allocating")
    func hostileLengths() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Raw length of 4 GiB - 1: over the 64 MiB cap.
        let huge = try craft(dir, stored: [0x01], raw: .max, codec: .zstd, events: 1)
        let (_, e1) = readWhatYouCan(huge)
        #expect(e1?.code == .damaged && e1?.message.contains("exceeds") == true, "\(String(describing: e1))")
        // A names section claiming 2^60 names.
        var names = ByteSink()
        names.uvarint(1 << 60)
        let manyNames = try craft(dir, names: names.bytes, stored: [], raw: 0, codec: .none, events: 0)
        let (_, e2) = readWhatYouCan(manyNames)
        #expect(e2?.code == .damaged, "\(String(describing: e2))")
        // A field list claiming 2^40 fields inside a log effect.
        var nameSection = ByteSink()
        nameSection.uvarint(1)
        nameSection.uvarint(1)
        nameSection.u8(0x68)
        let payload: [UInt8] = [Tag.log, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]
        let manyFields = try craft(dir, names: nameSection.bytes, stored: payload, raw: UInt32(payload.count), codec: .none, events: 1)
        let (_, e3) = readWhatYouCan(manyFields)
        #expect(e3?.code == .damaged, "\(String(describing: e3))")
        // More events claimed than bytes could hold.
        let tooMany = try craft(dir, stored: [Tag.call], raw: 1, codec: .none, events: 5)
        let (_, e4) = readWhatYouCan(tooMany)
        #expect(e4?.code == .damaged)
        // A name id that was never defined.
        let undefined = try craft(dir, stored: [Tag.call, 0x05, 0, 0, 0, 0, 1], raw: 7, codec: .none, events: 1)
        let (_, e5) = readWhatYouCan(undefined)
        #expect(e5?.code == .damaged && e5?.message.contains("not defined") == true, "\(String(describing: e5))")
        // An unknown event tag below the extension range.
        let unknown = try craft(dir, stored: [0x7F], raw: 1, codec: .none, events: 1)
        let (_, e6) = readWhatYouCan(unknown)
        #expect(e6?.message.contains("newer hooktrace") == true, "\(String(describing: e6))")
    }

    @Test("a decompression bomb is rejected: output is bounded by the declared size", arguments: [Codec.zstd, .zlib])
    func decompressionBomb(codec: Codec) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // 32 MiB of zeros compress to a few KiB; the block declares only 100 bytes.
        let zeros = [UInt8](repeating: 0, count: 32 << 20)
        let compressor = try Compressor(codec: codec, level: codec.defaultLevel)
        let bomb = try compressor.compress(zeros)
        #expect(bomb.count < 64 << 10)
        let path = try craft(dir, stored: bomb, raw: 100, codec: codec, events: 1)
        let (got, error) = readWhatYouCan(path)
        #expect(got.isEmpty)
        #expect(error?.code == .damaged && error?.message.contains("decompress") == true, "\(String(describing: error))")
    }

    @Test("unknown extension records (tags 0x80+) are skipped")
    func extensionsSkipped() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var names = ByteSink()
        names.uvarint(1)
        names.uvarint(10)
        names.append(utf8: "before_run")
        // An extension record of 3 bytes, then a call, then another extension of 0 bytes.
        let payload: [UInt8] = [0x90, 3, 9, 9, 9, Tag.call, 0, 0, 0, 0, 0, 0, 0xFF, 0]
        let path = try craft(dir, names: names.bytes, stored: payload, raw: UInt32(payload.count), codec: .none, events: 1)
        let entries = try readTrace(path)
        #expect(entries.count == 1)
        #expect(entries.first?.event == .call(Call(stage: "before_run", epoch: 0, iter: 0, innerIter: 0, mode: .none, time: 0)))
    }

    @Test("check and repair survive a forged later header with first sequence 2^64 − 1 after damage")
    func forgedLaterHeader() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, bytes, ends) = try multiBlockTrace(dir)
        // Damage the second block's body, then forge an intact-looking header after it.
        var damaged = Array(bytes[0..<ends[1]])
        damaged[ends[0] + TraceFormat.blockHeaderSize + 3] ^= 0xFF
        let forged = BlockHeader(kind: .events, codec: .none, firstSequence: .max, eventCount: 5, firstNameID: 0,
                                 namesLength: 0, storedLength: 0, rawLength: 0, bodyCRC: 0,
                                 epochMin: 0, epochMax: 0, iterMin: 0, iterMax: 0)
        var out = ByteSink()
        forged.encode(into: &out)
        damaged += out.bytes
        let path = dir.file("forged")
        try writeBytes(damaged, to: path)
        let report = try IntegrityReport.check(path: path)
        #expect(report.verdict == .damaged)
        #expect(report.laterBlocks.isEmpty, "a header claiming sequence 2^64 − 1 cannot follow the good part")
        #expect(report.lostEventsDescription.contains("from 37 on"))
        let repaired = try TraceRepair.repair(path: path, output: dir.file("fixed"))
        #expect(repaired?.keptEvents == 37)
    }

    @Test("a torn end marker loses nothing, and check says so")
    func tornEndMarker() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, bytes, ends) = try multiBlockTrace(dir)
        let lastEventBlockEnd = ends[ends.count - 2]
        let path = dir.file("torn")
        try writeBytes(Array(bytes[0..<(lastEventBlockEnd + 20)]), to: path)
        let report = try IntegrityReport.check(path: path)
        #expect(report.verdict == .damaged)
        #expect(report.goodEvents == 400)
        #expect(report.lostEventsDescription.hasPrefix("nothing"))
    }

    @Test("every single-bit flip in the file header is damage that repair undoes, keeping every event")
    func headerBitFlips() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (events, bytes, _) = try multiBlockTrace(dir)
        let headerSize = try TraceReader(path: dir.file("good")).header.size
        let path = dir.file("flipped")
        let fixed = dir.file("fixed")
        for bit in 0..<(headerSize * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            try writeBytes(damaged, to: path)
            let report = try IntegrityReport.check(path: path)
            #expect(report.verdict == .damaged, "bit \(bit)")
            #expect(report.headerDamage != nil, "bit \(bit)")
            #expect(report.goodEvents == 400, "bit \(bit)")
            unlink(fixed)
            let result = try TraceRepair.repair(path: path, output: fixed, report: report)
            #expect(result?.keptEvents == 400, "bit \(bit)")
            #expect(try IntegrityReport.check(path: fixed).verdict == .intact, "bit \(bit)")
            let (got, error) = readWhatYouCan(fixed)
            #expect(error == nil && identical(got, events), "bit \(bit)")
        }
    }

    /// A trace of blocks that define names and hold no events: `(count, length)` per block.
    private func namesOnlyTrace(_ blocks: [(count: Int, length: Int)], to path: String) throws {
        var out = ByteSink()
        out.append(TraceHeader.encode(codec: .none, metadata: []))
        var defined = 0
        for (count, length) in blocks {
            var names = ByteSink()
            names.uvarint(UInt64(count))
            let name = [UInt8](repeating: 0x61, count: length)
            for _ in 0..<count {
                names.uvarint(UInt64(length))
                names.append(name)
            }
            let header = BlockHeader(kind: .events, codec: .none, firstSequence: 0, eventCount: 0, firstNameID: UInt32(defined),
                                     namesLength: UInt32(names.count), storedLength: 0, rawLength: 0, bodyCRC: crc32(names.bytes),
                                     epochMin: .max, epochMax: 0, iterMin: .max, iterMax: 0)
            header.encode(into: &out)
            out.append(names.bytes)
            defined += count
        }
        try writeBytes(out.bytes, to: path)
    }

    @Test("the name table is bounded in count and bytes: a hostile trace is refused, not loaded")
    func nameTableLimits() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let many = dir.file("many")
        try namesOnlyTrace([(TraceFormat.maxTotalNames, 0), (1, 0)], to: many)
        let (_, error) = readWhatYouCan(many)
        #expect(error?.code == .limit && error?.message.contains("names") == true, "\(String(describing: error))")
        let big = dir.file("big")
        try namesOnlyTrace([(50, 1 << 20), (50, 1 << 20), (50, 1 << 20)], to: big)
        let (_, bigError) = readWhatYouCan(big)
        #expect(bigError?.code == .limit && bigError?.message.contains("MiB") == true, "\(String(describing: bigError))")
        let fine = dir.file("fine")
        try namesOnlyTrace([(1000, 3), (10, 5)], to: fine)
        let (_, none) = readWhatYouCan(fine)
        #expect(none == nil)
    }

    /// The file header and the frames of a trace, each frame as (offset, header, names, stored payload).
    private func frames(_ bytes: [UInt8], headerSize: Int) throws -> [(header: BlockHeader, names: [UInt8], stored: [UInt8])] {
        var out: [(BlockHeader, [UInt8], [UInt8])] = []
        var at = headerSize
        while at < bytes.count {
            let h = try bytes.withUnsafeBytes { try BlockHeader.parse(UnsafeRawBufferPointer(rebasing: $0[at..<(at + TraceFormat.blockHeaderSize)])) }
            let namesStart = at + TraceFormat.blockHeaderSize
            let storedStart = namesStart + Int(h.namesLength)
            out.append((h, Array(bytes[namesStart..<storedStart]), Array(bytes[storedStart..<(storedStart + Int(h.storedLength))])))
            at = storedStart + Int(h.storedLength)
        }
        return out
    }

    /// Reassembles a trace from its header bytes and frames, with fresh checksums.
    private func assemble(_ head: ArraySlice<UInt8>, _ frames: [(header: BlockHeader, names: [UInt8], stored: [UInt8])]) -> [UInt8] {
        var out = ByteSink()
        out.append(Array(head))
        for var f in frames {
            f.header.namesLength = UInt32(f.names.count)
            f.header.storedLength = UInt32(f.stored.count)
            f.header.bodyCRC = crc32(f.names + f.stored)
            f.header.encode(into: &out)
            out.append(f.names)
            out.append(f.stored)
        }
        return out.bytes
    }

    @Test("check verifies what FORMAT.md promises: block ranges, the end-block index, one frame per block, reserved fields")
    func structuralChecks() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for codec in [Codec.zstd, .zlib] {
            let (_, bytes, _) = try multiBlockTrace(dir, codec: codec)
            let headerSize = try TraceReader(path: dir.file("good")).header.size
            let head = bytes[0..<headerSize]
            let original = try frames(bytes, headerSize: headerSize)
            #expect(assemble(head, original) == bytes, "reassembly is exact")
            let path = dir.file("crafted")
            func verdict(_ f: [(header: BlockHeader, names: [UInt8], stored: [UInt8])]) throws -> IntegrityReport {
                try writeBytes(assemble(head, f), to: path)
                return try IntegrityReport.check(path: path)
            }
            // A lying range (valid checksums): filters would skip the block's events.
            var lying = original
            lying[2].header.epochMin += 1
            lying[2].header.epochMax += 1
            let r1 = try verdict(lying)
            #expect(r1.verdict == .damaged && r1.problem?.message.contains("filters would skip") == true, "\(codec)")
            #expect(r1.goodBlocks == 2)
            // An end-block index that does not list the blocks.
            var index = original
            let end = index.count - 1
            var body = ByteSink()
            body.uvarint(400)
            body.uvarint(UInt64(end))
            var prev: UInt64 = 0
            var at = UInt64(headerSize)
            for (k, f) in original.prefix(end).enumerated() {
                body.uvarint(at - prev)
                prev = at
                body.uvarint(UInt64(f.header.eventCount) + (k == 3 ? 1 : 0))
                at += UInt64(TraceFormat.blockHeaderSize) + UInt64(f.names.count + f.stored.count)
            }
            index[end].stored = body.bytes
            index[end].header.rawLength = UInt32(body.count)
            let r2 = try verdict(index)
            #expect(r2.verdict == .damaged && r2.problem?.message.contains("index") == true, "\(codec)")
            // Two frames (zstd) or bytes after the stream (zlib) in one block.
            var doubled = original
            let compressor = try Compressor(codec: codec, level: codec.defaultLevel)
            let k = try #require(original.firstIndex { $0.header.kind == .events && $0.header.codec == codec })
            doubled[k].stored += codec == .zstd ? try compressor.compress([]) : [1, 2, 3]
            let r3 = try verdict(doubled)
            #expect(r3.verdict == .damaged && r3.problem?.message.contains("after its") == true, "\(codec): \(String(describing: r3.problem))")
            // A reserved field that is not zero.
            let reserved = original
            var sink = ByteSink()
            reserved[1].header.encode(into: &sink)
            var raw = sink.bytes
            raw[64] = 1
            let crc = crc32(Array(raw[0..<68]))
            raw[68] = UInt8(crc & 0xFF); raw[69] = UInt8(crc >> 8 & 0xFF); raw[70] = UInt8(crc >> 16 & 0xFF); raw[71] = UInt8(crc >> 24)
            var crafted = Array(head)
            var sink0 = ByteSink()
            reserved[0].header.encode(into: &sink0)
            crafted += sink0.bytes + reserved[0].names + reserved[0].stored + raw + reserved[1].names + reserved[1].stored
            try writeBytes(crafted, to: path)
            let r4 = try IntegrityReport.check(path: path)
            #expect(r4.verdict == .damaged && r4.problem?.message.contains("reserved") == true, "\(codec)")
        }
    }

    @Test("the writer refuses a name longer than a reader accepts, keeping what it wrote")
    func writerNameLimit() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("long")
        let writer = try TraceWriter(path: path)
        try writer.append(.call(Call(stage: "before_run", epoch: 0, iter: 0, innerIter: 0, mode: .none, time: 0)))
        try writer.flush()
        let long = String(repeating: "x", count: TraceFormat.maxNameLength + 1)
        try writer.append(.effect(Effect(hook: "H", .note(long))))
        #expect {
            try writer.flush()
        } throws: { error in
            (error as? HooktraceError)?.code == .limit
        }
        // The first block went to the writer's background thread: wait for it, as any
        // reader of a file still being written must.
        _ = writer.bytesWritten
        let (events, error) = readWhatYouCan(path)
        #expect(error == nil && events.count == 1, "the block before the refused one reads back")
    }

    @Test("a recorded run's end: interrupted for SIGINT, SIGTERM and SIGHUP, failed for other signals and exit codes")
    func runEndStatus() {
        #expect(LiveRecorder.runEnd(exitCode: 0).status == .completed)
        #expect(LiveRecorder.runEnd(exitCode: 1).status == .failed)
        #expect(LiveRecorder.runEnd(exitCode: 128 + SIGINT).status == .interrupted)
        #expect(LiveRecorder.runEnd(exitCode: 128 + SIGTERM).status == .interrupted)
        #expect(LiveRecorder.runEnd(exitCode: 128 + SIGHUP).status == .interrupted)
        #expect(LiveRecorder.runEnd(exitCode: 128 + SIGKILL).status == .failed)
        #expect(LiveRecorder.runEnd(exitCode: 128 + SIGSEGV).message == "the command was killed by signal \(SIGSEGV)")
    }
}
