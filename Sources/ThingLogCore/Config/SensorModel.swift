import Glibc

/// The datasheet knowledge of one MQ sensor model (mq-sensors.md §2–3): clean-air ratio, gas curves and the
/// temperature/humidity table.
public struct SensorModel: Sendable {
    /// One gas curve, ppm = a · ratio^b, valid over `range` ppm.
    public struct GasCurve: Sendable, Equatable {
        public var gas: String
        public var a: Double
        public var b: Double
        public var range: ClosedRange<Double>
        /// Added after the curve (MQ135 CO2: the 400 ppm atmospheric baseline).
        public var baseline: Double = 0

        /// Nearly flat curves (|b| ≥ 7) give qualitative values only (mq-sensors.md §2, note ²).
        public var isQualitative: Bool { abs(b) >= 7 }

        public var ppmCurve: PPMCurve { PPMCurve(a: a, b: b, baseline: baseline) }
    }

    /// One digitized Rs/R0-versus-temperature row at a fixed relative humidity.
    public struct CompensationRow: Sendable {
        public var relativeHumidity: Double
        /// Values at −10, −5, …, 50 °C.
        public var values: [Double]
    }

    public var name: String
    public var cleanAirRatio: Double
    public var curves: [GasCurve]
    public var defaultGases: [String]
    public var compensationRows: [CompensationRow]

    public func curve(for gas: String) -> GasCurve? { curves.first { $0.gas == gas } }

    /// Every model thinglog has curves for, by name.
    public static let all: [String: SensorModel] = Dictionary(
        uniqueKeysWithValues: [mq2, mq4, mq7, mq135].map { ($0.name, $0) })

    static func curves(_ range: ClosedRange<Double>, _ table: [(String, Double, Double)]) -> [GasCurve] {
        table.map { GasCurve(gas: $0.0, a: $0.1, b: $0.2, range: range) }
    }

    public static let mq2 = SensorModel(
        name: "MQ2", cleanAirRatio: 9.83,
        curves: curves(200...10000, [("H2", 987.99, -2.162), ("LPG", 574.25, -2.222), ("CO", 36974, -3.109),
                                     ("Alcohol", 3616.1, -2.675), ("Propane", 658.71, -2.168),
                                     ("Smoke", 3195.5, -2.2727)]),
        defaultGases: ["Smoke", "LPG"],
        compensationRows: [
            .init(relativeHumidity: 30, values: [1.706, 1.622, 1.584, 1.492, 1.423, 1.300, 1.250, 1.176, 1.150,
                                                 1.114, 1.004, 0.928, 0.868]),
            .init(relativeHumidity: 60, values: [1.448, 1.377, 1.346, 1.268, 1.212, 1.113, 1.068, 1.004, 0.978,
                                                 0.947, 0.855, 0.792, 0.739]),
            .init(relativeHumidity: 85, values: [1.263, 1.200, 1.175, 1.105, 1.055, 0.965, 0.926, 0.875, 0.855,
                                                 0.824, 0.739, 0.688, 0.642]),
        ])

    public static let mq4 = SensorModel(
        name: "MQ4", cleanAirRatio: 4.4,
        curves: curves(200...10000, [("LPG", 3811.9, -3.113), ("CH4", 1012.7, -2.786), ("CO", 2e14, -19.05),
                                     ("Alcohol", 6e10, -14.01), ("Smoke", 3e7, -8.308)]),
        defaultGases: ["CH4"],
        compensationRows: [
            .init(relativeHumidity: 33, values: [1.281, 1.217, 1.151, 1.095, 1.053, 1.022, 1.000, 0.982, 0.967,
                                                 0.948, 0.935, 0.920, 0.900]),
            .init(relativeHumidity: 85, values: [1.093, 1.046, 0.995, 0.945, 0.905, 0.875, 0.846, 0.825, 0.801,
                                                 0.782, 0.761, 0.738, 0.719]),
        ])

    public static let mq7 = SensorModel(
        name: "MQ7", cleanAirRatio: 27.5,
        curves: curves(50...4000, [("H2", 69.014, -1.374), ("CO", 99.042, -1.518), ("LPG", 7e8, -7.703),
                                   ("CH4", 6e13, -10.54), ("Alcohol", 4e16, -12.35)]),
        defaultGases: ["CO"],
        compensationRows: [
            .init(relativeHumidity: 33, values: [1.441, 1.327, 1.215, 1.123, 1.064, 1.028, 1.000, 0.976, 0.951,
                                                 0.926, 0.907, 0.886, 0.862]),
            .init(relativeHumidity: 85, values: [1.172, 1.099, 1.031, 0.970, 0.921, 0.887, 0.859, 0.834, 0.814,
                                                 0.795, 0.775, 0.757, 0.739]),
        ])

    public static let mq135: SensorModel = {
        var table = curves(10...200, [("CO", 605.18, -3.937), ("Alcohol", 77.255, -3.18), ("CO2", 110.47, -2.862),
                                      ("Toluene", 44.947, -3.445), ("NH4", 102.2, -2.473),
                                      ("Acetone", 34.668, -3.369)])
        if let index = table.firstIndex(where: { $0.gas == "CO2" }) { table[index].baseline = 400 }
        return SensorModel(
            name: "MQ135", cleanAirRatio: 3.6, curves: table, defaultGases: ["CO2", "NH4"],
            compensationRows: [
                .init(relativeHumidity: 33, values: [1.700, 1.539, 1.378, 1.246, 1.130, 1.040, 0.995, 0.966, 0.953,
                                                     0.939, 0.933, 0.922, 0.910]),
                .init(relativeHumidity: 85, values: [1.532, 1.391, 1.249, 1.132, 1.029, 0.955, 0.911, 0.882, 0.868,
                                                     0.853, 0.840, 0.828, 0.813]),
            ])
    }()
}

/// ppm = a · ratio^b + baseline (mq-sensors.md §1 step 5). `analyze` computes it; readers of stored ratios (the `ppm`
/// view, export, report) recompute it with the same operations in the same order, so every reader gets the same bits.
public struct PPMCurve: Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var baseline: Double

    public init(a: Double, b: Double, baseline: Double) {
        self.a = a
        self.b = b
        self.baseline = baseline
    }

    /// The curve's value before the baseline: what the range check sees.
    @inline(__always)
    public func value(at ratio: Double) -> Double { a * pow(ratio, b) }

    /// The ppm of a value of the curve.
    @inline(__always)
    public func ppm(fromValue value: Double) -> Double { value + baseline }

    public func ppm(at ratio: Double) -> Double { ppm(fromValue: value(at: ratio)) }
}
