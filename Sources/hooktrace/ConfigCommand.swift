import ArgumentParser
import HooktraceFormat
import HooktraceSim

/// `hooktrace config FILE`: the config hooktrace simulates, resolved.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a config resolved as hooktrace reads it (a .py with its _base_ files, or JSON), as JSON.",
        discussion: """
            A .py config is read as mmcv 1.x's and mmengine's Config.fromfile read it, with the \
            standard library only (no mmcv, mmengine or torch): its _base_ files first (a string or \
            a list, relative to the file, recursively), dicts merged key by key (_delete_=True \
            replaces), {{ _base_.key }} and the predefined {{ fileDirname }}, {{ fileBasename }}, \
            {{ fileBasenameNoExtension }}, {{ fileExtname }}, mmengine's {{'$NAME:default'}} and \
            its `_base_.key` references in code; custom_imports is kept, not imported. Then \
            --cfg-options, as mmcv's DictAction applies them. Printed on stdout: every key, tuples \
            as lists (what `record`, `hooks` and `lr` simulate); keep it to see or edit the config.

            Examples:
              hooktrace config configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py > frcnn.json
              hooktrace config c.py --cfg-options lr_config.step=[16,22] runner.max_epochs=24
            """
    )

    @Argument(help: "The config: .py (with _base_) or .json.")
    var file: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Override values after the merge, key.path=value (e.g. lr_config.step=[16,22]).", valueName: "KEY=VALUE"))
    var cfgOptions: [String] = []

    @Flag(name: .long, help: "Also print the files read (the config, then its bases) on stderr.")
    var files = false

    func run() throws {
        let overrides = try parseCfgOptions(cfgOptions)
        var json = try readConfigJSON(file, listFiles: files)
        if !overrides.isEmpty {
            let changed = Result { () throws(HooktraceError) in try Replayer.withOptions(json, overrides) }
            switch changed {
            case .success(let v): json = v
            case .failure(let error): throw HooktraceError(error.code, error.message, file: file)
            }
        }
        var out = StandardOutput()
        out.write(json.pretty() + "\n")
        out.flush()
    }
}
