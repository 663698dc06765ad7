/// Growable little-endian byte sink used by the encoders.
///
/// Appends LEB128 varints, zigzag varints and fixed-width little-endian integers.
struct ByteSink {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        bytes.append(v)
    }

    @inline(__always)
    mutating func uvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func svarint(_ value: Int64) {
        uvarint(zigzag(value))
    }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func u32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    mutating func u64(_ v: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    mutating func append(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    mutating func append(utf8 s: String) {
        bytes.append(contentsOf: s.utf8)
    }
}

@inline(__always)
func zigzag(_ v: Int64) -> UInt64 {
    UInt64(bitPattern: (v << 1) ^ (v >> 63))
}

@inline(__always)
func unzigzag(_ v: UInt64) -> Int64 {
    Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
}

/// Why a bounds-checked read failed; turned into a ``HooktraceError`` with context by the caller.
enum DecodeFailure: Error {
    case shortInput
    case overlongVarint
    case invalid(String)
}

/// A bounds-checked reader over a byte buffer. Every read checks the remaining length.
struct ByteCursor {
    let base: UnsafeRawBufferPointer
    var position: Int

    init(_ base: UnsafeRawBufferPointer, position: Int = 0) {
        self.base = base
        self.position = position
    }

    var remaining: Int { base.count - position }
    var isAtEnd: Bool { position >= base.count }

    @inline(__always)
    mutating func u8() throws(DecodeFailure) -> UInt8 {
        guard position < base.count else { throw .shortInput }
        let v = base[position]
        position += 1
        return v
    }

    @inline(__always)
    mutating func uvarint() throws(DecodeFailure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < base.count else { throw .shortInput }
            let byte = base[position]
            position += 1
            if shift == 63 && byte > 1 { throw .overlongVarint }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .overlongVarint }
        }
    }

    @inline(__always)
    mutating func svarint() throws(DecodeFailure) -> Int64 {
        unzigzag(try uvarint())
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    @inline(__always)
    mutating func count(limit: Int) throws(DecodeFailure) -> Int {
        let v = try uvarint()
        guard v <= UInt64(limit) else { throw .invalid("count \(v) exceeds the limit of \(limit)") }
        return Int(v)
    }

    mutating func u16() throws(DecodeFailure) -> UInt16 {
        guard remaining >= 2 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt16.self)
        position += 2
        return UInt16(littleEndian: v)
    }

    mutating func u32() throws(DecodeFailure) -> UInt32 {
        guard remaining >= 4 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position += 4
        return UInt32(littleEndian: v)
    }

    mutating func u64() throws(DecodeFailure) -> UInt64 {
        guard remaining >= 8 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return UInt64(littleEndian: v)
    }

    mutating func bytes(_ n: Int) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw .shortInput }
        let slice = UnsafeRawBufferPointer(rebasing: base[position..<(position + n)])
        position += n
        return slice
    }
}
