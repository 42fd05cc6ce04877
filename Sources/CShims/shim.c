/* CShims carries arb_engine.h; the functions are implemented in Swift (Sources/ArbEngineSwift). */
