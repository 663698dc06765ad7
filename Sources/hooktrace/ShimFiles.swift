#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat
import HooktraceLive

/// The Python files hooktrace runs (the recorder shim, the .py config loader): those of a
/// checkout, or the copies this binary carries, written to a private directory for the run.
enum ShimFiles {
    /// Runs `body` with the directory of the Python files: the checkout's (or
    /// $HOOKTRACE_SHIM_DIR), else a private copy written for it and removed afterwards.
    static func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        if let found = find() { return try body(found) }
        let dir = try writeCopy()
        defer { remove(dir) }
        return try body(dir)
    }

    /// Writes the embedded shim into a new private directory (mode 0700, under $TMPDIR or /tmp).
    static func writeCopy() throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/hooktrace-shim-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw HooktraceError(.io, "cannot make a directory for the recorder shim under \(base): \(String(cString: strerror(errno))); set TMPDIR to a writable directory, or HOOKTRACE_SHIM_DIR to tools/hooktrace_shim of a checkout")
        }
        let dir = String(cString: made)
        for (name, text) in EmbeddedShim.files {
            let path = dir + "/" + name
            guard let f = fopen(path, "w") else {
                remove(dir)
                throw HooktraceError(.io, "cannot write the recorder shim: \(String(cString: strerror(errno)))", file: path)
            }
            let written = fputs(text, f) >= 0
            let closed = fclose(f) == 0
            guard written && closed else {
                remove(dir)
                throw HooktraceError(.io, "cannot write the recorder shim (disk full?)", file: path)
            }
        }
        return dir
    }

    static func remove(_ dir: String) {
        for (name, _) in EmbeddedShim.files { unlink(dir + "/" + name) }
        // Python writes its bytecode cache next to the files.
        let cache = dir + "/__pycache__"
        if let d = opendir(cache) {
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(cache + "/" + name) }
            }
            closedir(d)
            rmdir(cache)
        }
        rmdir(dir)
    }

    /// The shim's directory: $HOOKTRACE_SHIM_DIR, or tools/hooktrace_shim above the executable.
    static func find() -> String? {
        if let env = getenv("HOOKTRACE_SHIM_DIR") { return String(cString: env) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        var dir = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            let candidate = dir + "/tools/hooktrace_shim"
            if access(candidate + "/hooktrace_shim.py", R_OK) == 0 { return candidate }
        }
        return nil
    }
}
