/// Growable little-endian byte sink used by the encoders.
///
/// Appends LEB128 varints, zigzag varints and fixed-width little-endian integers into
/// memory it owns (non-copyable, so there is no copy-on-write check per byte).
struct ByteSink: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    mutating func reset() {
        count = 0
    }

    /// Makes room for `n` more bytes. The `…Unchecked` writes that follow, `n` bytes in
    /// all, then need no check of their own (an event's fixed-size fields reserve once).
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// A copy of the bytes written so far.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the bytes written so far, without copying.
    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        reserve(1)
        u8Unchecked(v)
    }

    @inline(__always)
    mutating func u8Unchecked(_ v: UInt8) {
        base[count] = v
        count += 1
    }

    @inline(__always)
    mutating func uvarint(_ value: UInt64) {
        reserve(10)
        uvarintUnchecked(value)
    }

    /// At most 10 bytes.
    @inline(__always)
    mutating func uvarintUnchecked(_ value: UInt64) {
        var v = value
        var i = count
        while v >= 0x80 {
            base[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        base[i] = UInt8(truncatingIfNeeded: v)
        count = i + 1
    }

    @inline(__always)
    mutating func svarint(_ value: Int64) {
        uvarint(zigzag(value))
    }

    mutating func u16(_ v: UInt16) {
        littleEndian(UInt64(v), 2)
    }

    mutating func u32(_ v: UInt32) {
        littleEndian(UInt64(v), 4)
    }

    mutating func u64(_ v: UInt64) {
        littleEndian(v, 8)
    }

    /// The low `n` bytes of `v`, least significant first.
    @inline(__always)
    mutating func littleEndian(_ v: UInt64, _ n: Int) {
        reserve(8)
        littleEndianUnchecked(v, n)
    }

    /// Needs 8 bytes of room: one 8-byte store; the bytes past the n kept lie beyond
    /// `count` and are overwritten by what comes next (or never read).
    @inline(__always)
    mutating func littleEndianUnchecked(_ v: UInt64, _ n: Int) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.littleEndian, as: UInt64.self)
        count += n
    }

    mutating func append(_ other: [UInt8]) {
        other.withUnsafeBytes { append($0) }
    }

    mutating func append(_ other: UnsafeRawBufferPointer) {
        guard other.count > 0 else { return }
        reserve(other.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: other.baseAddress!, byteCount: other.count)
        count += other.count
    }

    mutating func append(utf8 s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}

/// Bytes of `value` as a varint (1 … 10).
@inline(__always)
func varintLength(_ value: UInt64) -> Int {
    (64 - (value | 1).leadingZeroBitCount + 6) / 7
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
package enum DecodeFailure: Error {
    case shortInput
    case overlongVarint
    case invalid(String)
}

/// A bounds-checked reader over a byte buffer. Every read checks the remaining length.
package struct ByteCursor {
    let base: UnsafeRawBufferPointer
    var position: Int

    package init(_ base: UnsafeRawBufferPointer, position: Int = 0) {
        self.base = base
        self.position = position
    }

    package var remaining: Int { base.count - position }
    var isAtEnd: Bool { position >= base.count }

    @inline(__always)
    package mutating func u8() throws(DecodeFailure) -> UInt8 {
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

    package mutating func u16() throws(DecodeFailure) -> UInt16 {
        guard remaining >= 2 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt16.self)
        position += 2
        return UInt16(littleEndian: v)
    }

    package mutating func u32() throws(DecodeFailure) -> UInt32 {
        guard remaining >= 4 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position += 4
        return UInt32(littleEndian: v)
    }

    package mutating func u64() throws(DecodeFailure) -> UInt64 {
        guard remaining >= 8 else { throw .shortInput }
        let v = base.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return UInt64(littleEndian: v)
    }

    package mutating func bytes(_ n: Int) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw .shortInput }
        let slice = UnsafeRawBufferPointer(rebasing: base[position..<(position + n)])
        position += n
        return slice
    }
}

extension Int64 {
    /// `self + other`, clamped to the representable range: totals of times read from an
    /// untrusted trace never trap.
    @inline(__always)
    package func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
