/// mmcv's `LogBuffer`: per-key histories of (value, count) and their averages.
///
/// Keys keep their insertion order. Averages use numpy's pairwise summation so that the
/// numbers match what mmcv logs to the last bit.
public struct LogBuffer: Sendable {
    /// Histories per key, in insertion order. A handful of keys: a linear scan with
    /// `String ==` (a pointer compare for the same string) beats hashing.
    private var histories: [(key: String, values: [Double], counts: [Int])] = []
    /// `log_buffer.output`, in insertion order.
    public private(set) var output: [(key: String, value: Scalar)] = []
    public var ready = false

    public init() {}

    var keys: [String] { histories.map(\.key) }

    /// Where the next update's key probably is: keys come in the same order every step.
    private var hint = 0

    public mutating func update(_ key: String, _ value: Double, count: Int = 1) {
        if hint < histories.count && histories[hint].key == key {
            histories[hint].values.append(value)
            histories[hint].counts.append(count)
            hint = hint + 1 == histories.count ? 0 : hint + 1
            return
        }
        for i in histories.indices where histories[i].key == key {
            hint = i + 1 == histories.count ? 0 : i + 1
            histories[i].values.append(value)
            histories[i].counts.append(count)
            return
        }
        histories.append((key, [value], [count]))
    }

    /// `average(n)`: each key over its last `n` entries (all when `n` is 0).
    public mutating func average(_ n: Int = 0) {
        var products: [Double] = []
        for h in histories {
            let take = n > 0 ? min(n, h.values.count) : h.values.count
            let first = h.values.count - take
            products.removeAll(keepingCapacity: true)
            products.reserveCapacity(take)
            var total = 0
            h.values.withUnsafeBufferPointer { vs in
                h.counts.withUnsafeBufferPointer { cs in
                    for i in first..<vs.count {
                        products.append(vs[i] * Double(cs[i]))
                        total += cs[i]
                    }
                }
            }
            setOutput(h.key, .double(pairwiseSum(products) / Double(total)))
        }
        ready = true
    }

    /// Sets `output[key]` keeping the key's position if present.
    public mutating func setOutput(_ key: String, _ value: Scalar) {
        if let i = output.firstIndex(where: { $0.key == key }) {
            output[i].value = value
        } else {
            output.append((key, value))
        }
    }

    public mutating func popOutput(_ key: String) -> Scalar? {
        guard let i = output.firstIndex(where: { $0.key == key }) else { return nil }
        return output.remove(at: i).value
    }

    public func outputValue(_ key: String) -> Scalar? {
        output.first(where: { $0.key == key })?.value
    }

    public mutating func clear() {
        histories.removeAll(keepingCapacity: true)
        clearOutput()
    }

    public mutating func clearOutput() {
        output.removeAll()
        ready = false
    }
}

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`), as `np.sum` uses it.
public func pairwiseSum(_ a: [Double]) -> Double {
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
