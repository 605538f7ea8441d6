/// The version of the TinyFleet programs (`--version` of fleet-coordinator, fleet-agent and fleetctl, and the
/// `software` each one announces in `hello`). One constant for all three: they are released together.
public enum TinyFleetVersion {
    public static let current = "0.1.0"
}
