import Foundation

extension ConsentLedger {
    /// Each purpose's state, as text: `granted`, `granted until <ISO 8601>`, `revoked <ISO 8601>`,
    /// `expired <ISO 8601>`, `not granted` (what `fleetctl consent` and `GET /api/v1/consent` show).
    public func describe(at instant: Date) -> [String: String] {
        let format = ISO8601DateFormatter()
        var states: [String: String] = [:]
        for (purpose, state) in state(at: instant) {
            switch state {
            case .notGranted: states[purpose.rawValue] = "not granted"
            case .granted(let until):
                states[purpose.rawValue] = until.map { "granted until \(format.string(from: $0))" } ?? "granted"
            case .expired(let at): states[purpose.rawValue] = "expired \(format.string(from: at))"
            case .revoked(let at): states[purpose.rawValue] = "revoked \(format.string(from: at))"
            }
        }
        return states
    }
}
