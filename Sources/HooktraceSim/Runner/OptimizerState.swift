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

    /// `momentum`, else `betas[0]`.
    package var currentMomentum: Double? { momentum ?? betas?.0 }

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
        didSet { baseLR = defaultLR }
    }
    /// mmengine's OptimWrapper adds an extra group (`base_param_settings`, a copy of the
    /// optimizer's defaults) when there are several: schedulers step it too, and its lr is
    /// logged as `base_lr`.
    package var baseLR: Double = 0
    /// Whether mmengine's OptimWrapper keeps that extra group: the optimizer has several
    /// param groups (given, or one per parameter under `paramwise_cfg`).
    package var hasBaseGroup: Bool { groups.count > 1 || perParameterGroups }
    /// `paramwise_cfg` made one group per parameter; ``groups`` are their classes.
    package var perParameterGroups = false
    /// The groups' names, when they stand for classes of parameters (`paramwise_cfg`).
    package var groupNames: [String] = []
    package var baseMomentum: Double?
    package var baseInitialLR: Double?
    package var baseInitialMomentum: Double?
}
