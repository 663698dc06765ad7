/// What `hooktrace info` reports: a streaming pass over a trace.
package struct TraceSummary: Sendable {
    package var path: String
    package var header: TraceHeader
    package var fileSize: UInt64
    package var runStart: RunStart?
    package var runEnd: RunEnd?
    package var events: UInt64 = 0
    package var blocks = 0
    /// Event counts by type name, in first-seen order.
    package var counts: [(type: String, count: UInt64)] = []
    /// Calls by stage, in first-seen order.
    package var stages: [(stage: String, count: UInt64)] = []
    package var firstTime: Int64?
    package var lastTime: Int64?
    package var epochs: ClosedRange<Int>?
    package var iters: ClosedRange<Int>?
    package var storedBytes: UInt64 = 0
    package var rawBytes: UInt64 = 0
    /// How reading ended.
    package var state: ReadState = .reading

    /// Reads the whole trace once.
    ///
    /// Damage does not throw: the summary covers what was read and ``state`` says where it stopped.
    /// - Complexity: O(events), memory O(1) in the trace's length.
    package static func read(path: String) throws(HooktraceError) -> TraceSummary {
        let reader = try TraceReader(path: path)
        var s = TraceSummary(path: path, header: reader.header, fileSize: reader.fileSize)
        var typeIndex: [String: Int] = [:]
        var stageIndex: [String: Int] = [:]
        do {
            try reader.forEach { entry in
                s.events += 1
                let type = entry.event.typeName
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
    package func count(of type: String) -> UInt64 {
        counts.first(where: { $0.type == type })?.count ?? 0
    }
}
