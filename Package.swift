// swift-tools-version:6.0
import PackageDescription

// The stages of the pipeline as targets; imports point one way (README "Layout"). Only ThingLogStore links SQLite
// and holds SQL (scripts/check-structure checks it).
let package = Package(
    name: "thinglog",
    products: [
        .executable(name: "thinglog", targets: ["thinglog"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "MQTT"),
        .target(name: "HTTP"),
        .target(name: "ThingLogCore"),
        .target(name: "ThingLogStore", dependencies: ["ThingLogCore", "CSQLite"]),
        .target(name: "ThingLogIngest", dependencies: ["ThingLogCore", "ThingLogStore"]),
        .target(name: "ThingLogAnalysis", dependencies: ["ThingLogCore", "ThingLogStore"]),
        .target(name: "ThingLogExport", dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogAnalysis"]),
        .target(name: "ThingLogReport",
                dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogAnalysis", "ThingLogExport"]),
        .target(name: "ThingLogQuery", dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogExport"]),
        .target(name: "ThingLogSubscribe",
                dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogIngest", "MQTT"]),
        .target(name: "ThingLogReceive", dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogIngest", "HTTP"]),
        .target(
            name: "ThingLogCLI",
            dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogIngest", "ThingLogAnalysis", "ThingLogExport",
                           "ThingLogReport", "ThingLogQuery", "ThingLogSubscribe", "ThingLogReceive", "MQTT"]
        ),
        .executableTarget(name: "thinglog", dependencies: ["ThingLogCLI"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(
            name: "ThingLogTests",
            dependencies: ["ThingLogCore", "ThingLogStore", "ThingLogIngest", "ThingLogAnalysis", "ThingLogExport",
                           "ThingLogReport", "ThingLogQuery", "ThingLogSubscribe", "ThingLogReceive", "ThingLogCLI",
                           "MQTT", "HTTP"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
