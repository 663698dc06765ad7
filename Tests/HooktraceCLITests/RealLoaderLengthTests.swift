import Foundation
import HooktraceFormat
import HooktraceSim
import Testing

/// hooktrace's loader lengths against the real samplers' `len(data_loader)`: mmengine
/// 0.10.7's DefaultSampler and InfiniteSampler with torch's DataLoader, and mmdetection
/// 2.28.2's GroupSampler and DistributedGroupSampler read from its release wheel
/// (Tests/Fixtures/loader_lengths_real.py). Skipped where they are not installed.
@Suite("Loader lengths against the real samplers")
struct RealLoaderLengthTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("Tests/Fixtures/loader_lengths_real.py").path
    static let wheel = root.appendingPathComponent(".build-mmdet/mmdet-2.28.2-py3-none-any.whl").path
    static let mmdet2Available = FileManager.default.fileExists(atPath: wheel) && pythonImports("torch, numpy, mmcv.runner", environment: realMMCVEnvironment)

    static func real(_ request: JSONValue, arguments: [String] = [], environment: [String: String] = [:]) throws -> [Int] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data(request.description.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        guard case .array(let items) = try JSONValue.parse(String(decoding: data, as: UTF8.self)) else { return [] }
        return items.compactMap { if case .int(let n) = $0 { Int(n) } else { nil } }
    }

    @Test("mmengine: DefaultSampler (round_up or not) and InfiniteSampler over 1–8 processes, batch sizes, drop_last",
          .enabled(if: realMMEngineAvailable, "torch and mmengine are not installed; the unit tests check the formulas by hand"))
    func mmengine() throws {
        var cases: [JSONValue] = []
        var ours: [Int] = []
        for n in [1, 2, 7, 15, 16, 17, 1000, 117_266] {
            for gpus in [1, 3, 8] {
                for bs in [1, 2, 5, 16] {
                    for sampler in ["DefaultSampler", "InfiniteSampler"] {
                        for dropLast in [false, true] {
                            for roundUp in sampler == "DefaultSampler" ? [true, false] : [true] {
                                let config = #"{"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 1}, "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}}, "train_dataloader": {"batch_size": \#(bs), "drop_last": \#(dropLast), "sampler": {"type": "\#(sampler)", "round_up": \#(roundUp)}, "dataset": {"type": "CocoDataset", "ann_file": "x.json"}}, "launch": {"gpus": \#(gpus), "train_size": \#(n)}}"#
                                guard let c = try? RunConfig(text: config, name: "c") else { continue }  // no batches: refused
                                cases.append(.object([("n", .int(Int64(n))), ("gpus", .int(Int64(gpus))), ("batch_size", .int(Int64(bs))),
                                                      ("sampler", .string(sampler)), ("drop_last", .bool(dropLast)), ("round_up", .bool(roundUp))]))
                                ours.append(c.loaders[0].length)
                            }
                        }
                    }
                }
            }
        }
        let real = try Self.real(.object([("framework", .string("mmengine")), ("cases", .array(cases))]))
        #expect(real.count == ours.count && ours.count > 300)
        for (i, (a, b)) in zip(ours, real).enumerated() where a != b {
            Issue.record("\(cases[i]): hooktrace \(a), mmengine \(b)")
        }
    }

    @Test("mmdetection 2.x: GroupSampler and DistributedGroupSampler with two aspect-ratio groups",
          .enabled(if: mmdet2Available, "mmdetection 2.28.2's wheel is not in .build-mmdet (pip download --no-deps mmdet==2.28.2 -d .build-mmdet) or torch/mmcv 1.x are not importable"))
    func mmdet2() throws {
        var cases: [JSONValue] = []
        var ours: [Int] = []
        for a in [0, 1, 2, 15, 16, 17, 70_001] {
            for b in [0, 1, 3, 16, 47_265] where a + b > 0 {
                for gpus in [1, 2, 8] {
                    for spg in [1, 2, 4] {
                        let config = #"{"runner": {"type": "EpochBasedRunner", "max_epochs": 1}, "optimizer": {"type": "SGD", "lr": 0.02}, "data": {"samples_per_gpu": \#(spg), "train": {"type": "CocoDataset", "ann_file": "x.json"}}, "launch": {"gpus": \#(gpus), "train_size": [\#(a), \#(b)]}}"#
                        let c = try RunConfig(text: config, name: "c")
                        cases.append(.object([("groups", .array([.int(Int64(a)), .int(Int64(b))])), ("gpus", .int(Int64(gpus))), ("samples_per_gpu", .int(Int64(spg)))]))
                        ours.append(c.loaders[0].length)
                    }
                }
            }
        }
        let real = try Self.real(.object([("framework", .string("mmdet2")), ("cases", .array(cases))]), arguments: [Self.wheel], environment: realMMCVEnvironment)
        #expect(real.count == ours.count && ours.count > 200)
        for (i, (a, b)) in zip(ours, real).enumerated() where a != b {
            Issue.record("\(cases[i]): hooktrace \(a), mmdetection \(b)")
        }
    }
}
