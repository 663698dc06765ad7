/// The checkpoint files a simulated run has written: paths, and links with their targets.
public struct VirtualFiles: Sendable {
    private(set) var files: [String] = []
    private(set) var links: [String: String] = [:]

    public init() {}

    public func exists(_ path: String) -> Bool { files.contains(path) || links[path] != nil }

    public mutating func write(_ path: String) {
        links[path] = nil
        if !files.contains(path) { files.append(path) }
    }

    public mutating func remove(_ path: String) {
        files.removeAll { $0 == path }
        links[path] = nil
    }

    public mutating func link(_ path: String, to target: String) {
        files.removeAll { $0 == path }
        links[path] = target
    }

    /// Files present, in the order they were first written.
    public var contents: [String] { files }
}

/// `os.path.join` for the paths a run uses.
func joinPath(_ a: String, _ b: String) -> String {
    if a.isEmpty { return b }
    if b.hasPrefix("/") { return b }
    return a.hasSuffix("/") ? a + b : a + "/" + b
}

/// `os.path.basename(path.rstrip('/'))`.
func baseName(_ path: String) -> String {
    var p = Substring(path)
    while p.hasSuffix("/") { p = p.dropLast() }
    return String(p.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
}

/// The file name in a path (after the last `/`).
func fileName(_ path: String) -> String {
    String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path))
}
