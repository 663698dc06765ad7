import HooktraceFormat

/// A parameter group of a simulated optimizer: the values hooks read and write.
package struct ParamGroupState: Sendable {
    package var lr: Double
    /// SGD-style `momentum`, when the optimizer has it.
    package var momentum: Double?
    /// Adam-style `betas`, when the optimizer has them.
    package var betas: (Double, Double)?
    package var initialLR: Double?
    package var initialMomentum: Double?
    /// OneCycle momentum's per-group bounds.
    package var baseMomentum: Double?
    package var maxMomentum: Double?

    /// The group's other numeric settings a `*ParamScheduler` can schedule by `param_name`
    /// (`weight_decay`, `eps`, …), with the optimizer's defaults filled in.
    package var settings: [String: Double] = [:]
    /// `initial_<param>` of those settings.
    package var initialSettings: [String: Double] = [:]

    package init(lr: Double, momentum: Double?, betas: (Double, Double)?) {
        self.lr = lr
        self.momentum = momentum
        self.betas = betas
    }

    /// `momentum`, else `betas[0]`.
    package var currentMomentum: Double? { momentum ?? betas?.0 }

    /// The value a scheduler of `param` reads: lr, momentum (or beta1), or a setting.
    package func value(_ param: String) -> Double {
        switch param {
        case "lr": lr
        case "momentum": currentMomentum ?? 0
        default: settings[param] ?? 0
        }
    }

    /// Writes a scheduler's value of `param`.
    package mutating func set(_ param: String, _ v: Double) {
        switch param {
        case "lr": lr = v
        case "momentum": setMomentum(v)
        default: settings[param] = v
        }
    }

    /// `initial_<param>`, when a scheduler recorded it.
    package subscript(initial param: String) -> Double? {
        get {
            switch param {
            case "lr": initialLR
            case "momentum": initialMomentum
            default: initialSettings[param]
            }
        }
        set {
            switch param {
            case "lr": initialLR = newValue
            case "momentum": initialMomentum = newValue
            default: initialSettings[param] = newValue
            }
        }
    }

    /// Writes momentum (or beta1); no-op when the group has neither.
    package mutating func setMomentum(_ m: Double) {
        if momentum != nil {
            momentum = m
        } else if let b = betas {
            betas = (m, b.1)
        }
    }
}

/// A simulated optimizer: its class name and parameter groups.
package struct OptimizerState: Sendable {
    /// The optimizer's key in a dict of optimizers; `""` for a single optimizer.
    package var name: String
    /// `SGD`, `Adam`, …
    package var className: String
    package var groups: [ParamGroupState]
    /// Whether the optimizer's defaults have `momentum` / `betas` (OneCycle momentum checks).
    package var defaultsHaveMomentum: Bool
    package var defaultsHaveBetas: Bool
    /// `optimizer.defaults['lr']`: the lr given to the optimizer itself (param groups may
    /// override it); mmengine logs it as `base_lr` when there are several groups.
    package var defaultLR: Double = 0 {
        didSet { baseGroup.lr = defaultLR }
    }
    /// mmengine's OptimWrapper adds an extra group (`base_param_settings`, a copy of the
    /// optimizer's defaults) when there are several: schedulers step it too, and its lr is
    /// logged as `base_lr`.
    package var baseGroup = ParamGroupState(lr: 0, momentum: nil, betas: nil)
    package var baseLR: Double { baseGroup.lr }
    /// Whether mmengine's OptimWrapper keeps that extra group: the optimizer has several
    /// param groups (given, or one per parameter under `paramwise_cfg`).
    package var hasBaseGroup: Bool { groups.count > 1 || perParameterGroups }
    /// `paramwise_cfg` made one group per parameter; ``groups`` are their classes.
    package var perParameterGroups = false
    /// The groups' names, when they stand for classes of parameters (`paramwise_cfg`).
    package var groupNames: [String] = []
}
