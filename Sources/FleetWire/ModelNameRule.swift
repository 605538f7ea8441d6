/// The one rule for model and variant names (Protocol/SPEC.md, `uploadBegin`): they end up as path components on
/// devices and on the coordinator, so both sides check them with this rule and agree on which names exist.
///
/// 1 to 64 characters from `A`–`Z`, `a`–`z`, `0`–`9`, `.`, `_`, `-`; not starting with `.` (which rules out `.`,
/// `..` and hidden files) and not containing `..`.
public enum ModelNameRule {
    public static let maximumLength = 64

    public static func isValid(_ name: String) -> Bool {
        let scalars = name.unicodeScalars
        guard (1...maximumLength).contains(scalars.count), scalars.first != ".", !name.contains("..") else {
            return false
        }
        return scalars.allSatisfy { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": true
            default: false
            }
        }
    }

    /// What to tell a user whose name breaks the rule.
    public static func explain(_ name: String) -> String {
        "invalid name \"\(name)\": use 1–\(maximumLength) of A-Z a-z 0-9 . _ -, not starting with \".\" nor containing \"..\""
    }
}
