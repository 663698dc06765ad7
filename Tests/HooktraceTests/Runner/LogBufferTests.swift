import Testing
@testable import HooktraceFormat
@testable import HooktraceSim

/// The log buffer against a plain model of mmcv's: a list of (value, count) per key,
/// `average(n)` = pairwise sum of value × count over the key's last n entries / sum of counts.
@Suite("LogBuffer")
struct LogBufferTests {
    struct Model {
        var keys: [String] = []
        var history: [String: [(Double, Int)]] = [:]
        var output: [(String, Double)] = []

        mutating func update(_ key: String, _ value: Double, _ count: Int) {
            if history[key] == nil { keys.append(key) }
            history[key, default: []].append((value, count))
        }
        mutating func average(_ n: Int) {
            for key in keys {
                let h = history[key]!
                let tail = n > 0 ? Array(h.suffix(n)) : h
                let value = pairwiseSum(tail.map { $0.0 * Double($0.1) }) / Double(tail.reduce(0) { $0 + $1.1 })
                if let i = output.firstIndex(where: { $0.0 == key }) { output[i].1 = value } else { output.append((key, value)) }
            }
        }
        mutating func clear() { keys = []; history = [:]; output = [] }
    }

    @Test("averages equal the per-key model's bit for bit, through clears, odd key orders and sizes around numpy's block of 128",
          arguments: [UInt64(1), 2, 3, 4, 5])
    func matchesModel(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var buffer = LogBuffer(symbols: SymbolTable())
        var model = Model()
        let names = ["loss_cls", "loss_bbox", "loss", "time", "data_time", "grad_norm", "acc"]
        for _ in 0..<400 {
            let action = rng.next() % 100
            if action < 85 {
                // Mostly the round-robin order a run has; sometimes a key out of turn.
                let key = names[Int(rng.next() % UInt64(rng.next() % 10 < 8 ? 4 : names.count))]
                let value = Double(rng.next() % 1_000_000) / 997.0 + 1e-7
                let count = 1 + Int(rng.next() % 4)
                buffer.update(named: key, value, count: count)
                model.update(key, value, count)
            } else if action < 98 {
                let n = [0, 1, 7, 8, 9, 50, 128, 129, 300][Int(rng.next() % 9)]
                buffer.average(n)
                model.average(n)
                // (LogBuffer is not copyable: read its state into values for the expectations.)
                let ready = buffer.ready, output = buffer.output
                #expect(ready)
                #expect(output.count == model.output.count)
                for ((k1, v1), (k2, v2)) in zip(output, model.output) {
                    #expect(k1 == k2)
                    #expect(v1 == .double(v2), "\(k1) after average(\(n))")
                }
            } else {
                buffer.clear()
                model.clear()
                let cleared = buffer.output.isEmpty && !buffer.ready
                #expect(cleared)
            }
        }
    }

    @Test("a key logged once early is still averaged over its one entry after many others")
    func sparseKey() {
        var buffer = LogBuffer(symbols: SymbolTable())
        buffer.update(named: "rare", 3.0, count: 2)
        for i in 0..<1000 { buffer.update(SymbolTable.loss, Double(i)) }
        buffer.average(50)
        let rare = buffer.outputValue("rare"), loss = buffer.outputValue("loss"), keys = buffer.output.map(\.key)
        #expect(rare == .double(3.0))
        #expect(loss == .double(pairwiseSum((950..<1000).map(Double.init)) / 50))
        #expect(keys == ["rare", "loss"])
    }
}
