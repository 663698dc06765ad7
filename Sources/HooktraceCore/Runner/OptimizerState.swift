/// A parameter group of a simulated optimizer: the values hooks read and write.
public struct ParamGroupState: Sendable {
    public var lr: Double
    /// SGD-style `momentum`, when the optimizer has it.
    public var momentum: Double?
    /// Adam-style `betas`, when the optimizer has them.
    public var betas: (Double, Double)?
    public var initialLR: Double?
    public var initialMomentum: Double?
    /// OneCycle momentum's per-group bounds.
    public var baseMomentum: Double?
    public var maxMomentum: Double?

    /// `momentum`, else `betas[0]`.
    public var currentMomentum: Double? { momentum ?? betas?.0 }

    /// Writes momentum (or beta1); no-op when the group has neither.
    public mutating func setMomentum(_ m: Double) {
        if momentum != nil {
            momentum = m
        } else if let b = betas {
            betas = (m, b.1)
        }
    }
}

/// A simulated optimizer: its class name and parameter groups.
public struct OptimizerState: Sendable {
    /// The optimizer's key in a dict of optimizers; `""` for a single optimizer.
    public var name: String
    /// `SGD`, `Adam`, …
    public var className: String
    public var groups: [ParamGroupState]
    /// Whether the optimizer's defaults have `momentum` / `betas` (OneCycle momentum checks).
    public var defaultsHaveMomentum: Bool
    public var defaultsHaveBetas: Bool
}
