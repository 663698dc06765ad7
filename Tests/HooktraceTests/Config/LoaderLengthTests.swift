import HooktraceFormat
@testable import HooktraceSim
import Testing

/// Loader lengths computed from a config's datasets and samplers (docs/CONFIG.md, "Loader
/// lengths"); every expected number is worked out by hand from the samplers' formulas.
@Suite("loader lengths from datasets")
struct LoaderLengthTests {
    static let cocoTrain = #"{"type": "CocoDataset", "ann_file": "data/coco/annotations/instances_train2017.json", "img_prefix": "data/coco/train2017/"}"#
    static let cocoVal = #"{"type": "CocoDataset", "ann_file": "data/coco/annotations/instances_val2017.json", "img_prefix": "data/coco/val2017/"}"#
    static let mmcv = #""runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}"#

    static func config(_ body: String) throws(HooktraceError) -> RunConfig {
        try RunConfig(text: "{" + body + "}", name: "c")
    }

    static func mmcvConfig(data: String, launch: String = "{}", extra: String = "") throws(HooktraceError) -> RunConfig {
        try config(mmcv + #", "data": "# + data + #", "launch": "# + launch + extra)
    }

    static func length(_ c: RunConfig, _ mode: String) -> Int? { c.loaders.first { $0.mode == mode }?.length }

    @Test("mmdetection 2.x's train loader: GroupSampler on one GPU, DistributedGroupSampler on several; groups padded to whole batches")
    func mmcvTrain() throws {
        let data = #"{"samples_per_gpu": 2, "train": "# + Self.cocoTrain + "}"
        // 117266 images with instances: one GPU, 2 per batch.
        #expect(Self.length(try Self.mmcvConfig(data: data), "train") == 58_633)
        // 8 GPUs × 2: ceil(117266 / 16) = 7330, mmdetection's published 1x logs' epoch length.
        let eight = try Self.mmcvConfig(data: data, launch: #"{"gpus": 8}"#)
        #expect(Self.length(eight, "train") == 7_330)
        #expect(eight.notes.contains { $0.hasPrefix("data.train: 7330 batches per epoch: COCO 2017 train with instances, 117266 images") && $0.contains("DistributedGroupSampler over 8 GPUs") })
        // Without the filter: all 118287 images; 4 per GPU on 8 GPUs: ceil(118287 / 32) = 3697.
        let unfiltered = #"{"samples_per_gpu": 4, "train": {"type": "CocoDataset", "ann_file": "annotations/instances_train2017.json", "filter_empty_gt": false}}"#
        #expect(Self.length(try Self.mmcvConfig(data: unfiltered, launch: #"{"gpus": 8}"#), "train") == 3_697)
        // Group sizes given: each group padded on its own, ceil(70001/16) + ceil(47265/16) = 4376 + 2955.
        #expect(Self.length(try Self.mmcvConfig(data: data, launch: #"{"gpus": 8, "train_size": [70001, 47265]}"#), "train") == 7_331)
        // train_dataloader's samples_per_gpu wins over data's; imgs_per_gpu replaces it.
        let loader = #"{"samples_per_gpu": 2, "train_dataloader": {"samples_per_gpu": 4}, "train": "# + Self.cocoTrain + "}"
        #expect(Self.length(try Self.mmcvConfig(data: loader), "train") == 29_317)  // ceil(117266 / 4)
    }

    @Test("dataset wrappers: RepeatDataset, ConcatDataset, a list of datasets or of ann_files, MultiImageMixDataset")
    func wrappers() throws {
        // mmdetection 2.x's voc0712: 3 × (5011 + 11540) = 49653 images; 8 × 2 → ceil(49653 / 16) = 3104.
        let voc = #"{"samples_per_gpu": 2, "train": {"type": "RepeatDataset", "times": 3, "dataset": {"type": "VOCDataset", "ann_file": ["data/VOCdevkit/VOC2007/ImageSets/Main/trainval.txt", "data/VOCdevkit/VOC2012/ImageSets/Main/trainval.txt"], "img_prefix": ["data/VOCdevkit/VOC2007/", "data/VOCdevkit/VOC2012/"]}}}"#
        let c = try Self.mmcvConfig(data: voc, launch: #"{"gpus": 8}"#)
        #expect(Self.length(c, "train") == 3_104)
        #expect(c.notes.first?.contains("3 × (PASCAL VOC 2007 trainval with instances, 5011 images") == true, "\(c.notes)")
        let concat = #"{"samples_per_gpu": 1, "train": {"type": "ConcatDataset", "datasets": [{"type": "VOCDataset", "ann_file": "VOC2007/ImageSets/Main/test.txt"}, {"type": "MultiImageMixDataset", "dataset": {"type": "VOCDataset", "ann_file": "VOC2012/ImageSets/Main/val.txt"}}]}}"#
        #expect(Self.length(try Self.mmcvConfig(data: concat), "train") == 4_952 + 5_823)
        let list = #"{"samples_per_gpu": 1, "train": [{"type": "VOCDataset", "ann_file": "VOC2007/ImageSets/Main/train.txt"}, {"type": "VOCDataset", "ann_file": "VOC2007/ImageSets/Main/val.txt"}]}"#
        #expect(Self.length(try Self.mmcvConfig(data: list), "train") == 2_501 + 2_510)
    }

    @Test("mmdetection 2.x's val loaders: the evaluation hook's in order (DistributedSampler when distributed), a workflow val phase like the train loader")
    func mmcvVal() throws {
        let data = #"{"samples_per_gpu": 2, "train": "# + Self.cocoTrain + #", "val": "# + Self.cocoVal + "}"
        let eval = #", "evaluation": {"interval": 1, "metric": "bbox"}"#
        #expect(Self.length(try Self.mmcvConfig(data: data, extra: eval), "val") == 5_000)
        #expect(Self.length(try Self.mmcvConfig(data: data, launch: #"{"gpus": 8}"#, extra: eval), "val") == 625)
        // val_dataloader's samples_per_gpu: ceil(625 / 2).
        let batched = #"{"samples_per_gpu": 2, "val_dataloader": {"samples_per_gpu": 2}, "train": "# + Self.cocoTrain + #", "val": "# + Self.cocoVal + "}"
        #expect(Self.length(try Self.mmcvConfig(data: batched, launch: #"{"gpus": 8}"#, extra: eval), "val") == 313)
        // A workflow val phase: data.val built outside test mode (4952 images with
        // instances), with the train loader's GroupSampler: ceil(4952 / 2).
        #expect(Self.length(try Self.mmcvConfig(data: data, extra: #", "workflow": [["train", 1], ["val", 1]]"#), "val") == 2_476)
    }

    @Test("mmdetection 2.x's IterBasedRunner: InfiniteGroupBatchSampler's len() is the dataset's size and it never ends, so runner.epoch stays 0")
    func mmcvInfinite() throws {
        let c = try Self.config(#""runner": {"type": "IterBasedRunner", "max_iters": 30}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}, "log_config": {"interval": 10, "hooks": [{"type": "TextLoggerHook"}]}, "data": {"samples_per_gpu": 8, "train": {"type": "VOCDataset", "ann_file": "VOC2007/ImageSets/Main/val.txt"}}, "launch": {"gpus": 8}"#)
        #expect(c.trainInfinite)
        #expect(Self.length(c, "train") == 2_510)
        // A finite loader of 10 batches would end 2 loader epochs in 30 iterations.
        let finite = try Self.config(#""runner": {"type": "IterBasedRunner", "max_iters": 30}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}, "data": {"train": 10}"#)
        #expect(!finite.trainInfinite)
        var epochs: Set<Int> = []
        _ = try Simulator.record(c) { e throws(HooktraceError) in if case .call(let call) = e { epochs.insert(call.epoch) } }
        #expect(epochs == [0])
        var finiteEpochs: Set<Int> = []
        _ = try Simulator.record(finite) { e throws(HooktraceError) in if case .call(let call) = e { finiteEpochs.insert(call.epoch) } }
        #expect(finiteEpochs == [0, 1, 2])
    }

    @Test("mmengine loaders: DefaultSampler's share per process, AspectRatioBatchSampler, drop_last, InfiniteSampler, num_batch_per_epoch")
    func mmengine() throws {
        func engine(_ train: String, gpus: Int = 1, val: String? = nil) throws(HooktraceError) -> RunConfig {
            var body = #""train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 1"# + (val == nil ? "}" : #", "val_interval": 1}, "val_cfg": {"type": "ValLoop"}, "val_dataloader": "# + val!)
            body += #", "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "train_dataloader": "# + train + #", "launch": {"gpus": \#(gpus)}"#
            return try Self.config(body)
        }
        let dataset = #"{"type": "CocoDataset", "data_root": "data/coco/", "ann_file": "annotations/instances_train2017.json", "filter_cfg": {"filter_empty_gt": true, "min_size": 32}}"#
        let aspect = #"{"batch_size": 2, "sampler": {"type": "DefaultSampler", "shuffle": true}, "batch_sampler": {"type": "AspectRatioBatchSampler"}, "dataset": "# + dataset + "}"
        // ceil(117266 / 8) = 14659 per process, ceil(14659 / 2) = 7330.
        #expect(Self.length(try engine(aspect, gpus: 8), "train") == 7_330)
        let dropped = #"{"batch_size": 2, "drop_last": true, "sampler": {"type": "DefaultSampler", "shuffle": true}, "dataset": "# + dataset + "}"
        #expect(Self.length(try engine(dropped, gpus: 8), "train") == 7_329)
        // No filter_cfg: every image; 16 per batch on one process: ceil(118287 / 16).
        let unfiltered = #"{"batch_size": 16, "sampler": {"type": "DefaultSampler"}, "dataset": {"type": "CocoDataset", "ann_file": "annotations/instances_train2017.json"}}"#
        #expect(Self.length(try engine(unfiltered), "train") == 7_393)
        // InfiniteSampler: len() is the whole dataset's size, whatever the world size.
        let infinite = #"{"batch_size": 8, "sampler": {"type": "InfiniteSampler"}, "batch_sampler": {"type": "AspectRatioBatchSampler"}, "dataset": "# + dataset + "}"
        let i = try Self.config(#""train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 10}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "train_dataloader": "# + infinite + #", "launch": {"gpus": 8}"#)
        #expect(Self.length(i, "train") == 14_659)
        #expect(i.trainInfinite)
        let sliced = #"{"batch_size": 2, "num_batch_per_epoch": 10, "sampler": {"type": "DefaultSampler"}, "dataset": "# + dataset + "}"
        #expect(Self.length(try engine(sliced, gpus: 8), "train") == 10)
        // The val loader: test mode, no filter: ceil(ceil(5000 / 8) / 5) = 125.
        let val = #"{"batch_size": 5, "sampler": {"type": "DefaultSampler", "shuffle": false}, "dataset": {"type": "CocoDataset", "ann_file": "annotations/instances_val2017.json", "test_mode": true}}"#
        #expect(Self.length(try engine(aspect, gpus: 8, val: val), "val") == 125)
        // data.train given in the config wins.
        let given = try Self.config(#""train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 1}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "train_dataloader": "# + aspect + #", "data": {"train": 42}"#)
        #expect(Self.length(given, "train") == 42)
    }

    @Test("a dataset hooktrace cannot size is an error naming the option to pass")
    func unknownSizes() throws {
        let cases: [(String, String)] = [
            (#"{"train": {"type": "CocoDataset", "ann_file": "data/objects365/train.json"}}"#, "data.train: hooktrace does not know the size of this dataset (CocoDataset, ann_file 'data/objects365/train.json'); give len(dataset) with --train-size N"),
            (#"{"train": {"type": "ClassBalancedDataset", "oversample_thr": 0.001, "dataset": {"type": "LVISV1Dataset", "ann_file": "annotations/lvis_v1_train.json"}}}"#, "data.train: ClassBalancedDataset repeats images by how rare their categories are"),
            (#"{"train": {"type": "CityscapesDataset", "ann_file": "annotations/instancesonly_filtered_gtFine_train.json"}}"#, "data.train: Cityscapes train (fine) (2975 images) filtered by filter_empty_gt: hooktrace does not know how many images have instances; give len(dataset) with --train-size N"),
            (#"{"train": {"type": "CocoDataset", "ann_file": "annotations/instances_train2017.json", "classes": ["person"]}}"#, "data.train: keeps only the images with instances of its classes"),
            (#"{"train": "# + Self.cocoTrain + #", "val": {"type": "CocoDataset", "ann_file": "x/val.json"}}"#, "data.val: hooktrace does not know the size of this dataset (CocoDataset, ann_file 'x/val.json'); give len(dataset) with --val-size N"),
        ]
        for (data, expected) in cases {
            let error = #expect(throws: HooktraceError.self) { try Self.mmcvConfig(data: data, extra: #", "evaluation": {"interval": 1}"#) }
            #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
        }
        // The size given: the same configs run.
        let c = try Self.mmcvConfig(data: #"{"samples_per_gpu": 2, "train": {"type": "ClassBalancedDataset", "dataset": {"type": "LVISV1Dataset", "ann_file": "annotations/lvis_v1_train.json"}}}"#, launch: #"{"gpus": 8, "train_size": 99999}"#)
        #expect(Self.length(c, "train") == 6_250)  // ceil(99999 / 16)
        let sampler = #expect(throws: HooktraceError.self) {
            try Self.config(#""train_cfg": {"type": "EpochBasedTrainLoop", "max_epochs": 1}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "train_dataloader": {"batch_size": 2, "sampler": {"type": "ClassAwareSampler"}, "dataset": {"type": "CocoDataset", "ann_file": "annotations/instances_train2017.json"}}"#)
        }
        #expect(sampler?.message.hasPrefix("train_dataloader.sampler.type: hooktrace computes the loader length for DefaultSampler and InfiniteSampler, not ClassAwareSampler") == true)
        #expect(throws: HooktraceError.self) { try Launch(.object([("train_size", .int(-1))])) }
        #expect(throws: HooktraceError.self) { try Launch(.object([("gpus", .int(0))])) }
        #expect(throws: HooktraceError.self) { try Launch(.object([("gpu", .int(2))])) }
    }

    @Test("mmdetection 2.x's train_detector: distributed runs add DistSamplerSeedHook (epoch runner) and DistEvalHook; EvalHook by default for dataset configs; --no-validate drops it")
    func trainScript() throws {
        let data = #"{"samples_per_gpu": 2, "train": "# + Self.cocoTrain + #", "val": "# + Self.cocoVal + "}"
        func hooks(_ c: RunConfig) throws -> [String] {
            let (runner, _) = try Simulator.prepare(c) { _ throws(HooktraceError) in }
            return runner.hooks.map(\.name)
        }
        let single = try hooks(try Self.mmcvConfig(data: data))
        #expect(single.contains("EvalHook") && !single.contains("DistSamplerSeedHook"), "\(single)")
        let dist = try hooks(try Self.mmcvConfig(data: data, launch: #"{"gpus": 4}"#))
        #expect(dist.contains("DistEvalHook") && dist.contains("DistSamplerSeedHook") && !dist.contains("EvalHook"), "\(dist)")
        let none = try Self.mmcvConfig(data: data, launch: #"{"validate": false}"#, extra: #", "evaluation": {"interval": 2}"#)
        #expect(try !hooks(none).contains("EvalHook"))
        #expect(none.notes.contains { $0.hasPrefix("evaluation: not registered (--no-validate") })
        // A JSON config with loader lengths evaluates only when it says so.
        #expect(try !hooks(try Self.mmcvConfig(data: #"{"train": 5, "val": 3}"#)).contains("EvalHook"))
        // IterBasedRunner: no DistSamplerSeedHook.
        let iter = try Self.config(#""runner": {"type": "IterBasedRunner", "max_iters": 4}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}, "data": {"train": 5}, "launch": {"gpus": 2}"#)
        #expect(try !hooks(iter).contains("DistSamplerSeedHook"))
    }

    @Test("auto_scale_lr as mmdetection 2.x applies it: optimizer.lr × (GPUs × samples per GPU / base_batch_size) before the groups are built; --auto-scale-lr enables it")
    func autoScale() throws {
        func lr(_ extra: String, launch: String = "{}") throws(HooktraceError) -> (Double, RunConfig) {
            let c = try Self.config(Self.mmcv + #", "data": {"train": 5, "samples_per_gpu": 2}, "launch": "# + launch + extra)
            return (c.optimizers[0].groups[0].lr, c)
        }
        let (scaled, c) = try lr(#", "auto_scale_lr": {"enable": true, "base_batch_size": 16}"#, launch: #"{"gpus": 3}"#)
        #expect(scaled == (6.0 / 16.0) * 0.02)
        #expect(c.notes.contains { $0.hasPrefix("auto_scale_lr: LR scaled from 0.02 to") })
        #expect(try lr(#", "auto_scale_lr": {"enable": false, "base_batch_size": 16}"#).0 == 0.02)
        #expect(try lr(#", "auto_scale_lr": {"enable": false, "base_batch_size": 16}"#, launch: #"{"auto_scale_lr": true}"#).0 == (2.0 / 16.0) * 0.02)
        // --auto-scale-lr without enable and base_batch_size in the config: mmdetection 2.x warns and does not scale.
        let (kept, k) = try lr(#", "auto_scale_lr": {"base_batch_size": 16}"#, launch: #"{"auto_scale_lr": true}"#)
        #expect(kept == 0.02)
        #expect(k.warnings.contains { $0.hasPrefix("--auto-scale-lr: auto_scale_lr lacks enable or base_batch_size") })
    }

    @Test("mmdetection 2.x without runner: an EpochBasedRunner of total_epochs with its warning; both given must agree")
    func totalEpochs() throws {
        let body = #""optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}, "data": {"train": 5}"#
        let c = try Self.config(body + #", "total_epochs": 3"#)
        #expect(c.kind == .epochBased && c.maxEpochs == 3)
        #expect(c.warnings.contains { $0.hasPrefix("runner: missing; mmdetection 2.x uses an EpochBasedRunner of total_epochs (3 epochs)") })
        let error = #expect(throws: HooktraceError.self) { try Self.config(body + #", "total_epochs": 3, "runner": {"type": "EpochBasedRunner", "max_epochs": 4}"#) }
        #expect(error?.message.hasPrefix("total_epochs: is 3 but runner.max_epochs is 4") == true)
        #expect(throws: HooktraceError.self) { try Self.config(body) }
        _ = try Self.config(body + #", "total_epochs": 4, "runner": {"type": "EpochBasedRunner", "max_epochs": 4}"#)
    }

    @Test("the dataset table: every entry is found by its own annotation path and sourced")
    func table() {
        for e in DatasetTable.entries {
            #expect(!e.source.isEmpty)
            #expect(e.withInstances.map { $0 <= e.images } ?? true)
        }
        #expect(DatasetTable.entry(for: "data/coco/annotations/instances_val2017.json")?.images == 5_000)
        #expect(DatasetTable.entry(for: "data\\VOCdevkit\\VOC2012\\ImageSets\\Main\\trainval.txt")?.images == 11_540)
        #expect(DatasetTable.entry(for: "data/ADEChallengeData2016/ ade20k_instance_train.json")?.images == 20_210)
        #expect(DatasetTable.entry(for: "data/imagenet/ meta/val.txt")?.images == 50_000)
        #expect(DatasetTable.entry(for: "annotations/objects365_train.json") == nil)
    }
}

import Foundation

/// The config text of the run's meta record (`runner.meta['config']`).
@Suite("config text")
struct ConfigTextTests {
    @Test("the text is Python that evaluates to the config: nested dicts, lists of dicts, keys that are not identifiers, quotes, None/True/False, floats")
    func roundTrip() throws {
        let config = try JSONValue.parse(#"""
            {"model": {"type": "FasterRCNN", "backbone": {"depth": 50, "out_indices": [0, 1, 2, 3], "norm_cfg": {"type": "BN", "requires_grad": true}}},
             "custom_keys": {"backbone.layer1": {"lr_mult": 0.1}, "head": {"decay_mult": 0.0}},
             "log_config": {"interval": 50, "hooks": [{"type": "TextLoggerHook"}, {"type": "TensorboardLoggerHook", "log_dir": null}]},
             "workflow": [["train", 1]], "lr": 1e-05, "big": 1e+16, "quote": "it's \"x\"\n", "empty": {}, "none": null, "flags": [true, false, "a'b"]}
            """#)
        let text = ConfigText.render(config)
        #expect(text.hasPrefix("model = dict(\n    type='FasterRCNN',\n    backbone=dict(\n        depth=50,"), "\(text)")
        let script = "import json, sys\nns = {}\nexec(sys.stdin.read(), {}, ns)\nprint(json.dumps(ns))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-I", "-S", "-c", script]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(try JSONValue.parse(String(decoding: data, as: UTF8.self)) == config, "\(text)")
    }

    @Test("mmdetection's `*_tta.py` fragments are refused as having nothing to train")
    func ttaFragment() throws {
        let error = #expect(throws: HooktraceError.self) {
            try RunConfig(text: #"{"tta_model": {"type": "DetTTAModel"}, "img_scales": [[640, 640]], "tta_pipeline": []}"#, name: "rtmdet_tta")
        }
        #expect(error?.message.hasPrefix("a test-time augmentation fragment (tta_model, tta_pipeline) with nothing to train") == true)
    }
}
