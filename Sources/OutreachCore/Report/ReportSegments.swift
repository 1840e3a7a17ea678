import Foundation

/// The report snapshot keeps each contact page's columns cut by time into **segments** of 2^31 ms
/// (about 25 days), each sealed apart, so a report of one month reads the two or three segments
/// of each page that the month touches rather than every contact ever logged. What a report needs
/// from every contact (each person's first contact, and which organisations logged any) is kept
/// per page beside the segments, in `PageFirsts`.
extension ReportIndex {
    /// The segment a time falls in.
    static func segment(_ at: Int64) -> Int64 { at >> 31 }

    /// The segments a period touches.
    static func segments(_ period: ReportPeriod) -> ClosedRange<Int64> {
        segment(period.start)...segment(max(period.start, period.end - 1))
    }

    /// Whether the loaded columns hold every contact of `period` (all of them when whole).
    public func covers(_ period: ReportPeriod) -> Bool {
        guard let loaded = loadedSegments else { return true }
        return Self.segments(period).allSatisfy(loaded.contains)
    }

    /// Each (person as recorded, organisation) of a page with its earliest contact; contacts with
    /// nobody identified under `nobody`, so their organisations count too.
    struct PageFirsts: Sendable, Equatable {
        var person: [UInt32] = []
        var org: [UInt32] = []
        var at: [Int64] = []

        init() {}

        init(_ c: ContactColumns) {
            var first = [UInt64: Int64]()
            for i in c.at.indices {
                let key = UInt64(c.person[i]) << 32 | UInt64(c.org[i])
                if first[key].map({ c.at[i] < $0 }) ?? true { first[key] = c.at[i] }
            }
            for (key, t) in first.sorted(by: { $0.key < $1.key }) {
                person.append(UInt32(key >> 32))
                org.append(UInt32(key & 0xFFFF_FFFF))
                at.append(t)
            }
        }
    }
}

extension ReportIndex.ContactColumns {
    /// The columns cut into runs by segment, in time order (the columns are sorted by time).
    func bySegment() -> [(segment: Int64, columns: Self)] {
        var out = [(Int64, Self)]()
        var start = 0
        while start < at.count {
            let s = ReportIndex.segment(at[start])
            var end = start + 1
            while end < at.count && ReportIndex.segment(at[end]) == s { end += 1 }
            out.append((s, slice(start..<end)))
            start = end
        }
        return out
    }

    /// Contacts `range` as columns of their own.
    func slice(_ range: Range<Int>) -> Self {
        var c = Self()
        c.at = Array(at[range]); c.org = Array(org[range]); c.person = Array(person[range])
        c.setting = Array(setting[range]); c.zone = Array(zone[range]); c.unidentified = Array(unidentified[range])
        let needs = Int(needsStart[range.lowerBound])..<Int(needsStart[range.upperBound])
        let services = Int(servicesStart[range.lowerBound])..<Int(servicesStart[range.upperBound])
        c.needs = Array(self.needs[needs])
        c.needsStart = needsStart[range.lowerBound...range.upperBound].map { $0 - UInt32(needs.lowerBound) }
        c.serviceKind = Array(serviceKind[services]); c.serviceCount = Array(serviceCount[services])
        c.servicesStart = servicesStart[range.lowerBound...range.upperBound].map { $0 - UInt32(services.lowerBound) }
        return c
    }

    /// Appends `later`, whose contacts all come after these.
    mutating func append(_ later: Self) {
        at += later.at; org += later.org; person += later.person
        setting += later.setting; zone += later.zone; unidentified += later.unidentified
        let needsBase = UInt32(needs.count), servicesBase = UInt32(serviceKind.count)
        needs += later.needs
        needsStart += later.needsStart.dropFirst().map { $0 + needsBase }
        serviceKind += later.serviceKind; serviceCount += later.serviceCount
        servicesStart += later.servicesStart.dropFirst().map { $0 + servicesBase }
    }

    func encode(into w: inout RawWriter) {
        w.put(at); w.put(org); w.put(person); w.put(setting); w.put(zone); w.put(unidentified)
        w.put(needsStart); w.put(needs); w.put(servicesStart); w.put(serviceKind); w.put(serviceCount)
    }

    /// Columns read back and checked against the tables they point into.
    static func decode(_ r: inout RawReader, words: Int, people: Int) throws -> Self {
        var c = Self()
        c.at = try r.array(Int64.self); c.org = try r.array(UInt32.self); c.person = try r.array(UInt32.self)
        c.setting = try r.array(UInt32.self); c.zone = try r.array(UInt32.self); c.unidentified = try r.array(UInt32.self)
        c.needsStart = try r.array(UInt32.self); c.needs = try r.array(UInt32.self)
        c.servicesStart = try r.array(UInt32.self); c.serviceKind = try r.array(UInt32.self); c.serviceCount = try r.array(UInt32.self)
        let n = c.at.count
        guard [c.org.count, c.person.count, c.setting.count, c.zone.count, c.unidentified.count].allSatisfy({ $0 == n }),
              c.needsStart.count == n + 1, c.servicesStart.count == n + 1, c.serviceKind.count == c.serviceCount.count,
              c.needsStart.first == 0, c.servicesStart.first == 0,
              c.needsStart.last.map(Int.init) == c.needs.count, c.servicesStart.last.map(Int.init) == c.serviceKind.count,
              zip(c.needsStart, c.needsStart.dropFirst()).allSatisfy({ $0 <= $1 }), zip(c.servicesStart, c.servicesStart.dropFirst()).allSatisfy({ $0 <= $1 }),
              zip(c.at, c.at.dropFirst()).allSatisfy({ $0 <= $1 }),
              [c.org, c.setting, c.needs, c.serviceKind].allSatisfy({ $0.allSatisfy { Int($0) < words } }),
              c.person.allSatisfy({ $0 == ReportIndex.nobody || Int($0) < people }),
              c.zone.allSatisfy({ $0 == ReportIndex.nobody || Int($0) < words })
        else { throw FieldlogError.malformed("inconsistent report snapshot") }
        return c
    }
}
