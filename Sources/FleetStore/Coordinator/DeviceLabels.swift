/// Who may set a device's labels. Labels steer what a device receives and how much it counts: `region` picks
/// regional model variants, the region a device is aggregated in, and its drift group. A device must not
/// choose them itself, so a label the enrolment token sets, and every protected label, comes from the token
/// (the administrator's) only; a device's own request fills in the other labels.
public enum DeviceLabels {
    /// Labels only the administrator sets (through the enrolment token).
    public static let protectedKeys: Set<String> = ["region"]

    /// The labels a device enrolled with `token` gets from its own `device` request, and the requested keys
    /// that were ignored (protected, or set differently by the token).
    public static func merge(
        token: [String: String],
        device: [String: String]
    ) -> (labels: [String: String], ignored: Set<String>) {
        var labels = token
        var ignored = Set<String>()
        for (key, value) in device {
            if protectedKeys.contains(key) || token[key] != nil {
                if token[key] != value { ignored.insert(key) }
            } else {
                labels[key] = value
            }
        }
        return (labels, ignored)
    }
}
