/// mmcv's `CheckpointHook` on a virtual file set: saves, links `latest.pth`, and deletes
/// old checkpoints with mmcv's arithmetic walk that stops at the first gap (spec §6).
public final class CheckpointHook: Hook {
    public let type: String
    public let config: JSONValue
    public let interval: Int
    public let byEpoch: Bool
    public let maxKeepCheckpoints: Int
    public let saveLast: Bool
    let outDirOption: String?
    let filenameTemplate: String?
    let createSymlink: Bool
    public private(set) var outDir = ""
    public var methods: Set<Stage> { [.beforeRun, .afterTrainIter, .afterTrainEpoch] }

    init(_ type: String, _ args: inout ConfigArgs) throws(HooktraceError) {
        self.type = type
        config = args.value
        interval = try args.int("interval", default: -1)
        byEpoch = try args.bool("by_epoch", default: true)
        _ = try args.bool("save_optimizer", default: true)
        outDirOption = try args.optionalString("out_dir")
        maxKeepCheckpoints = try args.int("max_keep_ckpts", default: -1)
        saveLast = try args.bool("save_last", default: true)
        _ = try args.bool("sync_buffer", default: false)
        _ = args.raw("file_client_args")
        filenameTemplate = try args.optionalString("filename_tmpl")
        if let t = filenameTemplate, formatTemplate(t, 1) == nil {
            throw configError(args.keyPath("filename_tmpl"), "\"\(t)\" needs one '{}' placeholder for the epoch or iteration number (e.g. \"epoch_{}.pth\")")
        }
        createSymlink = try args.bool("create_symlink", default: true)
        _ = args.raw("meta")
        if interval == 0 && maxKeepCheckpoints > 0 && saveLast {
            throw configError(args.path, "interval 0 with max_keep_ckpts > 0 makes mmcv fail with \"range() arg 3 must not be zero\" at the last save; use interval -1 (never) or a positive interval")
        }
    }

    public func call(_ method: Stage, _ runner: Runner) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            if let o = outDirOption, !o.isEmpty {
                outDir = o == runner.workDir ? o : joinPath(o, baseName(runner.workDir))
            } else {
                outDir = runner.workDir
            }
        case .afterTrainEpoch:
            guard byEpoch else { return }
            if everyNEpochs(runner, interval) || (saveLast && isLastEpoch(runner)) {
                try save(runner)
            }
        case .afterTrainIter:
            guard !byEpoch else { return }
            if everyNIters(runner, interval) || (saveLast && isLastIter(runner)) {
                try save(runner)
            }
        default:
            break
        }
    }

    private func save(_ runner: Runner) throws(HooktraceError) {
        // runner.save_checkpoint: the runner's own default template and counter.
        let runnerNumber = runner.kind == .epochBased ? runner.epoch + 1 : runner.iter + 1
        let runnerTemplate = filenameTemplate ?? (runner.kind == .epochBased ? "epoch_{}.pth" : "iter_{}.pth")
        let file = formatTemplate(runnerTemplate, runnerNumber) ?? runnerTemplate
        let path = joinPath(outDir, file)
        runner.work(.checkpoint)
        runner.files.write(path)
        try runner.effect(self, .checkpointSave(path: path))
        if createSymlink {
            let link = joinPath(outDir, "latest.pth")
            runner.files.link(link, to: file)
            try runner.effect(self, .checkpointLink(link: link, target: file))
        }
        // The hook's own idea of the name (differs for EpochBasedRunner + by_epoch=False).
        let (name, current) = byEpoch ? ("epoch_{}.pth", runner.epoch + 1) : ("iter_{}.pth", runner.iter + 1)
        let template = filenameTemplate ?? name
        runner.hookMessages.lastCheckpoint = joinPath(outDir, formatTemplate(template, current) ?? template)
        if maxKeepCheckpoints > 0 {
            var k = current - maxKeepCheckpoints * interval
            while k > 0 {
                let candidate = joinPath(outDir, formatTemplate(template, k) ?? template)
                guard runner.files.exists(candidate) else { break }
                runner.files.remove(candidate)
                try runner.effect(self, .checkpointRemove(path: candidate))
                k -= interval
            }
        }
    }
}
