/// The hook methods a runner calls: mmcv's ten listed stages and the four generic ones.
public enum Stage: String, CaseIterable, Sendable, Comparable {
    case beforeRun = "before_run"
    case beforeTrainEpoch = "before_train_epoch"
    case beforeTrainIter = "before_train_iter"
    case afterTrainIter = "after_train_iter"
    case afterTrainEpoch = "after_train_epoch"
    case beforeValEpoch = "before_val_epoch"
    case beforeValIter = "before_val_iter"
    case afterValIter = "after_val_iter"
    case afterValEpoch = "after_val_epoch"
    case afterRun = "after_run"
    case beforeEpoch = "before_epoch"
    case afterEpoch = "after_epoch"
    case beforeIter = "before_iter"
    case afterIter = "after_iter"

    /// `Hook.stages`: the ten stages of the hook listing, in order.
    public static let listed: [Stage] = Array(allCases.prefix(10))

    /// The generic method a specific stage falls back to in mmcv's `Hook` base class.
    public var generic: Stage? {
        switch self {
        case .beforeTrainEpoch, .beforeValEpoch: .beforeEpoch
        case .afterTrainEpoch, .afterValEpoch: .afterEpoch
        case .beforeTrainIter, .beforeValIter: .beforeIter
        case .afterTrainIter, .afterValIter: .afterIter
        default: nil
        }
    }

    /// Position in `allCases`.
    public var index: Int {
        switch self {
        case .beforeRun: 0
        case .beforeTrainEpoch: 1
        case .beforeTrainIter: 2
        case .afterTrainIter: 3
        case .afterTrainEpoch: 4
        case .beforeValEpoch: 5
        case .beforeValIter: 6
        case .afterValIter: 7
        case .afterValEpoch: 8
        case .afterRun: 9
        case .beforeEpoch: 10
        case .afterEpoch: 11
        case .beforeIter: 12
        case .afterIter: 13
        }
    }

    public static func < (a: Stage, b: Stage) -> Bool {
        a.index < b.index
    }
}

/// mmcv's named priorities (lower runs first).
public enum Priority: Int, CaseIterable, Sendable {
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
    public var name: String {
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
    public static func resolve(_ value: JSONValue, path: String) throws(HooktraceError) -> Int {
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
    public static func label(_ value: Int) -> String {
        Priority(rawValue: value)?.name ?? String(value)
    }
}
