import HooktraceFormat

/// mmcv's `LogBuffer`: per-key histories of (value, count) and their averages.
///
/// Keys keep their insertion order. Averages use numpy's pairwise summation so that the
/// numbers match what mmcv logs to the last bit.
package struct LogBuffer: Sendable {
    /// The keys, in insertion order, and each key's history of (value, count): parallel
    /// arrays, so that finding a key reads strings without copying them and an update
    /// appends to one array. A handful of keys: a linear scan with `String ==` (a pointer
    /// compare for the same string) beats hashing.
    private var historyKeys: [String] = []
    private var histories: [[(value: Double, count: Int)]] = []
    /// `log_buffer.output`, in insertion order.
    package private(set) var output: [(key: String, value: Scalar)] = []
    package var ready = false

    package init() {}

    var keys: [String] { historyKeys }

    /// Where the next update's key probably is: keys come in the same order every step.
    private var hint = 0

    package mutating func update(_ key: String, _ value: Double, count: Int = 1) {
        var i = hint
        if !(i < historyKeys.count && historyKeys[i] == key) {
            guard let found = historyKeys.firstIndex(of: key) else {
                historyKeys.append(key)
                histories.append([(value, count)])
                return
            }
            i = found
        }
        histories[i].append((value, count))
        hint = i + 1 == historyKeys.count ? 0 : i + 1
    }

    /// `average(n)`: each key over its last `n` entries (all when `n` is 0).
    package mutating func average(_ n: Int = 0) {
        var products: [Double] = []
        for (key, history) in zip(historyKeys, histories) {
            let take = n > 0 ? min(n, history.count) : history.count
            products.removeAll(keepingCapacity: true)
            products.reserveCapacity(take)
            var total = 0
            history.withUnsafeBufferPointer { entries in
                for e in entries[(entries.count - take)...] {
                    products.append(e.value * Double(e.count))
                    total += e.count
                }
            }
            setOutput(key, .double(pairwiseSum(products) / Double(total)))
        }
        ready = true
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
        histories.removeAll(keepingCapacity: true)
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
        var r = (0..<8).map { a[s + $0] }
        var i = 8
        while i < n - (n % 8) {
            for j in 0..<8 { r[j] += a[s + i + j] }
            i += 8
        }
        var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
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
