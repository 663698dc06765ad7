/// Fixed facts of the file format. `docs/FORMAT.md` is the normative description.
package enum TraceFormat {
    /// The 8 bytes every trace starts with.
    package static let magic: [UInt8] = [0x89, 0x48, 0x54, 0x52, 0x41, 0x43, 0x45, 0x0A]  // \x89 H T R A C E \n
    /// The format version this build writes and the newest it reads.
    package static let majorVersion: UInt16 = 2
    package static let minorVersion: UInt16 = 0
    /// The 4 bytes every block frame starts with: `HTBK`.
    package static let blockMagic: UInt32 = 0x4B42_5448
    /// Size of the fixed file header before the metadata.
    static let fileHeaderFixedSize = 20
    /// Size of a block frame header.
    package static let blockHeaderSize = 72

    /// Upper bounds a reader enforces on untrusted files.
    static let maxMetadataBytes = 1 << 20
    static let maxPayloadBytes = 64 << 20
    static let maxNamesBytes = 64 << 20
    static let maxNameLength = 16 << 20
    static let maxTotalNames = 1 << 22
    /// Bytes of all names of a trace together: the name table's memory is bounded by this,
    /// not by the file's size.
    static let maxTotalNameBytes = 128 << 20
    static let maxFieldsPerRecord = 1 << 16
    static let maxListLength = 1 << 20
    /// Largest iter / inner_iter a call may carry: sums and differences of counters never overflow.
    static let maxCounter: Int64 = 1 << 61
    /// Largest magnitude of a time (ns since the run started, ~73 years) and of a hook span's
    /// start and duration: a difference or a sum of two never overflows.
    static let maxTime: UInt64 = 1 << 61
}

/// The file header: magic, version, default codec and writer metadata.
public struct TraceHeader: Equatable, Sendable {
    /// The format's major version (readers refuse a newer one).
    public var majorVersion: UInt16
    /// The format's minor version (additions older readers skip).
    public var minorVersion: UInt16
    /// The codec the writer was asked to use (each block names its own).
    public var codec: Codec
    /// Free-form key/value metadata (writer, host, …). Not covered by the determinism guarantee.
    public var metadata: [(key: String, value: String)]
    /// Bytes the header occupies, including its checksum.
    public var size: Int

    /// Equal versions, codec and metadata.
    public static func == (a: TraceHeader, b: TraceHeader) -> Bool {
        a.majorVersion == b.majorVersion && a.minorVersion == b.minorVersion && a.codec == b.codec
            && a.metadata.elementsEqual(b.metadata, by: { $0 == $1 }) && a.size == b.size
    }

    static func encode(codec: Codec, metadata: [(key: String, value: String)]) -> [UInt8] {
        var meta = ByteSink()
        meta.uvarint(UInt64(metadata.count))
        for (k, v) in metadata {
            meta.uvarint(UInt64(k.utf8.count))
            meta.append(utf8: k)
            meta.uvarint(UInt64(v.utf8.count))
            meta.append(utf8: v)
        }
        var out = ByteSink(capacity: 32 + meta.count)
        out.append(TraceFormat.magic)
        out.u16(TraceFormat.majorVersion)
        out.u16(TraceFormat.minorVersion)
        out.u8(codec.rawValue)
        out.u8(0)
        out.u16(0)
        out.u32(UInt32(meta.count))
        out.append(meta.bytes)
        let crc = out.withUnsafeBytes { crc32($0) }
        out.u32(crc)
        return out.bytes
    }
}

/// What kind of block a frame holds.
package enum BlockKind: UInt8, Sendable {
    /// Encoded events.
    case events = 1
    /// The end marker written at close, with an index of the blocks before it.
    case end = 2
}

/// How an event block's payload is laid out (frame byte 6).
package enum PayloadLayout: UInt8, Sendable {
    /// Records only: every field in its record (format 1).
    case records = 0
    /// Varint length of the records, the records, then the value section: the middle
    /// bytes of doubles and the calls' Δtime, in record order (format 2).
    case split = 1
}

/// The 72-byte header of one block frame.
package struct BlockHeader: Equatable, Sendable {
    package var kind: BlockKind
    package var codec: Codec
    /// Sequence number of the block's first event.
    package var firstSequence: UInt64
    package var eventCount: UInt32
    /// Id of the first name defined in this block's names section.
    package var firstNameID: UInt32
    package var namesLength: UInt32
    package var storedLength: UInt32
    package var rawLength: UInt32
    /// CRC-32 of the names section followed by the stored payload.
    package var bodyCRC: UInt32
    /// Range of `epoch` over the calls that the block's events belong to; empty when min > max.
    package var epochMin: UInt32
    package var epochMax: UInt32
    package var iterMin: UInt64
    package var iterMax: UInt64
    /// The payload's layout; end blocks are always `.records`.
    package var layout: PayloadLayout = .records

    /// Whether any event of the block belongs to a call.
    package var hasCounters: Bool { epochMin <= epochMax }

    /// Total bytes of the frame: header, names and payload.
    package var frameSize: Int { TraceFormat.blockHeaderSize + Int(namesLength) + Int(storedLength) }

    func encode(into out: inout ByteSink) {
        let start = out.count
        out.u32(TraceFormat.blockMagic)
        out.u8(kind.rawValue)
        out.u8(codec.rawValue)
        out.u8(layout.rawValue)
        out.u8(0)
        out.u64(firstSequence)
        out.u32(eventCount)
        out.u32(firstNameID)
        out.u32(namesLength)
        out.u32(storedLength)
        out.u32(rawLength)
        out.u32(bodyCRC)
        out.u32(epochMin)
        out.u32(epochMax)
        out.u64(iterMin)
        out.u64(iterMax)
        out.u32(0)
        let crc = out.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        out.u32(crc)
    }

    enum ParseError: Error {
        case badMagic
        case badChecksum
        case unknownKind(UInt8)
        case unknownCodec(UInt8)
        case outOfBounds(String)
    }

    /// Parses and validates a 72-byte frame header.
    static func parse(_ raw: UnsafeRawBufferPointer) throws(ParseError) -> BlockHeader {
        precondition(raw.count >= TraceFormat.blockHeaderSize)
        var c = ByteCursor(raw)
        do {
            guard try c.u32() == TraceFormat.blockMagic else { throw ParseError.badMagic }
            let storedCRC = raw.loadUnaligned(fromByteOffset: 68, as: UInt32.self).littleEndian
            guard crc32(UnsafeRawBufferPointer(rebasing: raw[0..<68])) == storedCRC else { throw ParseError.badChecksum }
            let kindByte = try c.u8()
            let codecByte = try c.u8()
            let layoutByte = try c.u8()
            guard try c.u8() == 0, raw.loadUnaligned(fromByteOffset: 64, as: UInt32.self) == 0 else {
                throw ParseError.outOfBounds("a reserved field is not zero (written by a newer or a foreign writer)")
            }
            guard let kind = BlockKind(rawValue: kindByte) else { throw ParseError.unknownKind(kindByte) }
            guard let layout = PayloadLayout(rawValue: layoutByte), kind == .events || layout == .records else {
                throw ParseError.outOfBounds("unknown payload layout \(layoutByte) (written by a newer or a foreign writer)")
            }
            guard let codec = Codec(rawValue: codecByte) else { throw ParseError.unknownCodec(codecByte) }
            let header = BlockHeader(
                kind: kind, codec: codec,
                firstSequence: try c.u64(), eventCount: try c.u32(), firstNameID: try c.u32(),
                namesLength: try c.u32(), storedLength: try c.u32(), rawLength: try c.u32(),
                bodyCRC: try c.u32(), epochMin: try c.u32(), epochMax: try c.u32(),
                iterMin: try c.u64(), iterMax: try c.u64(), layout: layout)
            if header.namesLength > TraceFormat.maxNamesBytes {
                throw ParseError.outOfBounds("names section of \(header.namesLength) bytes exceeds \(TraceFormat.maxNamesBytes)")
            }
            if header.rawLength > TraceFormat.maxPayloadBytes || header.storedLength > TraceFormat.maxPayloadBytes {
                throw ParseError.outOfBounds("payload of \(max(header.rawLength, header.storedLength)) bytes exceeds \(TraceFormat.maxPayloadBytes)")
            }
            if header.eventCount > header.rawLength {
                throw ParseError.outOfBounds("\(header.eventCount) events cannot fit in \(header.rawLength) bytes")
            }
            if codec == .none && header.storedLength != header.rawLength {
                throw ParseError.outOfBounds("an uncompressed payload must store as many bytes as it holds")
            }
            return header
        } catch let e as ParseError {
            throw e
        } catch {
            throw ParseError.outOfBounds("header too short")
        }
    }
}

/// The end block: total events, then the index of event blocks (offset deltas and counts).
func endBlock(events: UInt64, names: UInt32, index: [(offset: UInt64, header: BlockHeader)]) -> [UInt8] {
    var body = ByteSink()
    body.uvarint(events)
    body.uvarint(UInt64(index.count))
    var prevOffset: UInt64 = 0
    for entry in index {
        body.uvarint(entry.offset - prevOffset)
        prevOffset = entry.offset
        body.uvarint(UInt64(entry.header.eventCount))
    }
    let header = BlockHeader(
        kind: .end, codec: .none, firstSequence: events, eventCount: 0, firstNameID: names,
        namesLength: 0, storedLength: UInt32(body.count), rawLength: UInt32(body.count),
        bodyCRC: crc32(body.bytes), epochMin: .max, epochMax: 0, iterMin: .max, iterMax: 0)
    var out = ByteSink()
    header.encode(into: &out)
    out.append(body.bytes)
    return out.bytes
}
