#if canImport(Glibc)
import Glibc
#endif
import HooktraceFormat
import HooktraceSim

/// Records a real training run: starts a command with hooktrace's Python shim on its
/// path, receives the shim's messages over a Unix socket (one connection per process,
/// so each rank of a distributed run gets its own trace) and writes them as traces.
///
/// The command's output passes through untouched; its exit status is returned.
package final class LiveRecorder {
    package struct Options: Sendable {
        /// The trace path for rank 0 (or a single process); rank k writes `NAME.rankK.htrace`.
        package var output: String
        /// The directory holding `sitecustomize.py` and `hooktrace_shim.py`.
        package var shimDirectory: String
        package var perHookTiming = false
        package init(output: String, shimDirectory: String) {
            self.output = output
            self.shimDirectory = shimDirectory
        }
    }

    package struct Outcome: Sendable {
        /// The command's exit status (128 + signal when it was killed).
        package var exitCode: Int32
        /// Traces written, by rank.
        package var traces: [(rank: Int, path: String, events: UInt64)]
        /// Things the user should know (nothing recorded, unknown messages…).
        package var notes: [String]
        /// What makes the recording unreliable (a shim of a protocol this recorder does not
        /// read): said as errors, and `record` exits 2 when the command itself succeeded.
        package var errors: [String] = []
    }

    let options: Options

    package init(options: Options) {
        self.options = options
    }

    /// The trace path for process `rank` of a run: `output` for rank 0, `NAME.rankK.htrace` otherwise.
    package static func tracePath(_ output: String, rank: Int) -> String {
        guard rank != 0 else { return output }
        let base = output.hasSuffix(".htrace") ? String(output.dropLast(7)) : output
        return "\(base).rank\(rank).htrace"
    }

    /// The shim protocol this recorder reads (docs/SHIM.md; the shim's PROTOCOL_VERSION),
    /// and every earlier one.
    package static let protocolVersion = 5

    private final class Client {
        let fd: Int32
        var buffer: [UInt8] = []
        var writer: TraceWriter?
        var output: OutputPath?
        var path = ""
        var rank = 0
        var world = 1
        var meta: [Field] = []
        var hookNames: [String] = []
        var startInfo: JSONValue?
        var loaders: [LoaderLength] = []
        /// What the client's batch tuples refer to (stage ids, lr sources), as defined so far.
        var decoder = ShimDecoder()
        var closed = false
        /// The shim's own failure, if it had one: the recording stopped there.
        var fault: String?
        init(fd: Int32) { self.fd = fd }
    }

    package func run(command: [String]) throws(HooktraceError) -> Outcome {
        guard command.first != nil else {
            throw HooktraceError(.usage, "no command after --; e.g. hooktrace record -o run.htrace -- python train.py config.py")
        }
        let socketName = "hooktrace-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let listener = try listen(socketName)
        defer { _ = close(listener) }
        // The first trace's output is checked and reserved before a possibly long run starts.
        let firstOutput = try OutputPath(options.output)
        // The shim reads "@name" as an abstract socket address.
        let pid: pid_t
        do {
            pid = try spawn(command, socketPath: "@" + socketName)
        } catch {
            firstOutput.discard()
            throw error
        }
        // Keep running through Ctrl-C so the traces get finished; the command gets the signal.
        let oldInt = signal(SIGINT, SIG_IGN)
        let oldTerm = signal(SIGTERM, SIG_IGN)
        defer {
            signal(SIGINT, oldInt)
            signal(SIGTERM, oldTerm)
        }
        var session = Session(first: firstOutput)
        var clients: [Client] = []
        var exitCode: Int32?
        var graceUntil: ContinuousClock.Instant?
        var failure: HooktraceError?
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for c in clients where !c.closed { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            if fds[0].revents & Int16(POLLIN) != 0 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    clients.append(Client(fd: fd))
                }
            }
            for c in clients where !c.closed {
                guard let entry = fds.first(where: { $0.fd == c.fd }), entry.revents != 0 else { continue }
                let n = read(c.fd, &chunk, chunk.count)
                if n <= 0 {
                    c.closed = true
                    _ = close(c.fd)
                    continue
                }
                c.buffer.append(contentsOf: chunk[0..<n])
                do {
                    try process(c, &session)
                } catch {
                    if failure == nil { failure = error }
                }
            }
            // A block is on disk at most a second after its first event, even when the
            // run goes quiet (a long evaluation, a hang).
            for c in clients {
                do { try c.writer?.flushIfDue() } catch { if failure == nil { failure = error } }
            }
            if exitCode == nil {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid {
                    exitCode = decodeStatus(status)
                    graceUntil = ContinuousClock.now + .seconds(2)
                }
            }
            if let g = graceUntil, clients.allSatisfy(\.closed) || ContinuousClock.now > g { break }
        }
        var traces: [(Int, String, UInt64)] = []
        let code = exitCode ?? 0
        let end = LiveRecorder.runEnd(exitCode: code)
        for c in clients {
            if !c.closed { _ = close(c.fd) }
            guard let writer = c.writer, let output = c.output else { continue }
            if let cut = c.decoder.unfinishedLog {
                // (The program's log, not the shim: a record the logger was writing as the run stopped.)
                session.notes.append("rank \(c.rank): the log's last line has no end (\(cut.utf8.count) bytes: a record cut off as the run stopped), not recorded: \(cut.prefix(120))")
            }
            do {
                // A recording the shim gave up on ends failed, saying where and why; the
                // program's own exit code is kept.
                try writer.append(.runEnd(c.fault.map { RunEnd(status: .failed, exitCode: end.exitCode, message: $0 + (end.message.isEmpty ? "" : "; " + end.message)) } ?? end))
                try writer.close()
                try output.commit()
                traces.append((c.rank, c.path, writer.eventCount))
            } catch {
                if failure == nil { failure = error }
                session.notes.append("the trace of rank \(c.rank) is kept in \(output.writePath) (\(error.message)); `hooktrace check \(output.writePath)` shows what it holds")
            }
        }
        // The first output was reserved up front; nothing was recorded into it.
        if session.unused(options.output) { firstOutput.discard() }
        if let failure {
            // Where the recorded data is matters more than the error: say both.
            let kept = session.notes.filter { $0.hasPrefix("the trace of rank") }
            throw HooktraceError(failure.code, ([failure.message] + kept).joined(separator: "; "), file: failure.file, offset: failure.offset, block: failure.block)
        }
        if traces.isEmpty {
            if code != 0 {
                // A program that failed before its first hook call: its own error (above on
                // stderr) is the reason, not the shim.
                session.notes.append("nothing was recorded: \(Self.runEnd(exitCode: code).message) before its first hook call (its own error is above)")
            } else {
                session.notes.append(clients.isEmpty
                    ? "nothing was recorded: the command never started a Python process with the shim (is it a Python program? does it reset PYTHONPATH?)"
                    : "nothing was recorded: the program imported neither mmcv's nor mmengine's runner, or never called a hook")
            }
        }
        if !session.malformed.isEmpty {
            let list = session.malformed.sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key) (first: \($0.value.example))" }
            session.notes.append("the shim sent \(session.malformed.values.reduce(0) { $0 + $1.count }) messages the recorder could not read, not recorded: \(list.joined(separator: "; ")) (docs/SHIM.md; a shim of another hooktrace?)")
        }
        if !session.unknownKinds.isEmpty {
            let kinds = session.unknownKinds.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            session.notes.append("skipped \(session.unknownKinds.values.reduce(0, +)) messages the recorder does not know: \(kinds.joined(separator: ", ")) (docs/SHIM.md)")
        }
        return Outcome(exitCode: code, traces: traces.sorted { $0.0 < $1.0 }.map { (rank: $0.0, path: $0.1, events: $0.2) }, notes: session.notes,
                       errors: session.errors)
    }

    /// How a run that exited with `code` ended: interrupted when stopped by SIGINT, SIGTERM
    /// or SIGHUP (someone asked it to stop), failed on any other signal or non-zero status.
    static func runEnd(exitCode code: Int32) -> RunEnd {
        if code == 0 { return RunEnd(status: .completed, exitCode: 0, message: "") }
        if code > 128 {
            let signal = code - 128
            let asked = signal == SIGINT || signal == SIGTERM || signal == SIGHUP
            return RunEnd(status: asked ? .interrupted : .failed, exitCode: Int(code), message: "the command was killed by signal \(signal)")
        }
        return RunEnd(status: .failed, exitCode: Int(code), message: "the command exited with status \(code)")
    }

    /// Outputs reserved for the traces of this recording, and notes for the user.
    private struct Session {
        var outputs: [String: OutputPath] = [:]
        var used: Set<String> = []
        var notes: [String] = []
        var errors: [String] = []
        /// Messages of kinds this recorder does not know, by kind.
        var unknownKinds: [String: Int] = [:]
        /// Messages the recorder could not read (a kind it knows with fields it cannot use),
        /// by what they were, with the first of each as an example; said after the run.
        var malformed: [String: (count: Int, example: String)] = [:]

        mutating func malformed(_ what: String, _ example: @autoclosure () -> String) {
            if let m = malformed[what] { malformed[what] = (m.count + 1, m.example) } else { malformed[what] = (1, String(example().prefix(200))) }
        }
        init(first: OutputPath) { outputs[first.path] = first }
        func unused(_ path: String) -> Bool { !used.contains(path) }
        mutating func output(for path: String) throws(HooktraceError) -> OutputPath {
            guard !used.contains(path) else {
                throw HooktraceError(.usage, "two processes of the run report the same rank; their traces would share \(path)")
            }
            used.insert(path)
            if let reserved = outputs[path] { return reserved }
            let o = try OutputPath(path)
            outputs[path] = o
            return o
        }
    }

    private func decodeStatus(_ status: Int32) -> Int32 {
        let signalled = status & 0x7F
        if signalled == 0 { return (status >> 8) & 0xFF }
        return 128 + signalled
    }

    /// Listens on an abstract Unix socket (Linux): no file to leave behind when the
    /// recorder is killed, and close-on-exec, so the command never inherits the listener
    /// (a child holding it could connect to itself and block forever once the recorder died).
    private func listen(_ name: String) throws(HooktraceError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HooktraceError(.io, "cannot create a socket for the recorder: \(systemError())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        guard bytes.count + 1 < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HooktraceError(.io, "socket name too long: \(name)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw[0] = 0  // abstract namespace
            for (i, b) in bytes.enumerated() { raw[i + 1] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard ok == 0, Glibc.listen(fd, 64) == 0 else {
            let why = systemError()
            _ = close(fd)
            throw HooktraceError(.io, "cannot listen on the recorder's socket: \(why)")
        }
        return fd
    }

    private func spawn(_ command: [String], socketPath: String) throws(HooktraceError) -> pid_t {
        var env: [String] = []
        var pythonPath = options.shimDirectory
        var index = 0
        while let entry = environ[index] {
            let s = String(cString: entry)
            index += 1
            if s.hasPrefix("PYTHONPATH=") {
                let existing = String(s.dropFirst("PYTHONPATH=".count))
                if !existing.isEmpty { pythonPath += ":" + existing }
                continue
            }
            if s.hasPrefix("HOOKTRACE_SOCKET=") || s.hasPrefix("HOOKTRACE_PER_HOOK_TIMING=") { continue }
            env.append(s)
        }
        env.append("PYTHONPATH=" + pythonPath)
        env.append("HOOKTRACE_SOCKET=" + socketPath)
        if options.perHookTiming { env.append("HOOKTRACE_PER_HOOK_TIMING=1") }
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))
        let rc = posix_spawnp(&pid, command[0], nil, &attr, &argv, &envp)
        posix_spawnattr_destroy(&attr)
        guard rc == 0 else {
            let why = rc == ENOENT ? "command not found; check the name and PATH" : String(cString: strerror(rc))
            throw HooktraceError(.usage, "cannot start \(command[0]): \(why)")
        }
        return pid
    }

    // MARK: Messages

    private func process(_ c: Client, _ session: inout Session) throws(HooktraceError) {
        var start = 0
        defer { c.buffer.removeSubrange(0..<start) }
        while let newline = c.buffer[start...].firstIndex(of: 0x0A) {
            let bytes = c.buffer[start..<newline]
            if bytes.first == UInt8(ascii: "M") {
                // A marshal batch: "M<length>\n" then that many bytes.
                guard let length = Int(String(decoding: bytes.dropFirst(), as: UTF8.self)), length >= 0 else {
                    session.notes.append("ignored a malformed batch header from the shim")
                    start = newline + 1
                    continue
                }
                guard c.buffer.count - (newline + 1) >= length else { return }
                let body = Array(c.buffer[(newline + 1)..<(newline + 1 + length)])
                start = newline + 1 + length
                try batch(body, c, &session)
                continue
            }
            start = newline + 1
            let line = String(decoding: bytes, as: UTF8.self)
            guard let message = try? JSONValue.parse(line), case .array(let parts) = message else {
                session.malformed("lines that are not a JSON array", line)
                continue
            }
            // A batch is an array of messages; a message is an array starting with its kind.
            let messages: [JSONValue] = parts.first.map { if case .array = $0 { return parts } else { return [message] } } ?? []
            for m in messages {
                guard case .array(let fields) = m, case .string(let kind)? = fields.first else {
                    session.malformed("messages without a kind", m.compact)
                    continue
                }
                try handle(kind, Array(fields.dropFirst()), c, &session)
            }
        }
    }

    /// A marshal batch (docs/SHIM.md): each item decoded by the client's `ShimDecoder`;
    /// JSON messages are handled here (a `stage` or `lr_source` definition updates the
    /// decoder for the items after it).
    private func batch(_ body: [UInt8], _ c: Client, _ session: inout Session) throws(HooktraceError) {
        guard let items = ShimDecoder.items(of: body) else {
            session.malformed("batches that are not a marshal list", "\(body.count) bytes")
            return
        }
        let (rows, problems) = ShimDecoder.rowValues(items)
        for p in problems { session.malformed(p.what, p.example) }
        for (i, item) in items.enumerated() {
            switch c.decoder.decode(item, values: rows.isEmpty ? nil : rows[i]) {
            case .events(let events):
                for e in events { try emit(c, e) }
            case .message(let kind, let fields):
                try handle(kind, fields, c, &session)
            case .malformed(let what, let example):
                session.malformed(what, example)
            case .logRecords(let events, let unreadable):
                for e in events { try emit(c, e) }
                for line in unreadable { session.malformed("log lines that are not a JSON object", line) }
            }
        }
    }

    private func int(_ v: JSONValue?) -> Int? {
        ShimDecoder.int(v)
    }

    private func string(_ v: JSONValue?) -> String? {
        if case .string(let s)? = v { return s }
        return nil
    }

    /// A field's value; a nested dict or list is kept whole, as its compact JSON text.
    private func scalar(_ v: JSONValue?) -> Scalar {
        ShimDecoder.scalar(v)
    }

    /// Appends an event to the client's trace; events before its run_start (there are
    /// none with the shim's message order) have no trace to go to and are dropped.
    private func emit(_ c: Client, _ event: Event) throws(HooktraceError) {
        try c.writer?.append(event)
    }

    /// Opens the client's trace and writes run_start as soon as the run's start is known,
    /// with the loader lengths known then: nothing is held back in memory, so a kill loses
    /// at most the block being filled. (Lengths learnt later are not needed: a replay
    /// counts them from the recorded calls.)
    private func start(_ c: Client, _ info: JSONValue, _ session: inout Session) throws(HooktraceError) {
        guard c.writer == nil else { return }
        c.path = LiveRecorder.tracePath(options.output, rank: c.rank)
        let output = try session.output(for: c.path)
        c.output = output
        var o = TraceWriter.Options()
        o.flushInterval = .seconds(1)
        o.metadata.append(("host", hostName()))
        let writer = try TraceWriter(path: output.writePath, options: o)
        c.writer = writer
        var groups: [ParamGroup] = []
        if case .array(let list)? = info["param_groups"] {
            for g in list {
                guard case .array(let f) = g, f.count == 4 else { continue }
                groups.append(ParamGroup(optimizer: string(f[0]) ?? "", group: int(f[1]) ?? 0, lr: f[2].number ?? .nan, momentum: f[3].number))
            }
        }
        var hooks: [HookInfo] = []
        if case .array(let list)? = info["hooks"] {
            for h in list {
                let type = string(h["type"]) ?? "Hook"
                let count = hooks.filter { $0.type == type }.count + 1
                var stages: [String]?
                if case .array(let names)? = h["stages"] { stages = names.compactMap { string($0) } }
                // A priority written as a name is kept as the hook's setting (mmengine lists it verbatim).
                let config = string(h["priority_label"]).map { JSONValue.object([("priority", .string($0))]).compact } ?? ""
                hooks.append(HookInfo(name: HookInfo.uniqueName(type, count: count), type: type, priority: int(h["priority"]) ?? 50,
                                      config: config, stages: stages))
            }
        }
        var workflow: [WorkflowPhase] = []
        var config = ""
        if let cfg = info["config"], case .object(var members) = cfg {
            if case .array(let phases)? = cfg["workflow"] {
                for phase in phases {
                    if case .array(let pair) = phase, pair.count == 2, let mode = string(pair[0]) { workflow.append(WorkflowPhase(mode, int(pair[1]) ?? 1)) }
                }
            }
            // The loader lengths learnt from the run complete the config's data.
            var data: [(key: String, value: JSONValue)] = []
            if case .object(let d)? = cfg["data"] { data = d }
            for l in c.loaders where !data.contains(where: { $0.key == l.mode }) { data.append((l.mode, .int(Int64(l.length)))) }
            members.removeAll { $0.key == "data" }
            members.append(("data", .object(data)))
            config = JSONValue.object(members).compact
        }
        if let error = string(info["config_error"]) {
            let note = "the run's hook settings could not be read from its runner (\(error)): the trace records the run, but `hooktrace replay` needs its config (--config)"
            if !session.notes.contains(note) { session.notes.append(note) }
        }
        var meta = c.meta
        if let wd = string(info["work_dir"]) { meta.append(Field("work_dir", .string(wd))) }
        try writer.append(.runStart(RunStart(
            source: [string(info["framework"]) ?? "python", string(info["version"]) ?? ""].filter { !$0.isEmpty }.joined(separator: " "), runner: string(info["runner"]) ?? "", maxEpochs: int(info["max_epochs"]),
            maxIters: int(info["max_iters"]), workflow: workflow, loaders: c.loaders, paramGroups: groups, hooks: hooks, seed: 0,
            config: config, meta: meta)))
        // The start is on disk at once: a run that dies while loading data still leaves a trace.
        try writer.flush()
    }

    private func handle(_ kind: String, _ p: [JSONValue], _ c: Client, _ session: inout Session) throws(HooktraceError) {
        switch kind {
        case "hello":
            let info = p.first
            let version = int(info?["protocol"])
            if version == nil || version! > Self.protocolVersion || version! < 1 {
                let said = version.map { "protocol \($0)" } ?? "no protocol version (a copy older than protocol 1?)"
                let error = "the recorder shim of rank \(int(info?["rank"]) ?? 0) speaks \(said); this hooktrace reads protocols 1 to \(Self.protocolVersion) (docs/SHIM.md), so the trace may miss what it sent: use the shim of this hooktrace (unset HOOKTRACE_SHIM_DIR), or a hooktrace as new as the shim"
                if !session.errors.contains(error) { session.errors.append(error) }
            }
            c.rank = int(info?["rank"]) ?? 0
            c.world = int(info?["world_size"]) ?? 1
            c.decoder.timeBase = Int64(int(info?["t0"]) ?? 0)
            c.meta = [Field("rank", .int(Int64(c.rank))), Field("world_size", .int(Int64(c.world))),
                      Field("pid", .int(Int64(int(info?["pid"]) ?? 0))), Field("python", .string(string(info?["python"]) ?? ""))]
            if case .array(let argv)? = info?["argv"] {
                c.meta.append(Field("argv", .string(argv.compactMap { string($0) }.joined(separator: " "))))
            }
        case "start":
            guard c.startInfo == nil else { return }  // a second start of the same process: the first counts
            guard let info = p.first else { return session.malformed("\"start\" messages", JSONValue.array(p).compact) }
            c.startInfo = info
            if case .object(let members)? = info["loaders"] {
                for (mode, n) in members { c.loaders.append(LoaderLength(mode, int(n) ?? 0)) }
            }
            try start(c, info, &session)
        case "loader":
            guard p.count >= 2, let mode = string(p[0]), let n = int(p[1]) else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            if !c.loaders.contains(where: { $0.mode == mode }) { c.loaders.append(LoaderLength(mode, n)) }
        case "stage", "lr_source", "counter":
            if !c.decoder.define(kind, p) { session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
        case "lr", "mom":
            guard p.count >= 4 else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            let opt = string(p[0]) ?? "", group = int(p[1]) ?? 0, value = p[2].number ?? .nan, hook = string(p[3]) ?? "unknown"
            try emit(c, .effect(Effect(hook: hook, kind == "lr" ? .setLR(optimizer: opt, group: group, value: value)
                                                                 : .setMomentum(optimizer: opt, group: group, value: value))))
        case "ckpt":
            guard p.count >= 3 else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            let path = string(p[1]) ?? "", hook = string(p[2]) ?? "CheckpointHook"
            let action: EffectAction = switch string(p[0]) {
            case "remove": .checkpointRemove(path: path)
            case "link": .checkpointLink(link: path, target: p.count > 3 ? string(p[3]) ?? "" : "")
            default: .checkpointSave(path: path)
            }
            try emit(c, .effect(Effect(hook: hook, action)))
        case "best":
            // A new best score and its checkpoint (mmengine's CheckpointHook save_best).
            guard p.count >= 3, let key = string(p[0]), let value = p[1].number else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            let hook = p.count > 3 ? string(p[3]) ?? "CheckpointHook" : "CheckpointHook"
            try emit(c, .effect(Effect(hook: hook, .bestUpdate(key: key, value: value, checkpoint: string(p[2]) ?? ""))))
        case "log":
            guard p.count >= 2, case .object(let members) = p[1] else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, ShimDecoder.logRecord(hook: string(p[0]) ?? "TextLoggerHook", members))
        case "span":
            guard p.count >= 3 else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .hookSpan(HookSpan(hook: string(p[0]) ?? "?", start: Int64(int(p[1]) ?? 0) &- c.decoder.timeBase, duration: Int64(int(p[2]) ?? 0))))
        case "custom":
            guard p.count >= 3, let hook = string(p[0]), let kind = string(p[1]), case .object(let members) = p[2] else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .effect(Effect(hook: hook, .custom(kind: kind, fields: members.map { Field($0.key, scalar($0.value)) }))))
        case "eval":
            // An mmcv EvalHook's evaluation results (the metrics came as observations).
            guard p.count >= 2, let hook = string(p[0]), case .object(let members) = p[1] else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .effect(Effect(hook: hook, .evaluate(members.map { Field($0.key, scalar($0.value)) }))))
        case "step":
            // An mmcv optimizer hook's after_train_iter: whether it stepped, the clipped norm.
            guard p.count >= 3, let hook = string(p[0]), case .bool(let stepped) = p[1] else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .effect(Effect(hook: hook, .optimizerStep(optimizer: "", stepped: stepped, gradNorm: p[2].number))))
        case "ema":
            // An averaged model's update (mmengine's EMAHook) with its momentum.
            guard p.count >= 2, let hook = string(p[0]), let momentum = p[1].number else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .effect(Effect(hook: hook, .emaUpdate(momentum: momentum))))
        case "stop":
            // A hook set the train loop's stop_training (mmengine's EarlyStoppingHook).
            guard let hook = p.first.flatMap({ string($0) }) else { return session.malformed("\"\(kind)\" messages", JSONValue.array(p).compact) }
            try emit(c, .effect(Effect(hook: hook, .stop(reason: p.count > 1 ? string(p[1]) ?? "" : ""))))
        case "fault":
            // The shim failed in its own code: the training went on, unrecorded from here.
            let stage = p.first.flatMap { string($0) } ?? "?", what = p.count > 1 ? string(p[1]) ?? "" : ""
            let text = "the recorder shim failed in \(stage) (\(what)); the training went on, and the trace of rank \(c.rank) ends its calls there"
            session.notes.append(text)
            if c.fault == nil { c.fault = "recording stopped: the recorder shim failed in \(stage) (\(what)); the training went on unrecorded" }
            try emit(c, .effect(Effect(hook: "hooktrace", .note(text))))
        case "end":
            break
        default:
            // A kind of a newer protocol: skipped, counted, said after the run.
            session.unknownKinds[kind, default: 0] += 1
        }
    }
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    return String(cString: buffer)
}
