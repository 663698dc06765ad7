/// The trace's interned strings: an insertion-ordered, open-addressing hash table.
///
/// Lookups hash the UTF-8 bytes with FNV-1a (deterministic, unlike `Hasher`) and
/// confirm with `==`, which is a pointer comparison when the same string storage is
/// passed again, as the runner and the reader do.
struct NameTable {
    private(set) var names: [String] = []
    private var slots: [Int32]
    private var mask: Int

    init() {
        slots = [Int32](repeating: -1, count: 256)
        mask = 255
    }

    var count: Int { names.count }

    @inline(__always)
    static func hash(_ s: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var s = s
        s.withUTF8 { bytes in
            for b in bytes {
                h = (h ^ UInt64(b)) &* 0x100_0000_01b3
            }
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The id of `s`, adding it when new. `isNew` tells which.
    @inline(__always)
    mutating func intern(_ s: String) -> (id: UInt32, isNew: Bool) {
        var i = NameTable.hash(s) & mask
        while true {
            let slot = slots[i]
            if slot < 0 { break }
            if names[Int(slot)] == s { return (UInt32(slot), false) }
            i = (i + 1) & mask
        }
        let id = names.count
        names.append(s)
        slots[i] = Int32(id)
        if names.count * 2 > slots.count { grow() }
        return (UInt32(id), true)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for (id, s) in names.enumerated() {
            var i = NameTable.hash(s) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(id)
        }
    }
}
