// swift-tools-version:6.0
import PackageDescription

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
        .target(
            name: "ThingLog",
            dependencies: ["CSQLite", "MQTT"],
            swiftSettings: [.enableUpcomingFeature("InternalImportsByDefault")]
        ),
        .executableTarget(name: "thinglog", dependencies: ["ThingLog"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT"]),
        .testTarget(name: "ThingLogTests", dependencies: ["ThingLog", "MQTT"]),
    ],
    swiftLanguageModes: [.v6]
)
