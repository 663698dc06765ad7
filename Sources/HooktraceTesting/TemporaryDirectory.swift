import HooktraceAnalysis
import HooktraceFormat
import HooktraceRender
import HooktraceSim
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Creates a new empty directory under the system's temporary directory.
    public init(prefix: String = "hooktrace-test") {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "cannot create a temporary directory")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Deletes the directory and its files (not recursive beyond one level).
    public func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

/// Writes `events` to `path` and returns the file's bytes.
@discardableResult
public func writeTrace(_ events: [Event], to path: String, options: TraceWriter.Options = TraceWriter.Options()) throws -> [UInt8] {
    let writer = try TraceWriter(path: path, options: options)
    for e in events { try writer.append(e) }
    try writer.close()
    return try readBytes(path)
}

/// Reads every event of a trace; throws at damage.
public func readTrace(_ path: String, filter: TraceFilter = TraceFilter()) throws -> [TraceEntry] {
    let reader = try TraceReader(path: path, filter: filter)
    var out: [TraceEntry] = []
    try reader.forEach { out.append($0) }
    if case .damaged(let e) = reader.state { throw e }
    return out
}

/// The bytes of the file at `path`.
public func readBytes(_ path: String) throws -> [UInt8] {
    try readFileBytes(path)
}

/// Writes `bytes` to `path`, replacing the file.
public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    guard let f = fopen(path, "wb") else { throw HooktraceError(.io, "cannot create", file: path) }
    defer { fclose(f) }
    guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { throw HooktraceError(.io, "cannot write", file: path) }
}
