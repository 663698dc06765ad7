/// What `hooktrace info` reports: a streaming pass over a trace.
public struct TraceSummary: Sendable {
    public var path: String
    public var header: TraceHeader
    public var fileSize: UInt64
    public var runStart: RunStart?
    public var runEnd: RunEnd?
    public var events: UInt64 = 0
    public var blocks = 0
    /// Event counts by type name, in first-seen order.
    public var counts: [(type: String, count: UInt64)] = []
    /// Calls by stage, in first-seen order.
    public var stages: [(stage: String, count: UInt64)] = []
    public var firstTime: Int64?
    public var lastTime: Int64?
    public var epochs: ClosedRange<Int>?
    public var iters: ClosedRange<Int>?
    public var storedBytes: UInt64 = 0
    public var rawBytes: UInt64 = 0
    /// How reading ended.
    public var state: ReadState = .reading

    /// Reads the whole trace once.
    ///
    /// Damage does not throw: the summary covers what was read and ``state`` says where it stopped.
    /// - Complexity: O(events), memory O(1) in the trace's length.
    public static func read(path: String) throws(HooktraceError) -> TraceSummary {
        let reader = try TraceReader(path: path)
        var s = TraceSummary(path: path, header: reader.header, fileSize: reader.fileSize)
        var typeIndex: [String: Int] = [:]
        var stageIndex: [String: Int] = [:]
        do {
            try reader.forEach { entry in
                s.events += 1
                let type = JSONLines.typeName(entry.event)
                if let i = typeIndex[type] { s.counts[i].count += 1 } else {
                    typeIndex[type] = s.counts.count
                    s.counts.append((type, 1))
                }
                switch entry.event {
                case .runStart(let r): if s.runStart == nil { s.runStart = r }
                case .runEnd(let r): s.runEnd = r
                case .call(let c):
                    if let i = stageIndex[c.stage] { s.stages[i].count += 1 } else {
                        stageIndex[c.stage] = s.stages.count
                        s.stages.append((c.stage, 1))
                    }
                    if s.firstTime == nil { s.firstTime = c.time }
                    s.lastTime = c.time
                    s.epochs = s.epochs.map { min($0.lowerBound, c.epoch)...max($0.upperBound, c.epoch) } ?? c.epoch...c.epoch
                    s.iters = s.iters.map { min($0.lowerBound, c.iter)...max($0.upperBound, c.iter) } ?? c.iter...c.iter
                default: break
                }
            }
        } catch {
            // The reader's state records the damage.
        }
        s.blocks = reader.blockCount - (reader.closedEventCount != nil ? 1 : 0)
        s.storedBytes = reader.storedBytes
        s.rawBytes = reader.rawBytes
        s.state = reader.state
        return s
    }

    /// Count of events of one type.
    public func count(of type: String) -> UInt64 {
        counts.first(where: { $0.type == type })?.count ?? 0
    }
}
