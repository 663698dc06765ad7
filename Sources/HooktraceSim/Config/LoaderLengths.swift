import HooktraceFormat

/// hooktrace's `launch` key: what the training script's command line decides, as
/// mmdetection's `tools/train.py` reads it (`hooktrace record --gpus 8 --no-validate`
/// writes it). A JSON config may give it too; docs/CONFIG.md documents each key.
package struct Launch: Sendable, Equatable {
    /// The number of training processes (GPUs). More than one is a distributed run:
    /// distributed samplers, mmdetection 2.x's DistSamplerSeedHook and DistEvalHook.
    package var gpus = 1
    /// `len(dataset)` of the train and val datasets as built (after filtering and
    /// wrappers), when the built-in table does not know them; a list gives the sizes of
    /// mmdetection 2.x's aspect-ratio groups.
    package var trainSize: DatasetSize?
    package var valSize: DatasetSize?
    /// False: mmdetection's `--no-validate` (no evaluation hook).
    package var validate = true
    /// mmdetection 2.x's `--auto-scale-lr`: enables `auto_scale_lr` as the config gives it.
    package var autoScaleLR = false

    /// Where a simulated run crashes: after this many train epochs or iterations.
    package enum StopAt: Sendable, Equatable, CustomStringConvertible {
        case epoch(Int)
        case iter(Int)

        package var description: String {
            switch self {
            case .epoch(let e): "epoch \(e)"
            case .iter(let i): "iteration \(i)"
            }
        }

        /// `epoch=N` or `iter=N`, as ``init(_:)`` reads it.
        package var text: String {
            switch self {
            case .epoch(let e): "epoch=\(e)"
            case .iter(let i): "iter=\(i)"
            }
        }

        /// `epoch=N` or `iter=N`.
        package init?(_ text: String) {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else { return nil }
            switch parts[0] {
            case "epoch": self = .epoch(n)
            case "iter": self = .iter(n)
            default: return nil
            }
        }
    }
    /// `--stop-at`: the run ends there as a crash would (the trace ends failed).
    package var stopAt: StopAt?

    /// `--resume-from`: the checkpoint the run resumes from, as the trace it came from had it.
    package var resume: ResumePoint?

    package static let keys = ["gpus", "train_size", "val_size", "validate", "auto_scale_lr", "stop_at", "resume"]

    package init() {}

    package init(_ value: JSONValue?) throws(HooktraceError) {
        guard let value, value != .null else { return }
        var args = try ConfigArgs(value, path: "launch")
        gpus = try args.int("gpus", default: 1)
        guard gpus >= 1 else { throw configError("launch.gpus", "must be at least 1, got \(gpus)") }
        guard gpus <= 1_000_000 else { throw configError("launch.gpus", "\(gpus) processes is beyond what hooktrace simulates") }
        trainSize = try Self.size(args.raw("train_size"), path: "launch.train_size")
        valSize = try Self.size(args.raw("val_size"), path: "launch.val_size")
        validate = try args.bool("validate", default: true)
        autoScaleLR = try args.bool("auto_scale_lr", default: false)
        if let text = try args.optionalString("stop_at") {
            guard let stop = StopAt(text) else {
                throw configError("launch.stop_at", "expected epoch=N or iter=N (train epochs or iterations done when the run crashes), got \"\(text)\"")
            }
            stopAt = stop
        }
        if let r = args.raw("resume"), r != .null { resume = try ResumePoint(r) }
        try args.finish(owner: "launch")
    }

    static func size(_ value: JSONValue?, path: String) throws(HooktraceError) -> DatasetSize? {
        guard let value, value != .null else { return nil }
        func count(_ v: JSONValue) throws(HooktraceError) -> Int {
            guard case .int(let n) = v, n >= 0, n <= Int64(RunConfig.maxLoaderLength) else {
                throw configError(path, "expected a number of samples from 0 to \(RunConfig.maxLoaderLength) (or a list of aspect-ratio group sizes), got \(describeValue(v))")
            }
            return Int(n)
        }
        if case .array(let items) = value {
            guard !items.isEmpty else { throw configError(path, "an empty list of group sizes; give the dataset's size, e.g. 117266") }
            var groups: [Int] = []
            for item in items { groups.append(try count(item)) }
            return DatasetSize(groups: groups, what: "given (\(groups.map(String.init).joined(separator: " + ")) samples by aspect-ratio group)")
        }
        let n = try count(value)
        return DatasetSize(images: n, what: "given (\(n) samples)")
    }
}

/// The size of a dataset as the framework builds it: its samples, split into mmdetection
/// 2.x's aspect-ratio groups when known.
package struct DatasetSize: Sendable, Equatable {
    /// The group sizes (flag 0: width ≤ height, flag 1: width > height), when known.
    package var groups: [Int]?
    package var images: Int
    /// Where the number comes from, for the run's notes.
    package var what: String

    package init(images: Int, what: String) {
        self.images = images
        self.groups = nil
        self.what = what
    }

    package init(groups: [Int], what: String) {
        self.groups = groups
        self.images = groups.reduce(0, +)
        self.what = what
    }

    /// `times` copies of the dataset (RepeatDataset tiles the group flags too).
    func repeated(_ times: Int, path: String) throws(HooktraceError) -> DatasetSize {
        var d = self
        let (n, overflow) = images.multipliedReportingOverflow(by: times)
        guard !overflow, n <= RunConfig.maxLoaderLength else {
            throw configError(path, "\(times) repeats of \(images) samples is beyond what hooktrace simulates (at most \(RunConfig.maxLoaderLength) samples)")
        }
        d.images = n
        d.groups = groups.map { $0.map { $0 * times } }
        d.what = "\(times) × (\(what))"
        return d
    }

    /// Datasets concatenated (ConcatDataset concatenates the group flags).
    static func concatenated(_ parts: [DatasetSize]) -> DatasetSize {
        var groups: [Int]? = []
        for p in parts {
            guard let g = p.groups, var sum = groups else { groups = nil; continue }
            while sum.count < g.count { sum.append(0) }
            for (i, n) in g.enumerated() { sum[i] += n }
            groups = sum
        }
        var d = DatasetSize(images: parts.reduce(0) { $0 + $1.images }, what: parts.map(\.what).joined(separator: " + "))
        d.groups = groups
        return d
    }
}

/// The datasets hooktrace knows the size of, recognised by their annotation files.
package enum DatasetTable {
    package struct Entry: Sendable {
        /// All of these occur in the dataset's `data_root` + `ann_file` (+ image prefix), case-insensitive.
        package var match: [String]
        package var name: String
        /// Images listed in the annotation file.
        package var images: Int
        /// Images left by mmdetection's filter_empty_gt (with min_size 32), when known.
        package var withInstances: Int?
        /// Where the numbers come from.
        package var source: String
    }

    package static let entries: [Entry] = [
        Entry(match: ["instances_train2017.json"], name: "COCO 2017 train", images: 118_287, withInstances: 117_266,
              source: "cocodataset.org; 117266 with instances: mmdetection's YOLOF config, detectron2's loader log"),
        Entry(match: ["instances_val2017.json"], name: "COCO 2017 val", images: 5_000, withInstances: 4_952,
              source: "cocodataset.org; 4952 with instances: detectron2's loader log"),
        Entry(match: ["panoptic_train2017.json"], name: "COCO 2017 panoptic train", images: 118_287, withInstances: nil,
              source: "cocodataset.org"),
        Entry(match: ["panoptic_val2017.json"], name: "COCO 2017 panoptic val", images: 5_000, withInstances: nil,
              source: "cocodataset.org"),
        Entry(match: ["lvis_v1_train.json"], name: "LVIS v1 train", images: 100_170, withInstances: nil,
              source: "lvisdataset.org"),
        Entry(match: ["lvis_v1_val.json"], name: "LVIS v1 val", images: 19_809, withInstances: nil,
              source: "lvisdataset.org"),
        Entry(match: ["voc2007/imagesets/main/trainval.txt"], name: "PASCAL VOC 2007 trainval", images: 5_011, withInstances: 5_011,
              source: "PASCAL VOC 2007 devkit statistics"),
        Entry(match: ["voc2007/imagesets/main/train.txt"], name: "PASCAL VOC 2007 train", images: 2_501, withInstances: 2_501,
              source: "PASCAL VOC 2007 devkit statistics"),
        Entry(match: ["voc2007/imagesets/main/val.txt"], name: "PASCAL VOC 2007 val", images: 2_510, withInstances: 2_510,
              source: "PASCAL VOC 2007 devkit statistics"),
        Entry(match: ["voc2007/imagesets/main/test.txt"], name: "PASCAL VOC 2007 test", images: 4_952, withInstances: 4_952,
              source: "PASCAL VOC 2007 devkit statistics"),
        Entry(match: ["voc2012/imagesets/main/trainval.txt"], name: "PASCAL VOC 2012 trainval", images: 11_540, withInstances: 11_540,
              source: "PASCAL VOC 2012 devkit statistics"),
        Entry(match: ["voc2012/imagesets/main/train.txt"], name: "PASCAL VOC 2012 train", images: 5_717, withInstances: 5_717,
              source: "PASCAL VOC 2012 devkit statistics"),
        Entry(match: ["voc2012/imagesets/main/val.txt"], name: "PASCAL VOC 2012 val", images: 5_823, withInstances: 5_823,
              source: "PASCAL VOC 2012 devkit statistics"),
        Entry(match: ["gtfine_train"], name: "Cityscapes train (fine)", images: 2_975, withInstances: nil,
              source: "cityscapes-dataset.com"),
        Entry(match: ["gtfine_val"], name: "Cityscapes val (fine)", images: 500, withInstances: nil,
              source: "cityscapes-dataset.com"),
        Entry(match: ["adechallengedata2016", "train"], name: "ADE20K train", images: 20_210, withInstances: nil,
              source: "MIT Scene Parsing Benchmark"),
        Entry(match: ["adechallengedata2016", "val"], name: "ADE20K val", images: 2_000, withInstances: nil,
              source: "MIT Scene Parsing Benchmark"),
        Entry(match: ["imagenet", "train"], name: "ImageNet-1k train", images: 1_281_167, withInstances: 1_281_167,
              source: "ILSVRC 2012, image-net.org"),
        Entry(match: ["imagenet", "val"], name: "ImageNet-1k val", images: 50_000, withInstances: 50_000,
              source: "ILSVRC 2012, image-net.org"),
    ]

    /// The entry whose every match string occurs in `text` (lower-cased), if any.
    package static func entry(for text: String) -> Entry? {
        let t = String(text.lowercased().map { $0 == "\\" ? "/" : $0 })
        return entries.first { e in e.match.allSatisfy { t.contains($0) } }
    }
}

/// The loader lengths a config's datasets and samplers give, computed as the frameworks'
/// samplers do it (docs/CONFIG.md, "Loader lengths").
package struct LoaderPlan {
    package var train: Int
    package var val: Int?
    /// The train loader never runs out (an infinite sampler): no loader epochs.
    package var trainInfinite = false
    /// How each length was computed, said as notes.
    package var notes: [String] = []

    /// `data.train` and `data.val` of an mmcv 1.x (mmdetection 2.x) config, as
    /// mmdetection's `train_detector` builds its loaders. `valWorkflow`: the val loader is
    /// a workflow phase (tools/train.py builds it from data.val outside test mode, with the
    /// train loader's settings); otherwise it is the evaluation hook's.
    static func mmcv(data: JSONValue, launch: Launch, iterBased: Bool, samplesPerGPU: Int?,
                     valWorkflow: Bool, needsVal: Bool) throws(HooktraceError) -> (train: Int?, val: Int?, infinite: Bool, notes: [String]) {
        var notes: [String] = []
        var train: Int?, val: Int?, infinite = false
        let gpus = launch.gpus
        let spg = samplesPerGPU ?? 2
        guard spg > 0 else { throw configError("data.samples_per_gpu", "must be positive, got \(spg)") }
        /// GroupSampler (one process) / DistributedGroupSampler: each aspect-ratio group padded
        /// to whole batches of every process.
        func grouped(_ size: DatasetSize, _ path: String) -> Int {
            let per = spg * gpus
            let sampler = gpus == 1 ? "GroupSampler" : "DistributedGroupSampler over \(gpus) GPUs"
            if let groups = size.groups {
                let n = groups.reduce(0) { $0 + ($1 + per - 1) / per }
                notes.append("\(path): \(n) batches per epoch: \(size.what), \(sampler), \(spg) per GPU (each aspect-ratio group padded to whole batches)")
                return n
            }
            let n = (size.images + per - 1) / per
            notes.append("\(path): \(n) batches per epoch: \(size.what), \(sampler), \(spg) per GPU; aspect-ratio groups estimated as one (each group is padded to whole batches, so the real length can be 1 more; --train-size A,B gives the groups)")
            return n
        }
        if let t = data["train"], t != .null, !Self.isLength(t) {
            if let cas = data["train_dataloader"]?["class_aware_sampler"], cas != .null {
                throw configError("data.train_dataloader.class_aware_sampler", "hooktrace does not compute ClassAwareSampler's length; give the train loader's batches per epoch with --cfg-options data.train=N")
            }
            let size = try Self.given(launch.trainSize) { () throws(HooktraceError) in try Self.size(t, path: "data.train", framework: .mmcv, testMode: false, option: "--train-size") }
            if iterBased {
                // InfiniteGroupBatchSampler: len() is the dataset's size, and it never ends.
                train = size.images
                infinite = true
                notes.append("data.train: len(loader) = \(size.images) (\(size.what)): IterBasedRunner's InfiniteGroupBatchSampler reports the dataset's size and never ends, so runner.epoch stays 0")
            } else {
                train = grouped(size, "data.train")
            }
            guard train! > 0 else { throw configError("data.train", "the train dataset is empty (\(size.what))") }
            guard train! <= RunConfig.maxLoaderLength else { throw configError("data.train", "\(train!) batches per epoch is beyond what hooktrace simulates (at most \(RunConfig.maxLoaderLength))") }
        }
        if let v = data["val"], v != .null, !Self.isLength(v), needsVal {
            if valWorkflow {
                let size = try Self.given(launch.valSize) { () throws(HooktraceError) in try Self.size(v, path: "data.val", framework: .mmcv, testMode: false, option: "--val-size") }
                if iterBased {
                    val = size.images
                    notes.append("data.val: len(loader) = \(size.images) (\(size.what)): the val phase's loader is built like the train loader (InfiniteGroupBatchSampler)")
                } else {
                    val = grouped(size, "data.val (the workflow's val phase, built like the train loader)")
                }
            } else {
                let size = try Self.given(launch.valSize) { () throws(HooktraceError) in try Self.size(v, path: "data.val", framework: .mmcv, testMode: true, option: "--val-size") }
                var vspg = 1
                if let n = data["val_dataloader"]?["samples_per_gpu"] ?? v["samples_per_gpu"], case .int(let k) = n { vspg = Int(k) }
                guard vspg > 0 else { throw configError("data.val_dataloader.samples_per_gpu", "must be positive, got \(vspg)") }
                let perProcess = (size.images + gpus - 1) / gpus
                val = (perProcess + vspg - 1) / vspg
                notes.append("data.val: \(val!) batches: \(size.what), " + (gpus == 1 ? "in order" : "DistributedSampler over \(gpus) GPUs (\(perProcess) each)") + ", \(vspg) per GPU")
            }
            if val == 0 { throw configError("data.val", "the val loader has no batches (an empty dataset)") }
            if val! > RunConfig.maxLoaderLength { throw configError("data.val", "\(val!) batches is beyond what hooktrace simulates (at most \(RunConfig.maxLoaderLength))") }
        }
        return (train, val, infinite, notes)
    }

    /// An mmengine config's `train_dataloader` / `val_dataloader`: the sampler's length over
    /// this process's share, in batches.
    static func mmengine(_ loader: JSONValue, path: String, launch: Launch, given: DatasetSize?,
                         option: String) throws(HooktraceError) -> (length: Int, infinite: Bool, note: String) {
        var args = try ConfigArgs(loader, path: path)
        // Without batch_size, torch's DataLoader batches by 1; a batch sampler needs it
        // (mmengine pops it for the sampler: KeyError).
        let batchSampler = args.raw("batch_sampler") ?? .null
        var bs = 1
        switch args.raw("batch_size") {
        case .int(let n)? where n > 0 && n <= Int64(RunConfig.maxLoaderLength): bs = Int(n)
        case nil where batchSampler == .null, .null? where batchSampler == .null: bs = 1
        case nil, .null?: throw configError(path + ".batch_size", "missing: mmengine hands batch_size to the batch sampler (KeyError without it); give the batch per GPU, e.g. 2")
        case let v?: throw configError(path + ".batch_size", "needs a positive batch size (the batch per GPU), e.g. 2, got \(describeValue(v))")
        }
        guard let dataset = args.raw("dataset"), dataset != .null else {
            throw configError(path + ".dataset", "missing: the loader's dataset config")
        }
        var size = try Self.given(given) { () throws(HooktraceError) in
            try Self.size(dataset, path: path + ".dataset", framework: .mmengine, testMode: dataset["test_mode"] == .bool(true), option: option)
        }
        let gpus = launch.gpus
        if case .int(let k)? = args.raw("num_batch_per_epoch"), k > 0 {
            // mmengine slices the dataset to num_batch_per_epoch × batch × world size.
            size.images = min(size.images, Int(k) * bs * gpus)
            size.what += ", sliced by num_batch_per_epoch=\(k)"
        }
        var samplerType = "DefaultSampler"
        if let s = args.raw("sampler"), s != .null {
            guard case .string(let t)? = s["type"] else { throw configError(path + ".sampler", "needs a \"type\", e.g. \"DefaultSampler\"") }
            samplerType = String(t.split(separator: ".").last ?? "")
        } else {
            throw configError(path + ".sampler", "missing: mmengine's build_dataloader needs one (KeyError without it), e.g. {\"type\": \"DefaultSampler\", \"shuffle\": true}")
        }
        let perProcess: Int, infinite: Bool
        switch samplerType {
        case "DefaultSampler":
            // round_up or not, rank 0 gets ceil(N / world size) samples.
            perProcess = (size.images + gpus - 1) / gpus
            infinite = false
        case "InfiniteSampler":
            perProcess = size.images  // its len() is the whole dataset's size
            infinite = true
        default:
            throw configError(path + ".sampler.type", "hooktrace computes the loader length for DefaultSampler and InfiniteSampler, not \(samplerType); give the batches per epoch with --cfg-options data.\(path.hasPrefix("val") ? "val" : "train")=N")
        }
        var dropLast = false
        var batching = ""
        if let b = args.raw("batch_sampler"), b != .null {
            guard case .string(let t)? = b["type"] else { throw configError(path + ".batch_sampler", "needs a \"type\", e.g. \"AspectRatioBatchSampler\"") }
            let type = String(t.split(separator: ".").last ?? "")
            guard ["AspectRatioBatchSampler", "TrackAspectRatioBatchSampler", "BatchSampler"].contains(type) else {
                throw configError(path + ".batch_sampler.type", "hooktrace computes the loader length for AspectRatioBatchSampler, not \(type); give the batches per epoch with --cfg-options data.\(path.hasPrefix("val") ? "val" : "train")=N")
            }
            if case .bool(let d)? = b["drop_last"] { dropLast = d }
            batching = ", \(type)"
        } else if case .bool(let d)? = args.raw("drop_last") {
            dropLast = d
        }
        let length = dropLast ? perProcess / bs : (perProcess + bs - 1) / bs
        guard length <= RunConfig.maxLoaderLength else { throw configError(path, "\(length) batches per epoch is beyond what hooktrace simulates (at most \(RunConfig.maxLoaderLength))") }
        guard length > 0 else { throw configError(path, "the loader has no batches (\(size.what), batch size \(bs)\(dropLast ? ", drop_last" : ""))") }
        let share = samplerType == "InfiniteSampler" ? "InfiniteSampler (len() is the dataset's size; it never runs out)"
            : gpus == 1 ? "DefaultSampler" : "DefaultSampler over \(gpus) GPUs (\(perProcess) each)"
        return (length, infinite, "\(path): \(length) batches per epoch: \(size.what), \(share)\(batching), batch_size \(bs)\(dropLast ? ", drop_last" : "")")
    }

    /// The size given on the command line, else the one the dataset config implies.
    static func given(_ size: DatasetSize?, _ computed: () throws(HooktraceError) -> DatasetSize) throws(HooktraceError) -> DatasetSize {
        if let size { return size }
        return try computed()
    }

    static func isLength(_ v: JSONValue) -> Bool {
        if case .int = v { return true }
        return false
    }

    /// `len(dataset)` of a dataset config: wrappers unwrapped, leaves from the built-in table.
    static func size(_ ds: JSONValue, path: String, framework: Framework, testMode: Bool, option: String) throws(HooktraceError) -> DatasetSize {
        if case .array(let items) = ds {
            // mmdetection 2.x: a list of dataset configs is a ConcatDataset.
            var parts: [DatasetSize] = []
            for (i, item) in items.enumerated() { parts.append(try size(item, path: "\(path)[\(i)]", framework: framework, testMode: testMode, option: option)) }
            return .concatenated(parts)
        }
        guard case .object = ds else { throw configError(path, "expected a dataset config (a dict with \"type\"), got \(describeValue(ds))") }
        let type: String
        if case .string(let t)? = ds["type"] { type = String(t.split(separator: ".").last ?? "") } else { type = "" }
        let test = testMode || ds["test_mode"] == .bool(true)
        switch type {
        case "RepeatDataset":
            guard case .int(let times)? = ds["times"], times >= 0, times <= Int64(RunConfig.maxLoaderLength) else { throw configError(path + ".times", "RepeatDataset needs times, a whole number") }
            return try size(ds["dataset"] ?? .null, path: path + ".dataset", framework: framework, testMode: test, option: option).repeated(Int(times), path: path + ".times")
        case "ConcatDataset":
            guard case .array(let items)? = ds["datasets"] else { throw configError(path + ".datasets", "ConcatDataset needs a list of datasets") }
            return try size(.array(items), path: path + ".datasets", framework: framework, testMode: test, option: option)
        case "MultiImageMixDataset":
            return try size(ds["dataset"] ?? .null, path: path + ".dataset", framework: framework, testMode: test, option: option)
        case "ClassBalancedDataset":
            throw configError(path, "ClassBalancedDataset repeats images by how rare their categories are, so its size depends on the annotations; give the dataset's size as built with \(option) N (len(dataset), e.g. from mmdetection's build_dataset)")
        default:
            break
        }
        var annFiles: [String] = []
        switch ds["ann_file"] {
        case .string(let s)?: annFiles = [s]
        case .array(let items)?:
            if framework == .mmcv {
                // mmdetection 2.x: a list of annotation files is a ConcatDataset of copies.
                var parts: [DatasetSize] = []
                for (i, item) in items.enumerated() {
                    guard case .object(var members) = ds else { break }
                    members.removeAll { $0.key == "ann_file" }
                    members.append(("ann_file", item))
                    parts.append(try size(.object(members), path: "\(path).ann_file[\(i)]", framework: framework, testMode: testMode, option: option))
                }
                return .concatenated(parts)
            }
            annFiles = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        default: break
        }
        var text = annFiles.joined(separator: " ")
        if case .string(let root)? = ds["data_root"] { text = root + " " + text }
        if case .string(let prefix)? = ds["img_prefix"] { text += " " + prefix }
        if case .string(let prefix)? = ds["data_prefix"]?["img"] ?? ds["data_prefix"]?["img_path"] { text += " " + prefix }
        guard let entry = DatasetTable.entry(for: text) else {
            let named = annFiles.first.map { "ann_file '\($0)'" } ?? "no ann_file"
            throw configError(path, "hooktrace does not know the size of this dataset (\(type.isEmpty ? "no type" : type), \(named)); give len(dataset) with \(option) N"
                + (option == "--val-size" && framework == .mmcv ? " (or train without evaluation: --no-validate)" : ""))
        }
        // Which images survive the dataset's filter (train datasets only).
        let filtered: Bool
        var minSize = 0
        if test {
            filtered = false
        } else if framework == .mmcv {
            // CustomDataset filters outside test mode; COCO-style datasets drop images without
            // instances unless filter_empty_gt is false, and every dataset images under 32 px.
            filtered = ds["filter_empty_gt"] != .bool(false)
            minSize = 32
        } else {
            let cfg = ds["filter_cfg"]
            filtered = cfg?["filter_empty_gt"] == .bool(true)
            if case .int(let m)? = cfg?["min_size"] { minSize = Int(m) }
        }
        _ = minSize  // no image of the table's datasets is under 32 px on its short side
        if filtered {
            if let classes = ds["classes"] ?? ds["metainfo"]?["classes"], classes != .null {
                throw configError(path, "keeps only the images with instances of its classes (\(describeValue(classes).prefix(60))…), which depends on the annotations; give len(dataset) with \(option) N")
            }
            guard let n = entry.withInstances else {
                throw configError(path, "\(entry.name) (\(entry.images) images) filtered by filter_empty_gt: hooktrace does not know how many images have instances; give len(dataset) with \(option) N, or set filter_empty_gt false")
            }
            return DatasetSize(images: n, what: "\(entry.name) with instances, \(n) images (\(entry.source))")
        }
        return DatasetSize(images: entry.images, what: "\(entry.name), \(entry.images) images (\(entry.source))")
    }
}
