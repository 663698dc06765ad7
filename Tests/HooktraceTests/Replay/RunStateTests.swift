@testable import HooktraceAnalysis
@testable import HooktraceFormat
import Testing

@Suite("Run state fold")
struct RunStateTests {
    private func start(_ groups: [ParamGroup]) -> Event {
        .runStart(RunStart(source: "t", runner: "EpochBasedRunner", maxEpochs: 1, maxIters: nil, workflow: [], loaders: [],
                           paramGroups: groups, hooks: [], seed: 0, config: "", meta: []))
    }

    @Test("values in force per param group, groups an effect introduces, files kept, links, best and hook messages")
    func fold() {
        var s = RunState()
        #expect(s.apply(start([ParamGroup(group: 0, lr: 0.1, momentum: 0.9), ParamGroup(group: 1, lr: 0.2, momentum: nil)])) == .started)
        #expect(s.lr == [0.1, 0.2] && s.momentum[0] == 0.9 && s.momentum[1].isNaN && !s.groups[1].hasMomentum)
        #expect(s.apply(.effect(Effect(hook: "H", .setLR(optimizer: "", group: 1, value: 0.02)))) == .value(.lr, index: 1, isNewGroup: false))
        #expect(s.apply(.effect(Effect(hook: "H", .setMomentum(optimizer: "d", group: 0, value: 0.5)))) == .value(.momentum, index: 2, isNewGroup: true))
        #expect(s.lr[1] == 0.02 && s.groups[2] == RunState.Group(optimizer: "d", group: 0, fromStart: false, hasLR: false, hasMomentum: true) && s.lr[2].isNaN)
        for p in ["w/epoch_1.pth", "w/epoch_2.pth", "w/epoch_1.pth"] { s.apply(.effect(Effect(hook: "C", .checkpointSave(path: p)))) }
        s.apply(.effect(Effect(hook: "C", .checkpointLink(link: "w/latest.pth", target: "epoch_1.pth"))))
        s.apply(.effect(Effect(hook: "C", .checkpointLink(link: "w/latest.pth", target: "epoch_2.pth"))))
        #expect(s.files == ["w/epoch_1.pth", "w/epoch_2.pth"] && s.links.map(\.target) == ["epoch_2.pth"])
        #expect(s.apply(.effect(Effect(hook: "C", .checkpointRemove(path: "w/epoch_1.pth")))) == .removed("w/epoch_1.pth"))
        #expect(s.files == ["w/epoch_2.pth"])
        s.apply(.effect(Effect(hook: "E", .bestUpdate(key: "bbox_mAP", value: 0.4, checkpoint: "w/best.pth"))))
        s.apply(.effect(Effect(hook: "C", .custom(kind: "hook_msgs", fields: [Field("last_ckpt", .string("w/epoch_2.pth"))]))))
        #expect(s.best == RunState.Best(key: "bbox_mAP", score: 0.4, checkpoint: "w/best.pth") && s.lastCheckpoint == "w/epoch_2.pth")
        // Observations and calls change nothing; a new run_start starts over.
        #expect(s.apply(.observe(Observation(kind: .logVar, name: "loss", value: .double(1)))) == RunState.Change.none)
        s.apply(start([]))
        #expect(s.groups.isEmpty && s.files.isEmpty && s.best == nil && s.lastCheckpoint == nil)
    }
}
