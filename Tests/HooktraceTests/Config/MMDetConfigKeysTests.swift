import HooktraceFormat
@testable import HooktraceSim
import Testing

/// Keys of mmdetection's real configs that the frameworks accept (found by tools/config_sweep
/// over the configs of mmdetection 2.28.2 and 3.3.0): accepted, with what they do.
@Suite("mmdetection's config keys")
struct MMDetConfigKeysTests {
    static let mmcv = #""runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "optimizer": {"type": "SGD", "lr": 0.02}, "lr_config": {"policy": "fixed"}"#

    static func config(_ body: String) throws -> RunConfig {
        try RunConfig(text: "{" + body + "}", name: "c")
    }

    @Test("a helper variable that resembles a known key is a warning; a typo of one (one edit, a swap counts one) is an error")
    func resemblances() throws {
        for helper in ["custom_keys", "checkpoint_file"] {
            let c = try Self.config(Self.mmcv + #", "data": {"train": 2}, ""# + helper + #"": {"a": 1}"#)
            #expect(c.warnings.contains { $0.hasPrefix(helper + ": not a key hooktrace or the framework reads; ignored (did you mean") }, "\(c.warnings)")
        }
        // mmengine's env_cfg is two edits from mmdetection's conv_cfg.
        let engine = try Self.config(#""train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 2}, "conv_cfg": {"type": "ConvWS"}"#)
        #expect(engine.warnings.contains { $0.hasPrefix(#"conv_cfg: not a key hooktrace or the framework reads; ignored (did you mean "env_cfg"?)"#) }, "\(engine.warnings)")
        for typo in ["lr_conifg", "optimzer", "checkpoint_confi"] {
            #expect(throws: HooktraceError.self) { try Self.config(Self.mmcv + #", "data": {"train": 2}, ""# + typo + #"": {}"#) }
        }
    }

    @Test("mmdetection 2.x's data keys: imgs_per_gpu replaces samples_per_gpu, train_dataloader's samples_per_gpu is the batch, the rest accepted")
    func dataKeys() throws {
        let a = try Self.config(Self.mmcv + #", "data": {"train": 2, "samples_per_gpu": 4, "imgs_per_gpu": 3, "persistent_workers": true}"#)
        #expect(a.simulation.batchSize == 3)
        #expect(a.warnings.contains { $0.hasPrefix("data.imgs_per_gpu: deprecated") })
        let b = try Self.config(Self.mmcv + #", "data": {"train": 2, "samples_per_gpu": 4, "train_dataloader": {"samples_per_gpu": 8, "workers_per_gpu": 1}, "val_dataloader": {"samples_per_gpu": 1}, "test_dataloader": {}}"#)
        #expect(b.simulation.batchSize == 8)
    }

    @Test("a top-level train_cfg/test_cfg of model settings (1.x-era mmdetection configs) is noted, not taken for mmengine's loop")
    func modelSettings() throws {
        let c = try Self.config(Self.mmcv + #", "data": {"train": 2}, "train_cfg": {"rpn": {"assigner": {"type": "MaxIoUAssigner"}}}, "test_cfg": {"rcnn": {"score_thr": 0.05}}"#)
        #expect(c.framework == .mmcv)
        #expect(c.warnings.contains { $0.hasPrefix("train_cfg: the model's train_cfg at the top of the config") })
        // A loop's train_cfg still makes a config mmengine's, and mixing frameworks still stops.
        #expect(throws: HooktraceError.self) { try Self.config(Self.mmcv + #", "data": {"train": 2}, "train_cfg": {"by_epoch": true, "max_epochs": 2}"#) }
    }

    @Test("the layer-decay constructor's paramwise_cfg with the default constructor's settings (mmdetection 3.3's RTMDet ConvNeXt): warned as ignored, as mmdetection ignores them")
    func layerDecayExtras() throws {
        let c = try Self.config(#""model": {"backbone": {"type": "mmpretrain.ConvNeXt"}}, "train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"constructor": "LearningRateDecayOptimizerConstructor", "optimizer": {"type": "AdamW", "lr": 0.001, "weight_decay": 0.05}, "paramwise_cfg": {"decay_rate": 0.8, "decay_type": "layer_wise", "num_layers": 6, "norm_decay_mult": 0, "bias_decay_mult": 0}}, "data": {"train": 2}"#)
        #expect(c.warnings.contains { $0.hasPrefix("optim_wrapper.paramwise_cfg.norm_decay_mult: LearningRateDecayOptimizerConstructor reads only decay_rate, num_layers and decay_type") }, "\(c.warnings)")
        #expect(c.warnings.contains { $0.hasPrefix("optim_wrapper.paramwise_cfg.bias_decay_mult:") })
        // A key neither constructor has is still an error.
        #expect(throws: HooktraceError.self) { try Self.config(#""model": {"backbone": {"type": "mmpretrain.ConvNeXt"}}, "train_cfg": {"by_epoch": true, "max_epochs": 1}, "optim_wrapper": {"constructor": "LearningRateDecayOptimizerConstructor", "optimizer": {"type": "AdamW", "lr": 0.001, "weight_decay": 0.05}, "paramwise_cfg": {"decay_rate": 0.8, "num_layers": 6, "decay_rat": 1}}, "data": {"train": 2}"#) }
    }

    @Test("mmengine's val_interval given as a whole float (mmdetection 3.3's v3det configs) counts as its integer")
    func floatInterval() throws {
        let c = try Self.config(#""train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 20, "val_interval": 10.0}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 5, "val": 2}"#)
        #expect(c.engine?.valInterval == 10)
        #expect(throws: HooktraceError.self) { try Self.config(#""train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 20, "val_interval": 10.5}, "val_cfg": {"type": "ValLoop"}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "data": {"train": 5, "val": 2}"#) }
    }
}
