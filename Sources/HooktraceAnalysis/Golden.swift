#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat
import HooktraceSim

/// Golden traces: a run config (and for replay goldens a hooks file) with the trace it
/// must produce, checked in and compared by decoded events.
///
/// A golden is a directory holding `config.json`, optionally `hooks.json` (the config is
/// recorded, then replayed with these hooks), `expected.htrace` and `expected.txt` (a
/// readable dump of the expected trace, for code review). Compressed bytes are never
/// compared, so a newer libzstd does not break goldens.
public enum Golden {
    /// When goldens are written: `never` (compare only), `missing` (write absent ones),
    /// `failed` (rewrite those that differ), `all` (rewrite every one).
    public enum RecordMode: String, Sendable, CaseIterable {
        case never, missing, failed, all

        /// `HOOKTRACE_RECORD` from the environment; `never` when `CI` is set.
        public static func fromEnvironment(default d: RecordMode = .missing) -> RecordMode {
            if getenv("CI") != nil { return .never }
            if let v = getenv("HOOKTRACE_RECORD"), let m = RecordMode(rawValue: String(cString: v)) { return m }
            return d
        }
    }

    /// One golden: a folder with `config.json` (and for replays `hooks.json` and `base.json`), `expected.htrace` and its dump `expected.txt`.
    public struct Case: Sendable {
        /// The golden's name (its folder's name).
        public var name: String
        /// The golden's folder.
        public var directory: String

        /// The golden `name` in `directory`.
        public init(name: String, directory: String) {
            self.name = name
            self.directory = directory
        }

        /// The run config the trace is recorded from.
        public var config: String { directory + "/config.json" }
        package var hooks: String? { fileExists(directory + "/hooks.json") ? directory + "/hooks.json" : nil }
        package var expected: String { directory + "/expected.htrace" }
        package var dump: String { directory + "/expected.txt" }
    }

    /// The outcome of checking one golden.
    public enum Status: String, Sendable {
        case pass = "PASS"
        case fail = "FAIL"
        case recorded = "RECORDED"
        case updated = "UPDATED"
    }

    /// A golden's outcome and, when it failed, what differs.
    public struct Result: Sendable {
        /// The golden checked.
        public var golden: Case
        /// Passed, failed, recorded or updated.
        public var status: Status
        /// What differs (the semantic diff), or what was written.
        public var message: String
    }

    /// Golden directories under `paths`: each path is a golden (has `config.json`) or a
    /// directory of goldens. Sorted by name.
    public static func discover(_ paths: [String]) throws(HooktraceError) -> [Case] {
        var out: [Case] = []
        for path in paths {
            var p = path
            while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
            if fileExists(p + "/config.json") {
                out.append(Case(name: baseName(p), directory: p))
                continue
            }
            guard let dir = opendir(p) else {
                throw HooktraceError(.io, "no such golden or directory of goldens; a golden is a directory with config.json", file: p)
            }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name.hasPrefix(".") { continue }
                if fileExists(p + "/" + name + "/config.json") { names.append(name) }
            }
            closedir(dir)
            if names.isEmpty {
                throw HooktraceError(.invalidInput, "holds no goldens (directories with config.json)", file: p)
            }
            out += names.sorted().map { Case(name: $0, directory: p + "/" + $0) }
        }
        return out
    }

    /// Produces the golden's trace at `path`: records the config, then replays it with the
    /// hooks file when there is one.
    public static func produce(_ golden: Case, at path: String) throws(HooktraceError) {
        let text = try readTextFile(golden.config)
        let config = try RunConfig(text: text, name: golden.name)
        if let hooks = golden.hooks {
            let base = path + ".base"
            defer { unlink(base) }
            try write(base) { writer throws(HooktraceError) in try Simulator.record(config, to: writer) }
            let hooksText = try readTextFile(hooks)
            let parsed: JSONValue
            do {
                parsed = try JSONValue.parse(hooksText)
            } catch {
                throw HooktraceError(.invalidInput, "not valid JSON: \(error)", file: hooks)
            }
            try write(path) { writer throws(HooktraceError) in try Replayer.replay(trace: base, hooks: parsed, to: writer) }
        } else {
            try write(path) { writer throws(HooktraceError) in try Simulator.record(config, to: writer) }
        }
    }

    private static func write(_ path: String, _ body: (TraceWriter) throws(HooktraceError) -> Void) throws(HooktraceError) {
        let writer = try TraceWriter(path: path)
        try body(writer)
        try writer.close()
    }

    /// Checks one golden, writing files as `mode` allows.
    public static func verify(_ golden: Case, mode: RecordMode) throws(HooktraceError) -> Result {
        let actual = golden.directory + "/.actual-\(getpid()).htrace"
        defer { unlink(actual) }
        try produce(golden, at: actual)
        guard fileExists(golden.expected) else {
            guard mode != .never else {
                return Result(golden: golden, status: .fail, message: "no expected trace; record it with `hooktrace verify \(golden.directory) --update` and review expected.txt")
            }
            try accept(actual, golden)
            return Result(golden: golden, status: .recorded, message: "recorded expected.htrace and expected.txt; review them")
        }
        let difference = try compare(expected: golden.expected, actual: actual)
        if difference == nil && mode != .all {
            return Result(golden: golden, status: .pass, message: "")
        }
        if mode == .all || (mode == .failed && difference != nil) {
            try accept(actual, golden)
            return Result(golden: golden, status: .updated, message: difference ?? "rewritten (no change)")
        }
        return Result(golden: golden, status: .fail, message: difference ?? "")
    }

    /// Nil when the decoded events are identical; else the semantic diff and the first event that differs.
    public static func compare(expected: String, actual: String) throws(HooktraceError) -> String? {
        let x = try TraceReader(path: expected)
        let y = try TraceReader(path: actual)
        var index: UInt64 = 0
        while true {
            let a = try x.next()
            let b = try y.next()
            if a == nil && b == nil { return nil }
            if let a, let b, a.event.isIdentical(to: b.event) {
                index += 1
                continue
            }
            var options = TraceDiff.Options()
            options.limit = 5
            let diff = try TraceDiff.compare(expected, actual, options: options)
            var first = "first differing event: #\(index): expected \(a.map { EventText.line($0) } ?? "(end of trace)")\n  got \(b.map { EventText.line($0) } ?? "(end of trace)")"
            if let a, let b, EventText.line(a) == EventText.line(b) {
                first += "\n  (the line does not show it: " + hiddenDifference(a.event, b.event) + ")"
            }
            return first + "\n" + diff.text
        }
    }

    /// What differs between two events whose one-line views are equal: for a run_start,
    /// the fields that differ (each hook's settings and stages by name); otherwise a hint.
    static func hiddenDifference(_ a: Event, _ b: Event) -> String {
        guard case .runStart(let x) = a, case .runStart(let y) = b else { return "compare `hooktrace show --json` of both" }
        var fields: [String] = []
        if x.config != y.config { fields.append("config") }
        if x.meta != y.meta { fields.append("meta") }
        if x.paramGroups != y.paramGroups { fields.append("param_groups") }
        if x.loaders != y.loaders { fields.append("loaders") }
        if x.seed != y.seed { fields.append("seed") }
        if x.hooks.count != y.hooks.count {
            fields.append("hooks (\(x.hooks.count) vs \(y.hooks.count))")
        } else {
            for (h, k) in zip(x.hooks, y.hooks) where h != k {
                if h.config != k.config { fields.append("\(h.name) settings: \(h.config) vs \(k.config)") }
                else if h.stages != k.stages { fields.append("\(h.name) stages") }
                else { fields.append("hook \(h.name) vs \(k.name)") }
            }
        }
        return fields.isEmpty ? "run_start fields" : "run_start " + fields.joined(separator: "; ")
    }

    private static func accept(_ actual: String, _ golden: Case) throws(HooktraceError) {
        // The dump is written like any output (through DUMP.partial); the trace was
        // written next to the golden and is moved over it.
        let dump = try OutputPath(golden.dump)
        guard let f = fopen(dump.writePath, "w") else {
            dump.discard()
            throw HooktraceError(.io, "cannot write: \(systemError())", file: dump.writePath)
        }
        var text = "# \(golden.name): the expected trace, one event per line (hooktrace show). Review changes like code.\n"
        text += EventText.header + "\n"
        do {
            let reader = try TraceReader(path: actual)
            while let e = try reader.next() {
                text += EventText.line(e) + "\n"
                if text.utf8.count > 1 << 16 {
                    fputs(text, f)
                    text = ""
                }
            }
        } catch {
            fclose(f)
            dump.discard()
            throw error
        }
        fputs(text, f)
        fclose(f)
        guard rename(actual, golden.expected) == 0 else {
            dump.discard()
            throw HooktraceError(.io, "cannot write the golden trace: \(systemError())", file: golden.expected)
        }
        try dump.commit()
    }
}

extension Event {
    /// Equal, with doubles compared bit for bit.
    public func isIdentical(to other: Event) -> Bool {
        switch (self, other) {
        case (.effect(let a), .effect(let b)): return a.hook == b.hook && a.action.isIdentical(to: b.action)
        case (.observe(let a), .observe(let b)): return a.isIdentical(to: b)
        case (.runStart(let a), .runStart(let b)):
            return a == b && a.paramGroups.map { [$0.lr.bitPattern, $0.momentum?.bitPattern ?? 0] } == b.paramGroups.map { [$0.lr.bitPattern, $0.momentum?.bitPattern ?? 0] }
                && identicalFields(a.meta, b.meta)
        default: return self == other
        }
    }
}
