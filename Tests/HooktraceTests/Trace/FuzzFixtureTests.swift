import Foundation
@testable import HooktraceAnalysis
@testable import HooktraceFormat
@testable import HooktraceLive
@testable import HooktraceRender
@testable import HooktraceSim
import HooktraceTesting
import Testing

/// Inputs that `tools/fuzz` found crashing or breaking an invariant, kept as regression tests:
/// each is read every way the commands read traces, and what repair promises is checked.
@Suite("Fuzz-found inputs (Tests/Fixtures/fuzz)")
struct FuzzFixtureTests {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz").path
    }()

    static var fixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test("the fixtures are there (a .gitignore rule once kept them out of the repository)")
    func present() {
        #expect(Self.fixtures.count >= 1, "no files in \(Self.directory)")
    }

    @Test("each input reads without a trap, and repair yields an intact trace of exactly the good events", arguments: fixtures)
    func fixture(_ name: String) throws {
        let path = Self.directory + "/" + name
        if let reader = try? TraceReader(path: path) {
            while (try? reader.next()) != nil {}
        }
        if let reader = try? TraceReader(path: path) {
            let groups = CallGroupReader(reader: reader)
            while groups.next() != nil {}
        }
        _ = try? TraceSummary.read(path: path)
        guard let report = try? IntegrityReport.check(path: path) else { return }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        guard let result = try TraceRepair.repair(path: path, output: dir.file("repaired"), report: report) else {
            #expect(report.verdict == .intact)
            return
        }
        #expect(result.keptEvents == report.goodEvents)
        let again = try IntegrityReport.check(path: dir.file("repaired"))
        #expect(again.verdict == .intact, "\(again.problem?.message ?? "")")
        #expect(again.goodEvents == report.goodEvents)
    }
}
