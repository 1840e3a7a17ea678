import Foundation

/// Wall-clock helpers. Laptop clocks are wrong: wall time is informational and never decides a merge.
public enum WallClock {
    public static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
