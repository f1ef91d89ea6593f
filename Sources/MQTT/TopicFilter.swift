/// Topic filters (MQTT 3.1.1 §4.7): validation and matching.
public enum TopicFilter {
    /// Whether `filter` is a valid filter: non-empty, `#` only as the whole last level, `+` only as a whole level.
    /// A shared subscription (`$share/GROUP/FILTER`) is validated by its inner filter.
    public static func isValid(_ filter: String) -> Bool {
        guard !filter.isEmpty, filter.utf8.count <= 65_535, !filter.utf8.contains(0) else { return false }
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        if levels.first == "$share" {
            guard levels.count >= 3, !levels[1].isEmpty, !levels[1].contains("+"), !levels[1].contains("#") else {
                return false
            }
            return isValid(levels.dropFirst(2).joined(separator: "/"))
        }
        for (index, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || index != levels.count - 1) { return false }
            if level.contains("+") && level != "+" { return false }
        }
        return true
    }

    /// Whether `topic` matches `filter`. Wildcards at the first level never match a topic starting with `$`.
    public static func matches(_ filter: String, topic: String) -> Bool {
        let filterLevels = filter.split(separator: "/", omittingEmptySubsequences: false)
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = filterLevels.first, first == "+" || first == "#" { return false }
        for (index, level) in filterLevels.enumerated() {
            if level == "#" { return true }
            guard index < topicLevels.count else { return false }
            if level != "+" && level != topicLevels[index] { return false }
        }
        return filterLevels.count == topicLevels.count
    }
}
