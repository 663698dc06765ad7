#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat

/// `annealing_cos(start, end, factor, weight)`, evaluated in mmcv's order.
@inline(__always)
func annealingCos(_ start: Double, _ end: Double, _ factor: Double, _ weight: Double = 1) -> Double {
    let cosOut = cos(Double.pi * factor) + 1
    return end + 0.5 * weight * (start - end) * cosOut
}

/// `annealing_linear(start, end, factor)`.
@inline(__always)
func annealingLinear(_ start: Double, _ end: Double, _ factor: Double) -> Double {
    start + (end - start) * factor
}

/// How a schedule anneals within a phase.
package enum Anneal: String, Sendable {
    case cos, linear

    func callAsFunction(_ start: Double, _ end: Double, _ factor: Double) -> Double {
        switch self {
        case .cos: annealingCos(start, end, factor)
        case .linear: annealingLinear(start, end, factor)
        }
    }
}

/// The target of an annealing schedule: an absolute value or a ratio of the base.
package enum Target: Sendable, Equatable {
    case value(Double)
    case ratio(Double)

    func of(_ base: Double) -> Double {
        switch self {
        case .value(let v): v
        case .ratio(let r): base * r
        }
    }
}

/// One phase of a cyclic or one-cycle schedule.
struct Phase: Sendable {
    var start: Double
    var end: Double
    var startRatio: Double
    var endRatio: Double
}

/// The schedules of mmcv's LR and momentum updater hooks (spec §4.3, §5.2).
package enum SchedulePolicy: Sendable {
    case fixed
    /// `step`: an interval (`every`) or milestones.
    case step(every: Int?, milestones: [Int], gamma: Double, minimum: Double?)
    case exp(gamma: Double)
    case poly(power: Double, minLR: Double)
    case inv(gamma: Double, power: Double)
    case cosineAnnealing(Target)
    case flatCosineAnnealing(startPercent: Double, Target)
    case cosineRestart(periods: [Int], weights: [Double], Target)
    case cyclic(targetRatio: (Double, Double), cyclicTimes: Int, stepRatioUp: Double, anneal: Anneal, gamma: Double)
    /// LR: `maxLR` per optimizer (formatted per group at before_run).
    case oneCycleLR(maxLR: JSONValue, totalSteps: Int?, pctStart: Double, anneal: Anneal, divFactor: Double, finalDivFactor: Double, threePhase: Bool)
    case oneCycleMomentum(base: JSONValue, max: JSONValue, pctStart: Double, anneal: Anneal, threePhase: Bool)
    case linearAnnealing(Target)
    /// mmdetection 2.x's `YOLOXLrUpdaterHook` (policy `YOLOX`): cosine to the target, held
    /// for the last `numLastEpochs` loader lengths, with its own quadratic warmup from the base.
    case yolox(numLastEpochs: Int, Target)
}
