import ArgumentParser
import HooktraceAnalysis
import HooktraceFormat
import HooktraceLive
import HooktraceRender
import HooktraceSim

struct Example: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Write the synthetic benchmark stream as a trace (for trying the reading commands).",
        discussion: """
            A seeded, synthetic EpochBasedRunner run shaped like mmdetection's Faster R-CNN 1x \
            schedule (12 epochs x 7330 iterations, about 530,000 events): calls, loss and timing \
            observations, LR effects, log records and checkpoints. Use it to try the reading \
            commands. (It is not the mmcv simulation, which `hooktrace record` will provide.)
            """
    )

    @Option(name: .shortAndLong, help: "Where to write the trace.")
    var output = "example.htrace"

    @Flag(name: .long, help: "A tiny run (2 epochs x 20 iterations) instead of the full schedule.")
    var small = false

    @Option(name: .long, help: "Seed of the synthetic losses and timings.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Block codec: zstd, zlib or none.")
    var codec: String = "zstd"

    @Option(name: .long, help: "Compression level (zstd 1-19, zlib 1-9).")
    var level: Int32?

    @Option(name: .long, help: "Events per block.")
    var blockEvents: Int = 8192

    func validate() throws {
        guard let c = Codec(name: codec) else { throw ValidationError("unknown codec '\(codec)'; use zstd, zlib or none") }
        if let level, !c.levels.contains(level) {
            throw ValidationError("\(c) level \(level) is out of range \(c.levels.lowerBound)-\(c.levels.upperBound)")
        }
        if blockEvents < 1 || blockEvents > 1 << 20 { throw ValidationError("--block-events must be 1…1048576") }
    }

    func run() throws {
        var run = small ? SyntheticRun.tiny : SyntheticRun()
        run.seed = seed
        var options = TraceWriter.Options()
        options.codec = Codec(name: codec) ?? .zstd
        options.level = level
        options.blockEvents = blockEvents
        let out = try OutputPath(output)
        removePartialOnInterrupt(out)
        do {
            let writer = try TraceWriter(path: out.writePath, options: options)
            try run.generate { try writer.append($0) }
            try writer.close()
            try out.commit()
            printError("wrote \(output): \(writer.eventCount) events, \(humanBytes(writer.bytesWritten))")
        } catch {
            out.discard()
            throw error
        }
    }
}
