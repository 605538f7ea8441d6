// Tests of FleetTinyKit on the host: differential against swift-crypto and FleetWire, vectors of Protocol/.
import Testing

@testable import FleetTinyKit
