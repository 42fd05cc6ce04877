// swift-tools-version: 6.1
// arbbot hot path: the C contract (CShims), the Swift engine (ArbEngineSwift) and the CPython
// glue (ArbPyGlue) linked into one shared library that setup.py installs as `arbbot._native`.
import PackageDescription

let package = Package(
    name: "arbbot",
    products: [
        // The Python extension: glue + engine in one .so (build with -Xswiftc -static-stdlib).
        .library(name: "ArbNative", type: .dynamic, targets: ["ArbPyGlue", "ArbEngineSwift"]),
    ],
    targets: [
        .target(name: "CShims", path: "Sources/CShims"),
        .target(name: "ArbEngineSwift", dependencies: ["CShims"], path: "Sources/ArbEngineSwift"),
        // Compiles to nothing unless Python.h is on the include path (setup.py passes -Xcc -I…),
        // so `swift build` / `swift test` work without Python.
        .target(name: "ArbPyGlue", dependencies: ["CShims", "ArbEngineSwift"], path: "Sources/ArbPyGlue"),
        .testTarget(name: "ArbEngineSwiftTests", dependencies: ["ArbEngineSwift", "CShims"],
                    path: "Tests/ArbEngineSwiftTests"),
    ]
)
