#if canImport(Glibc)
import Glibc
#endif

package func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// The text of a (config, hooks) file, at most 64 MiB; errors name the file.
package func readTextFile(_ path: String) throws(HooktraceError) -> String {
    String(decoding: try readFileBytes(path, limit: 64 << 20), as: UTF8.self)
}

/// A whole file's bytes (at most `limit`, when given); errors name the file and the fix.
package func readFileBytes(_ path: String, limit: Int? = nil) throws(HooktraceError) -> [UInt8] {
    guard let f = fopen(path, "rb") else {
        throw HooktraceError(.io, "cannot open: \(errno == ENOENT ? "no such file; check the path" : systemError())", file: path)
    }
    defer { fclose(f) }
    var st = stat()
    if fstat(fileno(f), &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
        throw HooktraceError(.io, "is a directory, not a file; give the path of a file inside it", file: path)
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n == 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
        if let limit, bytes.count > limit { throw HooktraceError(.limit, "larger than \(limit >> 20) MiB", file: path) }
    }
    if ferror(f) != 0 { throw HooktraceError(.io, "cannot read: \(systemError())", file: path) }
    return bytes
}

/// Whether the file at `path` starts with a trace's magic bytes (it may still be damaged).
package func startsWithTraceMagic(_ path: String) -> Bool {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
    var head = [UInt8](repeating: 0, count: TraceFormat.magic.count)
    return preadFully(fd, &head, 0) == head.count && head == TraceFormat.magic
}
