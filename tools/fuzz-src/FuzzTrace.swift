// libFuzzer target for hooktrace's trace reader, `check` and `repair`.
//
// Built by tools/fuzz together with HooktraceFormat's sources as one module (so it can use
// the format's internals), with `swiftc -sanitize=fuzzer,address`. Not part of the package.
//
// Each input is a trace file. The target reads it the ways the commands do (events, call
// groups as replay and diff read them, the summary of `info`, `check`), repairs it, and
// asserts what repair promises: its output is an intact trace holding exactly the events
// that `check` counted as good. Any trap, sanitizer report or failed assertion is a bug.
//
// The custom mutator keeps the checksums valid, so mutations reach past them: after
// libFuzzer's own mutation it recomputes the header's CRC and every block frame's header
// and body CRCs; one time in four it instead decodes one block's payload, mutates the raw
// events and stores them uncompressed, which exercises the event decoder directly.

#if canImport(Glibc)
import Glibc
#endif

private let directory: String = {
    var template = Array("/tmp/hooktrace-fuzz-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
    return String(cString: made)
}()
private let inputPath = directory + "/input.htrace"
private let repairedPath = directory + "/repaired.htrace"

private func writeInput(_ data: UnsafeRawBufferPointer, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write the fuzz input")
    var done = 0
    while done < data.count {
        let n = write(fd, data.baseAddress! + done, data.count - done)
        precondition(n > 0)
        done += n
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    writeInput(UnsafeRawBufferPointer(start: data, count: size), to: inputPath)
    exercise(inputPath)
    return 0
}

private func exercise(_ path: String) {
    // Every event, as show and export read them.
    var events = 0
    if let reader = try? TraceReader(path: path) {
        while let entry = try? reader.next() {
            events += 1
            _ = EventText.line(entry)
        }
    }
    // Call groups, as replay and diff read them (with the prefetching thread).
    if let reader = try? TraceReader(path: path) {
        let groups = CallGroupReader(reader: reader)
        while let g = groups.next() { _ = g.sequence }
    }
    _ = try? TraceSummary.read(path: path)
    guard let report = try? IntegrityReport.check(path: path) else { return }
    unlink(repairedPath)
    guard let result = try? TraceRepair.repair(path: path, output: repairedPath, report: report) else {
        precondition(report.verdict == .intact || !accessible(path), "repair refused a trace that check found \(report.verdict)")
        return
    }
    // What repair promises: an intact trace with exactly the good events.
    precondition(result.keptEvents == report.goodEvents, "repair kept \(result.keptEvents) events, check counted \(report.goodEvents)")
    guard let again = try? IntegrityReport.check(path: repairedPath) else {
        preconditionFailure("the repaired trace cannot be read")
    }
    precondition(again.verdict == .intact, "the repaired trace is \(again.verdict): \(again.problem?.message ?? "")")
    precondition(again.goodEvents == report.goodEvents, "the repaired trace holds \(again.goodEvents) events, expected \(report.goodEvents)")
}

private func accessible(_ path: String) -> Bool { access(path, R_OK) == 0 }

// MARK: The checksum-keeping mutator

@_silgen_name("LLVMFuzzerMutate")
private func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    var rng = SplitMix64(seed: UInt64(seed))
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if rng.next() % 4 == 0, let mutated = mutateOneBlockPayload(bytes, maxSize: maxSize, rng: &rng) {
        bytes = mutated
    } else {
        var buffer = bytes + [UInt8](repeating: 0, count: max(0, maxSize - size))
        let n = buffer.withUnsafeMutableBufferPointer { libFuzzerMutate($0.baseAddress!, size, maxSize) }
        bytes = Array(buffer[0..<n])
    }
    fixChecksums(&bytes)
    let n = min(bytes.count, maxSize)
    for i in 0..<n { data[i] = bytes[i] }
    return n
}

/// Where the blocks start: after the header's fixed part, its metadata and its CRC.
private func blocksStart(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= TraceFormat.fileHeaderFixedSize + 4 else { return nil }
    let metaLength = Int(bytes[16]) | Int(bytes[17]) << 8 | Int(bytes[18]) << 16 | Int(bytes[19]) << 24
    let end = TraceFormat.fileHeaderFixedSize + metaLength + 4
    return end <= bytes.count ? end : nil
}

private func putU32(_ v: UInt32, _ bytes: inout [UInt8], at i: Int) {
    for k in 0..<4 { bytes[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
}

private func u32(_ bytes: [UInt8], at i: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
}

/// Recomputes the header CRC and every frame's CRCs where the lengths fit in the file.
private func fixChecksums(_ bytes: inout [UInt8]) {
    guard let start = blocksStart(bytes) else { return }
    putU32(crc32(Array(bytes[0..<(start - 4)])), &bytes, at: start - 4)
    var at = start
    let h = TraceFormat.blockHeaderSize
    while at + h <= bytes.count, u32(bytes, at: at) == TraceFormat.blockMagic {
        let namesLength = Int(u32(bytes, at: at + 24)), storedLength = Int(u32(bytes, at: at + 28))
        let bodyEnd = at + h + namesLength + storedLength
        guard namesLength <= TraceFormat.maxNamesBytes, storedLength <= TraceFormat.maxPayloadBytes, bodyEnd <= bytes.count else {
            putU32(crc32(Array(bytes[at..<(at + 68)])), &bytes, at: at + 68)
            return
        }
        putU32(crc32(Array(bytes[(at + h)..<bodyEnd])), &bytes, at: at + 36)
        putU32(crc32(Array(bytes[at..<(at + 68)])), &bytes, at: at + 68)
        at = bodyEnd
    }
}

/// Decodes one block's payload, mutates the raw events and stores them uncompressed.
private func mutateOneBlockPayload(_ bytes: [UInt8], maxSize: Int, rng: inout SplitMix64) -> [UInt8]? {
    guard let start = blocksStart(bytes) else { return nil }
    var frames: [Int] = []
    var at = start
    let h = TraceFormat.blockHeaderSize
    while at + h <= bytes.count, u32(bytes, at: at) == TraceFormat.blockMagic {
        let end = at + h + Int(u32(bytes, at: at + 24)) + Int(u32(bytes, at: at + 28))
        guard end <= bytes.count else { break }
        frames.append(at)
        at = end
    }
    guard !frames.isEmpty else { return nil }
    let f = frames[Int(rng.next() % UInt64(frames.count))]
    let header = bytes.withUnsafeBytes { try? BlockHeader.parse(UnsafeRawBufferPointer(rebasing: $0[f..<(f + h)])) }
    guard let header, header.kind == .events else { return nil }
    let payloadStart = f + h + Int(header.namesLength)
    let stored = Array(bytes[payloadStart..<(payloadStart + Int(header.storedLength))])
    var raw = [UInt8](repeating: 0, count: Int(header.rawLength))
    let decompressor = Decompressor()
    let ok = stored.withUnsafeBytes { input in
        raw.withUnsafeMutableBytes { output in
            (try? decompressor.decompress(codec: header.codec, input, into: output)) != nil
        }
    }
    guard ok else { return nil }
    let room = max(raw.count, min(raw.count * 2 + 64, maxSize))
    var buffer = raw + [UInt8](repeating: 0, count: room - raw.count)
    let n = buffer.withUnsafeMutableBufferPointer { libFuzzerMutate($0.baseAddress!, raw.count, room) }
    let newRaw = Array(buffer[0..<n])
    var newHeader = header
    newHeader.codec = .none
    newHeader.storedLength = UInt32(newRaw.count)
    newHeader.rawLength = UInt32(newRaw.count)
    var frame = ByteSink()
    newHeader.encode(into: &frame)
    let names = Array(bytes[(f + h)..<payloadStart])
    let tail = Array(bytes[(payloadStart + Int(header.storedLength))...])
    return Array(bytes[0..<f]) + frame.bytes + names + newRaw + tail
}
