/// The hook methods a runner calls: mmcv's ten listed stages and the four generic ones,
/// then the stages only mmengine's runner has (its `Hook.stages` has 22).
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
    // mmengine only.
    case afterLoadCheckpoint = "after_load_checkpoint"
    case beforeTrain = "before_train"
    case afterTrain = "after_train"
    case beforeVal = "before_val"
    case afterVal = "after_val"
    case beforeSaveCheckpoint = "before_save_checkpoint"
    case beforeTest = "before_test"
    case beforeTestEpoch = "before_test_epoch"
    case beforeTestIter = "before_test_iter"
    case afterTestIter = "after_test_iter"
    case afterTestEpoch = "after_test_epoch"
    case afterTest = "after_test"

    /// mmcv's `Hook.stages`: the ten stages of its hook listing, in order.
    public static let listed: [Stage] = Array(allCases.prefix(10))

    /// mmengine's `Hook.stages`: the 22 stages of its hook listing, in order.
    public static let mmengineListed: [Stage] = [
        .beforeRun, .afterLoadCheckpoint, .beforeTrain, .beforeTrainEpoch, .beforeTrainIter, .afterTrainIter,
        .afterTrainEpoch, .beforeVal, .beforeValEpoch, .beforeValIter, .afterValIter, .afterValEpoch, .afterVal,
        .beforeSaveCheckpoint, .afterTrain, .beforeTest, .beforeTestEpoch, .beforeTestIter, .afterTestIter,
        .afterTestEpoch, .afterTest, .afterRun,
    ]

    /// The generic method a specific stage falls back to in the `Hook` base class: mmcv's
    /// `before_epoch` …, mmengine's `_before_epoch` … (test stages are mmengine's only).
    public var generic: Stage? {
        switch self {
        case .beforeTrainEpoch, .beforeValEpoch, .beforeTestEpoch: .beforeEpoch
        case .afterTrainEpoch, .afterValEpoch, .afterTestEpoch: .afterEpoch
        case .beforeTrainIter, .beforeValIter, .beforeTestIter: .beforeIter
        case .afterTrainIter, .afterValIter, .afterTestIter: .afterIter
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
        case .afterLoadCheckpoint: 14
        case .beforeTrain: 15
        case .afterTrain: 16
        case .beforeVal: 17
        case .afterVal: 18
        case .beforeSaveCheckpoint: 19
        case .beforeTest: 20
        case .beforeTestEpoch: 21
        case .beforeTestIter: 22
        case .afterTestIter: 23
        case .afterTestEpoch: 24
        case .afterTest: 25
        }
    }

    /// Orders stages as ``allCases`` lists them.
    public static func < (a: Stage, b: Stage) -> Bool {
        a.index < b.index
    }
}
