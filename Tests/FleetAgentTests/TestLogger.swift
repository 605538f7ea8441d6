import Logging

extension Logger {
    /// A logger for in-process agent parts under test: their log lines would bury the test results (a failing
    /// expectation says what went wrong on its own).
    static let quietTest = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
}
