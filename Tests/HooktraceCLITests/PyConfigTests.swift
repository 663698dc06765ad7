import Foundation
import HooktraceFormat
import Testing

/// `.py` configs read as mmcv 1.x's and mmengine's Config.fromfile read them, by the
/// standard-library loader hooktrace carries (tools/hooktrace_shim/hooktrace_config.py), on
/// the small `_base_` chains of Tests/Fixtures/pyconfigs.
@Suite("hooktrace config: .py configs with _base_")
struct PyConfigTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pyconfigs").path

    static func resolved(_ name: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> JSONValue {
        let r = try CLI.run(["config", dir + "/" + name] + extra, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONValue.parse(r.stdout)
    }

    static func at(_ v: JSONValue, _ path: String) -> JSONValue? {
        var node: JSONValue? = v
        for part in path.split(separator: ".") {
            if case .array(let items)? = node, let i = Int(part) { node = i < items.count ? items[i] : nil } else { node = node?[String(part)] }
        }
        return node
    }

    @Test("bases as a list, relative paths; dicts merged key by key, _delete_ replaces; {{ _base_.x }}; predefined variables; tuples as lists")
    func child() throws {
        let c = try Self.resolved("child.py")
        #expect(Self.at(c, "model.backbone.depth") == .int(101))
        #expect(Self.at(c, "model.backbone.type") == .string("ResNet"))
        #expect(Self.at(c, "model.backbone.norm_cfg") == .object([("type", .string("SyncBN"))]))
        #expect(Self.at(c, "model.backbone.out_indices") == .array([.int(0), .int(1), .int(2), .int(3)]))
        #expect(Self.at(c, "optimizer") == .object([("type", .string("SGD")), ("lr", .double(0.01)), ("momentum", .double(0.9)), ("weight_decay", .double(0.0001))]))
        #expect(Self.at(c, "lr_config.step") == .array([.int(16), .int(22)]))
        #expect(Self.at(c, "lr_config.warmup_iters") == .int(500))
        #expect(Self.at(c, "runner") == .object([("type", .string("EpochBasedRunner")), ("max_epochs", .int(24))]))
        #expect(Self.at(c, "work_dir") == .string("./work_dirs/child"))
        #expect(Self.at(c, "source") == .string("child.py in \(Self.dir) (.py)"))
        #expect(Self.at(c, "workflow") == .array([.array([.string("train"), .int(1)])]))
        // custom_imports is kept, not imported (projects.my_hooks does not exist).
        #expect(Self.at(c, "custom_imports.imports") == .array([.string("projects.my_hooks")]))
        // Keys in mmcv's order: the bases' keys first (in their order), then the file's new ones.
        guard case .object(let members) = c else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["model", "optimizer", "optimizer_config", "lr_config", "runner", "checkpoint_config", "log_config",
                                       "custom_hooks", "custom_imports", "workflow", "evaluation", "work_dir", "source", "data"])
    }

    @Test("a base given as a string, a chain of two; _delete_ on a key the base lacks is kept, as both frameworks keep it")
    func grandchild() throws {
        let c = try Self.resolved("grandchild.py")
        #expect(Self.at(c, "lr_config") == .object([("policy", .string("CosineAnnealing")), ("min_lr", .int(0)), ("by_epoch", .bool(false))]))
        #expect(Self.at(c, "extra") == .object([("_delete_", .bool(true)), ("kept", .int(1))]))
        #expect(Self.at(c, "checkpoint_config") == .object([("interval", .int(1)), ("max_keep_ckpts", .int(3))]))
        #expect(Self.at(c, "model.backbone.depth") == .int(101))
        #expect(Self.at(c, "work_dir") == .string("./work_dirs/child"))
    }

    @Test("mmengine's base variables in code: read, changed and deleted in place; two keys bound to one dict are parted by the merge")
    func engineStyle() throws {
        let c = try Self.resolved("engine_style.py")
        #expect(Self.at(c, "optimizer.type") == .string("AdamW"))
        #expect(Self.at(c, "optimizer_config") == nil)
        #expect(Self.at(c, "lr") == .double(0.04))
        #expect(Self.at(c, "warmup") == .int(2))
        #expect(Self.at(c, "math") == nil)
        #expect(Self.at(c, "val_evaluator") == .object([("type", .string("CocoMetric")), ("metric", .string("segm"))]))
        #expect(Self.at(c, "test_evaluator") == .object([("type", .string("CocoMetric")), ("metric", .string("segm"))]))
    }

    @Test("mmengine's {{'$NAME:default'}}: the environment's value, else the default")
    func environment() throws {
        #expect(Self.at(try Self.resolved("env.py"), "runner.max_epochs") == .int(7))
        #expect(Self.at(try Self.resolved("env.py", environment: ["HOOKTRACE_TEST_EPOCHS": "3"]), "runner.max_epochs") == .int(3))
    }

    @Test("--cfg-options apply after the merge; hooks, lr and record take the .py config")
    func commands() throws {
        let c = try Self.resolved("child.py", ["--cfg-options", "runner.max_epochs=2", "lr_config.step=[1]"])
        #expect(Self.at(c, "runner.max_epochs") == .int(2))
        #expect(Self.at(c, "lr_config.step") == .array([.int(1)]))
        let hooks = try CLI.run(["hooks", Self.dir + "/child.py"])
        #expect(hooks.status == 0, "\(hooks.stderr)")
        #expect(hooks.stdout.contains("(VERY_HIGH   ) StepLrUpdaterHook") && hooks.stdout.contains("(LOW         ) EvalHook"), "\(hooks.stdout)")
        let scratch = Scratch()
        let trace = scratch.file("child.htrace")
        let record = try CLI.run(["record", "--config", Self.dir + "/child.py", "--cfg-options", "runner.max_epochs=2", "-o", trace, "--quiet"])
        #expect(record.status == 0, "\(record.stderr)")
        // The child's lr (0.01) under the base's linear warm-up (ratio 0.001, 500 iterations).
        let lr = try CLI.run(["lr", trace, "--changes"])
        #expect(lr.status == 0 && lr.stdout.contains("\n0        0      1.000000000000001e-05\n"), "\(lr.stdout)\(lr.stderr)")
    }

    @Test("bad configs: exit 2 and one message naming the file (and line) and the fix", arguments: [
        ("bad/dup.py", "dup.py: the bases both define optimizer (Duplicate key is not allowed among bases"),
        ("bad/cycle_a.py", ": the config includes itself through _base_: cycle_a.py → cycle_b.py → cycle_a.py"),
        ("bad/missing_base.py", "no_such_base.py: no such config file (a _base_ of "),
        ("bad/syntax.py", "syntax.py:3: syntax error: "),
        ("bad/runtime_error.py", "runtime_error.py:2: running the config raised NameError: name 'undefined_steps' is not defined"),
        ("bad/read_base.py", "read_base.py:3: a pure-Python style config (with read_base(): …)"),
        ("bad/imports_project.py", "imports_project.py:1: the config imports mmdet.models, which hooktrace does not load"),
        ("bad/cyclic_list.py", "cyclic_list.py: lr_config.target_ratio is a list; mmcv's CyclicLrUpdaterHook takes a float or a tuple"),
        ("bad/dict_over_value.py", "dict_over_value.py: optimizer_config.grad_clip is a dict in the child config but None in its base: set _delete_=True"),
        ("bad/no_such_config.py", "no_such_config.py: no such config file; check the path"),
    ])
    func bad(name: String, message: String) throws {
        for command in [["config"], ["hooks"]] {
            let r = try CLI.run(command + [Self.dir + "/" + name])
            #expect(r.status == 2, "\(command) \(name): \(r.stdout)")
            #expect(r.stderr.hasPrefix("hooktrace: error: ") && r.stderr.contains(message), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
    }

    static let readable = ["child.py", "grandchild.py", "engine_style.py", "env.py", "base/model.py", "base/schedule.py", "base/runtime.py"]

    @Test("every fixture resolves as real mmengine 0.10.7 resolves it",
          .enabled(if: pythonImports("mmengine.config"), "mmengine is not installed (pip install mmengine==0.10.7)"))
    func realMMEngine() throws {
        try Self.compare("mmengine", Self.readable, environment: [:])
    }

    @Test("every fixture written for mmcv resolves as real mmcv 1.x resolves it (engine_style and env use mmengine's additions)",
          .enabled(if: pythonImports("mmcv.utils", environment: realMMCVEnvironment), "mmcv 1.x is not importable (tools/bench fetches its source into .build-mmcv)"))
    func realMMCV() throws {
        try Self.compare("mmcv", Self.readable.filter { $0 != "engine_style.py" && $0 != "env.py" }, environment: realMMCVEnvironment)
    }

    static func compare(_ framework: String, _ names: [String], environment: [String: String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", dir + "/compare_real.py", framework] + names.map { dir + "/" + $0 }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == names.count)
        for (name, line) in zip(names, lines) {
            let real = try JSONValue.parse(String(line))
            guard let expected = real["config"] else {
                Issue.record("\(framework) could not read \(name): \(real)")
                continue
            }
            #expect(try resolved(name) == expected, "\(name)")
        }
    }

    @Test("dataset configs: loader lengths computed for --gpus, tools/train.py's hooks (DistEvalHook, DistSamplerSeedHook), the launch stored so replay reads the same")
    func datasetLengths() throws {
        let hooks = try CLI.run(["hooks", Self.dir + "/detector_1x.py", "--gpus", "8"])
        #expect(hooks.status == 0, "\(hooks.stderr)")
        #expect(hooks.stderr.contains("note: data.train: 7330 batches per epoch: COCO 2017 train with instances, 117266 images"), "\(hooks.stderr)")
        #expect(hooks.stdout.contains("(LOW         ) DistEvalHook") && hooks.stdout.contains("(NORMAL      ) DistSamplerSeedHook"), "\(hooks.stdout)")
        let single = try CLI.run(["hooks", Self.dir + "/detector_1x.py", "--no-validate"])
        #expect(single.status == 0 && !single.stdout.contains("EvalHook") && !single.stdout.contains("DistSamplerSeedHook"), "\(single.stdout)")

        let scratch = Scratch()
        for config in ["detector_1x.py", "engine_detector.py"] {
            let trace = scratch.file(config + ".htrace")
            let record = try CLI.run(["record", "--config", Self.dir + "/" + config, "--gpus", "8", "--cfg-options", config == "detector_1x.py" ? "runner.max_epochs=1" : "train_cfg.max_epochs=1", "-o", trace, "--quiet"])
            #expect(record.status == 0, "\(record.stderr)")
            // run_start's config (a JSON text inside the JSON line) keeps the launch.
            let info = try CLI.run(["show", trace, "--json"])
            #expect(info.stdout.split(separator: "\n").first?.contains(#"launch\":{\"gpus\":8}"#) == true, "\(info.stdout.prefix(400))")
            let replay = try CLI.run(["replay", trace])
            #expect(replay.status == 0, "\(config): \(replay.stdout)\(replay.stderr)")
        }
        // The meta line of the .log.json: mmdetection's config text, as tools/train.py sets it.
        let trace = scratch.file("detector_1x.py.htrace")
        let log = try CLI.run(["show", trace, "--hook", "TextLoggerHook", "--stage", "before_run"])
        #expect(log.stdout.contains("config=\"dataset_type = 'CocoDataset'…\""), "\(log.stdout)")
    }

    @Test("a dataset hooktrace cannot size, or a bad size: exit 2 naming the option")
    func datasetErrors() throws {
        let unknown = try CLI.run(["hooks", Self.dir + "/unknown_dataset.py"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("data.train: hooktrace does not know the size of this dataset (CocoDataset, ann_file 'data/objects365/annotations/zhiyuan_objv2_train.json'); give len(dataset) with --train-size N"), "\(unknown.stderr)")
        let given = try CLI.run(["hooks", Self.dir + "/unknown_dataset.py", "--train-size", "1742289"])
        #expect(given.status == 0, "\(given.stderr)")
        #expect(given.stderr.contains("note: data.train: 871145 batches per epoch: given (1742289 samples), GroupSampler"), "\(given.stderr)")
        for bad in [["--train-size", "many"], ["--train-size", "1,"], ["--gpus", "0"]] {
            let r = try CLI.run(["hooks", Self.dir + "/detector_1x.py"] + bad)
            #expect(r.status == 2 && r.stderr.contains("hooktrace: error:"), "\(bad): \(r.stderr)")
        }
    }
}
