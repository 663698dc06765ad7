/// The one error type of hooktrace's library.
///
/// Every error says what went wrong and what to do about it, and names the file,
/// byte offset and block when it concerns a trace.
///
/// ```swift
/// do { _ = try TraceReader(path: "run.htrace") }
/// catch let error as HooktraceError where error.code == .damaged { … }
/// ```
public struct HooktraceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case io, notATrace, unsupportedVersion, damaged, truncated, limit, codec, usage, invalidInput, stopped
        }
        private let kind: Kind

        /// A file could not be opened, read or written.
        public static let io = Code(kind: .io)
        /// The file does not start with a hooktrace header.
        public static let notATrace = Code(kind: .notATrace)
        /// The file was written by a newer hooktrace (or uses an unknown codec).
        public static let unsupportedVersion = Code(kind: .unsupportedVersion)
        /// A block failed its checksum or its contents are inconsistent.
        public static let damaged = Code(kind: .damaged)
        /// The file ends in the middle of a block (the writer stopped mid-write).
        public static let truncated = Code(kind: .truncated)
        /// A length or count exceeds what a trace may hold.
        public static let limit = Code(kind: .limit)
        /// The compression library reported an error.
        public static let codec = Code(kind: .codec)
        /// A command was called in a way that cannot work.
        public static let usage = Code(kind: .usage)
        /// A value given by the user is not valid.
        public static let invalidInput = Code(kind: .invalidInput)
        /// A simulated run ended where `--stop-at` asked (a crash played on purpose, not a failure).
        public static let stopped = Code(kind: .stopped)

        /// The text form, as hooktrace prints it.
        public var description: String {
            switch kind {
            case .io: "io"
            case .notATrace: "not-a-trace"
            case .unsupportedVersion: "unsupported-version"
            case .damaged: "damaged"
            case .truncated: "truncated"
            case .limit: "limit"
            case .codec: "codec"
            case .usage: "usage"
            case .invalidInput: "invalid-input"
            case .stopped: "stopped"
            }
        }
    }

    /// What kind of problem it is (stable, for scripts and `catch` clauses).
    public var code: Code
    /// What went wrong and what to do, as one or two sentences.
    public var message: String
    /// The file concerned, if any.
    public var file: String?
    /// The byte offset in `file` where the problem was found.
    public var offset: UInt64?
    /// The index of the block concerned (0-based).
    public var block: Int?

    /// An error of kind `code`; `message` says what went wrong and what to do.
    public init(_ code: Code, _ message: String, file: String? = nil, offset: UInt64? = nil, block: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
        self.block = block
    }

    /// Damage in a trace's blocks (or its header, once the blocks after it were read): the
    /// reader returned what the intact blocks hold before it.
    public var isDamageAfterReading: Bool {
        (code == .damaged || code == .truncated) && block != nil
    }

    /// The text form, as hooktrace prints it.
    public var description: String {
        var prefix = ""
        if let file { prefix = "\(file): " }
        return prefix + message
    }
}
