import HooktraceAnalysis
import HooktraceFormat
import HooktraceRender
import HooktraceSim
import Testing

/// Checks the golden `name` under `traces/golden/` of the package that holds `filePath`.
///
/// One line in a Swift Testing test:
/// ```swift
/// @Test func stepSchedule() throws { try expectGolden("lr-step-linear-warmup") }
/// ```
/// The record mode comes from `HOOKTRACE_RECORD` (`never`, `missing`, `failed`, `all`;
/// default `missing`) and is always `never` when `CI` is set. A failure records an issue
/// with the semantic diff and says how to re-record. XCTest users can call
/// ``goldenFailure(_:directory:mode:)`` and `XCTFail` its message.
public func expectGolden(_ name: String, directory: String? = nil, mode: Golden.RecordMode? = nil,
                         filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation) throws {
    if let message = try goldenFailure(name, directory: directory ?? goldenRoot(filePath), mode: mode) {
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

/// The failure message of golden `name` in `directory`, or nil when it passes (or was recorded).
public func goldenFailure(_ name: String, directory: String, mode: Golden.RecordMode? = nil) throws -> String? {
    let golden = Golden.Case(name: name, directory: directory + "/" + name)
    let result = try Golden.verify(golden, mode: mode ?? Golden.RecordMode.fromEnvironment())
    switch result.status {
    case .pass, .updated:
        return nil
    case .recorded:
        return "golden \(name) had no expected trace; it was recorded now: review \(golden.dump) and run the test again"
    case .fail:
        return "golden \(name) differs:\n\(result.message)\nTo accept the new behaviour: HOOKTRACE_RECORD=failed swift test (or `hooktrace verify \(golden.directory) --update`), then review expected.txt"
    }
}

/// `traces/golden` of the package that holds `filePath` (a test file).
public func goldenRoot(_ filePath: String) -> String {
    let root = filePath.split(separator: "/Tests/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "."
    return root + "/traces/golden"
}
