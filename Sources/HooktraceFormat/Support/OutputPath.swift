#if canImport(Glibc)
import Glibc
#endif

/// Where a command writes its output (`-o PATH`), decided before anything is written.
///
/// - A regular file or a path that does not exist yet is written as `PATH.partial` next to
///   it and renamed over `PATH` by ``commit()``, so a failure or a kill never leaves half a
///   file under the name. A symbolic link to a regular file keeps the link: its target is
///   replaced. The partial file is created exclusively: when one exists already (another
///   hooktrace writes the same output, or a recording was killed) the command refuses and
///   names it.
/// - `-`, a path under `/dev` or `/proc` (`/dev/stdout`, `/dev/null`), a FIFO or a
///   character device is written directly: that is what the user asked for. It is never
///   replaced by a regular file.
/// - A directory, a block device or a socket, and a path that is one of the command's
///   inputs, are refused with an error naming the problem.
///
/// ```swift
/// let out = try OutputPath(o, inputs: [trace])
/// let writer = try TraceWriter(path: out.writePath)
/// …
/// try out.commit()
/// ```
package final class OutputPath {
    /// The path the user gave.
    package let path: String
    /// The path to open for writing (the partial file, or the target itself).
    package let writePath: String
    /// True when the output goes straight to `path` (a device, a FIFO, standard output).
    package let isDirect: Bool
    /// The file renamed over when committing (the resolved target of a symbolic link).
    private let target: String
    private var committed = false

    /// The suffix of the file written before it is renamed into place.
    package static let partialSuffix = ".partial"

    /// Decides how to write `path`.
    ///
    /// - Parameters:
    ///   - path: the user's `-o` value; `-` means standard output.
    ///   - inputs: files the command reads; writing over one of them is refused.
    ///   - allowDirect: false when the command must read its output back (then only
    ///     regular files are accepted).
    /// - Throws: ``HooktraceError`` (`.usage`) naming the problem and the fix.
    package init(_ path: String, inputs: [String] = [], allowDirect: Bool = true) throws(HooktraceError) {
        self.path = path
        guard !path.isEmpty else {
            throw HooktraceError(.usage, "the output path is empty; give a file name with -o")
        }
        if path == "-" {
            guard allowDirect else {
                throw HooktraceError(.usage, "this command reads its output back; give a file path with -o, not -")
            }
            (writePath, target, isDirect) = ("/dev/stdout", "/dev/stdout", true)
            return
        }
        var st = stat()
        let exists = stat(path, &st) == 0
        let kind = exists ? st.st_mode & S_IFMT : 0
        if exists {
            for input in inputs where OutputPath.sameFile(input, path) {
                throw HooktraceError(.usage, "the output is also an input of this command (\(input)); write the output to another path", file: path)
            }
        }
        let special = path.hasPrefix("/dev/") || path.hasPrefix("/proc/") || kind == S_IFIFO || kind == S_IFCHR
        if exists && special {
            guard kind == S_IFIFO || kind == S_IFCHR || kind == S_IFREG else {
                throw HooktraceError(.usage, "the output is a special file that hooktrace does not write (\(OutputPath.describe(kind))); give a regular file path", file: path)
            }
            guard allowDirect else {
                throw HooktraceError(.usage, "this command reads its output back, so it needs a regular file, not \(OutputPath.describe(kind)); give another path with -o", file: path)
            }
            (writePath, target, isDirect) = (path, path, true)
            return
        }
        if exists && kind == S_IFDIR {
            throw HooktraceError(.usage, "the output is a directory; give a file path inside it, e.g. \(path.hasSuffix("/") ? path : path + "/")run.htrace", file: path)
        }
        if exists && kind != S_IFREG {
            throw HooktraceError(.usage, "the output is \(OutputPath.describe(kind)), not a regular file; give another path with -o", file: path)
        }
        // A link to a regular file: replace the file it points at, keep the link.
        var resolved = path
        if exists, let real = realpath(path, nil) {
            resolved = String(cString: real)
            free(real)
        }
        target = resolved
        isDirect = false
        // `repair OUT.partial -o OUT` reads the partial file that OUT would be written through.
        let natural = resolved + OutputPath.partialSuffix
        writePath = inputs.contains(where: { OutputPath.sameFile($0, natural) }) ? natural + "-new" : natural
        let fd = open(writePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let why = errno
            if why == EEXIST {
                var st = stat()
                let empty = stat(writePath, &st) == 0 && st.st_size == 0
                throw HooktraceError(.usage, "\(writePath) exists: another hooktrace is writing \(path), or an earlier one was stopped"
                    + (empty ? " before it wrote anything (the file is empty); remove it, then run again"
                             : ". `hooktrace check \(writePath)` shows what it holds; move or remove it, then run again"), file: path)
            }
            throw HooktraceError(.io, "cannot create \(writePath): \(String(cString: strerror(why))); check the directory exists and is writable", file: path)
        }
        close(fd)
    }

    /// Moves the written output into place (nothing to do for direct output).
    package func commit() throws(HooktraceError) {
        guard !isDirect, !committed else { return }
        guard rename(writePath, target) == 0 else {
            throw HooktraceError(.io, "cannot move \(writePath) into place: \(systemError()); the output is kept there", file: path)
        }
        committed = true
    }

    /// Removes the partial file after a failure that left nothing worth keeping.
    package func discard() {
        guard !isDirect, !committed else { return }
        unlink(writePath)
    }

    /// Whether `a` and `b` name the same existing file.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        guard stat(a, &x) == 0, stat(b, &y) == 0 else { return false }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "a directory"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFIFO: "a FIFO"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }
}
