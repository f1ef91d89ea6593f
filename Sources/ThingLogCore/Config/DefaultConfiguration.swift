/// The built-in configuration, exactly SPEC §7's example; a config file is merged over it.
enum DefaultConfiguration {
    static let json = """
    {
      "template": "templates/CS0SLTKSYA.json",
      "sensors": {
        "MQ2":   {"model": "MQ2",   "input": {"kind": "adc", "bits": 10, "vref": 5.0}, "vc": 5.0, "rl_ohms": 10000,
                  "r0_ohms": null, "gases": ["LPG", "CO", "Smoke"]},
        "MQ135": {"model": "MQ135", "input": {"kind": "adc", "bits": 10, "vref": 5.0}, "vc": 5.0, "rl_ohms": 10000,
                  "r0_ohms": null},
        "MQ4":   {"model": "MQ4",   "input": {"kind": "adc", "bits": 10, "vref": 5.0}, "vc": 5.0, "rl_ohms": 10000,
                  "r0_ohms": null},
        "MQ7":   {"model": "MQ7",   "input": {"kind": "adc", "bits": 10, "vref": 5.0}, "vc": 5.0, "rl_ohms": 10000,
                  "r0_ohms": null}
      },
      "compensation": {"temperature": "DHT11_T", "humidity": "DHT11_H", "enabled": false},
      "warmup": "3m",
      "windows": ["1m", "5m", "15m", "1h"],
      "alarms": [
        {"name": "co-50", "metric": "MQ7.CO", "above": 50, "clear": 35, "for": "60m", "severity": "warning"},
        {"name": "co-100", "metric": "MQ7.CO", "above": 100, "clear": 50, "for": "10m", "severity": "critical"},
        {"name": "co-300", "metric": "MQ7.CO", "above": 300, "clear": 100, "severity": "critical"},
        {"name": "ch4-10lel", "metric": "MQ4.CH4", "above": 5000, "clear": 4000, "severity": "warning",
         "clear_for": "2m"},
        {"name": "ch4-20lel", "metric": "MQ4.CH4", "above": 10000, "clear": 5000, "severity": "critical",
         "clear_for": "2m"},
        {"name": "lpg-10lel", "metric": "MQ2.LPG", "above": 2100, "clear": 1500, "severity": "warning",
         "clear_for": "2m"},
        {"name": "co2-ventilation", "metric": "MQ135.CO2", "above": 1000, "clear": 900, "for": "10m",
         "severity": "info"},
        {"name": "co2-5000", "metric": "MQ135.CO2", "above": 5000, "clear": 4000, "severity": "warning",
         "clear_for": "2m"},
        {"name": "offline", "kind": "stale", "after": "10m", "severity": "warning"}
      ]
    }
    """
}
