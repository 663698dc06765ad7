import HooktraceFormat

/// mmengine's `MessageHub` as its hooks use it for logging: scalar histories by key, in
/// order of first insertion, never cleared (not between epochs, not by validation), each
/// keeping its last 10⁶ values (`HistoryBuffer`'s `max_length`).
package struct MessageHub: Sendable {
    /// Scalar keys in order of first insertion (`log_scalars`).
    package private(set) var keys: [String] = []
    private var index: [String: Int] = [:]
    /// Per key: its values and their counts, oldest first.
    private var values: [[Double]] = []
    private var counts: [[Double]] = []

    static let maxLength = 1_000_000

    /// The most values any reader of the histories looks at (the log processor's longest
    /// window): older ones are dropped, in batches, so a long run's histories stay small.
    /// `Int.max` keeps every value up to `maxLength`, as mmengine does (a "global" window).
    package var retain = Int.max

    package init() {}

    /// `update_scalar(key, value, count)`.
    package mutating func update(_ key: String, _ value: Double, count: Int = 1) {
        update(slot: slot(key), value, count: count)
    }

    /// The position of `key`'s history, made (in insertion order) on first use: hooks that
    /// update the same keys on every call keep it instead of hashing the key each time.
    package mutating func slot(_ key: String) -> Int {
        if let known = index[key] { return known }
        let i = keys.count
        keys.append(key)
        index[key] = i
        values.append([])
        counts.append([])
        return i
    }

    /// `update_scalar` of the key at `slot`.
    package mutating func update(slot i: Int, _ value: Double, count: Int = 1) {
        values[i].append(value)
        counts[i].append(Double(count))
        // Dropped once twice the retained length has gathered: amortised O(1) per update.
        if retain < Self.maxLength && values[i].count >= 2 * retain + 64 {
            values[i].removeFirst(values[i].count - retain)
            counts[i].removeFirst(counts[i].count - retain)
        }
        if values[i].count > Self.maxLength {
            values[i].removeFirst(values[i].count - Self.maxLength)
            counts[i].removeFirst(counts[i].count - Self.maxLength)
        }
    }

    /// Whether `key` has a history.
    package func has(_ key: String) -> Bool { index[key] != nil }

    /// `current()`: the last value.
    package func current(_ key: String) -> Double? {
        index[key].flatMap { values[$0].last }
    }

    /// `mean(window)`: the sum of the last `window` values over the sum of their counts
    /// (numpy float64 sums, pairwise; all values when fewer).
    package func mean(_ key: String, window: Int) -> Double? {
        guard let i = index[key], !values[i].isEmpty else { return nil }
        // Python's `history[-window:]`: a window of 0 (or less) takes everything.
        let n = window <= 0 ? values[i].count : min(window, values[i].count)
        let v = values[i], c = counts[i]
        return v.withUnsafeBufferPointer { vb in
            c.withUnsafeBufferPointer { cb in
                pairwiseSum(vb[(vb.count - n)...]) / pairwiseSum(cb[(cb.count - n)...])
            }
        }
    }

    /// `min(window)` / `max(window)` over the last `window` values.
    package func extreme(_ key: String, window: Int, max: Bool) -> Double? {
        guard let i = index[key], !values[i].isEmpty else { return nil }
        let n = window <= 0 ? values[i].count : Swift.min(window, values[i].count)
        let tail = values[i].suffix(n)
        return max ? tail.max() : tail.min()
    }
}
