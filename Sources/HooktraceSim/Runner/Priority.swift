import HooktraceFormat

/// mmcv's named priorities (lower runs first).
package enum Priority: Int, CaseIterable, Sendable {
    case highest = 0
    case veryHigh = 10
    case high = 30
    case aboveNormal = 40
    case normal = 50
    case belowNormal = 60
    case low = 70
    case veryLow = 90
    case lowest = 100

    /// The enum member's name as mmcv spells it (`VERY_HIGH`).
    package var name: String {
        switch self {
        case .highest: "HIGHEST"
        case .veryHigh: "VERY_HIGH"
        case .high: "HIGH"
        case .aboveNormal: "ABOVE_NORMAL"
        case .normal: "NORMAL"
        case .belowNormal: "BELOW_NORMAL"
        case .low: "LOW"
        case .veryLow: "VERY_LOW"
        case .lowest: "LOWEST"
        }
    }

    /// `get_priority`: an int 0…100, or a name (case-insensitive).
    package static func resolve(_ value: JSONValue, path: String) throws(HooktraceError) -> Int {
        switch value {
        case .int(let i):
            guard (0...100).contains(i) else { throw configError(path, "priority must be between 0 and 100, got \(i)") }
            return Int(i)
        case .bool(let b):
            return b ? 1 : 0  // Python bools are ints
        case .string(let s):
            guard let p = Priority.allCases.first(where: { $0.name == s.uppercased() }) else {
                throw configError(path, "unknown priority \"\(s)\"; use one of \(Priority.allCases.map(\.name).joined(separator: ", ")) or an integer 0-100" + suggestion(s.uppercased(), Priority.allCases.map(\.name)))
            }
            return p.rawValue
        default:
            throw configError(path, "priority must be an integer 0-100 or a name such as \"NORMAL\", got \(describeValue(value))")
        }
    }

    /// How the hook listing shows a priority: the name if it is one, else the number.
    package static func label(_ value: Int) -> String {
        Priority(rawValue: value)?.name ?? String(value)
    }
}
