import HooktraceFormat
import HooktraceSim

/// Turns the items of the shim's marshal batches into trace events (docs/SHIM.md,
/// "Tuples"), with what the tuples refer to (stage ids, lr sources) as the process has
/// defined them so far. Kept apart from the socket and the trace writer so that it can be
/// checked on bytes alone (Tests/Fixtures/protocol).
package struct ShimDecoder {
    /// A param group that mmengine's iteration tuples name by id (`lr_source`).
    package struct LRSource: Equatable, Sendable {
        package var optimizer: String
        package var group: Int
        package var hook: String
        package init(optimizer: String, group: Int, hook: String) {
            self.optimizer = optimizer
            self.group = group
            self.hook = hook
        }
    }

    /// What one batch item means.
    package enum Decoded: Equatable {
        /// Events for the trace, in order.
        case events([Event])
        /// A JSON message (`[kind, fields…]` as a string item) for the recorder to handle.
        case message(kind: String, fields: [JSONValue])
        /// Nothing the recorder can use: what it was (a report's heading) and the item.
        case malformed(what: String, example: String)
        /// Log records (protocol 5's log bytes, a record per line), and the lines that
        /// looked like a record but are not JSON (to report).
        case logRecords([Event], unreadable: [String])
    }

    package private(set) var stages: [String] = []
    package var lrSources: [Int: LRSource] = [:]
    /// The counted optimizer wrapper's counter as last seen (protocol 5: a `counter`
    /// message sets it; rows and `(9, COUNT)` items move it, each step since being one
    /// optimizer step); nil before any.
    package private(set) var stepCount: Int64?
    /// What the process's times count from (protocol 5: hello's `t0`, a perf_counter_ns
    /// value; earlier protocols send times from it already, 0 here), taken from each.
    package var timeBase: Int64 = 0
    /// Log bytes after the last newline, when they are not a whole record yet (a line
    /// being written as the shim read): the next log bytes continue them.
    package private(set) var logRest: [UInt8] = []

    package init() {}

    /// Names stage `id` (a `stage` message); ids not defined yet read as `stage<N>`.
    package mutating func defineStage(_ id: Int, _ name: String) {
        while stages.count <= id { stages.append("stage\(stages.count)") }
        stages[id] = name
    }

    /// Takes a definition message: `["stage", id, name]`, `["lr_source", id, optimizer,
    /// group, hook]` or `["counter", count]` (fields after the kind). False when its fields
    /// cannot be used.
    package mutating func define(_ kind: String, _ p: [JSONValue]) -> Bool {
        switch kind {
        case "stage":
            guard p.count >= 2, let id = Self.int(p[0]), id >= 0, id < 1 << 16 else { return false }
            var name = "stage\(id)"
            if case .string(let s) = p[1] { name = s }
            defineStage(id, name)
        case "lr_source":
            guard p.count >= 4, let id = Self.int(p[0]), case .string(let opt) = p[1], let group = Self.int(p[2]), case .string(let hook) = p[3] else {
                return false
            }
            lrSources[id] = LRSource(optimizer: opt, group: group, hook: hook)
        case "counter":
            // The counted wrapper's counter where counting starts (or a resume left it):
            // a base, no steps.
            guard let count = p.first.flatMap({ Self.int($0) }) else { return false }
            stepCount = Int64(count)
        default:
            return false
        }
        return true
    }

    /// A JSON number as an int (a finite double truncated), as the recorder reads ids.
    package static func int(_ v: JSONValue?) -> Int? {
        switch v {
        case .int(let i)?: Int(i)
        case .double(let d)?: d.isFinite && d.magnitude < 9.0e18 ? Int(d) : nil
        default: nil
        }
    }

    /// A batch's items, or nil when the bytes are not a marshal list.
    package static func items(of body: [UInt8]) -> [MarshalValue]? {
        let decoded: MarshalValue? = body.withUnsafeBytes { buf in
            var reader = MarshalReader(buf)
            return try? reader.read()
        }
        guard case .list(let items)? = decoded else { return nil }
        return items
    }

    /// The step values of a batch's `6` rows (protocol 4), by item index: each `(7, ROWS,
    /// NAME, [VALUE…], …)` item gives the values of the ROWS rows since the previous one (or
    /// the batch's start), a column per name, in row order. Rows whose columns never come,
    /// or columns that do not fit the rows before them, are reported (the rows still give
    /// their calls).
    package static func rowValues(_ items: [MarshalValue]) -> (values: [Int: [(String, MarshalValue)]], malformed: [(what: String, example: String)]) {
        var values: [Int: [(String, MarshalValue)]] = [:]
        var problems: [(what: String, example: String)] = []
        var rows: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .list(let t) = item, let k = kind(t) else { continue }
            if k == 6 && (t.count == 9 || t.count == 10) {
                rows.append(i)
            } else if k == 7 {
                defer { rows.removeAll(keepingCapacity: true) }
                guard t.count % 2 == 0, case .int(let n) = t[1], n == rows.count else {
                    problems.append(("column items that do not fit the rows before them", item.description))
                    continue
                }
                var columns: [(String, [MarshalValue])] = []
                for c in stride(from: 2, to: t.count, by: 2) {
                    guard case .string(let name) = t[c], case .list(let v) = t[c + 1], v.count == rows.count else { break }
                    columns.append((name, v))
                }
                guard columns.count == (t.count - 2) / 2 else {
                    problems.append(("column items that do not fit the rows before them", item.description))
                    continue
                }
                for (r, index) in rows.enumerated() {
                    values[index] = columns.map { ($0.0, $0.1[r]) }
                }
            }
        }
        if let first = rows.first {
            problems.append(("iteration rows whose step values never came", items[first].description))
        }
        return (values, problems)
    }

    /// One batch item; `values` are a `6` row's step values (`rowValues`).
    package mutating func decode(_ item: MarshalValue, values: [(String, MarshalValue)]? = nil) -> Decoded {
        switch item {
        case .string(let json):
            guard let message = try? JSONValue.parse(json), case .array(let fields) = message, case .string(let kind)? = fields.first else {
                return .malformed(what: "batch strings that are not a message", example: json)
            }
            return .message(kind: kind, fields: Array(fields.dropFirst()))
        case .int(2):
            // The common optimizer step in its short form (protocol 3): stepped, no
            // clipping, one optimizer.
            return .events([Self.plainStep])
        case .list(let t) where t.count == 7:
            guard case .int(0) = t[0], let call = call(t) else {
                return .malformed(what: "call tuples", example: item.description)
            }
            return .events([.call(call)])
        case .list(let t) where t.count >= 9 && t.count % 2 == 1 && Self.kind(t) == 5:
            return iteration(t).map { .events($0) } ?? .malformed(what: "iteration tuples", example: item.description)
        case .list(let t) where (t.count == 9 || t.count == 10) && Self.kind(t) == 6:
            // Protocol 4: the same, its values in the batch's columns (rowValues).
            // Protocol 5 adds the counted wrapper's counter (None without one): the
            // optimizer steps since the last count go first.
            var steps: [Event] = []
            if t.count == 10, case .int(let count) = t[9] {
                guard let s = self.steps(to: count) else { return .malformed(what: "step counts before their base", example: item.description) }
                steps = s
            } else if t.count == 10, t[9] != .none {
                return .malformed(what: "iteration rows", example: item.description)
            }
            return iteration(t, values: values ?? []).map { .events(steps + $0) } ?? .malformed(what: "iteration rows", example: item.description)
        case .list(let t) where t.count == 3 && Self.kind(t) == 8:
            // Protocol 5: what the logger hook HOOK appended to its log file since the
            // last look, raw.
            guard case .string(let hook) = t[1], case .bytes(let data) = t[2] else {
                return .malformed(what: "log data tuples", example: item.description)
            }
            return logRecords(hook, data)
        case .list(let t) where t.count == 2 && Self.kind(t) == 9:
            // Protocol 5: the counted wrapper's counter outside a row.
            guard case .int(let count) = t[1] else { return .malformed(what: "step counts", example: item.description) }
            return steps(to: count).map { .events($0) } ?? .malformed(what: "step counts before their base", example: item.description)
        case .list(let t) where t.count >= 2 && Self.kind(t) == 7:
            // Columns: their values went to the rows before them (rowValues).
            return .events([])
        case .list(let t) where (t.count == 3 || t.count == 4) && Self.kind(t) == 2:
            // mmengine's OptimWrapper.update_params: stepped or accumulating, the clipped
            // norm, and the wrapper's name in an OptimWrapperDict.
            guard case .bool(let stepped) = t[1] else {
                return .malformed(what: "optimizer-step tuples", example: item.description)
            }
            var norm: Double?
            if case .float(let d) = t[2] { norm = d } else if case .int(let i) = t[2] { norm = Double(i) }
            var optimizer = ""
            if t.count == 4, case .string(let name) = t[3] { optimizer = name }
            return .events([.effect(Effect(hook: "OptimWrapper", .optimizerStep(optimizer: optimizer, stepped: stepped, gradNorm: norm)))])
        case .list(let t) where t.count == 5 && (Self.kind(t) == 3 || Self.kind(t) == 4):
            // A param group's lr (3) or momentum (4) changed, by a hook.
            guard case .string(let opt) = t[1], case .int(let group) = t[2], case .string(let hook) = t[4], let value = Self.number(t[3]) else {
                return .malformed(what: "lr and momentum tuples", example: item.description)
            }
            return .events([.effect(Effect(hook: hook, Self.kind(t) == 3 ? .setLR(optimizer: opt, group: Int(group), value: value)
                                                                        : .setMomentum(optimizer: opt, group: Int(group), value: value)))])
        case .list(let t) where t.count == 4:
            guard case .int(1) = t[0], case .int(let k) = t[1], case .string(let name) = t[3] else {
                return .malformed(what: "observation tuples", example: item.description)
            }
            let kind: ObservationKind = k == 0 ? .logVar : k == 1 ? .numSamples : k == 2 ? .metric : .other
            return .events([.observe(Observation(kind: kind, name: name, value: Self.observed(t[2])))])
        default:
            return .malformed(what: "batch items of no known shape", example: item.description)
        }
    }

    /// The records in log bytes: a JSON object per line (a line that is not one is skipped,
    /// as the frameworks' own readers do; one that looks like an object but is not JSON is
    /// reported). Bytes after the last newline wait for the next, unless they are a whole
    /// record already (a last line written without its newline).
    private mutating func logRecords(_ hook: String, _ data: [UInt8]) -> Decoded {
        let bytes = logRest.isEmpty ? data : logRest + data
        var cut = bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        logRest = Array(bytes[cut...])
        if !logRest.isEmpty, case .object? = try? JSONValue.parse(String(decoding: logRest, as: UTF8.self)) {
            cut = bytes.count
            logRest = []
        }
        var events: [Event] = []
        var unreadable: [String] = []
        for raw in bytes[..<cut].split(separator: UInt8(ascii: "\n")) {
            let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C }
            guard let first = raw.firstIndex(where: { !space($0) }), let last = raw.lastIndex(where: { !space($0) }) else { continue }
            let line = raw[first...last]
            guard line.first == UInt8(ascii: "{"), line.last == UInt8(ascii: "}") else { continue }
            let text = String(decoding: line, as: UTF8.self)
            guard case .object(let members)? = try? JSONValue.parse(text) else {
                unreadable.append(text)
                continue
            }
            events.append(Self.logRecord(hook: hook, members))
        }
        return .logRecords(events, unreadable: unreadable)
    }

    /// The log bytes held after the last newline, as text, when they are more than blanks:
    /// at the run's end, a line the logger never finished (a run stopped while writing it),
    /// which is not a record and is said, not dropped silently.
    package var unfinishedLog: String? {
        let text = String(decoding: logRest, as: UTF8.self)
        return text.allSatisfy(\.isWhitespace) ? nil : text
    }

    /// The common optimizer step: stepped, no clipping, one optimizer (a bare `2`, or a
    /// counter's move).
    private static let plainStep = Event.effect(Effect(hook: "OptimWrapper", .optimizerStep(optimizer: "", stepped: true, gradNorm: nil)))

    /// A log record of `hook` (a `log` message's, or a line of log bytes), its fields as
    /// the trace keeps them.
    package static func logRecord(hook: String, _ members: [(key: String, value: JSONValue)]) -> Event {
        .effect(Effect(hook: hook, .log(members.map { Field($0.key, scalar($0.value)) })))
    }

    /// A log field's value as the trace keeps it; a nested dict or list whole, as its
    /// compact JSON text.
    package static func scalar(_ v: JSONValue?) -> Scalar {
        switch v {
        case .bool(let b)?: .bool(b)
        case .int(let i)?: .int(i)
        case .double(let d)?: .double(d)
        case .string(let s)?: .string(s)
        case let nested? where nested != .null: .string(nested.compact)
        default: .null
        }
    }

    /// The optimizer steps from the last count seen to `count` (none when it went back: a
    /// new base), which becomes the last seen; nil before any base.
    private mutating func steps(to count: Int64) -> [Event]? {
        guard let last = stepCount else {
            stepCount = count  // reported; the counts after it are read from here
            return nil
        }
        stepCount = count
        guard count > last else { return [] }
        return Array(repeating: Self.plainStep, count: Int(min(count - last, 1 << 20)))
    }

    /// `(0, STAGE_ID, EPOCH, ITER, INNER_ITER, MODE_ID, T_NS)`'s call (fields 1… of `t`).
    private func call(_ t: [MarshalValue]) -> Call? {
        guard case .int(let sid) = t[1], case .int(let epoch) = t[2], case .int(let iter) = t[3],
              case .int(let inner) = t[4], case .int(let mode) = t[5], case .int(let time) = t[6] else { return nil }
        let stage = sid >= 0 && sid < stages.count ? stages[Int(sid)] : "stage\(sid)"
        return Call(stage: stage, epoch: Int(epoch), iter: Int(iter), innerIter: Int(inner),
                    mode: Mode(rawValue: UInt8(truncatingIfNeeded: mode)) ?? .none, time: time &- timeBase)
    }

    /// mmengine's after_train_iter in one tuple (protocol 3): `(5, call fields…, LR_SOURCE,
    /// LR, NAME, VALUE, …)` — the step's values (observations of the call before), the
    /// call, then the lr change of LR_SOURCE when LR is not None.
    /// Protocol 4's `(6, call fields…, LR_SOURCE, LR)` row is the same with its values given
    /// apart (`values`, from the batch's columns).
    private func iteration(_ t: [MarshalValue], values: [(String, MarshalValue)]? = nil) -> [Event]? {
        guard let call = call(t), case .int(let source) = t[7] else { return nil }
        var lr: Double?
        if case .none = t[8] { lr = nil } else if let v = Self.number(t[8]) { lr = v } else { return nil }
        var events: [Event] = []
        events.reserveCapacity((values == nil ? (t.count - 9) / 2 : values!.count) + 2)
        for k in stride(from: 9, to: values == nil ? t.count : 9, by: 2) {
            guard case .string(let name) = t[k] else { return nil }
            events.append(.observe(Observation(kind: .logVar, name: name, value: Self.observed(t[k + 1]))))
        }
        for (name, value) in values ?? [] {
            events.append(.observe(Observation(kind: .logVar, name: name, value: Self.observed(value))))
        }
        events.append(.call(call))
        if let lr {
            guard let s = lrSources[Int(source)] else { return nil }
            events.append(.effect(Effect(hook: s.hook, .setLR(optimizer: s.optimizer, group: s.group, value: lr))))
        }
        return events
    }

    private static func kind(_ t: [MarshalValue]) -> Int64? {
        if case .int(let k)? = t.first { return k }
        return nil
    }

    private static func number(_ v: MarshalValue) -> Double? {
        switch v {
        case .float(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }

    /// An observed value of a tuple as a trace scalar.
    private static func observed(_ v: MarshalValue) -> Scalar {
        switch v {
        case .int(let i): .int(i)
        case .float(let d): .double(d)
        case .bool(let b): .bool(b)
        case .string(let s): .string(s)
        default: .null
        }
    }
}
