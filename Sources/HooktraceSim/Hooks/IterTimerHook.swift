import HooktraceFormat

/// mmcv's `IterTimerHook`: `data_time` and `time` from the run's clock (never the wall
/// clock), pushed to the log buffer.
package final class IterTimerHook: Hook {
    package let type: String
    package let config: JSONValue
    private var start: Int64 = 0
    package var methods: Set<Stage> { [.beforeEpoch, .beforeIter, .afterIter] }

    init(_ type: String, _ args: inout ConfigArgs) {
        self.type = type
        config = args.value
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {
        switch method {
        case .beforeEpoch:
            start = runner.clock
        case .beforeIter:
            runner.logBuffer.update(SymbolTable.dataTime, Double(runner.clock - start) / 1e9)
        case .afterIter:
            runner.logBuffer.update(SymbolTable.time, Double(runner.clock - start) / 1e9)
            start = runner.clock
        default:
            break
        }
    }
}

/// A known mmcv hook with no effect a trace can show (it syncs buffers, empties the CUDA
/// cache, seeds a sampler, profiles): called in order, like mmcv calls it.
package final class InertHook: Hook {
    package let type: String
    package let config: JSONValue
    package let methods: Set<Stage>

    init(_ type: String, methods: Set<Stage>, _ args: inout ConfigArgs, parameters: [String]) throws(HooktraceError) {
        self.type = type
        self.methods = methods
        config = args.value
        for p in parameters { _ = args.raw(p) }
    }

    package func call(_ method: Stage, _ runner: HookContext) throws(HooktraceError) {}
}
