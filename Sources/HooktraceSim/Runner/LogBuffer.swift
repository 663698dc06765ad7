import HooktraceFormat

/// mmcv's `LogBuffer`: per-key histories of (value, count) and their averages.
///
/// The histories are kept as one list of updates in arrival order (each tagged with its
/// key); an average walks back from the newest update, so its cost is the entries it
/// reads, and the storage is reused from one `clear()` to the next.
///
/// Keys keep their insertion order. Averages use numpy's pairwise summation so that the
/// numbers match what mmcv logs to the last bit.
package struct LogBuffer: ~Copyable {
    /// The run's names: history keys are its symbols.
    private let symbols: SymbolTable
    /// The keys, in insertion order, as symbols and as names (for the output).
    private var historySymbols: [UInt32] = []
    private var historyKeys: [String] = []
    /// Every update since the last `clear()`, in order, and each key's number of them:
    /// memory of the buffer's own (it is not copyable), reused from epoch to epoch, so
    /// an update is two stores (arrays checked their uniqueness twice per update, and
    /// per-key arrays were re-grown every epoch: a third of a recording's page faults).
    private var entries: UnsafeMutablePointer<Entry>
    private var entryCount = 0
    private var entryCapacity = 0
    private var keyCounts: UnsafeMutablePointer<Int>
    private var keyCapacity = 0
    /// 16 bytes: an epoch of a long run logs about a million of them.
    private struct Entry {
        var value: Double
        var count: Int32
        var key: Int32
    }
    /// Scratch of `average`: the products it sums, grouped by key.
    private var products: [Double] = []
    /// `log_buffer.output`, in insertion order.
    package private(set) var output: [(key: String, value: Scalar)] = []
    package var ready = false

    /// An empty buffer whose keys are symbols of `symbols`.
    package init(symbols: SymbolTable) {
        self.symbols = symbols
        entries = .allocate(capacity: 0)
        keyCounts = .allocate(capacity: 0)
    }

    deinit {
        entries.deallocate()
        keyCounts.deallocate()
    }

    /// Where the next update's key probably is: keys come in the same order every step.
    private var hint = 0

    /// `update({key: value}, count)` for the key with symbol `key`.
    package mutating func update(_ key: UInt32, _ value: Double, count: Int = 1) {
        var i = hint
        if !(i < historySymbols.count && historySymbols[i] == key) {
            if let found = historySymbols.firstIndex(of: key) {
                i = found
            } else {
                i = newKey(key)
            }
        }
        if entryCount == entryCapacity { growEntries() }
        (entries + entryCount).initialize(to: Entry(value: value, count: Int32(clamping: count), key: Int32(i)))
        entryCount += 1
        keyCounts[i] += 1
        hint = i + 1 == historySymbols.count ? 0 : i + 1
    }

    private mutating func newKey(_ key: UInt32) -> Int {
        let i = historySymbols.count
        historySymbols.append(key)
        historyKeys.append(symbols.name(key))
        if i == keyCapacity {
            let bigger = UnsafeMutablePointer<Int>.allocate(capacity: max(16, 2 * keyCapacity))
            bigger.moveInitialize(from: keyCounts, count: keyCapacity)
            keyCounts.deallocate()
            keyCounts = bigger
            keyCapacity = max(16, 2 * keyCapacity)
        }
        keyCounts[i] = 0
        return i
    }

    private mutating func growEntries() {
        let capacity = max(1024, 2 * entryCapacity)
        let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity)
        bigger.moveInitialize(from: entries, count: entryCount)
        entries.deallocate()
        entries = bigger
        entryCapacity = capacity
    }

    /// `update({key: value}, count)` by name.
    package mutating func update(named key: String, _ value: Double, count: Int = 1) {
        update(symbols.intern(key), value, count: count)
    }

    /// `average(n)`: each key over its last `n` entries (all when `n` is 0).
    ///
    /// As mmcv: `np.sum(values * nums) / np.sum(nums)` over the key's last `n` entries,
    /// the products summed pairwise in the order they were logged.
    package mutating func average(_ n: Int = 0) {
        let keyCount = historyKeys.count
        // Per key: where its products start in the scratch array, the next slot to fill
        // (from its end, walking back), and its sum of counts.
        var slots = [Slot](repeating: Slot(), count: keyCount)
        var remaining = 0
        for k in 0..<keyCount {
            slots[k].start = remaining
            remaining += n > 0 ? min(n, keyCounts[k]) : keyCounts[k]
            slots[k].fill = remaining
        }
        let total = remaining
        if products.count < total { products.append(contentsOf: repeatElement(0, count: total - products.count)) }
        products.withUnsafeMutableBufferPointer { out in
            slots.withUnsafeMutableBufferPointer { slot in
                let all = entries
                var j = entryCount
                while remaining > 0 && j > 0 {
                    j -= 1
                    let k = Int(all[j].key)
                    guard slot[k].fill > slot[k].start else { continue }
                    slot[k].fill -= 1
                    out[slot[k].fill] = all[j].value * Double(all[j].count)
                    slot[k].counts += Int(all[j].count)
                    remaining -= 1
                }
            }
        }
        products.withUnsafeBufferPointer { all in
            for k in 0..<keyCount {
                let end = k + 1 < keyCount ? slots[k + 1].start : total
                let value = Scalar.double(pairwiseSum(all[slots[k].start..<end]) / Double(slots[k].counts))
                // Usually the output already lists the keys in this order.
                if k < output.count && output[k].key == historyKeys[k] {
                    output[k].value = value
                } else {
                    setOutput(historyKeys[k], value)
                }
            }
        }
        ready = true
    }

    private struct Slot {
        var start = 0, fill = 0, counts = 0
    }

    /// Sets `output[key]` keeping the key's position if present.
    package mutating func setOutput(_ key: String, _ value: Scalar) {
        if let i = output.firstIndex(where: { $0.key == key }) {
            output[i].value = value
        } else {
            output.append((key, value))
        }
    }

    package mutating func popOutput(_ key: String) -> Scalar? {
        guard let i = output.firstIndex(where: { $0.key == key }) else { return nil }
        return output.remove(at: i).value
    }

    package func outputValue(_ key: String) -> Scalar? {
        output.first(where: { $0.key == key })?.value
    }

    package mutating func clear() {
        historyKeys.removeAll(keepingCapacity: true)
        historySymbols.removeAll(keepingCapacity: true)
        entryCount = 0  // plain values: nothing to deinitialize
        hint = 0
        clearOutput()
    }

    package mutating func clearOutput() {
        output.removeAll()
        ready = false
    }
}

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`), as `np.sum` uses it.
package func pairwiseSum(_ a: [Double]) -> Double {
    a.withUnsafeBufferPointer { pairwiseSum($0[...]) }
}

func pairwiseSum(_ a: Slice<UnsafeBufferPointer<Double>>) -> Double {
    let n = a.count
    let s = a.startIndex
    if n < 8 {
        var res = 0.0
        for i in 0..<n { res += a[s + i] }
        return res
    } else if n <= 128 {
        // Eight running sums, as numpy's unrolled loop keeps them (locals: no array).
        var r0 = a[s], r1 = a[s + 1], r2 = a[s + 2], r3 = a[s + 3]
        var r4 = a[s + 4], r5 = a[s + 5], r6 = a[s + 6], r7 = a[s + 7]
        var i = 8
        while i < n - (n % 8) {
            r0 += a[s + i]; r1 += a[s + i + 1]; r2 += a[s + i + 2]; r3 += a[s + i + 3]
            r4 += a[s + i + 4]; r5 += a[s + i + 5]; r6 += a[s + i + 6]; r7 += a[s + i + 7]
            i += 8
        }
        var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n {
            res += a[s + i]
            i += 1
        }
        return res
    } else {
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(a[s..<(s + n2)]) + pairwiseSum(a[(s + n2)...])
    }
}
