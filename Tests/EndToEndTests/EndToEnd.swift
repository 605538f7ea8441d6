import Testing

/// Every end-to-end suite is nested here, so they run one after another: each starts real processes, and on a
/// 2-core machine several fleets at once would turn the timing they check into a measure of the machine's load.
/// Child processes log to files; a failing test gets the tail of each live child's log attached (`ChildLogs`).
@Suite(.serialized, .compactMapIssues(ChildLogs.attach(to:))) enum EndToEnd {}
