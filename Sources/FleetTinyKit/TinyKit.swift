// FleetTinyKit: the device side of TinyFleet for microcontrollers, in Embedded Swift.
//
// The same sources build twice: as an ordinary SwiftPM library for the host (tests, `fleet-tiny-sim`), and with
// `swiftc -enable-experimental-feature Embedded` for `armv7em-none-none-eabi` (`Scripts/tinykit-embedded.sh`).
// So the kit uses no Foundation, no existentials of non-class protocols, no reflection, and allocates nothing
// after start-up: the integrator gives it fixed buffers and implements its platform interface.
