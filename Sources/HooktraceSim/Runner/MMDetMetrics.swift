#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat

/// The results mmdetection 2.x's datasets report from `evaluate` (mmdet 2.28's
/// `CocoDataset` and `VOCDataset`), built from simulated raw values.
///
/// - `bbox` / `segm`: `{m}_mAP`, `_mAP_50`, `_mAP_75`, `_mAP_s`, `_mAP_m`, `_mAP_l`, each
///   `float(f'{stat:.4f}')`, then the string `{m}_mAP_copypaste` of the six stats at 4 decimals.
/// - `proposal`: `AR@100`, `AR@300`, `AR@1000`, `AR_s@1000`, `AR_m@1000`, `AR_l@1000` at 4
///   decimals; `proposal_fast`: `AR@100`, `AR@300`, `AR@1000` unrounded.
/// - VOC `mAP`: `mAP` (the mean AP, unrounded) first, then `AP50` (`round(mean_ap, 3)`).
/// - VOC `recall`: `recall@{100,300,1000}@0.5`, unrounded.
/// - anything else: the name, at 4 decimals.
enum MMDetMetrics {
    static let cocoItems = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"]
    static let proposalItems = ["AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]
    static let proposalNums = [100, 300, 1000]

    /// The evaluation results for `report`, from the raw draws by curve name.
    static func results(_ report: Simulation.MetricReport, raw: [(String, Double)]) -> [(String, Scalar)] {
        if case .mmdet3Coco(let metrics) = report {
            // mmdet 3.3's CocoMetric: `{m}_{item}` at float(f'{round(stat, 3)}'), under the
            // evaluator's prefix `coco/` (the copypaste line is only logged).
            return metrics.flatMap { m in
                cocoItems.map { item in ("coco/\(m)_\(item)", Scalar.double(pythonRound(raw.first { $0.0 == "\(m)_\(item)" }?.1 ?? 0, 3))) }
            }
        }
        guard case .mmdet(let metrics) = report else {
            return raw.map { ($0.0, .double(pythonRound($0.1, 4))) }
        }
        func value(_ name: String) -> Double? { raw.first { $0.0 == name }?.1 }
        var out: [(String, Scalar)] = []
        for m in metrics {
            switch m {
            case "bbox", "segm":
                let stats = cocoItems.map { value("\(m)_\($0)") ?? 0 }
                for (item, v) in zip(cocoItems, stats) { out.append(("\(m)_\(item)", .double(pythonRound(v, 4)))) }
                out.append(("\(m)_mAP_copypaste", .string(stats.map { fixed4($0) }.joined(separator: " "))))
            case "proposal":
                for item in proposalItems { out.append((item, .double(pythonRound(value(item) ?? 0, 4)))) }
            case "proposal_fast":
                for num in proposalNums { out.append(("AR@\(num)", .double(value("AR@\(num)") ?? 0))) }
            case "mAP":
                let meanAP = value("mAP") ?? 0
                out.append(("mAP", .double(meanAP)))
                out.append(("AP50", .double(pythonRound(meanAP, 3))))
            case "recall":
                for num in proposalNums { out.append(("recall@\(num)@0.5", .double(value("recall@\(num)@0.5") ?? 0))) }
            default:
                out.append((m, .double(pythonRound(value(m) ?? 0, 4))))
            }
        }
        return out
    }

    /// Python's `f'{x:.4f}'` (glibc's printf rounds the exact binary value, as Python does).
    static func fixed4(_ x: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.4f", $0) }
        guard n > 0, n < buffer.count else { return formatDouble(x) }
        return String(cString: buffer)
    }
}
