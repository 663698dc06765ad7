import Testing
@testable import HooktraceFormat
@testable import HooktraceSim

/// A step's observation as plain bits gives back exactly the value it was made from.
@Suite("StepObservation")
struct StepObservationTests {
    @Test("every kind of value round-trips bit for bit, strings through the run's symbols, and numbers read as Scalar.number does",
          arguments: [Scalar.null, .bool(true), .bool(false), .int(-3), .int(.max), .double(-0.0), .double(.nan),
                      .double(0.1 + 0.2), .string("loss_cls"), .string("")])
    func roundTrip(value: Scalar) {
        let symbols = SymbolTable()
        let o = StepObservation(kind: .logVar, name: SymbolTable.loss, value: value, symbols: symbols)
        let back = o.value(symbols)
        switch (value, back) {
        case (.double(let a), .double(let b)): #expect(a.bitPattern == b.bitPattern)
        default: #expect(back == value)
        }
        #expect(o.number?.bitPattern == value.number?.bitPattern)
        if case .int(let i) = value { #expect(o.int == i) } else { #expect(o.int == nil) }
        #expect(o.kind == .logVar && o.name == SymbolTable.loss)
    }

    @Test("the typed initializers equal the general one")
    func typedInitializers() {
        let symbols = SymbolTable()
        let d = StepObservation(kind: .other, name: SymbolTable.gradNorm, double: 4.25)
        let i = StepObservation(kind: .numSamples, name: SymbolTable.numSamples, int: 2)
        #expect(d.value(symbols) == .double(4.25) && i.value(symbols) == .int(2))
        #expect(StepObservation(kind: .other, name: SymbolTable.gradNorm, value: .double(4.25), symbols: symbols).number == d.number)
    }
}
