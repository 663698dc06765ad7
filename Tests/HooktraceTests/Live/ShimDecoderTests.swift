import Foundation
import Testing
import HooktraceFormat
import HooktraceSim
@testable import HooktraceLive

/// The recorder's decoder of the shim's batches, on bytes CPython's marshal wrote
/// (Tests/Fixtures/protocol; `python3 Tests/Fixtures/protocol/make.py` rewrites them).
@Suite("shim protocol decoder")
struct ShimDecoderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/protocol")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    /// Decodes a batch as the recorder does: JSON `stage` / `lr_source` messages define
    /// what the tuples after them refer to; other messages are returned as they are.
    static func decode(_ name: String) throws -> [ShimDecoder.Decoded] {
        try decodeBatch(name).decoded
    }

    /// The same, with the step values of protocol 4's rows taken from the batch's columns
    /// first, and what that found malformed.
    static func decodeBatch(_ name: String) throws -> (decoded: [ShimDecoder.Decoded], problems: [String]) {
        guard let items = ShimDecoder.items(of: try bytes(name)) else {
            Issue.record("\(name) is not a marshal list")
            return ([], [])
        }
        let (rows, problems) = ShimDecoder.rowValues(items)
        var decoder = ShimDecoder()
        var out: [ShimDecoder.Decoded] = []
        for (i, item) in items.enumerated() {
            let d = decoder.decode(item, values: rows[i])
            if case .message(let kind, let f) = d, kind == "stage" || kind == "lr_source" || kind == "counter" {
                let defined = decoder.define(kind, f)
                #expect(defined, "\(kind) \(f)")
            }
            out.append(d)
        }
        return (out, problems.map { "\($0.what): \($0.example)" })
    }

    static func call(_ stage: String, _ epoch: Int, _ iter: Int, _ inner: Int, _ time: Int64) -> Event {
        .call(Call(stage: stage, epoch: epoch, iter: iter, innerIter: inner, mode: .train, time: time))
    }

    @Test("every tuple kind decodes to its events, in the order the protocol gives them")
    func wellFormed() throws {
        let d = try Self.decode("well_formed.marshal")
        try #require(d.count == 13)
        #expect(d[0] == .message(kind: "stage", fields: [.int(0), .string("before_train_iter")]))
        #expect(d[2] == .message(kind: "lr_source", fields: [.int(0), .string(""), .int(0), .string("ParamSchedulerHook")]))
        #expect(d[3] == .events([Self.call("before_train_iter", 0, 5, 5, 1000)]))
        let step = { (stepped: Bool, norm: Double?, name: String) in Event.effect(Effect(hook: "OptimWrapper", .optimizerStep(optimizer: name, stepped: stepped, gradNorm: norm))) }
        #expect(d[4] == .events([step(true, nil, "")]))
        #expect(d[5] == .events([step(false, nil, "")]))
        #expect(d[6] == .events([step(true, 1.5, "generator")]))
        // The combined iteration tuple: the step's values, the call, the lr change.
        #expect(d[7] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.5))),
                                 .observe(Observation(kind: .logVar, name: "acc", value: .int(1))),
                                 Self.call("after_train_iter", 0, 5, 5, 2000),
                                 .effect(Effect(hook: "ParamSchedulerHook", .setLR(optimizer: "", group: 0, value: 0.01)))]))
        #expect(d[8] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.25))),
                                 Self.call("after_train_iter", 0, 6, 6, 3000 + (1 << 40))]))
        #expect(d[9] == .events([.effect(Effect(hook: "ParamSchedulerHook", .setLR(optimizer: "", group: 0, value: 0.1)))]))
        #expect(d[10] == .events([.effect(Effect(hook: "ParamSchedulerHook", .setMomentum(optimizer: "", group: 0, value: 0.85)))]))
        #expect(d[11] == .events([.observe(Observation(kind: .metric, name: "coco/bbox_mAP", value: .double(0.9)))]))
        #expect(d[12] == .events([.observe(Observation(kind: .numSamples, name: "num_samples", value: .int(4)))]))
    }

    @Test("items of known shapes with fields the recorder cannot use are reported by what they were, never guessed at")
    func malformed() throws {
        let d = try Self.decode("malformed.marshal")
        let reports = d.compactMap { x -> String? in if case .malformed(let what, let example) = x { "\(what): \(example)" } else { nil } }
        #expect(reports == [
            "call tuples: (0, 'not-a-stage-id', 0, 0, 0, 0, 0)",
            "iteration tuples: (5, 1, 0, 7, 7, 1, 4000, 9, 0.02, 'loss', 0.5)",
            "iteration tuples: (5, 1, 0, 7, 7, 1, 4000, 0, 'fast', 'loss', 0.5)",
            "iteration tuples: (5, 1, 0, 7, 7, 1, 4000, 0, None, 3, 0.5)",
            "batch items of no known shape: 7",
            "batch items of no known shape: (1, 0, 1.0)",
            "optimizer-step tuples: (2, 'yes', None)",
            "lr and momentum tuples: (3, '', 'g', 0.1, 'ParamSchedulerHook')",
            "batch strings that are not a message: not json",
            "batch strings that are not a message: {\"kind\": \"an object, not an array\"}",
        ], "\(reports)")
        #expect(d.count == reports.count)
    }

    @Test("protocol 4's rows take their step values from the batch's columns after them, in row order, whatever lies between")
    func columns() throws {
        let (d, problems) = try Self.decodeBatch("columns.marshal")
        #expect(problems.isEmpty, "\(problems)")
        try #require(d.count == 13)
        let lr = Event.effect(Effect(hook: "ParamSchedulerHook", .setLR(optimizer: "", group: 0, value: 0.02)))
        #expect(d[3] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.5))),
                                 .observe(Observation(kind: .logVar, name: "acc", value: .int(1))),
                                 Self.call("after_train_iter", 0, 7, 7, 5000), lr]))
        #expect(d[4] == .events([Self.call("before_train_iter", 0, 8, 8, 5500)]))
        // A value the shim could not attribute (None) is kept as null, never guessed.
        #expect(d[5] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.25))),
                                 .observe(Observation(kind: .logVar, name: "acc", value: .null)),
                                 Self.call("after_train_iter", 0, 8, 8, 6000)]))
        #expect(d[6] == .events([]))
        #expect(d[7] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.125))),
                                 Self.call("after_train_iter", 0, 9, 9, 7000)]))
        #expect(d[9] == .events([]))
        #expect(d[10] == .events([.observe(Observation(kind: .logVar, name: "loss", value: .double(0.0625))),
                                  Self.call("after_train_iter", 0, 10, 10, 8000)]))
        #expect(d[11] == .events([.effect(Effect(hook: "ParamSchedulerHook", .setLR(optimizer: "", group: 1, value: 0.05)))]))
    }

    @Test("columns that do not fit the rows before them, and rows whose columns never come, are reported; the rows keep their calls")
    func columnsMalformed() throws {
        let (d, problems) = try Self.decodeBatch("columns_malformed.marshal")
        #expect(problems == [
            "column items that do not fit the rows before them: (7, 2, 'loss', (0.5, 0.6))",
            "column items that do not fit the rows before them: (7, 1, 'loss', (0.5, 0.6))",
            "column items that do not fit the rows before them: (7, 1, 3, (0.5,))",
            "iteration rows whose step values never came: (6, 1, 0, 4, 4, 1, 400, 0, None)",
        ], "\(problems)")
        let calls = d.flatMap { x -> [Event] in if case .events(let e) = x { e } else { [] } }
        #expect(calls == [1, 2, 3, 4].map { Self.call("after_train_iter", 0, $0, $0, Int64($0 * 100)) })
    }

    @Test("protocol 5: optimizer steps are the counter's moves since the last count seen (rows, (9, COUNT), a counter base); log bytes split into records across items")
    func countedSteps() throws {
        let (d, problems) = try Self.decodeBatch("counted.marshal")
        #expect(problems.isEmpty, "\(problems)")
        try #require(d.count == 13)
        let step = Event.effect(Effect(hook: "OptimWrapper", .optimizerStep(optimizer: "", stepped: true, gradNorm: nil)))
        let loss = { (v: Double) in Event.observe(Observation(kind: .logVar, name: "loss", value: .double(v))) }
        #expect(d[2] == .message(kind: "counter", fields: [.int(40)]))
        #expect(d[3] == .events([step, loss(0.5), Self.call("after_train_iter", 0, 1, 1, 100)]))
        #expect(d[4] == .events([loss(0.25), Self.call("after_train_iter", 0, 2, 2, 200)]))
        #expect(d[5] == .events([step, step, step]))
        #expect(d[6] == .events([loss(0.125), Self.call("after_train_iter", 0, 3, 3, 300),
                                 .effect(Effect(hook: "ParamSchedulerHook", .setLR(optimizer: "", group: 0, value: 0.5)))]))
        #expect(d[8] == .events([]))
        #expect(d[9] == .events([step]))
        let log = { (fields: [Field]) in Event.effect(Effect(hook: "LoggerHook", .log(fields))) }
        #expect(d[10] == .logRecords([log([Field("lr", .double(0.1)), Field("step", .int(1))])], unreadable: []))
        // The held line completed; nested values kept whole as JSON text; a line that is
        // not an object skipped; one that looks like a record but is not JSON reported.
        #expect(d[11] == .logRecords([log([Field("lr", .double(0.2)), Field("step", .int(2)), Field("nested", .string("{\"a\":[1,2]}"))])],
                                     unreadable: ["{\"bad\": }"]))
        #expect(d[12] == .logRecords([log([Field("step", .int(3))])], unreadable: []))
    }

    @Test("log bytes: a line without its end waits for the rest; left so at the run's end, it is told (unfinishedLog), blanks are not")
    func unfinishedLog() {
        var decoder = ShimDecoder()
        let item = { (text: String) in MarshalValue.list([.int(8), .string("LoggerHook"), .bytes(Array(text.utf8))]) }
        let log = { (fields: [Field]) in Event.effect(Effect(hook: "LoggerHook", .log(fields))) }
        #expect(decoder.decode(item("{\"step\": 1}\n{\"st")) == .logRecords([log([Field("step", .int(1))])], unreadable: []))
        #expect(decoder.unfinishedLog == "{\"st")
        #expect(decoder.decode(item("ep\": 2}\n  \n")) == .logRecords([log([Field("step", .int(2))])], unreadable: []))
        #expect(decoder.unfinishedLog == nil)
        #expect(decoder.decode(item(" \t")) == .logRecords([], unreadable: []))
        #expect(decoder.unfinishedLog == nil)
    }

    @Test("protocol 5's counts and log bytes of the wrong types are reported, never guessed at")
    func countedMalformed() throws {
        let d = try Self.decode("counted_malformed.marshal")
        let reports = d.compactMap { x -> String? in if case .malformed(let what, let example) = x { "\(what): \(example)" } else { nil } }
        #expect(reports == [
            "step counts before their base: (9, 5)",
            "step counts: (9, 'five')",
            "iteration rows: (6, 1, 0, 1, 1, 1, 100, 0, None, 'x')",
            "log data tuples: (8, 'LoggerHook', 'text, not bytes')",
            "log data tuples: (8, 3, b'{}\n' (3 bytes))",
        ], "\(reports)")
    }

    @Test("protocol 5's times count from hello's t0")
    func timeBase() {
        var decoder = ShimDecoder()
        decoder.timeBase = 1_000_000_000_000
        let tuple = MarshalValue.list([.int(0), .int(0), .int(0), .int(0), .int(0), .int(1), .int(1_000_000_000_005)])
        #expect(decoder.decode(tuple) == .events([Self.call("stage0", 0, 0, 0, 5)]))
    }

    @Test("a batch cut off, or one that is not a list, is not read at all (the recorder reports it whole)")
    func damagedBatches() throws {
        #expect(ShimDecoder.items(of: try Self.bytes("truncated.marshal")) == nil)
        #expect(ShimDecoder.items(of: try Self.bytes("not_a_list.marshal")) == nil)
        #expect(ShimDecoder.items(of: []) == nil)
        // Every cut of a good batch is refused or read as a shorter list, never a crash.
        let whole = try Self.bytes("well_formed.marshal")
        for n in 0..<whole.count {
            if let items = ShimDecoder.items(of: Array(whole.prefix(n))) { #expect(items.count <= 13) }
        }
    }

    @Test("a stage id defined later, or never, reads as stage<N>; a redefinition counts from then on")
    func stageIds() {
        var decoder = ShimDecoder()
        let tuple = MarshalValue.list([.int(0), .int(3), .int(0), .int(0), .int(0), .int(1), .int(5)])
        #expect(decoder.decode(tuple) == .events([Self.call("stage3", 0, 0, 0, 5)]))
        decoder.defineStage(3, "after_train_iter")
        #expect(decoder.decode(tuple) == .events([Self.call("after_train_iter", 0, 0, 0, 5)]))
        #expect(decoder.stages == ["stage0", "stage1", "stage2", "after_train_iter"])
    }
}
