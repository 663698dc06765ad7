import Foundation
import Testing

/// The targets' layering (docs/DESIGN.md, "Targets"): each module may import only the
/// modules listed for it here. Package.swift declares the same dependencies; SwiftPM on
/// Linux can still let a target import a module it did not declare once that module is
/// built, so the sources are checked too.
let allowedImports: [String: Set<String>] = [
    "HooktraceFormat": [],
    "HooktraceSim": ["HooktraceFormat"],
    "HooktraceAnalysis": ["HooktraceFormat", "HooktraceSim"],
    "HooktraceRender": ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis"],
    "HooktraceLive": ["HooktraceFormat", "HooktraceSim"],
    "HooktraceTesting": ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender"],
    "HooktraceBench": ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender"],
    "hooktrace": ["HooktraceFormat", "HooktraceSim", "HooktraceAnalysis", "HooktraceRender", "HooktraceLive"],
]

/// Every import of a hooktrace module that its target may not make, as
/// "Sources/T/File.swift:LINE imports M", for the package rooted at `root`; and every
/// source folder the table above does not know (a new target must be placed in it).
func layerViolations(root: String) throws -> [String] {
    let fm = FileManager.default
    let sources = root + "/Sources"
    var problems: [String] = []
    let modules = Set(allowedImports.keys)
    for target in try fm.contentsOfDirectory(atPath: sources).sorted() {
        guard !target.hasPrefix("C") || allowedImports[target] != nil else { continue }  // CZstd, CZlib: C modules
        guard let allowed = allowedImports[target] else {
            problems.append("Sources/\(target) is not in the layer table (Tests/HooktraceTests/Architecture/LayerTests.swift)")
            continue
        }
        guard let files = fm.enumerator(atPath: sources + "/" + target) else { continue }
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + target + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let words = line.split(separator: " ").map(String.init).filter { !$0.hasPrefix("@") }
                guard words.count >= 2, words[0] == "import" else { continue }
                let module = words[words.count - 1]
                if modules.contains(module) && module != target && !allowed.contains(module) {
                    problems.append("Sources/\(target)/\(file):\(number + 1) imports \(module)")
                }
            }
        }
    }
    // Package.swift's own lists, for the library targets: `name: "T", dependencies: [...]`.
    let manifest = try String(contentsOfFile: root + "/Package.swift", encoding: .utf8)
    for (target, allowed) in allowedImports {
        guard let range = manifest.range(of: "name: \"\(target)\",") else { continue }
        let rest = manifest[range.upperBound...]
        guard let deps = rest.range(of: "dependencies: ["), let end = rest[deps.upperBound...].firstIndex(of: "]") else { continue }
        for module in modules where rest[deps.upperBound..<end].contains("\"\(module)\"") && !allowed.contains(module) {
            problems.append("Package.swift: \(target) depends on \(module)")
        }
    }
    return problems.sorted()
}

/// Public declarations of the library targets without a `///` comment right above them
/// (attributes may come between), as "Sources/T/File.swift:LINE".
func undocumentedPublicDeclarations(root: String) throws -> [String] {
    let fm = FileManager.default
    var missing: [String] = []
    for target in allowedImports.keys.sorted() where target != "hooktrace" && target != "HooktraceBench" {
        guard let files = fm.enumerator(atPath: root + "/Sources/" + target) else { continue }
        for case let file as String in files where file.hasSuffix(".swift") {
            let lines = try String(contentsOfFile: root + "/Sources/" + target + "/" + file, encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            for (i, line) in lines.enumerated() {
                let words = line.split(separator: " ").drop { $0.hasPrefix("@") }
                guard words.first == "public" else { continue }
                var j = i - 1
                while j >= 0 && lines[j].hasPrefix("@") { j -= 1 }
                if j < 0 || !lines[j].hasPrefix("///") { missing.append("Sources/\(target)/\(file):\(i + 1)") }
            }
        }
    }
    return missing.sorted()
}

private func packageRoot() -> String {
    String(#filePath.split(separator: "/Tests/", maxSplits: 1, omittingEmptySubsequences: false)[0])
}

@Suite("Architecture")
struct LayerTests {
    @Test("no target imports a layer above it")
    func layering() throws {
        #expect(try layerViolations(root: packageRoot()) == [])
    }

    @Test("every public declaration is documented")
    func documented() throws {
        #expect(try undocumentedPublicDeclarations(root: packageRoot()) == [])
    }

    @Test("the checks catch an import that goes up, a target they do not know, an undocumented public declaration")
    func catchesWrongImport() throws {
        let root = NSTemporaryDirectory() + "hooktrace-layers-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/Sources/HooktraceFormat/Trace", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/Sources/HooktraceNew", withIntermediateDirectories: true)
        try "import Glibc\n@testable import HooktraceSim\n".write(toFile: root + "/Sources/HooktraceFormat/Trace/Bad.swift", atomically: true, encoding: .utf8)
        let manifest = try String(contentsOfFile: packageRoot() + "/Package.swift", encoding: .utf8)
            .replacingOccurrences(of: "name: \"HooktraceLive\",\n            dependencies: [", with: "name: \"HooktraceLive\",\n            dependencies: [\"HooktraceRender\", ")
        try manifest.write(toFile: root + "/Package.swift", atomically: true, encoding: .utf8)
        try "/// Documented.\n@inlinable public func a() {}\n\npublic func b() {}\n".write(toFile: root + "/Sources/HooktraceFormat/Trace/Doc.swift", atomically: true, encoding: .utf8)
        #expect(try undocumentedPublicDeclarations(root: root) == ["Sources/HooktraceFormat/Trace/Doc.swift:4"])
        #expect(try layerViolations(root: root) == [
            "Package.swift: HooktraceLive depends on HooktraceRender",
            "Sources/HooktraceFormat/Trace/Bad.swift:2 imports HooktraceSim",
            "Sources/HooktraceNew is not in the layer table (Tests/HooktraceTests/Architecture/LayerTests.swift)",
        ])
    }
}
