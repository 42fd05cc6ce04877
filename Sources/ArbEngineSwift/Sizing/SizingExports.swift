import CShims

/// arb_size / arb_size_batch (arb_engine.h, "sizing"): pointer and capacity checks, the input
/// and settings checks (SizingOpportunity, SizingParams), then the chain. Nothing traps; a bad
/// input returns its status with the leg (and, for the batch, the opportunity) index.

@c @implementation
public func arb_size(_ input: UnsafePointer<arb_sizing_input>?, _ params: UnsafePointer<arb_sizing_params>?,
                     _ out: UnsafeMutablePointer<arb_sizing_result>?, _ legsOut: UnsafeMutablePointer<arb_sizing_leg_out>?,
                     _ legsCapacity: Int64, _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badIndex?.pointee = -1
    do throws(EngineError) {
        guard let input, let params, let out, let legsOut else { throw EngineError(Status.null) }
        let n = input.pointee.n_legs
        if n >= 1 && legsCapacity < n { throw EngineError(Status.capacity) }
        let opp = try SizingOpportunity(input.pointee)
        let p = try SizingParams(params.pointee)
        try SizingContext(opp, p).run(out: &out.pointee, legOut: legsOut)
        return Status.ok
    } catch {
        badIndex?.pointee = error.index
        return error.code
    }
}

@c @implementation
public func arb_size_batch(_ inputs: UnsafePointer<arb_sizing_input>?, _ n: Int64,
                           _ params: UnsafePointer<arb_sizing_params>?, _ out: UnsafeMutablePointer<arb_sizing_result>?,
                           _ legsOut: UnsafeMutablePointer<arb_sizing_leg_out>?, _ legsCapacity: Int64,
                           _ badOpportunity: UnsafeMutablePointer<Int64>?, _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badOpportunity?.pointee = -1
    badIndex?.pointee = -1
    var current: Int64 = -1
    do throws(EngineError) {
        guard let params else { throw EngineError(Status.null) }
        guard n >= 0 else { throw EngineError(Status.length) }
        if n == 0 { return Status.ok }
        guard let inputs, let out, let legsOut else { throw EngineError(Status.null) }
        // The twin checks each opportunity, then the settings: a settings error surfaces after
        // the first opportunity's own checks.
        var settings: SizingParams? = nil
        var settingsError = EngineError(Status.argument)
        do throws(EngineError) { settings = try SizingParams(params.pointee) } catch { settingsError = error }
        var start: Int64 = 0
        for i in 0..<Int(n) {
            current = Int64(i)
            let legs = inputs[i].n_legs
            if legs >= 1 && legsCapacity - start < legs { throw EngineError(Status.capacity) }
            let opp = try SizingOpportunity(inputs[i])
            guard let settings else { throw settingsError }
            try SizingContext(opp, settings).run(out: &out[i], legOut: legsOut + Int(start))
            out[i].leg_start = start
            start += legs
        }
        return Status.ok
    } catch {
        badOpportunity?.pointee = current
        badIndex?.pointee = error.index
        return error.code
    }
}

@c @implementation
public func arb_size_portfolio(_ input: UnsafePointer<arb_sizing_input>?, _ params: UnsafePointer<arb_sizing_params>?,
                               _ limits: UnsafePointer<arb_portfolio_limits>?, _ out: UnsafeMutablePointer<arb_sizing_result>?,
                               _ legsOut: UnsafeMutablePointer<arb_sizing_leg_out>?, _ legsCapacity: Int64,
                               _ portfolioOut: UnsafeMutablePointer<arb_portfolio_result>?,
                               _ scopeQtyOut: UnsafeMutablePointer<Int64>?, _ legPricesOut: UnsafeMutablePointer<Int64>?,
                               _ badIndex: UnsafeMutablePointer<Int64>?) -> Int32 {
    badIndex?.pointee = -1
    do throws(EngineError) {
        guard let input, let params, let limits, let out, let legsOut, let portfolioOut, let legPricesOut
        else { throw EngineError(Status.null) }
        let n = input.pointee.n_legs
        if n >= 1 && legsCapacity < n { throw EngineError(Status.capacity) }
        let opp = try SizingOpportunity(input.pointee)
        let p = try SizingParams(params.pointee)
        let l = try PortfolioLimits(limits.pointee, legs: opp.legs.count)
        guard l.rooms.isEmpty || scopeQtyOut != nil else { throw EngineError(Status.null) }
        let context = SizingContext(opp, p)
        try context.run(out: &out.pointee, legOut: legsOut)
        for i in 0..<l.rooms.count { scopeQtyOut![i] = 0 }
        legPricesOut.update(repeating: 0, count: 3 * opp.legs.count)
        let chained = out.pointee.rejected_by == SizingStep.none ? out.pointee.qty : 0
        context.portfolio(chained, valueAtRisk: out.pointee.monte_carlo.value_at_risk, limits: l,
                          out: &portfolioOut.pointee, scopeQty: scopeQtyOut, legPrices: legPricesOut)
        return Status.ok
    } catch {
        badIndex?.pointee = error.index
        return error.code
    }
}
