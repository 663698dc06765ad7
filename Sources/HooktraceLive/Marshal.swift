import HooktraceFormat
import HooktraceSim

/// A reader for the subset of Python's `marshal` format (version 4) that the recorder
/// shim sends: lists and tuples of ints, floats, strings, bytes, None and booleans.
///
/// marshal is CPython's own C serialiser: the shim hands whole batches to it instead of
/// formatting each message in Python, which is what keeps its cost per call_hook low.
package enum MarshalValue: Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([MarshalValue])
}

extension MarshalValue: CustomStringConvertible {
    /// Python's repr of the value (a list as the tuple the shim sent), for reports.
    package var description: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .float(let d): formatDouble(d)
        case .string(let s): "'" + s + "'"
        case .bytes(let b): "b'" + String(decoding: b.prefix(60), as: UTF8.self) + (b.count > 60 ? "…" : "") + "' (\(b.count) bytes)"
        case .list(let items): "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        }
    }
}

package struct MarshalReader {
    private var c: ByteCursor
    private var refs: [MarshalValue] = []

    package init(_ bytes: UnsafeRawBufferPointer) {
        c = ByteCursor(bytes)
    }

    package enum Failure: Error { case malformed(String) }

    package mutating func read() throws -> MarshalValue {
        let code = try c.u8()
        let flag = code & 0x80 != 0
        let type = code & 0x7F
        var slot = -1
        if flag {
            slot = refs.count
            refs.append(.none)
        }
        let value: MarshalValue
        switch type {
        case UInt8(ascii: "N"): value = .none
        case UInt8(ascii: "T"): value = .bool(true)
        case UInt8(ascii: "F"): value = .bool(false)
        case UInt8(ascii: "i"): value = .int(Int64(Int32(bitPattern: try c.u32())))
        case UInt8(ascii: "l"):
            let n = Int32(bitPattern: try c.u32())
            let count = Int(n.magnitude)
            guard count <= 8 else { throw Failure.malformed("integer too large") }
            var v: Int64 = 0
            for i in 0..<count {
                let digit = Int64(try c.u16())
                v |= digit << Int64(15 * i)
            }
            value = .int(n < 0 ? -v : v)
        case UInt8(ascii: "g"): value = .float(Double(bitPattern: try c.u64()))
        case UInt8(ascii: "z"), UInt8(ascii: "Z"):
            let n = Int(try c.u8())
            value = .string(String(decoding: try c.bytes(n), as: UTF8.self))
        case UInt8(ascii: "s"):
            let n = Int(try c.u32())
            value = .bytes(Array(try c.bytes(n)))
        case UInt8(ascii: "a"), UInt8(ascii: "A"), UInt8(ascii: "u"), UInt8(ascii: "t"):
            let n = Int(try c.u32())
            value = .string(String(decoding: try c.bytes(n), as: UTF8.self))
        case UInt8(ascii: ")"):
            let n = Int(try c.u8())
            value = .list(try items(n))
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let n = Int(try c.u32())
            guard n <= c.remaining else { throw Failure.malformed("list longer than the data") }
            value = .list(try items(n))
        case UInt8(ascii: "r"):
            let i = Int(try c.u32())
            guard i < refs.count else { throw Failure.malformed("bad reference") }
            value = refs[i]
        default:
            throw Failure.malformed("unsupported marshal type \(type)")
        }
        if slot >= 0 { refs[slot] = value }
        return value
    }

    private mutating func items(_ n: Int) throws -> [MarshalValue] {
        var out: [MarshalValue] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try read()) }
        return out
    }
}
