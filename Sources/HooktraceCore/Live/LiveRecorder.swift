#if canImport(Glibc)
import Glibc
#endif

/// Records a real training run: starts a command with hooktrace's Python shim on its
/// path, receives the shim's messages over a Unix socket (one connection per process,
/// so each rank of a distributed run gets its own trace) and writes them as traces.
///
/// The command's output passes through untouched; its exit status is returned.
public final class LiveRecorder {
    public struct Options: Sendable {
        /// The trace path for rank 0 (or a single process); rank k writes `NAME.rankK.htrace`.
        public var output: String
        /// The directory holding `sitecustomize.py` and `hooktrace_shim.py`.
        public var shimDirectory: String
        public var perHookTiming = false
        public init(output: String, shimDirectory: String) {
            self.output = output
            self.shimDirectory = shimDirectory
        }
    }

    public struct Outcome: Sendable {
        /// The command's exit status (128 + signal when it was killed).
        public var exitCode: Int32
        /// Traces written, by rank.
        public var traces: [(rank: Int, path: String, events: UInt64)]
        /// Things the user should know (nothing recorded, unknown messages…).
        public var notes: [String]
    }

    let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// The trace path for `rank` of `world` processes.
    public static func tracePath(_ output: String, rank: Int, world: Int) -> String {
        guard rank != 0 else { return output }
        let base = output.hasSuffix(".htrace") ? String(output.dropLast(7)) : output
        return "\(base).rank\(rank).htrace"
    }

    private final class Client {
        let fd: Int32
        var buffer: [UInt8] = []
        var writer: TraceWriter?
        var temporary = ""
        var path = ""
        var rank = 0
        var world = 1
        var meta: [Field] = []
        var hookNames: [String] = []
        var started = false
        var pending: [Event] = []
        var startInfo: JSONValue?
        var loaders: [LoaderLength] = []
        var needed: Set<String> = ["train"]
        var stages: [String] = []
        var closed = false
        init(fd: Int32) { self.fd = fd }
    }

    public func run(command: [String]) throws(HooktraceError) -> Outcome {
        guard let program = command.first else {
            throw HooktraceError(.usage, "no command after --; e.g. hooktrace record -o run.htrace -- python train.py config.py")
        }
        let socketPath = "/tmp/hooktrace-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try listen(socketPath)
        defer {
            _ = close(listener)
            unlink(socketPath)
        }
        let pid = try spawn(command, socketPath: socketPath)
        // Keep running through Ctrl-C so the traces get finished; the command gets the signal.
        let oldInt = signal(SIGINT, SIG_IGN)
        let oldTerm = signal(SIGTERM, SIG_IGN)
        defer {
            signal(SIGINT, oldInt)
            signal(SIGTERM, oldTerm)
        }
        var clients: [Client] = []
        var notes: [String] = []
        var exitCode: Int32?
        var graceUntil: ContinuousClock.Instant?
        var failure: HooktraceError?
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for c in clients where !c.closed { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            if fds[0].revents & Int16(POLLIN) != 0 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 { clients.append(Client(fd: fd)) }
            }
            for c in clients where !c.closed {
                guard let entry = fds.first(where: { $0.fd == c.fd }), entry.revents != 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                let n = read(c.fd, &chunk, chunk.count)
                if n <= 0 {
                    c.closed = true
                    _ = close(c.fd)
                    continue
                }
                c.buffer.append(contentsOf: chunk[0..<n])
                do {
                    try process(c, &notes)
                } catch {
                    failure = error
                }
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
        for c in clients {
            if !c.closed { _ = close(c.fd) }
            try startIfReady(c, force: true)
            guard let writer = c.writer else { continue }
            let status: RunStatus = code == 0 ? .completed : (code > 128 ? .interrupted : .failed)
            let message = code == 0 ? "" : (code > 128 ? "the command was killed by signal \(code - 128)" : "the command exited with status \(code)")
            try writer.append(.runEnd(RunEnd(status: status, exitCode: Int(code), message: message)))
            try writer.close()
            guard rename(c.temporary, c.path) == 0 else {
                throw HooktraceError(.io, "cannot move the trace into place: \(systemError())", file: c.path)
            }
            traces.append((c.rank, c.path, writer.eventCount))
        }
        if let failure { throw failure }
        if traces.isEmpty {
            notes.append(clients.isEmpty
                ? "nothing was recorded: the command never started a Python process with the shim (is it a Python program? does it reset PYTHONPATH?)"
                : "nothing was recorded: the program imported neither mmcv's nor mmengine's runner, or never called a hook")
        }
        return Outcome(exitCode: code, traces: traces.sorted { $0.0 < $1.0 }.map { (rank: $0.0, path: $0.1, events: $0.2) }, notes: notes)
    }

    private func decodeStatus(_ status: Int32) -> Int32 {
        let signalled = status & 0x7F
        if signalled == 0 { return (status >> 8) & 0xFF }
        return 128 + signalled
    }

    private func listen(_ path: String) throws(HooktraceError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HooktraceError(.io, "cannot create a socket for the recorder: \(systemError())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HooktraceError(.io, "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0, Glibc.listen(fd, 64) == 0 else {
            let why = systemError()
            _ = close(fd)
            throw HooktraceError(.io, "cannot listen on \(path): \(why)")
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

    private func process(_ c: Client, _ notes: inout [String]) throws(HooktraceError) {
        var start = 0
        defer { c.buffer.removeSubrange(0..<start) }
        while let newline = c.buffer[start...].firstIndex(of: 0x0A) {
            let bytes = c.buffer[start..<newline]
            if bytes.first == UInt8(ascii: "M") {
                // A marshal batch: "M<length>\n" then that many bytes.
                guard let length = Int(String(decoding: bytes.dropFirst(), as: UTF8.self)), length >= 0 else {
                    notes.append("ignored a malformed batch header from the shim")
                    start = newline + 1
                    continue
                }
                guard c.buffer.count - (newline + 1) >= length else { return }
                let body = Array(c.buffer[(newline + 1)..<(newline + 1 + length)])
                start = newline + 1 + length
                try batch(body, c, &notes)
                continue
            }
            start = newline + 1
            let line = String(decoding: bytes, as: UTF8.self)
            guard let message = try? JSONValue.parse(line), case .array(let parts) = message else {
                notes.append("ignored a malformed message from the shim")
                continue
            }
            // A batch is an array of messages; a message is an array starting with its kind.
            let messages: [JSONValue] = parts.first.map { if case .array = $0 { return parts } else { return [message] } } ?? []
            for m in messages {
                guard case .array(let fields) = m, case .string(let kind)? = fields.first else { continue }
                try handle(kind, Array(fields.dropFirst()), c)
            }
        }
    }

    /// A marshal batch: a list of call tuples `(0, stage, epoch, iter, inner_iter, mode, t)`,
    /// observation tuples `(1, kind, value, name)` and JSON messages as strings.
    private func batch(_ body: [UInt8], _ c: Client, _ notes: inout [String]) throws(HooktraceError) {
        let decoded: MarshalValue? = body.withUnsafeBytes { buf in
            var reader = MarshalReader(buf)
            return try? reader.read()
        }
        guard case .list(let items)? = decoded else {
            notes.append("ignored a malformed batch from the shim")
            return
        }
        for item in items {
            switch item {
            case .string(let json):
                guard let message = try? JSONValue.parse(json), case .array(let fields) = message, case .string(let kind)? = fields.first else { continue }
                try handle(kind, Array(fields.dropFirst()), c)
            case .list(let t) where t.count == 7:
                guard case .int(0) = t[0], case .int(let sid) = t[1], case .int(let epoch) = t[2], case .int(let iter) = t[3],
                      case .int(let inner) = t[4], case .int(let mode) = t[5], case .int(let time) = t[6] else { continue }
                let stage = sid >= 0 && sid < c.stages.count ? c.stages[Int(sid)] : "stage\(sid)"
                try emit(c, .call(Call(stage: stage, epoch: Int(epoch), iter: Int(iter), innerIter: Int(inner),
                                       mode: Mode(rawValue: UInt8(truncatingIfNeeded: mode)) ?? .none, time: time)))
            case .list(let t) where t.count == 4:
                guard case .int(1) = t[0], case .int(let k) = t[1], case .string(let name) = t[3] else { continue }
                let kind: ObservationKind = k == 0 ? .logVar : k == 1 ? .numSamples : k == 2 ? .metric : .other
                let value: Scalar
                switch t[2] {
                case .int(let i): value = .int(i)
                case .float(let d): value = .double(d)
                case .bool(let b): value = .bool(b)
                case .string(let s): value = .string(s)
                default: value = .null
                }
                try emit(c, .observe(Observation(kind: kind, name: name, value: value)))
            default:
                continue
            }
        }
    }

    private func int(_ v: JSONValue?) -> Int? {
        switch v {
        case .int(let i)?: Int(i)
        case .double(let d)?: d.isFinite ? Int(d) : nil
        default: nil
        }
    }

    private func string(_ v: JSONValue?) -> String? {
        if case .string(let s)? = v { return s }
        return nil
    }

    private func scalar(_ v: JSONValue?) -> Scalar {
        switch v {
        case .bool(let b)?: .bool(b)
        case .int(let i)?: .int(i)
        case .double(let d)?: .double(d)
        case .string(let s)?: .string(s)
        default: .null
        }
    }

    private func emit(_ c: Client, _ event: Event) throws(HooktraceError) {
        guard let writer = c.writer else {
            guard c.startInfo != nil else { return }
            c.pending.append(event)
            if c.pending.count >= 1_000_000 { try startIfReady(c, force: true) }
            return
        }
        try writer.append(event)
    }

    /// Writes run_start once the loader lengths a replay needs are known (they are only
    /// known once training starts), then the events held back until then.
    private func startIfReady(_ c: Client, force: Bool = false) throws(HooktraceError) {
        guard c.writer == nil, let info = c.startInfo else { return }
        let known = Set(c.loaders.map(\.mode))
        guard force || c.needed.isSubset(of: known) else { return }
        c.path = LiveRecorder.tracePath(options.output, rank: c.rank, world: c.world)
        c.temporary = c.path + ".partial-\(getpid())"
        var o = TraceWriter.Options()
        o.flushInterval = .seconds(1)
        o.metadata.append(("host", hostName()))
        let writer = try TraceWriter(path: c.temporary, options: o)
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
                hooks.append(HookInfo(name: count == 1 ? type : "\(type)#\(count)", type: type, priority: int(h["priority"]) ?? 50))
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
        var meta = c.meta
        if let wd = string(info["work_dir"]) { meta.append(Field("work_dir", .string(wd))) }
        try writer.append(.runStart(RunStart(
            source: [string(info["framework"]) ?? "python", string(info["version"]) ?? ""].filter { !$0.isEmpty }.joined(separator: " "), runner: string(info["runner"]) ?? "", maxEpochs: int(info["max_epochs"]),
            maxIters: int(info["max_iters"]), workflow: workflow, loaders: c.loaders, paramGroups: groups, hooks: hooks, seed: 0,
            config: config, meta: meta)))
        for e in c.pending { try writer.append(e) }
        c.pending.removeAll()
    }

    private func handle(_ kind: String, _ p: [JSONValue], _ c: Client) throws(HooktraceError) {
        switch kind {
        case "hello":
            let info = p.first
            c.rank = int(info?["rank"]) ?? 0
            c.world = int(info?["world_size"]) ?? 1
            c.meta = [Field("rank", .int(Int64(c.rank))), Field("world_size", .int(Int64(c.world))),
                      Field("pid", .int(Int64(int(info?["pid"]) ?? 0))), Field("python", .string(string(info?["python"]) ?? ""))]
            if case .array(let argv)? = info?["argv"] {
                c.meta.append(Field("argv", .string(argv.compactMap { string($0) }.joined(separator: " "))))
            }
        case "start":
            guard c.startInfo == nil, let info = p.first else { return }
            c.startInfo = info
            if case .object(let members)? = info["loaders"] {
                for (mode, n) in members { c.loaders.append(LoaderLength(mode, int(n) ?? 0)) }
            }
            if case .array(let phases)? = info["config"]?["workflow"] {
                for phase in phases {
                    if case .array(let pair) = phase, let mode = string(pair.first) { c.needed.insert(mode) }
                }
            }
            try startIfReady(c)
        case "loader":
            guard p.count >= 2, let mode = string(p[0]), let n = int(p[1]) else { return }
            if !c.loaders.contains(where: { $0.mode == mode }) { c.loaders.append(LoaderLength(mode, n)) }
            try startIfReady(c)
        case "stage":
            guard p.count >= 2, let id = int(p[0]), id >= 0, id < 1 << 16 else { return }
            while c.stages.count <= id { c.stages.append("stage\(c.stages.count)") }
            c.stages[id] = string(p[1]) ?? "stage\(id)"
        case "lr", "mom":
            guard p.count >= 4 else { return }
            let opt = string(p[0]) ?? "", group = int(p[1]) ?? 0, value = p[2].number ?? .nan, hook = string(p[3]) ?? "unknown"
            try emit(c, .effect(Effect(hook: hook, kind == "lr" ? .setLR(optimizer: opt, group: group, value: value)
                                                                 : .setMomentum(optimizer: opt, group: group, value: value))))
        case "ckpt":
            guard p.count >= 3 else { return }
            let path = string(p[1]) ?? "", hook = string(p[2]) ?? "CheckpointHook"
            let action: EffectAction = switch string(p[0]) {
            case "remove": .checkpointRemove(path: path)
            case "link": .checkpointLink(link: path, target: p.count > 3 ? string(p[3]) ?? "" : "")
            default: .checkpointSave(path: path)
            }
            try emit(c, .effect(Effect(hook: hook, action)))
        case "log":
            guard p.count >= 2, case .object(let members) = p[1] else { return }
            try emit(c, .effect(Effect(hook: string(p[0]) ?? "TextLoggerHook", .log(members.map { Field($0.key, scalar($0.value)) }))))
        case "span":
            guard p.count >= 3 else { return }
            try emit(c, .hookSpan(HookSpan(hook: string(p[0]) ?? "?", start: Int64(int(p[1]) ?? 0), duration: Int64(int(p[2]) ?? 0))))
        default:
            break  // "end" and future messages
        }
    }
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    return String(cString: buffer)
}
