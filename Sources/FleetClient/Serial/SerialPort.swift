#if canImport(Glibc)
import Glibc

/// A UART (or a pseudo-terminal standing in for one) set up to carry frames: raw mode (no echo, no line editing, no
/// character translation), 8 data bits, no parity, 1 stop bit, no hardware or software flow control, at one of
/// ``supportedBauds``. SPEC 15b.6 says how frames cross a line that has no connection boundaries.
public enum SerialPort {
    /// The baud rates a line can be set to.
    public static let supportedBauds: [Int: speed_t] = [
        9600: speed_t(B9600), 19200: speed_t(B19200), 38400: speed_t(B38400), 57600: speed_t(B57600),
        115200: speed_t(B115200), 230400: speed_t(B230400), 460800: speed_t(B460800), 921600: speed_t(B921600),
    ]

    /// Opens the serial device at `path` (non-blocking, close-on-exec, never the controlling terminal), sets it up
    /// and drops what it had received before. The caller owns the descriptor.
    public static func open(path: String, baud: Int) throws(SerialPortError) -> CInt {
        let descriptor = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw SerialPortError.cannotOpen(path: path, errno: errno) }
        do throws(SerialPortError) {
            try configure(descriptor, path: path, baud: baud)
        } catch {
            close(descriptor)
            throw error
        }
        tcflush(descriptor, TCIOFLUSH)
        return descriptor
    }

    /// Sets an open terminal descriptor to raw 8N1 at `baud` with no flow control.
    public static func configure(_ descriptor: CInt, path: String, baud: Int) throws(SerialPortError) {
        guard let speed = supportedBauds[baud] else { throw SerialPortError.unsupportedBaud(baud) }
        guard isatty(descriptor) == 1 else { throw SerialPortError.notATerminal(path: path) }
        var settings = termios()
        guard tcgetattr(descriptor, &settings) == 0 else {
            throw SerialPortError.cannotConfigure(path: path, errno: errno)
        }
        cfmakeraw(&settings)
        settings.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        settings.c_cflag &= ~(tcflag_t(PARENB | CSTOPB | CSIZE) | hardwareFlowControl)
        settings.c_cflag |= tcflag_t(CS8 | CREAD | CLOCAL)
        settings.c_cc.6 = 1  // VMIN: a read returns what has arrived (the descriptor is non-blocking anyway)
        settings.c_cc.5 = 0  // VTIME: no inter-byte timer
        guard cfsetispeed(&settings, speed) == 0, cfsetospeed(&settings, speed) == 0,
            tcsetattr(descriptor, TCSANOW, &settings) == 0
        else { throw SerialPortError.cannotConfigure(path: path, errno: errno) }
    }

    /// A new pseudo-terminal, set up as ``configure(_:path:baud:)`` does: its controlling side (the descriptor, which
    /// the caller owns) and the path of the terminal side, which a program opens as it would a UART (as QEMU's
    /// `-serial pty` does).
    public static func openPseudoTerminal() throws(SerialPortError) -> (descriptor: CInt, path: String) {
        let descriptor = Glibc.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw SerialPortError.cannotOpen(path: "/dev/ptmx", errno: errno) }
        // unlockpt and ptsname, which Glibc's Swift overlay does not import, as the ioctls they are on Linux.
        var unlock: CInt = 0
        var number: CUnsignedInt = 0
        guard ioctl(descriptor, unlockRequest, &unlock) == 0, ioctl(descriptor, numberRequest, &number) == 0 else {
            let code = errno
            close(descriptor)
            throw SerialPortError.cannotOpen(path: "/dev/ptmx", errno: code)
        }
        let path = "/dev/pts/\(number)"
        do throws(SerialPortError) {
            // On Linux the controlling side's settings are the terminal side's.
            try configure(descriptor, path: path, baud: 115200)
        } catch {
            close(descriptor)
            throw error
        }
        return (descriptor, path)
    }

    /// CRTSCTS, TIOCSPTLCK and TIOCGPTN (Linux), which Glibc's Swift overlay does not import.
    private static let hardwareFlowControl: tcflag_t = 0o20000000000
    private static let unlockRequest: UInt = 0x4004_5431
    private static let numberRequest: UInt = 0x8004_5430
}

/// Why a serial line could not be used, naming the device and what to do.
public struct SerialPortError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String

    static func cannotOpen(path: String, errno code: CInt) -> Self {
        switch code {
        case ENOENT, ENODEV, ENXIO:
            Self(
                description: "no serial device at \(path): check that the UART or USB adapter is plugged in and "
                    + "the path (ls /dev/ttyUSB* /dev/ttyACM* /dev/ttyS*)"
            )
        case EACCES, EPERM:
            Self(
                description: "permission denied opening \(path): run the agent as a user allowed to use it (on "
                    + "Debian, a member of the device's group: usermod -aG dialout USER, then log in again)"
            )
        case EBUSY:
            Self(description: "\(path) is busy: another program holds it; stop that program")
        default:
            Self(description: "cannot open \(path): \(String(cString: strerror(code)))")
        }
    }

    static func notATerminal(path: String) -> Self {
        Self(description: "\(path) is not a serial device (a tty): pass the UART's device, e.g. /dev/ttyUSB0")
    }

    static func cannotConfigure(path: String, errno code: CInt) -> Self {
        Self(description: "cannot set up \(path) as a raw 8N1 line: \(String(cString: strerror(code)))")
    }

    static func unsupportedBaud(_ baud: Int) -> Self {
        let bauds = SerialPort.supportedBauds.keys.sorted().map(String.init).joined(separator: ", ")
        return Self(description: "baud rate \(baud) is not supported: use one of \(bauds)")
    }
}
#endif
