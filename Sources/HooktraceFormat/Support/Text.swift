// Small text helpers shared by every layer: JSON string literals, exact seconds, column
// padding, and the Python path functions the simulated runs name their files with.

/// A string as a JSON string literal.
package func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    out += "\""
    return out
}

/// Nanoseconds as seconds with nine decimals, exactly (no floating-point rounding).
package func formatSeconds(_ ns: Int64) -> String {
    let negative = ns < 0
    let magnitude = ns.magnitude
    let whole = magnitude / 1_000_000_000
    let frac = String(magnitude % 1_000_000_000)
    return (negative ? "-" : "") + "\(whole)." + String(repeating: "0", count: 9 - frac.count) + frac
}

/// `os.path.join` for the paths a run uses.
package func joinPath(_ a: String, _ b: String) -> String {
    if a.isEmpty { return b }
    if b.hasPrefix("/") { return b }
    return a.hasSuffix("/") ? a + b : a + "/" + b
}

/// `os.path.basename(path.rstrip('/'))`.
package func baseName(_ path: String) -> String {
    var p = Substring(path)
    while p.hasSuffix("/") { p = p.dropLast() }
    return String(p.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
}

/// The file name in a path (after the last `/`).
package func fileName(_ path: String) -> String {
    String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path))
}

package func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let n = s.count
    if n >= width { return s }
    let fill = String(repeating: " ", count: width - n)
    return right ? fill + s : s + fill
}
