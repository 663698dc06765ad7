import Foundation
import HooktraceFormat

/// A `.py` config resolved by the loader hooktrace carries (tools/hooktrace_shim/
/// hooktrace_config.py, standard-library Python): `_base_` inheritance, `{{ _base_.x }}`,
/// `_delete_`, predefined variables, as mmcv 1.x's and mmengine's Config.fromfile read them.
struct PyConfig {
    /// The resolved config (tuples as lists).
    var json: JSONValue
    /// The files read, the config first, then its bases.
    var files: [String]
    /// What the loader kept in another form (a Python object as its text).
    var notes: [String]

    /// Runs the loader on `path` with `$HOOKTRACE_PYTHON` (default python3).
    static func resolve(_ path: String) throws -> PyConfig {
        try ShimFiles.withDirectory { dir in try run(path, loaderDirectory: dir) }
    }

    private static func run(_ path: String, loaderDirectory dir: String) throws -> PyConfig {
        let python = ProcessInfo.processInfo.environment["HOOKTRACE_PYTHON"] ?? "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-I", "-S", dir + "/hooktrace_config.py", path]
        // stderr goes to a file: a pipe for each would need a reader per pipe.
        let errPath = NSTemporaryDirectory() + "/hooktrace-config-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
        guard FileManager.default.createFile(atPath: errPath, contents: nil), let errFile = FileHandle(forWritingAtPath: errPath) else {
            throw HooktraceError(.io, "cannot make a temporary file for the .py config loader's messages; set TMPDIR to a writable directory", file: path)
        }
        defer { try? errFile.close(); unlink(errPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errFile
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw HooktraceError(.usage, "cannot run \(python) to read the .py config (\(error)); install Python 3, or set HOOKTRACE_PYTHON", file: path)
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = FileManager.default.contents(atPath: errPath) ?? Data()
        let said = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            if process.terminationStatus == 127 {
                throw HooktraceError(.usage, "cannot run \(python) to read the .py config; install Python 3, or set HOOKTRACE_PYTHON", file: path)
            }
            // The loader's own message names the file and line: "FILE:LINE: what; what to do".
            let message = said.isEmpty ? "the .py config loader failed (exit \(process.terminationStatus))" : said
            throw HooktraceError(.invalidInput, message + " (see docs/CONFIG.md, .py configs)")
        }
        let text = String(decoding: stdout, as: UTF8.self)
        let result = Result { () throws(JSONSyntaxError) in try JSONValue.parse(text) }
        guard case .success(let whole) = result, let config = whole["config"] else {
            throw HooktraceError(.invalidInput, "the .py config loader printed no config (\(said.prefix(200)))", file: path)
        }
        var files: [String] = [], notes: [String] = []
        if case .array(let items)? = whole["files"] { files = items.compactMap { if case .string(let s) = $0 { s } else { nil } } }
        if case .array(let items)? = whole["notes"] { notes = items.compactMap { if case .string(let s) = $0 { s } else { nil } } }
        return PyConfig(json: config, files: files, notes: notes)
    }
}

extension JSONValue {
    /// Indented JSON text (two spaces, Python `json.dumps(indent=2)`'s layout).
    func pretty(_ level: Int = 0) -> String {
        let pad = String(repeating: "  ", count: level + 1), end = String(repeating: "  ", count: level)
        switch self {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { pad + $0.pretty(level + 1) }.joined(separator: ",\n") + "\n" + end + "]"
        case .object(let members) where !members.isEmpty:
            return "{\n" + members.map { pad + JSONValue.string($0.key).description + ": " + $0.value.pretty(level + 1) }.joined(separator: ",\n") + "\n" + end + "}"
        case .array: return "[]"
        case .object: return "{}"
        default: return description
        }
    }
}
