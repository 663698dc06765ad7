import HooktraceFormat

/// The keyword arguments of one config dictionary, read with mmcv's Python semantics and
/// hooktrace's stricter checks, each error naming the config path.
///
/// Every key read is marked used; ``finish()`` rejects the rest the way Python rejects an
/// unexpected keyword argument, with a "did you mean" when a known key is close.
///
/// ```swift
/// var args = try ConfigArgs(json, path: "checkpoint_config")
/// let interval = try args.int("interval", default: -1)
/// try args.finish(owner: "CheckpointHook")
/// ```
package struct ConfigArgs {
    package let path: String
    private(set) var members: [(key: String, value: JSONValue)]
    private var used: Set<String> = []
    private var known: [String] = []

    package init(_ value: JSONValue, path: String) throws(HooktraceError) {
        guard case .object(let members) = value else {
            throw configError(path, "expected an object (a dict), got \(describeValue(value))")
        }
        self.path = path
        self.members = members
    }

    package init(members: [(key: String, value: JSONValue)], path: String) {
        self.path = path
        self.members = members
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Whether `key` is present (and not null).
    package mutating func has(_ key: String) -> Bool {
        known.append(key)
        guard let v = members.last(where: { $0.key == key })?.value else { return false }
        if case .null = v { return false }
        return true
    }

    /// The raw value of `key`, marking it used.
    package mutating func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        known.append(key)
        return members.last(where: { $0.key == key })?.value
    }

    /// A string or a list of strings (a metric name or names), as a list; `d` when absent.
    package mutating func stringList(_ key: String, default d: [String]) throws(HooktraceError) -> [String] {
        guard let v = raw(key), v != .null else { return d }
        switch v {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw configError(keyPath(key), "expected strings, got \(describeValue(item))") }
                out.append(s)
            }
            return out
        default: throw configError(keyPath(key), "expected a string or a list of strings, got \(describeValue(v))")
        }
    }

    /// Removes `key` (as `dict.pop` does) and returns its value.
    package mutating func pop(_ key: String) -> JSONValue? {
        let v = raw(key)
        members.removeAll { $0.key == key }
        return v
    }

    /// Sets `key` unless present (as `dict.setdefault` does).
    package mutating func setDefault(_ key: String, _ value: JSONValue) {
        if !members.contains(where: { $0.key == key }) { members.append((key, value)) }
    }

    package var keys: [String] { members.map(\.key) }
    package var value: JSONValue { .object(members) }

    package mutating func int(_ key: String, default d: Int) throws(HooktraceError) -> Int {
        try optionalInt(key) ?? d
    }

    package mutating func optionalInt(_ key: String) throws(HooktraceError) -> Int? {
        guard let v = raw(key) else { return nil }
        switch v {
        case .null: return nil
        case .int(let i):
            guard let n = Int(exactly: i) else { throw configError(keyPath(key), "integer out of range") }
            return n
        default: throw configError(keyPath(key), "expected an integer, got \(describeValue(v))")
        }
    }

    /// A number (int or float, as Python accepts either where a float is expected).
    package mutating func double(_ key: String, default d: Double) throws(HooktraceError) -> Double {
        try optionalDouble(key) ?? d
    }

    package mutating func optionalDouble(_ key: String) throws(HooktraceError) -> Double? {
        guard let v = raw(key) else { return nil }
        switch v {
        case .null: return nil
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw configError(keyPath(key), "expected a number, got \(describeValue(v))")
        }
    }

    package mutating func bool(_ key: String, default d: Bool) throws(HooktraceError) -> Bool {
        guard let v = raw(key) else { return d }
        switch v {
        case .null: return d
        case .bool(let b): return b
        default: throw configError(keyPath(key), "expected true or false, got \(describeValue(v))")
        }
    }

    package mutating func string(_ key: String, default d: String) throws(HooktraceError) -> String {
        try optionalString(key) ?? d
    }

    package mutating func optionalString(_ key: String) throws(HooktraceError) -> String? {
        guard let v = raw(key) else { return nil }
        switch v {
        case .null: return nil
        case .string(let s): return s
        default: throw configError(keyPath(key), "expected a string, got \(describeValue(v))")
        }
    }

    /// Rejects keys that were never read, as Python rejects unexpected keyword arguments.
    /// When `key` is not set but another member looks like a misspelling of it, the error
    /// to give instead of one about `key`'s default value (`warmup_iter` for `warmup_iters`).
    package func misspelling(of key: String) -> HooktraceError? {
        guard !members.contains(where: { $0.key == key }) else { return nil }
        for (other, _) in members where other != key && !used.contains(other) && !suggestion(other, [key]).isEmpty {
            return configError(keyPath(other), "there is no parameter '\(other)' (did you mean \"\(key)\"?); remove it or check the spelling")
        }
        return nil
    }

    package func finish(owner: String) throws(HooktraceError) {
        for (key, _) in members where !used.contains(key) && key != "type" && key != "priority" {
            if let hint = Self.misplaced[owner + "." + key] {
                throw configError(keyPath(key), "\(owner) has no parameter '\(key)': \(hint)")
            }
            throw configError(keyPath(key), "\(owner) has no parameter '\(key)'" + suggestion(key, known) + "; remove it or check the spelling")
        }
    }

    /// Parameters that belong elsewhere, with where (mistakes seen in configs).
    static let misplaced: [String: String] = [
        "CheckpointHook.save_best": "save_best belongs in `evaluation` (mmcv's EvalHook keeps the best checkpoint); move it there",
        "CheckpointHook.rule": "rule belongs in `evaluation`, next to save_best; move it there",
        "EMAHook.ema_type": "that is mmengine's EMAHook; in mmdetection 2.x the EMA variant is the hook type: use \"type\": \"ExpMomentumEMAHook\" (or LinearMomentumEMAHook)",
        "ExpMomentumEMAHook.ema_type": "that is mmengine's EMAHook; here the hook type already names the variant: remove it",
        "LinearMomentumEMAHook.ema_type": "that is mmengine's EMAHook; here the hook type already names the variant: remove it",
    ]
}

/// A config error: the path, what is wrong and how to fix it.
package func configError(_ path: String, _ message: String) -> HooktraceError {
    HooktraceError(.invalidInput, path.isEmpty ? message : "\(path): \(message)")
}

/// A value as shown in error messages: `"3"`, `3`, `[8, 11]`, `null`.
package func describeValue(_ v: JSONValue) -> String {
    switch v {
    case .string: return v.description
    case .object: return "an object"
    default:
        let s = v.description
        return s.count > 60 ? String(s.prefix(57)) + "..." : s
    }
}

/// ` (did you mean "x"?)` for the closest of `candidates`, or "".
package func suggestion(_ word: String, _ candidates: [String]) -> String {
    let lower = word.lowercased()
    var best: (String, Int)?
    for c in Set(candidates) {
        let d = editDistance(lower, c.lowercased())
        let limit = max(2, c.count / 3)
        if d <= limit, best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
    }
    return best.map { " (did you mean \"\($0.0)\"?)" } ?? ""
}

/// Edits between two strings counting a swap of neighbours as one (optimal string
/// alignment): `lr_conifg` is one edit from `lr_config`.
func typoDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
        }
    }
    return d[x.count][y.count]
}

func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    var cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}

/// Whether `word` is most likely a misspelling of one of `candidates` (at most one edit, or
/// two for names of 10+ characters, counting a swap of neighbours as one): strict enough
/// that a user's own hook type is not taken for a typo of a built-in one.
package func likelyTypo(_ word: String, of candidates: [String]) -> String? {
    let w = Array(word.lowercased().utf8)
    var best: (String, Int)?
    for c in candidates {
        let x = Array(c.lowercased().utf8)
        let d = osaDistance(w, x)
        let limit = x.count >= 10 ? 2 : 1
        if d > 0, d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
func osaDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}
