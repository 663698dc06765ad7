import HooktraceFormat

/// The checkpoint files a simulated run has written: paths, and links with their targets.
package struct VirtualFiles: Sendable {
    private(set) var files: [String] = []
    private(set) var links: [String: String] = [:]

    package init() {}

    package func exists(_ path: String) -> Bool { files.contains(path) || links[path] != nil }

    package mutating func write(_ path: String) {
        links[path] = nil
        if !files.contains(path) { files.append(path) }
    }

    package mutating func remove(_ path: String) {
        files.removeAll { $0 == path }
        links[path] = nil
    }

    package mutating func link(_ path: String, to target: String) {
        files.removeAll { $0 == path }
        links[path] = target
    }

    /// Files present, in the order they were first written.
    package var contents: [String] { files }

    /// Every file and link (with its target), links last by path.
    package var entries: [(path: String, link: String?)] {
        files.map { ($0, nil) } + links.keys.sorted().map { ($0, links[$0]) }
    }
}
