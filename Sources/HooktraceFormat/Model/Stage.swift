/// The hook methods a runner calls: mmcv's ten listed stages and the four generic ones.
public enum Stage: String, CaseIterable, Sendable, Comparable, BitwiseCopyable {
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

    /// Orders stages as ``allCases`` lists them.
    public static func < (a: Stage, b: Stage) -> Bool {
        a.index < b.index
    }
}
