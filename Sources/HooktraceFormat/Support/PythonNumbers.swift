#if canImport(Glibc)
import Glibc
#endif

/// Python's `round(x, ndigits)`: the double nearest to the correctly rounded decimal
/// (ties to even on the exact binary value), as `'%.{n}f' % x` then `float()`.
package func pythonRound(_ x: Double, _ digits: Int) -> Double {
    guard x.isFinite else { return x }
    // Fast path: q, the integer nearest to x·10^digits, read off the rounded product when
    // the product is far enough from a half (its error is at most half an ulp); q / 10^digits
    // is then one correctly rounded division of exact values, the double nearest the decimal,
    // which is what parsing '%.{n}f' gives. Near a half, or when big, format as Python does.
    if digits >= 0 && digits <= 22 {
        let scale = exactPowersOfTen[digits]
        let t = x * scale
        if Swift.abs(t) < 0x1p50 {
            let fraction = t - t.rounded(.down)
            if Swift.abs(fraction - 0.5) > 4 * t.ulp {
                return t.rounded(.toNearestOrEven) / scale
            }
        }
    }
    return pythonRoundByFormatting(x, digits)
}

/// 10^0 … 10^22, each exact in a double.
private let exactPowersOfTen: [Double] = (0...22).map { n in (0..<n).reduce(1.0) { v, _ in v * 10 } }

/// ``pythonRound(_:_:)`` the slow, sure way: Python's own steps.
func pythonRoundByFormatting(_ x: Double, _ digits: Int) -> Double {
    guard x.isFinite else { return x }
    var buffer = [CChar](repeating: 0, count: 512)
    let n = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
    guard n > 0, n < buffer.count else { return x }
    let text = String(cString: buffer)
    return Double(text) ?? x
}

/// Python's `str.format` of one integer into a template such as `epoch_{}.pth` or
/// `iter_{:06d}.pth`. Returns nil for templates it does not support.
package func formatTemplate(_ template: String, _ n: Int) -> String? {
    guard let open = template.firstIndex(of: "{"), let close = template[open...].firstIndex(of: "}") else { return nil }
    let spec = template[template.index(after: open)..<close]
    var replacement: String
    if spec.isEmpty || spec == ":d" || spec == "0" || spec == "0:d" {
        replacement = String(n)
    } else if spec.hasPrefix(":0"), spec.hasSuffix("d"), let width = Int(spec.dropFirst(2).dropLast()) {
        replacement = String(n)
        if replacement.count < width { replacement = String(repeating: "0", count: width - replacement.count) + replacement }
    } else {
        return nil
    }
    let rest = template[template.index(after: close)...]
    if rest.contains("{") { return nil }
    return String(template[..<open]) + replacement + rest
}
