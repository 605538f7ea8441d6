import Testing

/// Every end-to-end suite is nested here, so they run one after another: each starts real processes, and on a
/// 2-core machine several fleets at once would turn the timing they check into a measure of the machine's load.
@Suite(.serialized) enum EndToEnd {}
