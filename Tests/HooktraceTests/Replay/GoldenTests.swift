@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

/// Every golden under traces/golden, through the one-line assertion of HooktraceTesting.
private let goldenNames: [String] = (try? Golden.discover([goldenRoot(#filePath)]).map(\.name)) ?? []

@Suite("Golden traces")
struct GoldenTests {
    @Test("there are goldens for every LR family, checkpoints, eval, accumulation, runners, workflows, custom hooks and replay")
    func coverage() {
        #expect(goldenNames.count >= 10)
        for needed in ["lr-step", "lr-cosine", "lr-flat-cosine", "lr-cosine-restart", "lr-cyclic", "lr-one-cycle", "lr-exp", "lr-poly", "lr-inv",
                       "lr-linear", "lr-fixed", "lr-yolox", "checkpoint", "eval-save-best", "gradient-accumulation", "iter-based", "train-val", "custom-hooks", "replay-"] {
            #expect(goldenNames.contains { $0.hasPrefix(needed) || $0.contains(needed) }, "no golden for \(needed)")
        }
    }

    @Test("golden matches", arguments: goldenNames)
    func golden(name: String) throws {
        try expectGolden(name, mode: .never)
    }

    @Test("a changed golden fails with a semantic diff and re-records only when asked")
    func failureAndUpdate() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let golden = dir.path + "/g"
        try writeBytes([], to: dir.file("placeholder"))
        let config = try readBytes(goldenRoot(#filePath) + "/lr-exp/config.json")
        _ = mkdirCompat(golden)
        try writeBytes(config, to: golden + "/config.json")
        #expect(try goldenFailure("g", directory: dir.path, mode: .never)?.contains("no expected trace") == true)
        #expect(try goldenFailure("g", directory: dir.path, mode: .missing)?.contains("recorded now") == true)
        #expect(try goldenFailure("g", directory: dir.path, mode: .never) == nil)
        // Change the config: the golden now fails with the diff, and `failed` rewrites it.
        let changed = String(decoding: config, as: UTF8.self).replacingOccurrences(of: "0.9", with: "0.8")
        try writeBytes(Array(changed.utf8), to: golden + "/config.json")
        let message = try #require(try goldenFailure("g", directory: dir.path, mode: .never))
        #expect(message.contains("first divergence") && message.contains("HOOKTRACE_RECORD=failed"))
        #expect(try goldenFailure("g", directory: dir.path, mode: .failed) == nil)
        #expect(try goldenFailure("g", directory: dir.path, mode: .never) == nil)
    }
}

#if canImport(Glibc)
import Glibc
func mkdirCompat(_ path: String) -> Int32 { mkdir(path, 0o755) }
#endif
