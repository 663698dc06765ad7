import HooktraceFormat

/// mmcv's `CheckpointHook` on a virtual file set: saves, links `latest.pth`, and deletes
/// old checkpoints with mmcv's arithmetic walk that stops at the first gap (spec §6).
package final class CheckpointHook: Hook {
    package let type: String
    package let config: JSONValue
    package let interval: Int
    package let byEpoch: Bool
    package let maxKeepCheckpoints: Int
    package let saveLast: Bool
    let outDirOption: String?
    let filenameTemplate: String?
    /// `create_symlink` as the config gives it (nil: not given).
    let createSymlinkOption: Bool?
    /// The storage back-end mmcv's FileClient infers (`file_client_args.backend`, or the
    /// out_dir's `s3://` / `http(s)://` prefix); only the local disk holds symbolic links.
    let backend: String?
    private var createSymlink = true
    package private(set) var outDir = ""
    package var methods: Set<Stage> { [.beforeRun, .afterTrainIter, .afterTrainEpoch] }

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
        var backendName: String?
        if let fc = args.raw("file_client_args"), fc != .null {
            guard case .object = fc else {
                throw configError(args.keyPath("file_client_args"), "expected an object such as {\"backend\": \"disk\"}, got \(describeValue(fc))")
            }
            if case .string(let b)? = fc["backend"] { backendName = b }
        }
        backend = backendName
        filenameTemplate = try args.optionalString("filename_tmpl")
        if let t = filenameTemplate, formatTemplate(t, 1) == nil {
            throw configError(args.keyPath("filename_tmpl"), "\"\(t)\" needs one '{}' placeholder for the epoch or iteration number (e.g. \"epoch_{}.pth\")")
        }
        createSymlinkOption = args.raw("create_symlink") == nil || args.raw("create_symlink") == .null ? nil : try args.bool("create_symlink", default: true)
        _ = args.raw("meta")
        if interval == 0 && maxKeepCheckpoints > 0 && saveLast {
            throw configError(args.path, "interval 0 with max_keep_ckpts > 0 makes mmcv fail with \"range() arg 3 must not be zero\" at the last save; use interval -1 (never) or a positive interval")
        }
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeRun:
            if let o = outDirOption, !o.isEmpty {
                outDir = o == runner.workDir ? o : joinPath(o, baseName(runner.workDir))
            } else {
                outDir = runner.workDir
            }
            // mmcv's CheckpointHook.before_run: no latest.pth link where the back-end cannot
            // hold symbolic links; a warning only when the config asked for one.
            let canLink = Self.allowsSymlinks(backend: backend, uri: outDir)
            createSymlink = (createSymlinkOption ?? true) && canLink
            if createSymlinkOption == true && !canLink {
                try runner.warn("create_symlink is true but \(Self.backendName(backend: backend, uri: outDir)) cannot hold symbolic links: no latest.pth link is made (as mmcv)")
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

    /// mmcv's `FileClient.infer_client`: the back-end from `file_client_args`, else from the
    /// path's prefix (`s3` → petrel, `http`/`https` → http), else the local disk.
    static func backendName(backend: String?, uri: String) -> String {
        if let backend { return backend }
        let parts = uri.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].hasPrefix("//") else { return "disk" }
        switch parts[0] {
        case "s3": return "petrel"
        case "http", "https": return "http"
        default: return "disk"
        }
    }

    /// Only mmcv's HardDiskBackend allows symbolic links.
    static func allowsSymlinks(backend: String?, uri: String) -> Bool {
        backendName(backend: backend, uri: uri) == "disk"
    }

    private func save(_ runner: HookContext) throws(HooktraceError) {
        // runner.save_checkpoint: the runner's own default template and counter.
        let runnerNumber = runner.kind == .epochBased ? runner.epoch + 1 : runner.iter + 1
        let runnerTemplate = filenameTemplate ?? (runner.kind == .epochBased ? "epoch_{}.pth" : "iter_{}.pth")
        let file = formatTemplate(runnerTemplate, runnerNumber) ?? runnerTemplate
        let path = joinPath(outDir, file)
        runner.work(.checkpoint)
        runner.files.write(path)
        try runner.effect(.checkpointSave(path: path))
        if createSymlink {
            let link = joinPath(outDir, "latest.pth")
            runner.files.link(link, to: file)
            try runner.effect(.checkpointLink(link: link, target: file))
        }
        // The hook's own idea of the name (differs for EpochBasedRunner + by_epoch=False).
        let (name, current) = byEpoch ? ("epoch_{}.pth", runner.epoch + 1) : ("iter_{}.pth", runner.iter + 1)
        let template = filenameTemplate ?? name
        let last = joinPath(outDir, formatTemplate(template, current) ?? template)
        runner.hookMessages.lastCheckpoint = last
        // What mmcv stores in runner.meta['hook_msgs'] (and so in the checkpoints saved
        // after it): the hook's own name for the file, which is iter_{i}.pth for
        // by_epoch=False even where an EpochBasedRunner saves epoch_{e}.pth.
        if runner.hasMeta { try runner.effect(.custom(kind: "hook_msgs", fields: [Field("last_ckpt", .string(last))])) }
        if maxKeepCheckpoints > 0 {
            var k = current - maxKeepCheckpoints * interval
            while k > 0 {
                let candidate = joinPath(outDir, formatTemplate(template, k) ?? template)
                guard runner.files.exists(candidate) else { break }
                runner.files.remove(candidate)
                try runner.effect(.checkpointRemove(path: candidate))
                k -= interval
            }
        }
    }
}
