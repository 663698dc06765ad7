import HooktraceFormat

/// `--cfg-options` values, read the way mmcv 1.x's `DictAction` reads them (see
/// mmcv/utils/config.py): quotes stripped from the ends and spaces removed, then `[…]` and
/// `(…)` split at top-level commas (recursively), a bare `a,b` is a list too, and each
/// element is tried as a Python `int`, then a Python `float`, then `true`/`false` in any
/// case, then `None`, else kept as a string. One extension: a value that is a JSON object
/// (`{"max_norm": 35}`) becomes that object, where mmcv would keep the text.
package enum CfgOptions {
    /// Parses one value. Throws on unbalanced brackets, where mmcv fails an assertion.
    package static func parse(_ text: String) throws(HooktraceError) -> JSONValue {
        if text.first == "{", let object = try? JSONValue.parse(text), case .object = object { return object }
        // Checked once for the whole value (mmcv asserts it for every piece; the pieces of
        // a balanced value split at top-level commas are balanced too), so that splitting
        // stays linear in the value's length per level.
        var round = 0, square = 0, depth = 0
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "("): round += 1
            case UInt8(ascii: ")"): round -= 1
            case UInt8(ascii: "["): square += 1
            case UInt8(ascii: "]"): square -= 1
            default: continue
            }
            depth = max(depth, round + square)
        }
        guard round == 0, square == 0 else {
            throw HooktraceError(.usage, "--cfg-options: unbalanced brackets in '\(text)'")
        }
        guard depth <= maxDepth else {
            throw HooktraceError(.usage, "--cfg-options: a value nested deeper than \(maxDepth) levels (as JSON configs are limited)")
        }
        return try iterable(Substring(text))
    }

    /// The deepest nesting of brackets a value may have, the same limit as JSON files.
    package static let maxDepth = 512

    private static func iterable(_ raw: Substring) throws(HooktraceError) -> JSONValue {
        var value = String(raw.trimmingEnds { $0 == "'" || $0 == "\"" }.filter { $0 != " " })[...]
        if value.hasPrefix("("), value.hasSuffix(")"), value.count >= 2 {
            value = value.dropFirst().dropLast()
        } else if value.hasPrefix("["), value.hasSuffix("]"), value.count >= 2 {
            value = value.dropFirst().dropLast()
        } else if !value.contains(",") {
            return scalar(String(value))
        } else if nextComma(value) == value.endIndex {
            // Commas only inside brackets that do not nest, e.g. "[a,(b],c)": mmcv recurses
            // on the same text until Python's recursion limit.
            throw HooktraceError(.usage, "--cfg-options: cannot split '\(value)': its brackets do not nest")
        }
        var items: [JSONValue] = []
        while !value.isEmpty {
            let comma = nextComma(value)
            items.append(try iterable(value[..<comma]))
            value = comma < value.endIndex ? value[value.index(after: comma)...] : value[value.endIndex...]
        }
        return .array(items)
    }

    /// The first comma outside brackets and parentheses, or the end.
    private static func nextComma(_ s: Substring) -> Substring.Index {
        var round = 0, square = 0
        var i = s.startIndex
        while i < s.endIndex {
            switch s[i] {
            case "(": round += 1
            case ")": round -= 1
            case "[": square += 1
            case "]": square -= 1
            case "," where round == 0 && square == 0: return i
            default: break
            }
            i = s.index(after: i)
        }
        return s.endIndex
    }

    private static func scalar(_ s: String) -> JSONValue {
        if let n = pythonInt(s) { return n }
        if let x = pythonFloat(s) { return .double(x) }
        switch s.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        return s == "None" ? .null : .string(s)
    }

    /// Digits with single underscores between them (Python's grammar for int() and float()).
    private static func digits(_ s: Substring) -> String? {
        guard let first = s.first, let last = s.last, first.isASCIIDigit, last.isASCIIDigit, !s.contains("__") else { return nil }
        guard s.allSatisfy({ $0.isASCIIDigit || $0 == "_" }) else { return nil }
        return s.filter { $0 != "_" }
    }

    private static func splitSign(_ s: String) -> (negative: Bool, rest: Substring) {
        if s.hasPrefix("-") { return (true, s.dropFirst()) }
        if s.hasPrefix("+") { return (false, s.dropFirst()) }
        return (false, s[...])
    }

    /// Python's `int(s)` (base 10); integers beyond Int64 become doubles.
    static func pythonInt(_ s: String) -> JSONValue? {
        let (negative, rest) = splitSign(s)
        guard let d = digits(rest) else { return nil }
        if let n = Int64((negative ? "-" : "") + d) { return .int(n) }
        return Double((negative ? "-" : "") + d).map { .double($0) }
    }

    /// Python's `float(s)`: decimals with an optional exponent, `inf`, `infinity`, `nan`.
    static func pythonFloat(_ s: String) -> Double? {
        let (negative, rest) = splitSign(s)
        let sign: Double = negative ? -1 : 1
        switch rest.lowercased() {
        case "inf", "infinity": return sign * .infinity
        case "nan": return .nan
        default: break
        }
        var mantissa = rest
        var exponent = ""
        if let e = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = rest[..<e]
            var exp = rest[rest.index(after: e)...]
            var expSign = ""
            if exp.hasPrefix("-") || exp.hasPrefix("+") { expSign = String(exp.first!); exp = exp.dropFirst() }
            guard let d = digits(exp) else { return nil }
            exponent = "e" + expSign + d
        }
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 2 else { return nil }
        let whole = parts[0].isEmpty ? "" : digits(parts[0])
        let fraction = parts.count == 2 ? (parts[1].isEmpty ? "" : digits(parts[1])) : ""
        guard let whole, let fraction, !(whole.isEmpty && fraction.isEmpty) else { return nil }
        return Double((negative ? "-" : "") + (whole.isEmpty ? "0" : whole) + "." + (fraction.isEmpty ? "0" : fraction) + exponent)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

private extension Substring {
    /// Python's `str.strip(chars)`: drops matching characters from both ends.
    func trimmingEnds(_ drop: (Character) -> Bool) -> Substring {
        var s = self
        while let f = s.first, drop(f) { s = s.dropFirst() }
        while let l = s.last, drop(l) { s = s.dropLast() }
        return s
    }
}
